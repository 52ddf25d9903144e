//! The tenant's directory and mailbox state: users, groups, mailboxes, applications,
//! service principals, grants, Exchange RBAC objects, plus the identity platform's
//! in-flight sign-ins, codes, refresh tokens and device codes.
//!
//! Graph-facing objects (applications, service principals, assignments, Exchange objects)
//! are kept as `serde_json::Value` in Microsoft's exact shape, with the bookkeeping the
//! simulator needs (creation instant for replication lag, owners, secrets) beside them.

use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::time::Instant;

/// A directory user.
#[derive(Debug, Clone)]
pub struct User {
    pub id: String,
    pub upn: String,
    pub display_name: String,
    pub given_name: String,
    pub surname: String,
    pub mail: Option<String>,
    pub job_title: Option<String>,
    pub department: Option<String>,
    pub office_location: Option<String>,
    /// Directory role template ids (active, tenant-wide).
    pub roles: Vec<String>,
    pub has_mailbox: bool,
    /// Optional practice password; sign-in accepts any password when `None`.
    pub password: Option<String>,
}

impl User {
    /// Graph default projection of a user (`GET /users/{id}` without `$select`).
    pub fn to_graph(&self) -> Value {
        json!({
            "businessPhones": [],
            "displayName": self.display_name,
            "givenName": self.given_name,
            "jobTitle": self.job_title,
            "mail": self.mail,
            "mobilePhone": null,
            "officeLocation": self.office_location,
            "preferredLanguage": "en-US",
            "surname": self.surname,
            "userPrincipalName": self.upn,
            "id": self.id,
        })
    }

    /// Every property `$select` may name (default projection plus a few extras).
    pub fn to_graph_full(&self) -> Value {
        let mut v = self.to_graph();
        if let Some(o) = v.as_object_mut() {
            o.insert("department".into(), json!(self.department));
            o.insert("accountEnabled".into(), json!(true));
            o.insert("userType".into(), json!("Member"));
            o.insert("mailNickname".into(), json!(self.upn.split('@').next()));
        }
        v
    }
}

/// A directory group.
#[derive(Debug, Clone)]
pub struct Group {
    pub id: String,
    pub display_name: String,
    pub description: Option<String>,
    pub mail: Option<String>,
    pub mail_enabled: bool,
    pub security_enabled: bool,
    pub group_types: Vec<String>,
    pub members: Vec<String>,
}

impl Group {
    pub fn to_graph(&self) -> Value {
        json!({
            "id": self.id,
            "deletedDateTime": null,
            "description": self.description,
            "displayName": self.display_name,
            "groupTypes": self.group_types,
            "mail": self.mail,
            "mailEnabled": self.mail_enabled,
            "mailNickname": self.mail.as_deref().and_then(|m| m.split('@').next()).unwrap_or("none"),
            "securityEnabled": self.security_enabled,
            "visibility": if self.group_types.iter().any(|t| t == "Unified") { json!("Private") } else { Value::Null },
        })
    }
}

/// A user's mailbox content.
#[derive(Debug, Clone, Default)]
pub struct Mailbox {
    pub messages: Vec<Value>,
    pub events: Vec<Value>,
    pub settings: Value,
    pub sent: Vec<Value>,
}

/// A client secret. Like Entra, the tenant keeps only a hash of the value (to check it at the
/// token endpoint) and its first three characters (the `hint`), never the value itself: the
/// practice tenant's saved state holds nothing a client could sign in with.
#[derive(Debug, Clone)]
pub struct Secret {
    pub key_id: String,
    /// SHA-256 of the value, base64url.
    pub hash: String,
    /// The value's first three characters, as Graph shows them.
    pub hint: String,
    pub display_name: Option<String>,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub created: Instant,
}

impl Secret {
    /// A secret whose value is `text` (kept only as its hash and hint).
    pub fn from_text(
        key_id: String,
        text: &str,
        display_name: Option<String>,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> Self {
        Self {
            key_id,
            hash: Self::digest(text),
            hint: text.chars().take(3).collect(),
            display_name,
            start,
            end,
            created: Instant::now(),
        }
    }

    /// The stored form of a secret's value.
    pub fn digest(text: &str) -> String {
        use base64::Engine as _;
        use sha2::{Digest, Sha256};
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(text.as_bytes()))
    }

