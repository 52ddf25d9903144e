#![allow(clippy::unwrap_used, clippy::expect_used)]
//! AppGrant's panic hook never prints a secret-bearing value: a child process (this test
//! binary, re-run with one test selected) installs the hook and panics with a secret in
//! scope, in a panic message and through `unwrap()` on an error that quotes it; the parent
//! reads everything the child wrote.

use std::process::Command;

use appgrant_core::secret::Secret;

const VALUE: &str = "Xq8~not-a-real-client-secret-4f1d";
const CHILD: &str = "APPGRANT_PANIC_CHILD";

#[test]
fn a_panic_with_a_secret_in_scope_prints_where_but_never_the_secret() {
    for how in ["format", "unwrap", "secret-debug"] {
        let out = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "child_that_panics",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD, how)
            .env("RUST_BACKTRACE", "full")
            .output()
            .unwrap();
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!out.status.success(), "{how}: the child panicked\n{all}");
        assert!(all.contains("hit a bug at"), "{how}: {all}");
        assert!(
            all.contains("tests/panic_hook.rs:"),
            "{how}: the location is shown\n{all}"
        );
        assert!(!all.contains(VALUE), "{how}: the secret leaked:\n{all}");
    }
}

/// Runs only when the parent test starts it.
#[test]
fn child_that_panics() {
    let Ok(how) = std::env::var(CHILD) else {
        return;
    };
    appgrant_core::panic_hook::install("appgrant-test");
    let secret = Secret::new(VALUE.to_string());
    match how.as_str() {
        "format" => panic!("token was {}", secret.expose()),
        "unwrap" => {
            let answer = format!("server said {}", secret.expose());
            let r: Result<(), String> = std::hint::black_box(Err(answer));
            r.unwrap();
        }
        _ => panic!("{secret:?}"),
    }
}
