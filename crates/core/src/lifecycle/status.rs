//! What the connections dashboard shows, computed offline (no sign-in): for every saved
//! connection its tenant, apps, each credential with its expiry, days left, whether this
//! computer's credential store holds it and its role, and a list of states in words with a
//! severity for colour. Also the dashboard's (and the CLI's) filter and sort.
//!
//! Everything here is a pure function of the saved [`Connection`] (including the last
//! check's findings and any rotation in progress), the time, and a keyring lookup the caller
//! chooses to make or skip.

use std::cmp::Ordering;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::check::FindingKind;
use super::rotate::RotationStage;
use crate::scope::ScopeStatus;
use crate::vault::{ConnectedApp, Connection, SecretMeta, SecretRef};

/// A secret expiring within this many days is "expiring soon" (the `.ics` reminder's lead).
pub const EXPIRING_SOON_DAYS: i64 = 30;

/// How alarming a state is; the UI picks the colour, the CLI the exit status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// All is well (green).
    Ok,
    /// Worth knowing, nothing to do (blue/grey): a pending mailbox limit, a rotation waiting.
    Info,
    /// Act soon (amber): expiring within 30 days, drift found.
    Warning,
    /// Broken or about to break (red): expired, secret missing, app deleted.
    Critical,
}

/// The kinds of state the dashboard names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StatusKind {
    Ok,
    ExpiringSoon,
    Expired,
    /// The secret is not in this computer's credential store.
    SecretMissing,
    /// The last check found the app (or its enterprise app) deleted in the tenant.
    AppDeleted,
    MailboxLimitPending,
    MailboxLimitVerified,
    MailboxLimitHandedOff,
    MailboxLimitFailed,
    SignInLimit,
    /// A rotation is under way (the old secret may still be active until the grace ends).
    RotationInProgress,
    /// The old secret's grace period is over: finish the rotation.
    RotationDue,
    /// The last check found drift (permissions, secrets, limits).
    Drift,
    /// When the tenant was last checked (and that nothing was found).
    Checked,
}

/// One state in words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusItem {
    pub kind: StatusKind,
    pub severity: Severity,
    /// The app it is about (None: the whole connection).
    pub app_key: Option<String>,
    /// A sentence for the person: "TonicDM secret expires in 12 days (2027-01-03)".
    pub text: String,
    /// The date the state is about (expiry, grace end, check time, limit verified...).
    pub at: Option<DateTime<Utc>>,
}

/// What a credential is to AppGrant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "role", rename_all = "snake_case")]
pub enum CredentialRole {
    /// The secret the vendor should be using.
    Current,
    /// The secret being replaced; it keeps working until `valid_until` (or confirmation).
    #[serde(rename_all = "camelCase")]
    OldInOverlap { valid_until: Option<DateTime<Utc>> },
    /// A new secret created by a rotation that has not been proved yet.
    NewInRotation,
    /// Found in the tenant by the last check, but not created (or held) by AppGrant.
    NotHeld,
}

/// One client secret of an app.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CredentialStatus {
    pub key_id: String,
    pub description: String,
    pub created_at: Option<DateTime<Utc>>,
    pub expires_at: DateTime<Utc>,
    /// Whole days left (negative once expired, 0 on the last day).
    pub days_left: i64,
    /// Whether this computer's credential store holds it (None: not looked up).
    pub in_keyring: Option<bool>,
    #[serde(flatten)]
    pub role: CredentialRole,
}

/// One app registration of a connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AppStatus {
    pub key: String,
    pub name: String,
    pub client_id: String,
    pub credentials: Vec<CredentialStatus>,
    /// The stage of a rotation under way (None when none is).
    pub rotation: Option<RotationStage>,
    /// The app's certificate credential (thumbprint and expiry), when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate: Option<crate::certificate::CertificateBadge>,
}

/// The tenant a connection lives in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TenantInfo {
    pub id: String,
    pub domain: Option<String>,
    pub practice: bool,
    /// `global`, `us_gov`, `us_gov_dod`, `china` or `custom`.
    pub cloud: String,
}

impl TenantInfo {
    /// The tenant as people know it: its domain when known, else its id.
    pub fn label(&self) -> &str {
        self.domain.as_deref().unwrap_or(&self.id)
    }
}

