//! Stable-toolchain short run of the fuzz targets that live in core (`fuzz/`, run long by
//! scripts/fuzz.sh): the saved corpus plus a few thousand mutations of it, through the same
//! functions the fuzz targets call. A panic fails the test with the input that caused it.

use std::path::Path;
use std::sync::atomic::AtomicBool;

/// The corpus of a target plus `extra` mutations of it (byte flips, truncations, splices).
pub fn cases(target: &str, extra: usize) -> Vec<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/corpus")
        .join(target);
    let mut seeds: Vec<Vec<u8>> = std::fs::read_dir(&dir)
        .map(|d| {
            d.filter_map(|e| std::fs::read(e.ok()?.path()).ok())
                .collect()
        })
        .unwrap_or_default();
    assert!(seeds.len() >= 5, "the corpus is in {}", dir.display());
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let base = seeds.clone();
    for _ in 0..extra {
        let mut case = base[(next() % base.len() as u64) as usize].clone();
        match next() % 4 {
            0 if !case.is_empty() => {
                let i = (next() % case.len() as u64) as usize;
                case[i] = next() as u8;
            }
            1 => case.truncate((next() % (case.len() as u64 + 1)) as usize),
            2 => {
                let other = &base[(next() % base.len() as u64) as usize];
                let at = (next() % (case.len() as u64 + 1)) as usize;
                case.splice(at..at, other.iter().copied());
            }
            _ => {
                const JUNK: &[u8] = b"\"'[]{}=.\n\r\0\\%$ ";
                case.extend(
                    (0..(next() % 16)).map(|_| JUNK[(next() % JUNK.len() as u64) as usize]),
                );
            }
        }
        seeds.push(case);
    }
    seeds
}

fn replay(target: &str, extra: usize, f: impl Fn(&[u8]) + std::panic::RefUnwindSafe) {
    for case in cases(target, extra) {
        if std::panic::catch_unwind(|| f(&case)).is_err() {
            panic!("{target} panicked on {:?}", String::from_utf8_lossy(&case));
        }
    }
}

#[test]
fn recipe_files_and_input_values_never_panic() {
    replay("recipe_toml", 3000, appgrant_core::recipe::fuzz_surface);
}

#[test]
fn loopback_requests_never_panic_and_only_a_right_callback_ends_the_flow() {
    replay("loopback_request", 5000, |data| {
        let done = AtomicBool::new(false);
        if let Some((status, _, Some(_))) =
            appgrant_core::identity::loopback::answer(data, 50123, "expected-state", &done)
        {
            let text = String::from_utf8_lossy(data);
            assert_eq!(status, 200);
            assert!(text.contains("state=expected-state"), "{text}");
        }
    });
}