    /// Whether `text` is this secret's value.
    pub fn matches(&self, text: &str) -> bool {
        Self::digest(text) == self.hash
    }
}

/// An application registration.
#[derive(Debug, Clone)]
pub struct Application {
    pub id: String,
    pub app_id: String,
    /// Graph body without `@odata.context`; `passwordCredentials` is rendered from `secrets`.
    pub body: Value,
    pub created: Instant,
    pub owners: Vec<String>,
    pub secrets: Vec<Secret>,
}

/// A certificate an app carries in `keyCredentials` with its key (uploaded through Graph),
/// and the credential's own validity (which defaults to the certificate's).
#[derive(Debug, Clone)]
pub struct UploadedKey {
    pub key_id: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub cert: crate::certs::Certificate,
}

impl UploadedKey {
    /// Within its `startDateTime`..`endDateTime` at `now`.
    pub fn valid_at(&self, now: DateTime<Utc>) -> bool {
        self.start <= now && now < self.end
    }
}

impl Application {
    /// Graph's answer for the app: `passwordCredentials` rendered from the secrets, and
    /// `keyCredentials` with `key` null (Graph returns the key only for `$select` on a single
    /// object: [`Application::render_with_keys`]).
    pub fn render(&self) -> Value {
        let mut v = self.render_with_keys();
        if let Some(keys) = v["keyCredentials"].as_array_mut() {
            for k in keys {
                if let Some(o) = k.as_object_mut() {
                    o.insert("key".into(), Value::Null);
                }
            }
        }
        v
    }

    /// The app's certificates whose key the tenant holds (the asymmetric keyCredentials
    /// uploaded through Graph; seeded examples without a key are left out).
    pub fn uploaded_keys(&self) -> Vec<UploadedKey> {
        let time = |v: &Value| {
            v.as_str()
                .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
                .map(|d| d.with_timezone(&Utc))
        };
        self.body["keyCredentials"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|k| k["type"] == "AsymmetricX509Cert")
            .filter_map(|k| {
                let cert = crate::certs::Certificate::from_key_base64(k["key"].as_str()?).ok()?;
                Some(UploadedKey {
                    key_id: k["keyId"].as_str()?.to_string(),
                    start: time(&k["startDateTime"]).unwrap_or(cert.not_before),
                    end: time(&k["endDateTime"]).unwrap_or(cert.not_after),
                    cert,
                })
            })
            .collect()
    }

    /// [`Application::render`] with each keyCredential's `key` (base64 DER) kept.
    pub fn render_with_keys(&self) -> Value {
        let mut v = self.body.clone();
        let creds: Vec<Value> = self
            .secrets
            .iter()
            .map(|s| {
                json!({
                    "customKeyIdentifier": null,
                    "displayName": s.display_name,
                    "endDateTime": fmt_time(&s.end),
                    "hint": s.hint,
                    "keyId": s.key_id,
                    "secretText": null,
                    "startDateTime": fmt_time(&s.start),
                })
            })
            .collect();
        if let Some(o) = v.as_object_mut() {
            o.insert("passwordCredentials".into(), Value::Array(creds));
        }
        v
    }