/// One dashboard row: a saved connection and its states.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConnectionStatus {
    pub id: String,
    pub recipe_id: String,
    pub vendor: String,
    pub tenant: TenantInfo,
    pub apps: Vec<AppStatus>,
    /// Worst first; never empty (at least "OK").
    pub states: Vec<StatusItem>,
    /// The worst state's severity.
    pub severity: Severity,
    /// The earliest expiry of a current secret.
    pub next_expiry: Option<DateTime<Utc>>,
    pub days_left: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub verified_at: Option<DateTime<Utc>>,
    pub last_checked_at: Option<DateTime<Utc>>,
}

impl ConnectionStatus {
    pub fn has(&self, kind: StatusKind) -> bool {
        self.states.iter().any(|s| s.kind == kind)
    }

    /// A current secret expires within `days` (or has expired).
    pub fn due_within(&self, days: i64) -> bool {
        self.days_left.is_some_and(|d| d < days)
    }
}

/// Whole days from `now` until `at` (negative once past; 0 on the last day).
pub fn days_between(now: DateTime<Utc>, at: DateTime<Utc>) -> i64 {
    (at - now).num_seconds().div_euclid(86_400)
}

fn cloud_name(c: &Connection) -> String {
    use crate::cloud::Cloud;
    match &c.cloud {
        None | Some(Cloud::Global) => "global",
        Some(Cloud::UsGov) => "us_gov",
        Some(Cloud::UsGovDod) => "us_gov_dod",
        Some(Cloud::China) => "china",
        Some(Cloud::Custom { .. }) => "custom",
    }
    .to_string()
}

/// The dashboard row for `connection` at `now`. `held` answers "does this computer's
/// credential store hold this secret?" (return `None` to skip the lookup).
pub fn status_of(
    connection: &Connection,
    now: DateTime<Utc>,
    held: &dyn Fn(&SecretRef) -> Option<bool>,
) -> ConnectionStatus {
    let mut states = Vec::new();
    let apps: Vec<AppStatus> = connection
        .apps
        .iter()
        .map(|app| app_status(connection, app, now, held, &mut states))
        .collect();
    limit_states(connection, &mut states);
    check_states(connection, &mut states);
    let next_expiry = connection.next_expiry();
    if states.iter().all(|s| s.severity <= Severity::Info)
        && !states
            .iter()
            .any(|s| s.kind == StatusKind::RotationInProgress)
    {
        let certificates_only = connection
            .apps
            .iter()
            .all(|a| a.secret.is_none() && a.certificate.is_some());
        let what = if certificates_only {
            "certificate"
        } else {
            "secret"
        };
        let text = match next_expiry {
            Some(at) => format!(
                "OK: the {what} is valid for {} more days",
                days_between(now, at)
            ),
            None => "OK".to_string(),
        };
        states.push(item(StatusKind::Ok, Severity::Ok, None, text, next_expiry));
    }
    states.sort_by_key(|s| std::cmp::Reverse(s.severity));
    let severity = states.first().map_or(Severity::Ok, |s| s.severity);
    ConnectionStatus {
        id: connection.id.clone(),
        recipe_id: connection.recipe_id.clone(),
        vendor: connection.vendor.clone(),
        tenant: TenantInfo {
            id: connection.tenant_id.clone(),
            domain: connection.tenant_domain.clone(),
            practice: connection.practice,
            cloud: cloud_name(connection),
        },
        apps,
        states,
        severity,
        next_expiry,
        days_left: next_expiry.map(|at| days_between(now, at)),
        created_at: connection.created_at,
        verified_at: connection.verified_at,
        last_checked_at: connection.last_check.as_ref().map(|c| c.checked_at),
    }
}

fn item(
    kind: StatusKind,
    severity: Severity,
    app_key: Option<&str>,
    text: String,
    at: Option<DateTime<Utc>>,
) -> StatusItem {
    StatusItem {
        kind,
        severity,
        app_key: app_key.map(str::to_string),
        text,
        at,
    }
}

