//! The AppGrant desktop shell: thin Tauri commands over `appgrant-core`.
//!
//! `commands` adapts the wizard's calls and `dashboard` the connections dashboard's, `dto`
//! shapes what the UI receives, `error` turns core errors into `{ code, message, hint }`,
//! `guided` holds presenter mode and the practice scenarios, `record` saves change records,
//! `state` holds the wizard's flow, the dashboard's sign-ins and the practice tenant between
//! commands, `desktop` reaches the clipboard and notifications, `startup` logs when the first
//! screen became interactive. Everything worth testing lives in `appgrant-core`.

mod adopt;
mod certificates;
mod commands;
mod dashboard;
mod desktop;
mod dto;
mod error;
mod guided;
mod record;
pub mod startup;
mod state;

use tauri::Manager;
use tracing_subscriber::EnvFilter;

/// Every command the window may call; `build.rs` registers the same list.
macro_rules! app_commands {
    () => {
        tauri::generate_handler![
            commands::launch_options,
            commands::list_recipes,
            commands::import_recipe,
            commands::start_practice,
            commands::use_tenant,
            commands::sign_in_browser,
            commands::cancel_sign_in,
            commands::start_device_code,
            commands::finish_device_code,
            commands::sign_out,
            commands::plan_recipe,
            commands::apply_plan,
            commands::cancel_apply,
            commands::verify,
            commands::finish,
            commands::reveal_secret,
            commands::copy_secret,
            commands::export_handoff,
            record::save_change_record,
            commands::list_connections,
            commands::search_people,
            commands::choose_mailboxes,
            commands::limit_mailboxes,
            commands::verify_mailbox_limit,
            commands::sign_in_for_mailbox_limit,
            commands::limit_sign_in,
            commands::change_mailboxes,
            commands::remove_mailbox_limit,
            dashboard::load_dashboard,
            dashboard::check_connection,
            dashboard::fix_drift,
            dashboard::sign_in_for_connection,
            dashboard::rotate_connection,
            dashboard::finish_rotation,
            dashboard::export_rotation,
            dashboard::reminders,
            adopt::find_vendor_apps,
            adopt::expiry_report,
            adopt::adopt_app,
            adopt::plan_drift_fix,
            adopt::fix_adopted_drift,
            commands::open_external,
            guided::set_presenter,
            guided::practice_scenarios,
            guided::choose_practice_scenario,
            certificates::inspect_certificate,
            certificates::export_certificate,
            certificates::copy_export_password,
        ]
    };
}

/// Logs to stderr and to `appgrant.log` in the app's log folder, which a user can attach to a
/// support ticket. Nothing secret is ever logged: secrets are `Secret<T>` and print
/// `[redacted]`, and commands skip their sensitive arguments.
fn start_logging(log_dir: Option<std::path::PathBuf>) {
    use tracing_subscriber::fmt::writer::MakeWriterExt;
    let filter = EnvFilter::try_from_env("APPGRANT_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let file = log_dir.and_then(|dir| {
        std::fs::create_dir_all(&dir).ok()?;
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("appgrant.log"))
            .ok()
    });
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    match file {
        Some(file) => builder
            .with_writer(std::io::stderr.and(std::sync::Mutex::new(file)))
            .with_ansi(false)
            .init(),
        None => builder.with_writer(std::io::stderr).init(),
    }
}

/// Keeps the window on AppGrant's own pages: every navigation elsewhere (a remote site, a
/// `file://` page, `data:`) is refused (the rule is `appgrant_core::lockdown::is_app_page`).
fn lockdown<R: tauri::Runtime>() -> tauri::plugin::TauriPlugin<R> {
    tauri::plugin::Builder::new("lockdown")
        .on_navigation(|_, url| {
            let allowed = appgrant_core::lockdown::is_app_page(url, cfg!(debug_assertions));
            if !allowed {
                tracing::warn!(scheme = url.scheme(), host = ?url.host_str(), "refused to leave AppGrant's pages");
            }
            allowed
        })
        .build()
}

pub fn run() {
    let result = tauri::Builder::default()
        .plugin(lockdown())
        .setup(|app| {
            start_logging(app.path().app_log_dir().ok());
            let data_dir = match std::env::var_os("APPGRANT_DATA_DIR") {
                Some(dir) => std::path::PathBuf::from(dir),
                None => app.path().app_data_dir()?,
            };
            std::fs::create_dir_all(&data_dir)?;
            tracing::info!(dir = %data_dir.display(), "data folder");
            app.manage(state::AppState::new(data_dir)?);
            Ok(())
        })
        .invoke_handler(startup::noting_first_command(app_commands!()))
        .run(tauri::generate_context!("../tauri.conf.json"));
    if let Err(error) = result {
        tracing::error!(%error, "AppGrant could not start");
        eprintln!("AppGrant could not start: {error}");
        std::process::exit(1);
    }
}
