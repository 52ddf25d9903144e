//! The connections dashboard's commands: each adapts its arguments, finds the sign-in for the
//! connection's tenant, and calls core's lifecycle façade (`appgrant_core::lifecycle`) or the
//! reminder (`appgrant_core::reminder`). No logic lives here.
//!
//! Sign-in: a connection is checked or rotated with an admin sign-in to its own tenant (its
//! recorded cloud; the in-app practice tenant for practice connections). The wizard's sign-in
//! is used when it is to that tenant; otherwise the dashboard keeps its own, one per tenant,
//! made by `sign_in_for_connection` in the system browser.

use std::sync::Arc;

use appgrant_core::cloud::Endpoints;
use appgrant_core::export::ExportFormat;
use appgrant_core::identity::{Access, Authenticator, Session, SignInConfig};
use appgrant_core::lifecycle::{
    self, CheckReport, ConnectionStatus, FinishWhen, LifecycleEvent, RotateOptions, RotationResult,
    SignedIn,
};
use appgrant_core::reminder::{self, Due, ReminderLog};
use appgrant_core::vault::Connection;
use serde::Serialize;
use tauri::ipc::Channel;
use tauri::{AppHandle, State};
use tokio_util::sync::CancellationToken;

use crate::dto::DoneView;
use crate::error::{Code, UiError};
use crate::state::AppState;

type Result<T> = std::result::Result<T, UiError>;