fn credential(
    connection: &Connection,
    app: &ConnectedApp,
    meta: &SecretMeta,
    role: CredentialRole,
    now: DateTime<Utc>,
    held: &dyn Fn(&SecretRef) -> Option<bool>,
) -> CredentialStatus {
    let in_keyring = match role {
        CredentialRole::NotHeld => Some(false),
        _ => held(&SecretRef::new(
            &connection.tenant_id,
            &app.app_id,
            &meta.key_id,
        )),
    };
    CredentialStatus {
        key_id: meta.key_id.clone(),
        description: meta.description.clone(),
        created_at: Some(meta.created_at),
        expires_at: meta.expires_at,
        days_left: days_between(now, meta.expires_at),
        in_keyring,
        role,
    }
}

fn app_status(
    connection: &Connection,
    app: &ConnectedApp,
    now: DateTime<Utc>,
    held: &dyn Fn(&SecretRef) -> Option<bool>,
    states: &mut Vec<StatusItem>,
) -> AppStatus {
    let key = Some(app.key.as_str());
    let name = &app.display_name;
    let mut credentials = Vec::new();
    let rotation = app
        .rotation
        .as_ref()
        .filter(|r| r.stage != RotationStage::Done);
    if let Some(meta) = &app.secret {
        let current = credential(connection, app, meta, CredentialRole::Current, now, held);
        let days = current.days_left;
        let date = meta.expires_at.format("%Y-%m-%d");
        if days < 0 {
            states.push(item(
                StatusKind::Expired,
                Severity::Critical,
                key,
                format!("The secret of {name} expired on {date}: rotate it now"),
                Some(meta.expires_at),
            ));
        } else if days < EXPIRING_SOON_DAYS {
            states.push(item(
                StatusKind::ExpiringSoon,
                Severity::Warning,
                key,
                format!("The secret of {name} expires in {days} days ({date}): rotate it"),
                Some(meta.expires_at),
            ));
        }
        if current.in_keyring == Some(false) {
            states.push(item(StatusKind::SecretMissing, Severity::Critical, key, format!("The secret of {name} is missing from this computer's credential store: rotate it to make a new one"), None));
        }
        credentials.push(current);
    }
    if let Some(cert) = &app.certificate {
        certificate_states(name, key, cert, now, states);
    }
    if let Some(r) = rotation {
        match r.stage {
            RotationStage::Overlap | RotationStage::RemovingOld => {
                if let Some(old) = &r.old_secret {
                    credentials.push(credential(
                        connection,
                        app,
                        old,
                        CredentialRole::OldInOverlap {
                            valid_until: r.grace_ends_at,
                        },
                        now,
                        held,
                    ));
                }
                let until = r
                    .grace_ends_at
                    .map(|g| g.format("%Y-%m-%d %H:%M UTC").to_string())
                    .unwrap_or_default();
                if r.grace_ends_at.is_some_and(|g| g <= now)
                    || r.stage == RotationStage::RemovingOld
                {
                    states.push(item(StatusKind::RotationDue, Severity::Warning, key, format!("Rotation of {name}: the grace period is over; finish it to remove the old secret"), r.grace_ends_at));
                } else {
                    states.push(item(StatusKind::RotationInProgress, Severity::Info, key, format!("Rotation of {name} in progress: the old secret stays active until {until} or until you confirm the vendor uses the new one"), r.grace_ends_at));
                }
            }
            RotationStage::Creating | RotationStage::Stored => {
                if let Some(new) = &r.new_secret {
                    credentials.push(credential(
                        connection,
                        app,
                        new,
                        CredentialRole::NewInRotation,
                        now,
                        held,
                    ));
                }
                states.push(item(StatusKind::RotationInProgress, Severity::Warning, key, format!("Rotation of {name} was interrupted before the new secret was proved: rotate again to continue"), Some(r.started_at)));
            }
            RotationStage::Done => {}
        }
    }
    if let Some(check) = &connection.last_check {
        for other in check
            .unknown_secrets
            .iter()
            .filter(|u| u.app_key == app.key)
        {
            let meta = SecretMeta {
                key_id: other.key_id.clone(),
                description: other.description.clone(),
                created_at: other.created_at.unwrap_or(other.expires_at),
                expires_at: other.expires_at,
            };
            let mut c = credential(connection, app, &meta, CredentialRole::NotHeld, now, held);
            c.created_at = other.created_at;
            credentials.push(c);
        }
    }
    AppStatus {
        key: app.key.clone(),
        name: app.display_name.clone(),
        client_id: app.app_id.clone(),
        credentials,
        rotation: rotation.map(|r| r.stage),
        certificate: app
            .certificate
            .as_ref()
            .map(crate::certificate::CertificateBadge::from),
    }
}

