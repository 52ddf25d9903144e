//! Certificate commands: read a vendor's certificate before Review, export a generated one
//! (PFX with a password shown once, or PEM), and copy that password through the clearing
//! clipboard. The work is in `appgrant_core::certificate`.

use appgrant_core::certificate::export::CertificateFormat;
use appgrant_core::certificate::{CertificateInfo, CertificateOrigin};
use base64::Engine;
use tauri::{AppHandle, State};

use crate::commands::{copy_clearing, export_dir};
use crate::dto::CertificateExportView;
use crate::error::{Code, UiError};
use crate::state::AppState;

type Result<T> = std::result::Result<T, UiError>;

/// Reads the file the admin picked and says what it is; `problems` (expired, a short key,
/// longer than the tenant's policy allows) block Apply. A file holding a private key is an
/// error telling the admin never to send private keys.
#[tauri::command]
#[tracing::instrument(skip(state, content_base64), err(level = "warn", Debug))]
pub async fn inspect_certificate(
    state: State<'_, AppState>,
    file_name: String,
    content_base64: String,
) -> Result<CertificateInfo> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(content_base64.trim())
        .map_err(|_| {
            UiError::new(
                Code::Certificate,
                format!("{file_name} did not arrive intact."),
                Some("Choose the file again."),
            )
        })?;
    let mut certificate = appgrant_core::certificate::import::inspect(&file_name, &bytes)?;
    let limit = state.flow.lock().await.certificate_lifetime_limit().await;
    certificate.info.check(chrono::Utc::now(), limit);
    Ok(certificate.info)
}

/// Exports the generated certificate of `app_key` into the export folder. A PFX gets a new
/// random password, returned once (and kept for `copy_export_password` only).
#[tauri::command]
#[tracing::instrument(skip(app, state), err(level = "warn", Debug))]
pub async fn export_certificate(
    app: AppHandle,
    state: State<'_, AppState>,
    connection_id: String,
    app_key: String,
    format: CertificateFormat,
) -> Result<CertificateExportView> {
    let connection = state.vault.require(&connection_id)?;
    let connected = connection.app(&app_key).ok_or_else(|| {
        UiError::new(
            Code::Certificate,
            format!("This connection has no app \"{app_key}\"."),
            None,
        )
    })?;
    let meta = connected.certificate.clone().ok_or_else(|| {
        UiError::new(
            Code::Certificate,
            format!(
                "{} uses a client secret, not a certificate.",
                connected.display_name
            ),
            Some("Use the hand-off export for secrets."),
        )
    })?;
    if meta.origin == CertificateOrigin::Vendor {
        return Err(UiError::new(
            Code::Certificate,
            "The vendor holds the private key of this certificate, so there is nothing to export.",
            Some("Nothing secret needs to be sent: tell the vendor the app is ready."),
        ));
    }
    let vault = state.vault.clone();
    let (c, key) = (connection.clone(), app_key.clone());
    let private_key = tokio::task::spawn_blocking(move || vault.load_certificate_key(&c, &key))
        .await
        .map_err(|e| UiError::new(Code::Certificate, e.to_string(), None))??
        .ok_or_else(|| {
            UiError::new(
                Code::Certificate,
                "The certificate's private key is not in this computer's credential store.",
                Some(
                    "Rotate the certificate from the connections list to make and store a new one.",
                ),
            )
        })?;
    let der = base64::engine::general_purpose::STANDARD
        .decode(&meta.certificate_base64)
        .map_err(|e| UiError::new(Code::Certificate, e.to_string(), None))?;
    let base = file_base(&connection.vendor, &connected.display_name);
    let dir = export_dir(&app, &state);
    let written = tokio::task::spawn_blocking(move || {
        appgrant_core::certificate::export::write(&dir, &base, &private_key, &der, format)
    })
    .await
    .map_err(|e| UiError::new(Code::Certificate, e.to_string(), None))??;
    *state
        .export_password
        .lock()
        .unwrap_or_else(|p| p.into_inner()) = written.password.clone();
    Ok(CertificateExportView {
        paths: written
            .paths
            .iter()
            .map(|p| p.display().to_string())
            .collect(),
        password: written
            .password
            .map(appgrant_core::secret::Secret::into_inner),
    })
}

/// Copies the last PFX password to the clipboard (cleared after 60 s, as for secrets).
#[tauri::command]
#[tracing::instrument(skip(app, state), err(level = "warn", Debug))]
pub async fn copy_export_password(app: AppHandle, state: State<'_, AppState>) -> Result<()> {
    let password = state
        .export_password
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone()
        .ok_or_else(|| {
            UiError::new(
                Code::Certificate,
                "There is no PFX password to copy.",
                Some("Export the certificate as PFX again: it gets a new password."),
            )
        })?;
    copy_clearing(app, password)
}

/// A file name from the vendor and app names (`TonicDM-TonicDM_Office_365_Token-certificate`).
fn file_base(vendor: &str, app: &str) -> String {
    let clean = |s: &str| -> String {
        s.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect()
    };
    format!("{}-{}-certificate", clean(vendor), clean(app))
}