    pub fn display_name(&self) -> String {
        self.body["displayName"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }
}

/// A service principal (enterprise app).
#[derive(Debug, Clone)]
pub struct ServicePrincipal {
    pub id: String,
    pub app_id: String,
    pub body: Value,
    pub created: Instant,
}

/// Fills in the servicePrincipal properties Microsoft documents (and returns by default) that
/// a body does not set yet, e.g. `publisherName` (the publishing tenant's name: "Microsoft
/// Services" for Microsoft's apps, else `home_tenant_name`), `verifiedPublisher`,
/// `createdDateTime`.
pub fn with_documented_sp_properties(mut body: Value, home_tenant_name: &str) -> Value {
    let publisher = if body["appOwnerOrganizationId"] == crate::data::MICROSOFT_TENANT_ID {
        "Microsoft Services"
    } else {
        home_tenant_name
    };
    let defaults = json!({
        "alternativeNames": [],
        "appDescription": null,
        "applicationTemplateId": null,
        "createdDateTime": fmt_time(&Utc::now()),
        "description": null,
        "disabledByMicrosoftStatus": null,
        "notificationEmailAddresses": [],
        "preferredTokenSigningKeyThumbprint": null,
        "publisherName": publisher,
        "resourceSpecificApplicationPermissions": [],
        "samlSingleSignOnSettings": null,
        "tokenEncryptionKeyId": null,
        "verifiedPublisher": {"displayName": null, "verifiedPublisherId": null, "addedDateTime": null},
    });
    if let (Some(o), Value::Object(d)) = (body.as_object_mut(), defaults) {
        for (k, v) in d {
            o.entry(k).or_insert(v);
        }
    }
    body
}

impl ServicePrincipal {
    pub fn display_name(&self) -> String {
        self.body["displayName"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }
}

/// An app role assignment (application permission grant or user/group assignment).
#[derive(Debug, Clone)]
pub struct AppRoleAssignment {
    pub id: String,
    pub principal_id: String,
    pub resource_id: String,
    pub app_role_id: String,
    pub body: Value,
    pub created: Instant,
}

/// A delegated permission grant.
#[derive(Debug, Clone)]
pub struct Grant {
    pub id: String,
    pub client_id: String,
    pub consent_type: String,
    pub principal_id: Option<String>,
    pub resource_id: String,
    pub scope: String,
}

impl Grant {
    pub fn to_graph(&self) -> Value {
        json!({
            "clientId": self.client_id,
            "consentType": self.consent_type,
            "id": self.id,
            "principalId": self.principal_id,
            "resourceId": self.resource_id,
            "scope": self.scope,
        })
    }

    pub fn scopes(&self) -> impl Iterator<Item = &str> {
        self.scope.split_whitespace()
    }
}

/// One clause of an Exchange recipient filter.
#[derive(Debug, Clone, PartialEq)]
pub enum RecipientClause {
    MemberOfGroup(String),
    Department(String),
    Address(String),
}

/// A parsed recipient filter: clauses joined by `-and` (all) or `-or` (any).
#[derive(Debug, Clone, PartialEq)]
pub struct RecipientFilter {
    pub clauses: Vec<RecipientClause>,
    pub any: bool,
}

/// An Exchange custom application scope.
#[derive(Debug, Clone)]
pub struct ExchangeScope {
    pub id: String,
    pub body: Value,
    pub filter: RecipientFilter,
}

/// What an Exchange role assignment reaches.
#[derive(Debug, Clone, PartialEq)]
pub enum ExchangeTarget {
    Organization,
    User(String),
    Group(String),
    AppScope(String),
}

/// An Exchange RBAC for Applications role assignment.
#[derive(Debug, Clone)]
pub struct ExchangeAssignment {
    pub id: String,
    pub sp_id: String,
    pub role_definition_id: String,
    pub target: ExchangeTarget,
    pub body: Value,
    pub created: Instant,
    pub deleted: Option<Instant>,
}

/// How a client named its Graph scopes: Microsoft answers in the same form (`User.Read` for
/// `User.Read`, `https://graph.microsoft.com/User.Read` for the full URL) and echoes `/.default`,
/// which is what lets MSAL's cache match the next silent request.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ScopeForm {
    /// `""` (short names), `https://graph.microsoft.com/` or `00000003-0000-0000-c000-000000000000/`.
    pub prefix: String,
    /// The request was `{resource}/.default`: every permission consented for the client.
    pub default: bool,
}

/// What a sign-in page is for.
#[derive(Debug, Clone)]
pub enum FlowKind {
    Authorize {
        client_id: String,
        redirect_uri: String,
        response_mode: String,
        state: Option<String>,
        scopes: Vec<String>,
        oidc: Vec<String>,
        form: ScopeForm,
        code_challenge: Option<String>,
        code_challenge_method: Option<String>,
        nonce: Option<String>,
        force_consent: bool,
    },
    AdminConsent {
        client_id: String,
        redirect_uri: String,
        state: Option<String>,
        scope: String,
    },
    Device {
        device_code: String,
    },
}

/// A sign-in in progress (between the HTML pages).
#[derive(Debug, Clone)]
pub struct PendingFlow {
    pub kind: FlowKind,
    pub user_id: Option<String>,
}

/// An authorization code.
#[derive(Debug, Clone)]
pub struct IssuedCode {
    pub client_id: String,
    pub redirect_uri: String,
    pub user_id: String,
    pub scopes: Vec<String>,
    pub oidc: Vec<String>,
    pub form: ScopeForm,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
    pub nonce: Option<String>,
    pub issued: Instant,
    pub redeemed: bool,
}

/// A refresh token's session.
#[derive(Debug, Clone)]
pub struct Session {
    pub client_id: String,
    pub user_id: String,
    pub scopes: Vec<String>,
    pub oidc: Vec<String>,
    pub form: ScopeForm,
    pub issued: Instant,
}

/// Device code state.
#[derive(Debug, Clone, PartialEq)]
pub enum DeviceStatus {
    Pending,
    Approved {
        user_id: String,
        scopes: Vec<String>,
    },
    Declined,
    Redeemed,
}

/// A device authorization request.
#[derive(Debug, Clone)]
pub struct DeviceFlow {
    pub client_id: String,
    pub user_code: String,
    pub scopes: Vec<String>,
    pub oidc: Vec<String>,
    pub form: ScopeForm,
    pub created: Instant,
    pub last_poll: Option<Instant>,
    pub status: DeviceStatus,
}

/// Identity platform state.
#[derive(Debug, Default)]
pub struct AuthState {
    pub flows: HashMap<String, PendingFlow>,
    pub codes: HashMap<String, IssuedCode>,
    pub sessions: HashMap<String, Session>,
    pub devices: HashMap<String, DeviceFlow>,
    pub revoked_before: Option<Instant>,
}

/// The whole tenant.
#[derive(Debug)]
pub struct Tenant {
    pub id: String,
    pub domain: String,
    pub display_name: String,
    pub users: Vec<User>,
    /// Lookup by object id and by lower-cased UPN.
    pub user_index: HashMap<String, usize>,
    pub groups: Vec<Group>,
    pub mailboxes: HashMap<String, Mailbox>,
    pub apps: Vec<Application>,
    pub sps: Vec<ServicePrincipal>,
    pub assignments: Vec<AppRoleAssignment>,
    pub grants: Vec<Grant>,
    pub ex_scopes: Vec<ExchangeScope>,
    pub ex_assignments: Vec<ExchangeAssignment>,
    pub graph_sp_id: String,
    pub auth: AuthState,
}

impl Tenant {
    pub fn user(&self, key: &str) -> Option<&User> {
        let i = self
            .user_index
            .get(key)
            .or_else(|| self.user_index.get(&key.to_lowercase()))?;
        self.users.get(*i)
    }