/// Expired and expiring-soon states for an app's certificate (what Check and the dashboard
/// say; a vendor's certificate is renewed by the vendor).
fn certificate_states(
    name: &str,
    key: Option<&str>,
    cert: &crate::certificate::CertificateMeta,
    now: DateTime<Utc>,
    states: &mut Vec<StatusItem>,
) {
    let days = days_between(now, cert.not_after);
    let date = cert.not_after.format("%Y-%m-%d");
    let action = match cert.origin {
        crate::certificate::CertificateOrigin::Generated => "rotate it",
        crate::certificate::CertificateOrigin::Vendor => "ask the vendor for a new certificate",
    };
    let thumbprint = &cert.thumbprint;
    if days < 0 {
        states.push(item(
            StatusKind::Expired,
            Severity::Critical,
            key,
            format!("The certificate of {name} (thumbprint {thumbprint}) expired on {date}: {action} now"),
            Some(cert.not_after),
        ));
    } else if days < EXPIRING_SOON_DAYS {
        states.push(item(
            StatusKind::ExpiringSoon,
            Severity::Warning,
            key,
            format!("The certificate of {name} (thumbprint {thumbprint}) expires in {days} days ({date}): {action}"),
            Some(cert.not_after),
        ));
    }
}

fn limit_states(connection: &Connection, states: &mut Vec<StatusItem>) {
    for limit in &connection.mailbox_limits {
        let key = Some(limit.app_key.as_str());
        let (kind, severity, text, at) = match &limit.status {
            ScopeStatus::Pending { applied_at } => (
                StatusKind::MailboxLimitPending,
                Severity::Info,
                "Mailbox limit pending: Microsoft can take up to 2 hours; check again later"
                    .to_string(),
                Some(*applied_at),
            ),
            ScopeStatus::Verified {
                verified_at,
                mailboxes,
                ..
            } => (
                StatusKind::MailboxLimitVerified,
                Severity::Ok,
                format!(
                    "Mailbox limit verified on {} ({mailboxes} mailboxes)",
                    verified_at.format("%Y-%m-%d")
                ),
                Some(*verified_at),
            ),
            ScopeStatus::HandedOff { prepared_at } => (
                StatusKind::MailboxLimitHandedOff,
                Severity::Info,
                "Mailbox limit handed off to an Exchange administrator; not in place yet"
                    .to_string(),
                Some(*prepared_at),
            ),
            ScopeStatus::Failed {
                checked_at, reason, ..
            } => (
                StatusKind::MailboxLimitFailed,
                Severity::Critical,
                format!("Mailbox limit not working: {reason}"),
                Some(*checked_at),
            ),
        };
        states.push(item(kind, severity, key, text, at));
    }
    for limit in &connection.sign_in_limits {
        states.push(item(
            StatusKind::SignInLimit,
            Severity::Ok,
            Some(&limit.app_key),
            limit.headline(),
            Some(limit.applied_at),
        ));
    }
}

fn check_states(connection: &Connection, states: &mut Vec<StatusItem>) {
    let Some(check) = &connection.last_check else {
        return;
    };
    let when = check.checked_at.format("%Y-%m-%d %H:%M UTC");
    let mut drift = 0;
    for finding in &check.findings {
        match finding.kind {
            FindingKind::AppDeleted | FindingKind::EnterpriseAppDeleted => states.push(item(
                StatusKind::AppDeleted,
                Severity::Critical,
                finding.app_key.as_deref(),
                format!("{} (checked {when})", finding.text),
                Some(check.checked_at),
            )),
            kind if kind.is_drift() => drift += 1,
            _ => {}
        }
    }
    if drift > 0 {
        states.push(item(StatusKind::Drift, Severity::Warning, None, format!("Last checked {when}: {drift} difference(s) from the recipe found; check again to see the plan that fixes them"), Some(check.checked_at)));
    } else if !states.iter().any(|s| s.kind == StatusKind::AppDeleted) {
        states.push(item(
            StatusKind::Checked,
            Severity::Ok,
            None,
            format!("Last checked {when}: the tenant matches the recipe"),
            Some(check.checked_at),
        ));
    }
}

