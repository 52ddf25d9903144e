//! A saved connection: which vendor's apps AppGrant made in which tenant, and when their
//! secrets expire. Metadata only: the secret values live in the OS keyring, named by
//! [`SecretRef`].
//!
//! Fields added after the first release carry `#[serde(default)]`, so index files written by
//! older versions still load; fields this version does not know are kept in `extra` and
//! written back unchanged, so an older AppGrant never drops what a newer one saved.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::error::VaultError;

/// One vendor connection in one tenant. `Default` exists so callers can write
/// `Connection { id, .., ..Default::default() }`; a default connection is not meaningful.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Connection {
    /// A random UUID (see [`Connection::new_id`]).
    pub id: String,
    pub recipe_id: String,
    pub vendor: String,
    /// The directory (tenant) id.
    pub tenant_id: String,
    /// The tenant's primary domain, e.g. `contoso.onmicrosoft.com`, when known.
    #[serde(default)]
    pub tenant_domain: Option<String>,
    /// Made in the practice tenant (the simulator), not a real one.
    #[serde(default)]
    pub practice: bool,
    /// Which Microsoft cloud (or custom endpoints) the tenant lives in, so later checks and
    /// rotations sign in to the same place. `None` in index files written before this field
    /// existed: the global cloud (the practice tenant for practice connections).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cloud: Option<crate::cloud::Cloud>,
    pub apps: Vec<ConnectedApp>,
    /// The admin's answers to the recipe's inputs (e.g. `portal_url`), by input id.
    #[serde(default)]
    pub inputs: BTreeMap<String, String>,
    pub created_at: DateTime<Utc>,
    /// When AppGrant last proved the connection works.
    #[serde(default)]
    pub verified_at: Option<DateTime<Utc>>,
    /// Mailbox limits (Exchange RBAC for Applications), one per limited app.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mailbox_limits: Vec<crate::scope::ScopeState>,
    /// "Only these people may sign in" limits, one per limited app (not a mailbox limit).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sign_in_limits: Vec<crate::scope::signin::SignInLimit>,
    /// What the last "Check now" found in the tenant, and when.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_check: Option<crate::lifecycle::CheckSummary>,
    /// Who signed in to make the connection (`None` in files from before the change record).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<crate::record::SignedInAdmin>,
    /// The Microsoft Graph permission grants the tenant held when the connection was saved,
    /// with their ids (for the change record).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub grants: Vec<crate::record::GrantRecord>,
    /// The last verification's checks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_verify: Option<crate::record::VerifyRecord>,
    /// The probes that proved each mailbox limit, when last checked.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub limit_proofs: Vec<crate::record::LimitProof>,
    /// Fields written by a newer AppGrant, kept as they were.
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

/// One app registration of a connection.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectedApp {
    /// The recipe's key for the app (`main`, `calendar`, ...).
    pub key: String,
    pub display_name: String,
    /// The Application (client) ID.
    pub app_id: String,
    /// The application object's id.
    pub object_id: String,
    #[serde(default)]
    pub service_principal_id: Option<String>,
    /// The current client secret's metadata (never its value).
    #[serde(default)]
    pub secret: Option<SecretMeta>,
    /// A rotation of the secret, while it runs (and the last one, once done). Its stages
    /// are the rotation's journal: a killed rotation continues from here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotation: Option<crate::lifecycle::Rotation>,
    /// The app's certificate credential, when it uses one instead of (or besides) a secret.
    /// A generated certificate's private key is in the keyring
    /// ([`crate::certificate::key_account`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate: Option<crate::certificate::CertificateMeta>,
}

/// What AppGrant remembers about a client secret, without the secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecretMeta {
    /// The password credential's `keyId`.
    pub key_id: String,
    /// The description shown in Entra ("TonicDM Office365 Secret").
    #[serde(default)]
    pub description: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// Names one client secret's keyring entry: account `secret/{tenant_id}/{app_id}/{key_id}`
/// under the service `AppGrant`. Holds no secret, so it may travel to the UI.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SecretRef {
    pub tenant_id: String,
    pub app_id: String,
    pub key_id: String,
}

impl SecretRef {
    pub fn new(
        tenant_id: impl Into<String>,
        app_id: impl Into<String>,
        key_id: impl Into<String>,
    ) -> Self {
        Self {
            tenant_id: tenant_id.into(),
            app_id: app_id.into(),
            key_id: key_id.into(),
        }
    }

    /// The keyring account name, after checking each part can be told apart.
    pub fn account(&self) -> Result<String, VaultError> {
        for (what, value) in [
            ("tenant id", &self.tenant_id),
            ("app id", &self.app_id),
            ("secret id", &self.key_id),
        ] {
            if value.is_empty() || value.contains('/') || value.chars().any(char::is_control) {
                return Err(VaultError::InvalidSecretRef {
                    what,
                    value: value.clone(),
                });
            }
        }
        Ok(format!(
            "secret/{}/{}/{}",
            self.tenant_id, self.app_id, self.key_id
        ))
    }
}

