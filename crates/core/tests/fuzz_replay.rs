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

#[test]
fn certificate_files_never_panic_and_a_private_key_never_passes() {
    replay(
        "certificate_file",
        3000,
        appgrant_core::certificate::import::fuzz_surface,
    );
    // Random bytes, of every length up to a few kilobytes.
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    for len in (0..4096).step_by(7) {
        let bytes: Vec<u8> = (0..len)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state as u8
            })
            .collect();
        if std::panic::catch_unwind(|| appgrant_core::certificate::import::fuzz_surface(&bytes))
            .is_err()
        {
            panic!("certificate import panicked on {len} random bytes");
        }
    }
}

#[test]
fn the_certificate_corpus_is_read_as_an_admin_would_expect() {
    use appgrant_core::certificate::{import::inspect, CertificateError};
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/certificate_file");
    let read = |name: &str| inspect(name, &std::fs::read(dir.join(name)).unwrap());
    for good in ["cert.pem", "cert.der", "cert.b64"] {
        let cert = read(good).unwrap_or_else(|e| panic!("{good}: {e}"));
        assert_eq!(cert.info.key_bits, 2048, "{good}");
        assert!(cert.info.subject.contains("CN=Fuzz Vendor"), "{good}");
    }
    for with_key in [
        "cert-and-key.pem",
        "cert-rsakey.pem",
        "key.der",
        "both.pfx",
        "der-then-key.der",
    ] {
        let e = read(with_key).unwrap_err();
        assert!(matches!(e, CertificateError::PrivateKey), "{with_key}: {e}");
        assert!(
            e.to_string().contains("never send private keys"),
            "{with_key}"
        );
    }
    for broken in ["truncated.der", "random.bin"] {
        assert!(
            matches!(read(broken), Err(CertificateError::Unreadable { .. })),
            "{broken}"
        );
    }
    assert_eq!(
        read("short.pem").unwrap().info.key_bits,
        1024,
        "read, then refused by check()"
    );
    assert_eq!(
        read("ec.pem").unwrap().info.key_bits,
        0,
        "not RSA: refused by check()"
    );
}