/// The dashboard's filter (and `connections --expiring-within`): every given part must match.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Filter {
    /// A tenant id or domain (case-insensitive).
    pub tenant: Option<String>,
    /// A vendor name or recipe id (case-insensitive).
    pub vendor: Option<String>,
    /// A current secret expires within this many days (or has expired).
    pub due_within_days: Option<i64>,
}

impl Filter {
    pub fn matches(&self, c: &ConnectionStatus) -> bool {
        let same = |a: &str, b: &str| a.eq_ignore_ascii_case(b.trim());
        self.tenant.as_deref().is_none_or(|t| {
            same(&c.tenant.id, t) || c.tenant.domain.as_deref().is_some_and(|d| same(d, t))
        }) && self
            .vendor
            .as_deref()
            .is_none_or(|v| same(&c.vendor, v) || same(&c.recipe_id, v))
            && self.due_within_days.is_none_or(|d| c.due_within(d))
    }

    /// The matching rows, in their order.
    pub fn apply(&self, rows: Vec<ConnectionStatus>) -> Vec<ConnectionStatus> {
        rows.into_iter().filter(|c| self.matches(c)).collect()
    }
}

/// Dashboard sort orders.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SortBy {
    /// Soonest expiry first (no secret last); ties by vendor.
    #[default]
    NextExpiry,
    /// Worst state first, then soonest expiry.
    Severity,
    Vendor,
    Tenant,
}