/// Every saved connection's status (mirrored in `ui/src/lib/types.ts` `DashboardView`).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DashboardView {
    pub now: chrono::DateTime<chrono::Utc>,
    pub connections: Vec<ConnectionStatus>,
    pub keyring_checked: bool,
    /// When the practice tenant started empty in this run (no saved state): practice
    /// connections made before then point at apps it no longer has.
    pub practice_fresh_since: Option<chrono::DateTime<chrono::Utc>>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckResult {
    pub report: CheckReport,
    pub connection: ConnectionStatus,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RotateResult {
    pub connection: ConnectionStatus,
    /// Only what changed, secrets hidden (Reveal and Copy go through `reveal_secret` /
    /// `copy_secret`, which read the new one). None once finished.
    pub handoff: Option<DoneView>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Reminder {
    pub due: Vec<Due>,
    /// An OS notification was sent now.
    pub notified: bool,
}

/// The dashboard's rows, from this computer alone (no network). `look_in_keyring` also asks
/// the credential store about each secret (one read each, slower): the UI asks without first
/// so the screen paints at once, then with.
#[tauri::command]
#[tracing::instrument(skip(state), err(level = "warn", Debug))]
pub async fn load_dashboard(
    state: State<'_, AppState>,
    look_in_keyring: bool,
) -> Result<DashboardView> {
    let now = chrono::Utc::now();
    let connections = state.lifecycle()?.overview(now, look_in_keyring).await?;
    let practice_fresh_since = *state
        .practice_fresh_since
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    Ok(DashboardView {
        now,
        connections,
        keyring_checked: look_in_keyring,
        practice_fresh_since,
    })
}

/// "Check now": reads the connection's tenant and saves what it found.
#[tauri::command]
#[tracing::instrument(skip(state), err(level = "warn", Debug))]
pub async fn check_connection(
    state: State<'_, AppState>,
    connection_id: String,
) -> Result<CheckResult> {
    let lifecycle = state.lifecycle()?;
    let signed_in = signed_in_for(&state, &connection_id).await?;
    let report = lifecycle
        .check(&signed_in, &connection_id, CancellationToken::new())
        .await?;
    let connection = lifecycle.status(&connection_id, chrono::Utc::now()).await?;
    Ok(CheckResult { report, connection })
}

/// Brings the grants back to the recipe's (the plan the check showed; extra application
/// permissions are removed only with `remove_extra`), then checks again.
#[tauri::command]
#[tracing::instrument(skip(state), err(level = "warn", Debug))]
pub async fn fix_drift(
    state: State<'_, AppState>,
    connection_id: String,
    remove_extra: bool,
) -> Result<CheckResult> {
    let lifecycle = state.lifecycle()?;
    let signed_in = signed_in_for(&state, &connection_id).await?;
    let report = lifecycle
        .fix_drift(
            &signed_in,
            &connection_id,
            remove_extra,
            |_| {},
            CancellationToken::new(),
        )
        .await?;
    let connection = lifecycle.status(&connection_id, chrono::Utc::now()).await?;
    Ok(CheckResult { report, connection })
}

/// Starts (or continues) a rotation up to the overlap: new secret added, stored, proved.
#[tauri::command]
#[tracing::instrument(skip(state, on_event), err(level = "warn", Debug))]
pub async fn rotate_connection(
    state: State<'_, AppState>,
    connection_id: String,
    grace_days: u32,
    on_event: Channel<LifecycleEvent>,
) -> Result<RotateResult> {
    let lifecycle = state.lifecycle()?;
    let signed_in = signed_in_for(&state, &connection_id).await?;
    let options = RotateOptions {
        grace_days,
        ..RotateOptions::default()
    };
    let result = lifecycle
        .start_rotation(
            &signed_in,
            &connection_id,
            options,
            forward(on_event),
            CancellationToken::new(),
        )
        .await?;
    rotate_result(&state, result)
}

/// "The vendor now uses the new secret": removes the old secret from Entra and the keyring,
/// then checks the new one still works.
#[tauri::command]
#[tracing::instrument(skip(state, on_event), err(level = "warn", Debug))]
pub async fn finish_rotation(
    state: State<'_, AppState>,
    connection_id: String,
    on_event: Channel<LifecycleEvent>,
) -> Result<RotateResult> {
    let lifecycle = state.lifecycle()?;
    let signed_in = signed_in_for(&state, &connection_id).await?;
    let result = lifecycle
        .finish_rotation(
            &signed_in,
            &connection_id,
            FinishWhen::Confirmed,
            forward(on_event),
            CancellationToken::new(),
        )
        .await?;
    rotate_result(&state, result)
}

/// Signs in, in the system browser, to the connection's tenant.
#[tauri::command]
#[tracing::instrument(skip(state), err(level = "warn", Debug))]
pub async fn sign_in_for_connection(
    state: State<'_, AppState>,
    connection_id: String,
) -> Result<Session> {
    let connection = state.vault.require(&connection_id)?;
    let (endpoints, client_id) = where_to_sign_in(&state, &connection).await?;
    let mut config = SignInConfig::new(endpoints);
    config.tenant = connection.tenant_id.clone();
    config.client_id = client_id.ok_or_else(|| {
        appgrant_core::flow::FlowError::NeedsClientId(
            appgrant_core::cloud::Cloud::of(&connection).label(),
        )
    })?;
    let auth = Arc::new(
        Authenticator::new(config, state.secrets.clone())
            .map_err(appgrant_core::flow::FlowError::from)?,
    );
    let cancel = AppState::fresh_token(&state.sign_in_cancel);
    let browser = AppState::browser();
    let session = auth
        .sign_in_with_browser(browser.as_ref(), Access::Apply, &cancel)
        .await
        .map_err(appgrant_core::flow::FlowError::from)?;
    state
        .sessions
        .lock()
        .await
        .insert(connection.tenant_id.clone(), auth);
    Ok(session)
}

/// Saves a rotation's hand-off (only what changed) to a file; `.ics` is the fresh reminder
/// with alarms 30 and 7 days before the new expiry.
#[tauri::command]
#[tracing::instrument(skip(app, state), err(level = "warn", Debug))]
pub async fn export_rotation(
    app: AppHandle,
    state: State<'_, AppState>,
    connection_id: String,
    format: ExportFormat,
    include_secrets: bool,
) -> Result<String> {
    let connection = state.vault.require(&connection_id)?;
    let recipe = state
        .lifecycle()?
        .recipe_for(&connection)
        .ok_or_else(crate::commands::recipe_not_loaded)?;
    let secrets = if include_secrets {
        Some(crate::commands::secrets_of(&state, &connection).await?)
    } else {
        None
    };
    let handoff = lifecycle::rotation_handoff(&recipe, &connection, secrets.as_ref())?;
    let now = chrono::Utc::now();
    let text = match format {
        ExportFormat::Ics => handoff.to_rotation_ics(now),
        other => handoff.render(other, now)?,
    };
    crate::commands::write_export(&app, &state, &handoff.file_name(format), &text)
}

/// On start: what is due within 30 days, and one OS notification a day for the same set
/// (asking the OS for permission first where it wants to be asked).
#[tauri::command]
#[tracing::instrument(skip(app, state), err(level = "warn", Debug))]
pub async fn reminders(app: AppHandle, state: State<'_, AppState>) -> Result<Reminder> {
    let now = chrono::Utc::now();
    let rows = state.lifecycle()?.overview(now, false).await?;
    let due = reminder::due(&rows);
    let log = ReminderLog::new(&state.data_dir);
    let today = now.date_naive();
    let (log_for_check, due_for_check) = (log.clone(), due.clone());
    let notify =
        tokio::task::spawn_blocking(move || log_for_check.should_notify(&due_for_check, today))
            .await
            .map_err(|e| UiError::new(Code::Vault, e.to_string(), None))?;
    let notified = notify && notify_os(&app, &due);
    if notified {
        let due = due.clone();
        let written = tokio::task::spawn_blocking(move || log.record(&due, today)).await;
        if !matches!(written, Ok(Ok(()))) {
            tracing::warn!("could not remember today's reminder; it may be sent again");
        }
    }
    Ok(Reminder { due, notified })
}

/// Sends the notification; false when it did not go out.
fn notify_os(app: &AppHandle, due: &[Due]) -> bool {
    let (title, body) = reminder::message(due);
    match crate::desktop::notify(&app.config().identifier, &title, &body) {
        Ok(()) => true,
        Err(e) => {
            tracing::warn!(error = %e, "the reminder notification was not shown");
            false
        }
    }
}

fn forward(channel: Channel<LifecycleEvent>) -> impl Fn(LifecycleEvent) + Send + Sync + 'static {
    move |event| {
        if let Err(e) = channel.send(event) {
            tracing::warn!(error = %e, "progress event not delivered (window reloaded?)");
        }
    }
}

fn rotate_result(state: &AppState, result: RotationResult) -> Result<RotateResult> {
    let handoff = match (
        &result.handoff,
        state.lifecycle()?.recipe_for(&result.connection),
    ) {
        (Some(handoff), Some(recipe)) => {
            let mut view = DoneView::new(&recipe, handoff);
            view.certificates = crate::dto::certificates_of(&result.connection);
            Some(view)
        }
        _ => None,
    };
    Ok(RotateResult {
        connection: result.status,
        handoff,
    })
}

/// Where the connection's tenant signs in: the practice tenant's own endpoints and client
/// for practice connections, else its recorded cloud.
async fn where_to_sign_in(
    state: &AppState,
    connection: &Connection,
) -> Result<(Endpoints, Option<String>)> {
    if connection.practice {
        let practice = state.practice_tenant().await?;
        return Ok((practice.endpoints, Some(practice.client_id)));
    }
    let endpoints = lifecycle::endpoints_for(connection).map_err(|e| {
        UiError::new(
            Code::Lifecycle,
            e.to_string(),
            Some("Connect the vendor again from the wizard."),
        )
    })?;
    // The organisation's own sign-in app, else the cloud's (China has no Microsoft one).
    let client_id = std::env::var("APPGRANT_CLIENT_ID")
        .ok()
        .filter(|id| !id.trim().is_empty())
        .or_else(|| {
            appgrant_core::cloud::Cloud::of(connection)
                .sign_in_client()
                .map(str::to_string)
        });
    Ok((endpoints, client_id))
}

/// A sign-in to the connection's tenant: the wizard's when it is there, else the dashboard's;
/// `not_signed_in` (which the UI turns into a sign-in prompt) when there is none.
async fn signed_in_for(state: &AppState, connection_id: &str) -> Result<SignedIn> {
    let connection = state.vault.require(connection_id)?;
    let (endpoints, _) = where_to_sign_in(state, &connection).await?;
    let wizard = state.flow.lock().await.authenticator().ok();
    let kept = state
        .sessions
        .lock()
        .await
        .get(&connection.tenant_id)
        .cloned();
    for auth in [wizard, kept].into_iter().flatten() {
        let here = auth.config().endpoints == endpoints;
        let session = auth.session().await;
        if here && session.is_some_and(|s| s.tenant_id == connection.tenant_id) {
            return Ok(SignedIn { endpoints, auth });
        }
    }
    let tenant = connection
        .tenant_domain
        .clone()
        .unwrap_or_else(|| connection.tenant_id.clone());
    Err(UiError::new(
        Code::NotSignedIn,
        format!("Sign in to {tenant} to work on {}.", connection.vendor),
        Some("Use \"Sign in with your browser\" on the connection's card."),
    ))
}
