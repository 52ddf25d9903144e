//! Tauri commands: each one adapts arguments, calls core, and converts the error. No logic
//! lives here; long waits run without holding the flow so Cancel can get through.

use appgrant_core::apply::{ApplyError, ApplyEvent};
use appgrant_core::cloud::Cloud;
use appgrant_core::export::{AppSecrets, ExportFormat, Handoff};
use appgrant_core::flow::{Flow, FlowError, MailboxLimitOutcome, TenantChoice};
use appgrant_core::identity::{DeviceCodePrompt, Session};
use appgrant_core::plan::Choices;
use appgrant_core::scope::signin::SignInLimit;
use appgrant_core::scope::Recipient;
use appgrant_core::settings::{LastTenant, Settings};
use appgrant_core::vault::Connection;
use appgrant_core::verify::Check;
use tauri::ipc::Channel;
use tauri::{AppHandle, Manager, State};

use crate::dto::{
    ApplyResult, CloudView, ConnectionCard, DoneView, LaunchOptions, PlanView, RecipeCard,
    TenantInfo,
};
use crate::error::{Code, UiError};
use crate::state::AppState;

type Result<T> = std::result::Result<T, UiError>;

/// How the window should open: `APPGRANT_START=practice` opens the practice tenant straight
/// away (what `scripts/start.sh` does when no tenant is given), a domain opens that tenant;
/// otherwise the tenant chosen last time opens again (the Start screen asks on a first run).
/// `APPGRANT_PRESENTER=1` (`start.sh --presenter`) turns presenter mode on and remembers it.
#[tauri::command]
pub async fn launch_options(state: State<'_, AppState>) -> Result<LaunchOptions> {
    let presenter_asked = std::env::var("APPGRANT_PRESENTER").is_ok_and(|v| v.trim() == "1");
    let settings = if presenter_asked {
        state.remember(|s| s.presenter = true)
    } else {
        Settings::load(&state.data_dir)
    };
    let start = std::env::var("APPGRANT_START").unwrap_or_default();
    Ok(match start.trim() {
        "" => LaunchOptions::remembered(settings),
        "practice" => LaunchOptions::practice(settings.presenter),
        tenant => LaunchOptions::tenant(tenant, None, None, settings.presenter),
    })
}

/// The recipes for the "Choose vendor" screen.
#[tauri::command]
#[tracing::instrument(skip(state), err(level = "warn", Debug))]
pub async fn list_recipes(state: State<'_, AppState>) -> Result<Vec<RecipeCard>> {
    Ok(state.recipes()?.iter().map(RecipeCard::from).collect())
}

/// Checks a recipe file; valid ones join the list for this session.
#[tauri::command]
#[tracing::instrument(skip(state, text), err(level = "warn", Debug))]
pub async fn import_recipe(
    state: State<'_, AppState>,
    file_name: String,
    text: String,
) -> Result<RecipeCard> {
    let recipe = appgrant_core::recipe::parse(&file_name, &text)?;
    let card = RecipeCard::from(&recipe);
    let mut imported = state.imported.lock().unwrap_or_else(|p| p.into_inner());
    imported.retain(|r| r.id != recipe.id);
    imported.push(recipe);
    Ok(card)
}

/// Starts the practice tenant (once) and points the wizard at it.
#[tauri::command]
#[tracing::instrument(skip(state), err(level = "warn", Debug))]
pub async fn start_practice(state: State<'_, AppState>) -> Result<TenantInfo> {
    let practice = state.practice_tenant().await?;
    let scenario = state.scenario();
    {
        let mut flow = state.flow.lock().await;
        flow.set_login_hint(Some(scenario.sign_in_upn(&practice.domain)))?;
        flow.use_tenant(TenantChoice {
            cloud: practice.cloud,
            tenant: practice.tenant_id,
            practice: true,
            client_id: Some(practice.client_id),
        })?;
    }
    state.remember(|s| s.last_tenant = Some(LastTenant::Practice));
    Ok(TenantInfo::practice(&scenario, &practice.domain))
}

