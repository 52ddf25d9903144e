//! `appgrant-cli` arguments (and `--input KEY=VALUE` values): argv split on NUL bytes,
//! parsed exactly as `main` parses them.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[allow(dead_code, unused_imports)]
#[path = "../../crates/cli/src/main.rs"]
mod cli;

fuzz_target!(|data: &[u8]| {
    let argv = std::iter::once("appgrant-cli".to_string()).chain(
        data.split(|b| *b == 0)
            .map(|a| String::from_utf8_lossy(a).into_owned()),
    );
    let _ = cli::parse_args(argv);
});
