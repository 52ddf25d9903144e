//! Recipe files (built-in, `recipe check`, imported): parse and validate arbitrary text; and
//! the admin's `--input` values through each built-in recipe's input check and templates.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    appgrant_core::recipe::fuzz_surface(data);
});
