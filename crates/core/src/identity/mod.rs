//! Admin sign-in: authorization code + PKCE through the system browser on a loopback
//! redirect, device code as the fallback, and a token cache whose refresh token lives in the
//! OS keyring.

pub mod loopback;
