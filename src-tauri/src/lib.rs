//! The AppGrant desktop shell: thin Tauri commands over `appgrant-core`.

pub fn run() {
    #[allow(clippy::expect_used)]
    tauri::Builder::default()
        .run(tauri::generate_context!("../tauri.conf.json"))
        .expect("error while running AppGrant");
}