/// Points the wizard at a real tenant ("organizations" for any work account) in a Microsoft
/// cloud (`global` when none is given), signing in with `client_id` or the cloud's default
/// app (China has none: the admin names their own registration).
#[tauri::command]
#[tracing::instrument(skip(state), err(level = "warn", Debug))]
pub async fn use_tenant(
    state: State<'_, AppState>,
    tenant: String,
    cloud: Option<String>,
    client_id: Option<String>,
) -> Result<TenantInfo> {
    let tenant = tenant.trim().to_string();
    let tenant = if tenant.is_empty() {
        "organizations".to_string()
    } else {
        tenant
    };
    let cloud = match cloud.as_deref() {
        Some(id) => Cloud::from_id(id)?,
        None => Cloud::Global,
    };
    let client_id = client_id
        .or_else(|| std::env::var("APPGRANT_CLIENT_ID").ok())
        .map(|id| id.trim().to_string())
        .filter(|id| !id.is_empty());
    let mut flow = state.flow.lock().await;
    flow.set_login_hint(None)?;
    flow.use_tenant(TenantChoice {
        cloud: cloud.clone(),
        tenant: tenant.clone(),
        practice: false,
        client_id: client_id.clone(),
    })?;
    state.remember(|s| {
        s.last_tenant = Some(LastTenant::Tenant {
            tenant: tenant.clone(),
            cloud: cloud.id().to_string(),
            client_id,
        })
    });
    Ok(TenantInfo {
        practice: false,
        label: if tenant == "organizations" {
            "Your organisation".to_string()
        } else {
            tenant
        },
        sign_in_hint: None,
        cloud: Some(CloudView::new(&cloud, flow.endpoints()?)),
    })
}

#[tauri::command]
#[tracing::instrument(skip(state), err(level = "warn", Debug))]
pub async fn sign_in_browser(state: State<'_, AppState>) -> Result<Session> {
    let auth = state.flow.lock().await.authenticator()?;
    let cancel = AppState::fresh_token(&state.sign_in_cancel);
    let browser = AppState::browser();
    Ok(Flow::sign_in_browser(auth, browser.as_ref(), &cancel).await?)
}

#[tauri::command]
pub async fn cancel_sign_in(state: State<'_, AppState>) -> Result<()> {
    AppState::cancel(&state.sign_in_cancel);
    Ok(())
}

#[tauri::command]
#[tracing::instrument(skip(state), err(level = "warn", Debug))]
pub async fn start_device_code(state: State<'_, AppState>) -> Result<DeviceCodePrompt> {
    Ok(state.flow.lock().await.start_device_code().await?)
}

#[tauri::command]
#[tracing::instrument(skip(state), err(level = "warn", Debug))]
pub async fn finish_device_code(state: State<'_, AppState>) -> Result<Session> {
    let (auth, prompt) = {
        let flow = state.flow.lock().await;
        (
            flow.authenticator()?,
            flow.device_code().ok_or(FlowError::NotSignedIn)?,
        )
    };
    let cancel = AppState::fresh_token(&state.sign_in_cancel);
    let session = auth
        .complete_device_code(&prompt, tokio::time::sleep, &cancel)
        .await
        .map_err(FlowError::from)?;
    Ok(session)
}

#[tauri::command]
#[tracing::instrument(skip(state), err(level = "warn", Debug))]
pub async fn sign_out(state: State<'_, AppState>) -> Result<()> {
    Ok(state.flow.lock().await.sign_out().await?)
}

#[tauri::command]
#[tracing::instrument(skip(state, choices), err(level = "warn", Debug))]
pub async fn plan_recipe(
    state: State<'_, AppState>,
    recipe_id: String,
    choices: Choices,
) -> Result<PlanView> {
    let recipe = state
        .recipes()?
        .into_iter()
        .find(|r| r.id == recipe_id)
        .ok_or_else(|| {
            UiError::new(
                Code::Plan,
                format!("There is no recipe \"{recipe_id}\"."),
                Some("Choose a vendor from the list."),
            )
        })?;
    let mut flow = state.flow.lock().await;
    let plan = flow.plan(recipe.clone(), choices).await?;
    let cloud = flow
        .tenant()
        .filter(|t| !t.practice)
        .map(|t| t.cloud.clone());
    let tenant = flow
        .session()
        .await
        .and_then(|s| s.tenant_name.or(s.tenant_domain))
        .unwrap_or_default();
    Ok(PlanView::new(
        &recipe,
        &plan,
        &crate::dto::PortalContext { cloud, tenant },
    ))
}

