//! The sign-in loopback listener: whatever a local process or a browser sends it.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let done = std::sync::atomic::AtomicBool::new(false);
    let _ = appgrant_core::identity::loopback::answer(data, 50123, "expected-state", &done);
});