    pub fn index_users(&mut self) {
        self.user_index.clear();
        for (i, u) in self.users.iter().enumerate() {
            self.user_index.insert(u.id.clone(), i);
            self.user_index.insert(u.upn.to_lowercase(), i);
        }
    }

    pub fn group(&self, id: &str) -> Option<&Group> {
        self.groups.iter().find(|g| g.id == id)
    }

    pub fn sp(&self, id: &str) -> Option<&ServicePrincipal> {
        self.sps.iter().find(|s| s.id == id)
    }

    pub fn sp_by_app_id(&self, app_id: &str) -> Option<&ServicePrincipal> {
        self.sps.iter().find(|s| s.app_id == app_id)
    }

    pub fn app_by_app_id(&self, app_id: &str) -> Option<&Application> {
        self.apps.iter().find(|a| a.app_id == app_id)
    }

    /// Delegated scopes consented for `client_sp` on Graph for `user_id`.
    pub fn consented_scopes(&self, client_sp: &str, user_id: &str) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for g in &self.grants {
            if g.client_id == client_sp
                && g.resource_id == self.graph_sp_id
                && (g.consent_type == "AllPrincipals" || g.principal_id.as_deref() == Some(user_id))
            {
                for s in g.scopes() {
                    if !out.iter().any(|o| o == s) {
                        out.push(s.to_string());
                    }
                }
            }
        }
        out
    }
}

/// Graph's timestamp format with seven fractional digits where Microsoft uses them.
pub fn fmt_time(t: &DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Timestamp with fractional seconds (`2025-03-04T09:16:02.5520337Z`).
pub fn fmt_time_frac(t: &DateTime<Utc>) -> String {
    format!(
        "{}.{:07}Z",
        t.format("%Y-%m-%dT%H:%M:%S"),
        t.timestamp_subsec_nanos() / 100
    )
}