/// Applies the reviewed plan, streaming progress; failed steps come back in the result.
#[tauri::command]
#[tracing::instrument(skip(state, on_event), err(level = "warn", Debug))]
pub async fn apply_plan(
    state: State<'_, AppState>,
    on_event: Channel<ApplyEvent>,
) -> Result<ApplyResult> {
    let cancel = AppState::fresh_token(&state.apply_cancel);
    let send = move |event: ApplyEvent| {
        if let Err(e) = on_event.send(event) {
            tracing::warn!(error = %e, "progress event not delivered (window reloaded?)");
        }
    };
    match state.flow.lock().await.apply(send, cancel).await {
        Ok(_) => Ok(ApplyResult {
            ok: true,
            failures: Vec::new(),
        }),
        Err(FlowError::Apply(ApplyError { failures })) => Ok(ApplyResult {
            ok: false,
            failures,
        }),
        Err(e) => Err(e.into()),
    }
}

#[tauri::command]
pub async fn cancel_apply(state: State<'_, AppState>) -> Result<()> {
    AppState::cancel(&state.apply_cancel);
    Ok(())
}

#[tauri::command]
#[tracing::instrument(skip(state), err(level = "warn", Debug))]
pub async fn verify(state: State<'_, AppState>) -> Result<Vec<Check>> {
    Ok(state.flow.lock().await.verify().await?.checks)
}

/// Saves the connection and returns the hand-off values (secrets hidden).
#[tauri::command]
#[tracing::instrument(skip(state), err(level = "warn", Debug))]
pub async fn finish(state: State<'_, AppState>) -> Result<DoneView> {
    let mut flow = state.flow.lock().await;
    let connection = flow.finish(&state.vault).await?;
    let recipe = flow.recipe().cloned().ok_or(FlowError::NoPlan)?;
    let handoff = Handoff::build(&recipe, &connection, None)?;
    let mut view = DoneView::new(&recipe, &handoff).with_portal(&recipe, &connection);
    view.mailbox_limits = crate::dto::limit_headlines(&connection);
    view.sign_in_limits = connection
        .sign_in_limits
        .iter()
        .map(appgrant_core::scope::signin::SignInLimit::headline)
        .collect();
    view.certificates = crate::dto::certificates_of(&connection);
    Ok(view)
}

async fn load_secret(
    state: &AppState,
    connection_id: &str,
    app_key: &str,
) -> Result<appgrant_core::secret::Secret<String>> {
    let vault = state.vault.clone();
    let (id, key) = (connection_id.to_string(), app_key.to_string());
    tokio::task::spawn_blocking(move || {
        let connection = vault.require(&id)?;
        let at = connection.secret_ref(&key).ok_or_else(|| {
            UiError::new(
                Code::Vault,
                format!("This connection has no secret for \"{key}\"."),
                None,
            )
        })?;
        vault.load_secret(&at)?.ok_or_else(|| {
            UiError::new(
                Code::Vault,
                "The secret is not in this computer's credential store.",
                Some("Rotate the secret to create and store a new one."),
            )
        })
    })
    .await
    .map_err(|e| UiError::new(Code::Vault, e.to_string(), None))?
}

/// The one command that returns a secret, on the user's explicit "Reveal".
#[tauri::command]
#[tracing::instrument(skip(state), err(level = "warn", Debug))]
pub async fn reveal_secret(
    state: State<'_, AppState>,
    connection_id: String,
    app_key: String,
) -> Result<String> {
    Ok(load_secret(&state, &connection_id, &app_key)
        .await?
        .into_inner())
}

/// Copies a secret to the clipboard without it passing through the UI; clears it after 60 s
/// unless something else was copied meanwhile.
#[tauri::command]
#[tracing::instrument(skip(state), err(level = "warn", Debug))]
pub async fn copy_secret(
    state: State<'_, AppState>,
    connection_id: String,
    app_key: String,
) -> Result<()> {
    let secret = load_secret(&state, &connection_id, &app_key).await?;
    copy_clearing(secret)
}

