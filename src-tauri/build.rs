//! Reads the Tauri config from the repository root (the design keeps `tauri.conf.json` there)
//! and registers the app's commands so each one needs an explicit `allow-*` permission.

fn main() {
    let attributes = tauri_build::Attributes::new()
        .config_path("../tauri.conf.json")
        .app_manifest(tauri_build::AppManifest::new().commands(&["list_recipes"]));
    if let Err(error) = tauri_build::try_build(attributes) {
        println!("cargo:warning=tauri build failed: {error:#}");
        std::process::exit(1);
    }
}
