//! Fuzz target: the vendor certificate file import (`.cer` DER, `.pem`, base64). It must
//! never panic and never accept a file holding a PEM private key. The corpus in
//! `fuzz/corpus/certificate_file/` was made with `openssl req -x509` (throw-away keys made for
//! the corpus only): certificates as DER, PEM and base64, a certificate followed by its key
//! (PEM, traditional RSA and DER), a PKCS#8 key, a PFX, an EC and a 1024-bit certificate, a
//! truncated DER and random bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    appgrant_core::certificate::import::fuzz_surface(data);
});
