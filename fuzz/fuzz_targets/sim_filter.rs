//! The practice tenant's Graph query parser: a raw query string (`$filter`, `$select`,
//! `$top`, `$search`, `$skiptoken`, ...) parsed, then the filter evaluated on an object.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(query) = std::str::from_utf8(data) {
        appgrant_sim::odata::fuzz_surface(query);
    }
});