/// Puts `secret` on the clipboard and clears it after 60 s unless something else was copied
/// meanwhile.
pub fn copy_clearing(secret: appgrant_core::secret::Secret<String>) -> Result<()> {
    crate::desktop::write_text(secret.expose()).map_err(|e| {
        UiError::new(
            Code::Export,
            format!("Could not use the clipboard: {e}"),
            Some("Use Reveal and copy the value by hand."),
        )
    })?;
    tauri::async_runtime::spawn(async move {
        tokio::time::sleep(std::time::Duration::from_secs(60)).await;
        if crate::desktop::read_text().ok().as_deref() == Some(secret.expose().as_str()) {
            let _ = crate::desktop::write_text("");
        }
    });
    Ok(())
}

/// Writes an export file (into Downloads/AppGrant, else the app data folder) and returns its path.
#[tauri::command]
#[tracing::instrument(skip(app, state), err(level = "warn", Debug))]
pub async fn export_handoff(
    app: AppHandle,
    state: State<'_, AppState>,
    connection_id: String,
    format: ExportFormat,
    include_secrets: bool,
) -> Result<String> {
    let connection = state.vault.require(&connection_id)?;
    let recipe = state
        .recipes()?
        .into_iter()
        .find(|r| r.id == connection.recipe_id)
        .ok_or_else(recipe_not_loaded)?;
    let secrets = if include_secrets {
        Some(secrets_of(&state, &connection).await?)
    } else {
        None
    };
    let handoff = Handoff::build(&recipe, &connection, secrets.as_ref())?;
    let text = handoff.render(format, chrono::Utc::now())?;
    write_export(&app, &state, &handoff.file_name(format), &text)
}

pub fn recipe_not_loaded() -> UiError {
    UiError::new(
        Code::Export,
        "The recipe of this connection is not loaded.",
        Some("Import the recipe file again."),
    )
}

/// The connection's secrets from the keyring, for an export the user asked to include them in.
pub async fn secrets_of(state: &AppState, connection: &Connection) -> Result<AppSecrets> {
    let vault = state.vault.clone();
    let c = connection.clone();
    Ok(
        tokio::task::spawn_blocking(move || AppSecrets::from_vault(&vault, &c))
            .await
            .map_err(|e| UiError::new(Code::Export, e.to_string(), None))??,
    )
}

/// The export folder: `APPGRANT_EXPORT_DIR`, else Downloads/AppGrant, else the data folder.
pub fn export_dir(app: &AppHandle, state: &AppState) -> std::path::PathBuf {
    std::env::var_os("APPGRANT_EXPORT_DIR")
        .map(std::path::PathBuf::from)
        .or_else(|| app.path().download_dir().ok().map(|d| d.join("AppGrant")))
        .unwrap_or_else(|| state.data_dir.join("exports"))
}

/// Writes `text` to `file_name` in the export folder (`APPGRANT_EXPORT_DIR`, else
/// Downloads/AppGrant, else the data folder) and returns the path.
pub fn write_export(
    app: &AppHandle,
    state: &AppState,
    file_name: &str,
    text: &str,
) -> Result<String> {
    let dir = export_dir(app, state);
    let path = dir.join(file_name);
    std::fs::create_dir_all(&dir)
        .and_then(|()| std::fs::write(&path, text))
        .map_err(|e| {
            UiError::new(
                Code::Export,
                format!("Could not write {}: {e}", path.display()),
                Some("Check the folder is writable."),
            )
        })?;
    Ok(path.display().to_string())
}

#[tauri::command]
#[tracing::instrument(skip(state), err(level = "warn", Debug))]
pub async fn list_connections(state: State<'_, AppState>) -> Result<Vec<ConnectionCard>> {
    Ok(state
        .vault
        .list()?
        .iter()
        .map(ConnectionCard::from)
        .collect())
}

/// The people picker: users and groups whose name or address starts with `query`.
#[tauri::command]
#[tracing::instrument(skip(state), err(level = "warn", Debug))]
pub async fn search_people(state: State<'_, AppState>, query: String) -> Result<Vec<Recipient>> {
    Ok(state.flow.lock().await.search_people(&query, 20).await?)
}