impl Connection {
    /// A fresh random id for a new connection.
    pub fn new_id() -> String {
        uuid::Uuid::new_v4().to_string()
    }

    /// The app with the recipe key `key`.
    pub fn app(&self, key: &str) -> Option<&ConnectedApp> {
        self.apps.iter().find(|a| a.key == key)
    }

    /// Where the secret of the app with the recipe key `key` is kept, if it has one.
    pub fn secret_ref(&self, key: &str) -> Option<SecretRef> {
        self.app(key).and_then(|a| a.secret_ref(&self.tenant_id))
    }

    /// Where every secret of this connection is kept.
    pub fn secret_refs(&self) -> Vec<SecretRef> {
        self.apps
            .iter()
            .filter_map(|a| a.secret_ref(&self.tenant_id))
            .collect()
    }

    /// The earliest secret or certificate expiry across the connection's apps.
    pub fn next_expiry(&self) -> Option<DateTime<Utc>> {
        self.apps
            .iter()
            .flat_map(|a| {
                let secret = a.secret.as_ref().map(|s| s.expires_at);
                let certificate = a.certificate.as_ref().map(|c| c.not_after);
                secret.into_iter().chain(certificate)
            })
            .min()
    }

    /// Whole days from `now` until the earliest secret expires (negative once it has
    /// expired; 0 on the last day). `None` when the connection has no secret.
    pub fn days_until_expiry(&self, now: DateTime<Utc>) -> Option<i64> {
        self.next_expiry()
            .map(|expiry| (expiry - now).num_seconds().div_euclid(86_400))
    }
}

impl ConnectedApp {
    /// The keyring account of a generated certificate's private key (None for a vendor's).
    pub fn certificate_key_account(&self, tenant_id: &str) -> Option<String> {
        self.certificate
            .as_ref()
            .filter(|c| c.origin == crate::certificate::CertificateOrigin::Generated)
            .map(|c| crate::certificate::key_account(tenant_id, &self.app_id, &c.thumbprint))
    }

    pub fn secret_ref(&self, tenant_id: &str) -> Option<SecretRef> {
        self.secret
            .as_ref()
            .map(|s| SecretRef::new(tenant_id, &self.app_id, &s.key_id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(y: i32, m: u32, d: u32, h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, 0, 0).unwrap()
    }

    fn app(key: &str, expires: Option<DateTime<Utc>>) -> ConnectedApp {
        ConnectedApp {
            key: key.into(),
            display_name: key.into(),
            app_id: format!("app-{key}"),
            object_id: format!("obj-{key}"),
            service_principal_id: None,
            secret: expires.map(|e| SecretMeta {
                key_id: format!("key-{key}"),
                description: String::new(),
                created_at: at(2026, 1, 1, 0),
                expires_at: e,
            }),
            rotation: None,
            certificate: None,
        }
    }

    fn connection(apps: Vec<ConnectedApp>) -> Connection {
        Connection {
            id: Connection::new_id(),
            recipe_id: "totalview".into(),
            vendor: "Totalview".into(),
            tenant_id: "t1".into(),
            tenant_domain: None,
            practice: false,
            cloud: None,
            apps,
            inputs: BTreeMap::new(),
            created_at: at(2026, 1, 1, 0),
            verified_at: None,
            mailbox_limits: Vec::new(),
            sign_in_limits: Vec::new(),
            last_check: None,
            ..Connection::default()
        }
    }

    #[test]
    fn next_expiry_is_the_earliest_secret() {
        let c = connection(vec![
            app("calendar", Some(at(2027, 3, 1, 12))),
            app("mail", Some(at(2027, 2, 1, 12))),
            app("none", None),
        ]);
        assert_eq!(c.next_expiry(), Some(at(2027, 2, 1, 12)));
        assert_eq!(c.days_until_expiry(at(2027, 1, 30, 12)), Some(2));
        assert_eq!(c.days_until_expiry(at(2027, 1, 31, 13)), Some(0));
        assert_eq!(c.days_until_expiry(at(2027, 2, 1, 13)), Some(-1));
        assert_eq!(
            connection(vec![app("x", None)]).days_until_expiry(at(2027, 1, 1, 0)),
            None
        );
    }

    #[test]
    fn secret_refs_name_keyring_accounts() {
        let c = connection(vec![app("calendar", Some(at(2027, 3, 1, 12)))]);
        let r = c.secret_ref("calendar").unwrap();
        assert_eq!(r.account().unwrap(), "secret/t1/app-calendar/key-calendar");
        assert!(SecretRef::new("t/1", "a", "k").account().is_err());
        assert!(SecretRef::new("t", "", "k").account().is_err());
    }

    #[test]
    fn ids_are_uuids() {
        let id = Connection::new_id();
        assert!(uuid::Uuid::parse_str(&id).is_ok());
        assert_ne!(id, Connection::new_id());
    }
}
