//! Reads the Tauri config from the repository root (the design keeps `tauri.conf.json` there)
//! and registers the app's commands so each one needs an explicit `allow-*` permission.

/// Keep in step with `app_commands!` in src/lib.rs and capabilities/main.json.
const COMMANDS: &[&str] = &[
    "launch_options",
    "list_recipes",
    "import_recipe",
    "start_practice",
    "use_tenant",
    "sign_in_browser",
    "cancel_sign_in",
    "start_device_code",
    "finish_device_code",
    "sign_out",
    "plan_recipe",
    "apply_plan",
    "cancel_apply",
    "verify",
    "finish",
    "reveal_secret",
    "copy_secret",
    "export_handoff",
    "save_change_record",
    "list_connections",
    "search_people",
    "choose_mailboxes",
    "limit_mailboxes",
    "verify_mailbox_limit",
    "sign_in_for_mailbox_limit",
    "limit_sign_in",
    "change_mailboxes",
    "remove_mailbox_limit",
    "load_dashboard",
    "check_connection",
    "fix_drift",
    "sign_in_for_connection",
    "rotate_connection",
    "finish_rotation",
    "export_rotation",
    "reminders",
    "find_vendor_apps",
    "expiry_report",
    "adopt_app",
    "plan_drift_fix",
    "fix_adopted_drift",
    "open_external",
    "set_presenter",
    "practice_scenarios",
    "choose_practice_scenario",
    "inspect_certificate",
    "export_certificate",
    "copy_export_password",
];

fn main() {
    let attributes = tauri_build::Attributes::new()
        .config_path("../tauri.conf.json")
        .app_manifest(tauri_build::AppManifest::new().commands(COMMANDS));
    if let Err(error) = tauri_build::try_build(attributes) {
        println!("cargo:warning=tauri build failed: {error:#}");
        std::process::exit(1);
    }
}