/// Sorts rows in place; stable, so equal rows keep their saved order.
pub fn sort(rows: &mut [ConnectionStatus], by: SortBy) {
    let expiry = |a: &ConnectionStatus, b: &ConnectionStatus| match (a.next_expiry, b.next_expiry) {
        (Some(x), Some(y)) => x.cmp(&y),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    };
    let lower = |s: &str| s.to_lowercase();
    rows.sort_by(|a, b| match by {
        SortBy::NextExpiry => expiry(a, b).then_with(|| lower(&a.vendor).cmp(&lower(&b.vendor))),
        SortBy::Severity => b.severity.cmp(&a.severity).then_with(|| expiry(a, b)),
        SortBy::Vendor => lower(&a.vendor)
            .cmp(&lower(&b.vendor))
            .then_with(|| expiry(a, b)),
        SortBy::Tenant => lower(a.tenant.label())
            .cmp(&lower(b.tenant.label()))
            .then_with(|| expiry(a, b)),
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lifecycle::check::{CheckSummary, Finding};
    use crate::lifecycle::rotate::Rotation;
    use chrono::TimeZone;

    fn at(y: i32, m: u32, d: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, 12, 0, 0).unwrap()
    }

    fn meta(key: &str, expires: DateTime<Utc>) -> SecretMeta {
        SecretMeta {
            key_id: key.into(),
            description: format!("{key} secret"),
            created_at: at(2026, 1, 1),
            expires_at: expires,
        }
    }

    fn connection(vendor: &str, tenant: &str, expires: DateTime<Utc>) -> Connection {
        Connection {
            id: format!("{vendor}-{tenant}"),
            recipe_id: vendor.to_lowercase(),
            vendor: vendor.into(),
            tenant_id: tenant.into(),
            tenant_domain: Some(format!("{tenant}.onmicrosoft.com")),
            apps: vec![ConnectedApp {
                key: "main".into(),
                display_name: format!("{vendor} app"),
                app_id: format!("app-{vendor}"),
                object_id: "obj".into(),
                service_principal_id: Some("sp".into()),
                secret: Some(meta("k1", expires)),
                rotation: None,
                certificate: None,
            }],
            created_at: at(2026, 1, 1),
            ..Connection::default()
        }
    }

    fn kinds(s: &ConnectionStatus) -> Vec<StatusKind> {
        s.states.iter().map(|i| i.kind).collect()
    }

    const NOW: fn() -> DateTime<Utc> = || at(2026, 12, 4);
    fn held_all(_: &SecretRef) -> Option<bool> {
        Some(true)
    }

    #[test]
    fn a_healthy_connection_is_ok_with_days_left() {
        let s = status_of(
            &connection("Totalview", "t1", at(2027, 6, 1)),
            NOW(),
            &held_all,
        );
        assert_eq!(kinds(&s), vec![StatusKind::Ok]);
        assert_eq!(s.severity, Severity::Ok);
        assert_eq!(s.days_left, Some(179));
        let cred = &s.apps[0].credentials[0];
        assert_eq!(cred.role, CredentialRole::Current);
        assert_eq!(cred.in_keyring, Some(true));
        assert!(s.states[0].text.contains("179 more days"));
    }

    #[test]
    fn expiring_expired_and_missing_secrets_are_named() {
        let soon = status_of(&connection("A", "t1", at(2026, 12, 16)), NOW(), &held_all);
        assert_eq!(kinds(&soon), vec![StatusKind::ExpiringSoon]);
        assert_eq!(soon.severity, Severity::Warning);
        assert!(
            soon.states[0].text.contains("12 days"),
            "{}",
            soon.states[0].text
        );

        let gone = status_of(&connection("A", "t1", at(2026, 11, 1)), NOW(), &|_| {
            Some(false)
        });
        assert_eq!(gone.severity, Severity::Critical);
        assert!(gone.has(StatusKind::Expired));
        assert!(gone.has(StatusKind::SecretMissing));
        assert!(!gone.has(StatusKind::Ok));

        let unlooked = status_of(&connection("A", "t1", at(2027, 6, 1)), NOW(), &|_| None);
        assert_eq!(unlooked.apps[0].credentials[0].in_keyring, None);
        assert!(!unlooked.has(StatusKind::SecretMissing));
    }

    fn with_certificate(
        expires: DateTime<Utc>,
        origin: crate::certificate::CertificateOrigin,
    ) -> Connection {
        let mut c = connection("Cert", "t1", expires);
        c.apps[0].secret = None;
        c.apps[0].certificate = Some(crate::certificate::CertificateMeta {
            key_id: "k".into(),
            thumbprint: "AB12".into(),
            thumbprint_sha256: "CD34".into(),
            subject: "CN=Cert".into(),
            not_before: at(2026, 1, 1),
            not_after: expires,
            origin,
            certificate_base64: String::new(),
        });
        c
    }

    #[test]
    fn certificate_expiry_is_known_to_the_dashboard_and_check() {
        use crate::certificate::CertificateOrigin::{Generated, Vendor};
        let ok = status_of(
            &with_certificate(at(2027, 6, 1), Generated),
            NOW(),
            &held_all,
        );
        assert_eq!(kinds(&ok), vec![StatusKind::Ok]);
        assert!(ok.states[0]
            .text
            .contains("certificate is valid for 179 more days"));
        assert_eq!(ok.days_left, Some(179));
        assert_eq!(ok.apps[0].certificate.as_ref().unwrap().thumbprint, "AB12");

        let soon = status_of(
            &with_certificate(at(2026, 12, 16), Generated),
            NOW(),
            &held_all,
        );
        assert_eq!(kinds(&soon), vec![StatusKind::ExpiringSoon]);
        assert!(
            soon.states[0].text.contains("thumbprint AB12")
                && soon.states[0].text.contains("rotate it")
        );

        let expired = status_of(&with_certificate(at(2026, 11, 1), Vendor), NOW(), &held_all);
        assert_eq!(expired.severity, Severity::Critical);
        assert!(expired.has(StatusKind::Expired));
        assert!(expired.states[0]
            .text
            .contains("ask the vendor for a new certificate"));
    }

    #[test]
    fn a_rotation_in_overlap_shows_both_secrets_and_the_grace_end() {
        let mut c = connection("A", "t1", at(2028, 12, 1));
        let old = meta("k0", at(2026, 12, 10));
        c.apps[0].rotation = Some(Rotation {
            id: "r".into(),
            stage: RotationStage::Overlap,
            started_at: at(2026, 12, 1),
            description: "x".into(),
            lifetime_days: 730,
            grace_days: 7,
            pending_since: None,
            new_secret: Some(meta("k1", at(2028, 12, 1))),
            old_secret: Some(old),
            proved_at: Some(at(2026, 12, 1)),
            grace_ends_at: Some(at(2026, 12, 8)),
            confirmed_at: None,
            finished_at: None,
            still_works: None,
            new_certificate: None,
            old_certificate: None,
            pending_thumbprint: None,
        });
        let s = status_of(&c, NOW(), &held_all);
        assert!(s.has(StatusKind::RotationInProgress));
        assert!(
            !s.has(StatusKind::Ok),
            "a rotation in progress is not plain OK"
        );
        let roles: Vec<_> = s.apps[0]
            .credentials
            .iter()
            .map(|c| c.role.clone())
            .collect();
        assert_eq!(
            roles,
            vec![
                CredentialRole::Current,
                CredentialRole::OldInOverlap {
                    valid_until: Some(at(2026, 12, 8))
                }
            ]
        );
        assert_eq!(s.apps[0].rotation, Some(RotationStage::Overlap));
        let later = status_of(&c, at(2026, 12, 9), &held_all);
        assert!(later.has(StatusKind::RotationDue), "grace over: finish it");
    }

    #[test]
    fn the_last_check_shows_a_deleted_app_drift_and_secrets_not_held() {
        let mut c = connection("A", "t1", at(2027, 6, 1));
        let finding = |kind: FindingKind| Finding {
            kind,
            severity: kind.severity(),
            app_key: Some("main".into()),
            text: "The app \"A app\" was deleted in the tenant".into(),
        };
        c.last_check = Some(CheckSummary {
            checked_at: at(2026, 12, 3),
            findings: vec![finding(FindingKind::AppDeleted)],
            unknown_secrets: vec![crate::lifecycle::UnknownSecret {
                app_key: "main".into(),
                key_id: "hand".into(),
                description: "made by hand".into(),
                created_at: None,
                expires_at: at(2027, 1, 1),
            }],
        });
        let s = status_of(&c, NOW(), &held_all);
        assert_eq!(s.severity, Severity::Critical);
        assert!(s.has(StatusKind::AppDeleted));
        assert!(s.states[0].text.contains("checked 2026-12-03"));
        assert_eq!(s.last_checked_at, Some(at(2026, 12, 3)));
        assert_eq!(s.apps[0].credentials[1].role, CredentialRole::NotHeld);

        c.last_check.as_mut().unwrap().findings = vec![finding(FindingKind::MissingPermission)];
        let s = status_of(&c, NOW(), &held_all);
        assert!(s.has(StatusKind::Drift));
        c.last_check.as_mut().unwrap().findings.clear();
        let s = status_of(&c, NOW(), &held_all);
        assert!(s.has(StatusKind::Checked) && s.has(StatusKind::Ok));
    }

    #[test]
    fn filter_and_sort_by_tenant_vendor_and_due_date() {
        let rows: Vec<_> = [
            connection("Zeta", "t1", at(2027, 6, 1)),
            connection("Alpha", "t2", at(2026, 12, 20)),
            connection("Mid", "t1", at(2026, 11, 30)),
        ]
        .iter()
        .map(|c| status_of(c, NOW(), &held_all))
        .collect();
        let due = Filter {
            due_within_days: Some(30),
            ..Filter::default()
        }
        .apply(rows.clone());
        assert_eq!(
            due.iter().map(|r| r.vendor.as_str()).collect::<Vec<_>>(),
            ["Alpha", "Mid"]
        );
        let t1 = Filter {
            tenant: Some("T1.onmicrosoft.com".into()),
            ..Filter::default()
        }
        .apply(rows.clone());
        assert_eq!(t1.len(), 2);
        let alpha = Filter {
            vendor: Some("alpha".into()),
            ..Filter::default()
        }
        .apply(rows.clone());
        assert_eq!(alpha.len(), 1);
        let mut sorted = rows.clone();
        sort(&mut sorted, SortBy::NextExpiry);
        assert_eq!(
            sorted.iter().map(|r| r.vendor.as_str()).collect::<Vec<_>>(),
            ["Mid", "Alpha", "Zeta"]
        );
        sort(&mut sorted, SortBy::Vendor);
        assert_eq!(sorted[0].vendor, "Alpha");
        sort(&mut sorted, SortBy::Severity);
        assert_eq!(sorted[0].vendor, "Mid", "expired first");
    }

    #[test]
    fn serialises_in_camel_case_for_the_shell() {
        let s = status_of(&connection("A", "t1", at(2027, 6, 1)), NOW(), &held_all);
        let v = serde_json::to_value(&s).unwrap();
        assert!(v.get("daysLeft").is_some());
        assert_eq!(v["apps"][0]["credentials"][0]["role"], "current");
        assert_eq!(v["apps"][0]["credentials"][0]["inKeyring"], true);
        assert_eq!(v["states"][0]["severity"], "ok");
        assert_eq!(v["tenant"]["cloud"], "global");
    }
}
