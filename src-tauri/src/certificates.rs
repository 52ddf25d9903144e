//! Certificate commands: read a vendor's certificate before Review, export a generated one
//! (PFX with a password shown once, or PEM), and copy that password through the clearing
//! clipboard. The work is in `appgrant_core::certificate`.

use appgrant_core::certificate::export::CertificateFormat;
use appgrant_core::certificate::CertificateInfo;
use appgrant_core::export::certificate::export_certificate as write_export_files;
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
    let (vault, dir) = (state.vault.clone(), export_dir(&app, &state));
    let (written, _) = tokio::task::spawn_blocking(move || {
        write_export_files(&vault, &connection, Some(&app_key), &dir, format)
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
#[tracing::instrument(skip(state), err(level = "warn", Debug))]
pub async fn copy_export_password(state: State<'_, AppState>) -> Result<()> {
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
    copy_clearing(password)
}
