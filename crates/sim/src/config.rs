//! Simulator configuration: the start-up settings (`SimConfig`) and the run-time knobs
//! (`Knobs`) that make the tenant behave badly on purpose.
//!
//! Everything defaults to a fast, deterministic, well-behaved tenant: no replication delays,
//! no faults, no throttling, no latency. Tests turn knobs on where they need them. The same
//! structures are read from a TOML file (`--config`), set by CLI flags, and read/replaced as
//! JSON through `GET/PUT /_sim/knobs`.

use serde::{Deserialize, Serialize};

/// Start-up configuration of a simulator instance.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct SimConfig {
    /// TCP port on 127.0.0.1; 0 picks a free one.
    pub port: u16,
    /// Extra generated users on top of the ~50 seeded ones (100,000 for scale tests).
    pub extra_users: usize,
    /// Run-time knobs the instance starts with (and returns to on reset).
    pub knobs: Knobs,
    /// Serve https with a certificate authority generated at start (clients trust its PEM:
    /// `Sim::ca_pem()` / `Sim::cert_path()`). Plain http when false (the default, fastest).
    pub tls: bool,
    /// Where TLS mode writes the CA certificate (PEM). Default: a file named after the port
    /// in the system's temp directory.
    pub cert_out: Option<std::path::PathBuf>,
    /// Keep the tenant's objects (apps, service principals, grants, secrets, Exchange scopes)
    /// in this file: loaded at start, saved after every successful write. None: in memory only.
    pub state_file: Option<std::path::PathBuf>,
    /// Seed the app registrations an admin made by hand from vendors' guides, mistakes
    /// included (see `seed_apps`): TonicDM, Totalview's two apps, a certificate-only app, an
    /// app without credentials, and one with a permission Microsoft Graph does not publish.
    pub hand_made_apps: bool,
    /// Generate this many extra app registrations with random secrets and certificates.
    pub extra_apps: usize,
}

impl SimConfig {
    /// Parses a TOML document (all fields optional).
    pub fn from_toml(text: &str) -> Result<SimConfig, toml::de::Error> {
        toml::from_str(text)
    }
}

/// Run-time behaviour switches. All delays are in milliseconds.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Knobs {
    /// Directory replication lag, per kind of object.
    pub replication: Replication,
    /// 429 throttling of Graph requests.
    pub throttle: Throttle,
    /// Random 503/504 answers from Graph.
    pub faults: Faults,
    /// Added latency for every request (login and Graph, not `/_sim`).
    pub latency_ms: u64,
    /// Tenant app management policy: maximum secret lifetime in days (None = no policy).
    pub secret_max_lifetime_days: Option<u32>,
    /// Tenant app management policy: maximum certificate (keyCredential) lifetime in days,
    /// published as an `asymmetricKeyLifetime` restriction (None = no policy).
    pub cert_max_lifetime_days: Option<u32>,
    /// Conditional Access blocks the device code flow (token polling answers AADSTS53003).
    pub block_device_code: bool,
    /// Tenant setting "Users can register applications" (Microsoft's default: yes).
    pub users_can_register_apps: bool,
    /// Delay before Exchange RBAC for Applications changes take effect. Microsoft documents
    /// 30 minutes to 2 hours; tests use 0.
    pub exchange_propagation_ms: u64,
    /// `false` (Microsoft's documented RBAC for Applications behaviour): Exchange role grants
    /// are additive to Entra application permissions, so an unscoped Entra `Mail.ReadWrite`
    /// still reaches every mailbox. `true`: once an app has an Exchange role assignment, its
    /// Entra mail permissions are also confined to the assignment's scope (the older
    /// Application Access Policy behaviour).
    pub exchange_scope_restricts_entra_grants: bool,
    /// Device code polling interval (seconds) announced and enforced with `slow_down`.
    pub device_code_interval_secs: u64,
    /// Device code lifetime in seconds (Microsoft: 900).
    pub device_code_expires_secs: u64,
    /// Authorization code lifetime in seconds (Microsoft: about 600).
    pub auth_code_lifetime_secs: u64,
    /// Access token lifetime in seconds (Microsoft: 3599 and up).
    pub access_token_lifetime_secs: u64,
}

impl Default for Knobs {
    fn default() -> Self {
        Knobs {
            replication: Replication::default(),
            throttle: Throttle::default(),
            faults: Faults::default(),
            latency_ms: 0,
            secret_max_lifetime_days: None,
            cert_max_lifetime_days: None,
            block_device_code: false,
            users_can_register_apps: true,
            exchange_propagation_ms: 0,
            exchange_scope_restricts_entra_grants: false,
            device_code_interval_secs: 5,
            device_code_expires_secs: 900,
            auth_code_lifetime_secs: 600,
            access_token_lifetime_secs: 3599,
        }
    }
}

/// How long freshly created objects stay invisible to other parts of the service.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Replication {
    /// `POST /servicePrincipals` for an app younger than this: 400 "does not reference a
    /// valid application object".
    pub app_to_sp_ms: u64,
    /// Grants (`appRoleAssignedTo`, `oauth2PermissionGrants`) naming a service principal
    /// younger than this: 400 / 404 replication errors.
    pub sp_to_grant_ms: u64,
    /// Token endpoint for an app younger than this: AADSTS700016.
    pub app_to_token_ms: u64,
    /// Token endpoint with a secret younger than this: AADSTS7000215.
    pub secret_to_token_ms: u64,
    /// App role assignments younger than this are missing from the token's `roles` claim.
    pub assignment_to_token_ms: u64,
    /// GET/PATCH/DELETE by id on an application or service principal younger than this: 404.
    pub object_read_ms: u64,
}

/// Throttling rules for Graph requests (and `$batch` items).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Throttle {
    /// Allowed Graph requests per rolling second; more get 429.
    pub max_requests_per_sec: Option<u32>,
    /// Every Nth Graph request gets 429 (deterministic).
    pub every_nth: Option<u64>,
    /// `Retry-After` value in seconds.
    pub retry_after_secs: u64,
}

impl Default for Throttle {
    fn default() -> Self {
        Throttle {
            max_requests_per_sec: None,
            every_nth: None,
            retry_after_secs: 1,
        }
    }
}

/// Random transient failures of Graph requests.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Faults {
    /// Probability (0.0–1.0) that a Graph request fails with 503 or 504.
    pub rate: f64,
    /// Seed of the fault generator (same seed, same sequence).
    pub seed: u64,
}

impl Default for Faults {
    fn default() -> Self {
        Faults {
            rate: 0.0,
            seed: 42,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toml_partial_config_keeps_defaults() {
        let c = SimConfig::from_toml(
            "extra_users = 10\n[knobs]\nlatency_ms = 5\n[knobs.replication]\napp_to_sp_ms = 1000\n",
        )
        .unwrap();
        assert_eq!(c.extra_users, 10);
        assert_eq!(c.knobs.latency_ms, 5);
        assert_eq!(c.knobs.replication.app_to_sp_ms, 1000);
        assert!(c.knobs.users_can_register_apps);
        assert!(SimConfig::from_toml("nope = 1").is_err());
    }
}
