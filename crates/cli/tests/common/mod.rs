//! Helpers shared by the CLI's integration tests: a throwaway data folder per test, and the
//! CLI command with a clean environment.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;
use std::sync::atomic::{AtomicU32, Ordering};

/// A fresh folder under the system temp dir, removed when dropped. `.0` is its path.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new() -> Self {
        static N: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "appgrant-cli-test-{}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `appgrant-cli` on data folder `data`, with no inherited browser, client id or log settings
/// and no input. `keyring`: the OS credential store (inside scripts/with-keyring.sh), else the
/// in-memory store.
pub fn cli(data: &Path, keyring: bool) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_appgrant-cli"));
    cmd.env("APPGRANT_DATA_DIR", data)
        .env_remove("APPGRANT_BROWSER")
        .env_remove("APPGRANT_CLIENT_ID")
        .env_remove("APPGRANT_LOG")
        .stdin(Stdio::null());
    if keyring {
        cmd.env_remove("APPGRANT_SECRET_STORE");
    } else {
        cmd.env("APPGRANT_SECRET_STORE", "memory");
    }
    cmd
}

/// Runs the CLI with its own data folder and (unless `keyring`) the in-memory secret store.
pub fn run(data: &Path, keyring: bool, args: &[&str]) -> Output {
    cli(data, keyring).args(args).output().unwrap()
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The command's stdout as JSON (`--json`), or a panic that shows what it printed.
pub fn json_out(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}\n{}", stdout(o), stderr(o)))
}