/// Chooses whose mailboxes the vendor may use (empty: no limit); returns them resolved.
#[tauri::command]
#[tracing::instrument(skip(state), err(level = "warn", Debug))]
pub async fn choose_mailboxes(
    state: State<'_, AppState>,
    ids: Vec<String>,
) -> Result<Vec<Recipient>> {
    Ok(state.flow.lock().await.choose_mailboxes(&ids).await?)
}

/// After Apply and Verify: limits mailbox access with Exchange and proves it.
#[tauri::command]
#[tracing::instrument(skip(state), err(level = "warn", Debug))]
pub async fn limit_mailboxes(state: State<'_, AppState>) -> Result<MailboxLimitOutcome> {
    Ok(state.flow.lock().await.limit_mailboxes().await?)
}

/// Checks the mailbox limit again (Microsoft can take up to 2 hours).
#[tauri::command]
#[tracing::instrument(skip(state), err(level = "warn", Debug))]
pub async fn verify_mailbox_limit(state: State<'_, AppState>) -> Result<MailboxLimitOutcome> {
    Ok(state.flow.lock().await.verify_mailbox_limit().await?)
}

/// After Apply: only the chosen people and groups may sign in to the vendor's app (this
/// limits sign-in, not mailbox access).
#[tauri::command]
#[tracing::instrument(skip(state), err(level = "warn", Debug))]
pub async fn limit_sign_in(
    state: State<'_, AppState>,
    ids: Vec<String>,
) -> Result<Vec<SignInLimit>> {
    Ok(state.flow.lock().await.limit_sign_in(&ids).await?)
}

/// Changes who is on the list of an applied mailbox limit, then checks it again.
#[tauri::command]
#[tracing::instrument(skip(state), err(level = "warn", Debug))]
pub async fn change_mailboxes(
    state: State<'_, AppState>,
    ids: Vec<String>,
) -> Result<MailboxLimitOutcome> {
    Ok(state.flow.lock().await.change_mailboxes(&ids).await?)
}

/// Removes the mailbox limit and restores the tenant-wide grants it replaced.
#[tauri::command]
#[tracing::instrument(skip(state), err(level = "warn", Debug))]
pub async fn remove_mailbox_limit(state: State<'_, AppState>) -> Result<()> {
    Ok(state.flow.lock().await.remove_mailbox_limit().await?)
}

/// Signs in again in the browser to consent to the people-picker and Exchange scopes.
#[tauri::command]
#[tracing::instrument(skip(state), err(level = "warn", Debug))]
pub async fn sign_in_for_mailbox_limit(state: State<'_, AppState>) -> Result<Session> {
    let auth = state.flow.lock().await.authenticator()?;
    let cancel = AppState::fresh_token(&state.sign_in_cancel);
    let browser = AppState::browser();
    Ok(Flow::sign_in_for_mailbox_limit(auth, browser.as_ref(), &cancel).await?)
}

/// Opens a link (the device-code page, a consent URL, a "Show in the Entra admin center"
/// blade) in the system browser, only when core's allow-list accepts it: a Microsoft sign-in
/// or admin portal page of the chosen cloud, or the practice tenant. The page cannot open anything else through AppGrant.
#[tauri::command]
#[tracing::instrument(skip(state), err(level = "warn", Debug))]
pub async fn open_external(state: State<'_, AppState>, url: String) -> Result<()> {
    let refused = || {
        UiError::new(
            Code::SignIn,
            "AppGrant opens only Microsoft's sign-in and admin portal pages for the chosen cloud (and the practice tenant).",
            Some("Copy the link instead and check where it goes before opening it."),
        )
    };
    let parsed = tauri::Url::parse(&url).map_err(|_| refused())?;
    let cloud = state
        .flow
        .lock()
        .await
        .tenant()
        .map(|t| t.cloud.clone())
        .unwrap_or(Cloud::Global);
    let practice = state
        .practice
        .lock()
        .await
        .as_ref()
        .and_then(|sim| tauri::Url::parse(&sim.base_url()).ok());
    if !appgrant_core::lockdown::may_open_externally(&parsed, &cloud, practice.as_ref()) {
        return Err(refused());
    }
    AppState::browser().open(&parsed).map_err(|e| {
        UiError::new(
            Code::SignIn,
            format!("AppGrant could not open your web browser: {e}"),
            Some("Copy the link and open it in your browser yourself."),
        )
    })
}
