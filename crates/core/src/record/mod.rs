//! The change record: a file the customer keeps for change management, listing in the
//! portal's words every object AppGrant created or changed in the tenant (with ids), who
//! signed in and when, the permissions granted with their meaning and risk, the verification
//! results, the mailbox or sign-in limit with its proof, and each secret's expiry. Never a
//! secret: the record is built from the saved [`Connection`] alone, which holds none.
//!
//! [`ChangeRecord::build`] turns a connection into plain rows; [`ChangeRecord::render`] writes
//! them as Markdown (`markdown.rs`) or as a printable standalone HTML page (`html.rs`: inline
//! CSS with print styles, no scripts, every value escaped).

mod facts;
mod html;
mod markdown;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use facts::{read_grants, GrantRecord, LimitProof, SignedInAdmin, VerifyRecord};

use crate::catalog::{Catalog, PermissionKind};
use crate::cloud::Cloud;
use crate::plan::StepKind;
use crate::portal::{self, deep_link, object_place, step_place, ObjectIds, Place, PortalObject};
use crate::recipe::Recipe;
use crate::scope::signin::SignInLimit;
use crate::scope::verify::{Probe, ProbeResult};
use crate::scope::{ScopeState, ScopeStatus};
use crate::vault::{ConnectedApp, Connection, SecretMeta};
use crate::verify::CheckStatus;

/// The two file formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RecordFormat {
    Md,
    Html,
}

impl RecordFormat {
    pub fn extension(self) -> &'static str {
        match self {
            Self::Md => "md",
            Self::Html => "html",
        }
    }

    /// `md` / `markdown` / `html` (case does not matter).
    pub fn parse(text: &str) -> Result<Self, RecordError> {
        match text.trim().to_ascii_lowercase().as_str() {
            "md" | "markdown" => Ok(Self::Md),
            "html" | "htm" => Ok(Self::Html),
            _ => Err(RecordError::UnknownFormat(text.to_string())),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    #[error("\"{0}\" is not a change record format.")]
    UnknownFormat(String),
}

impl RecordError {
    pub fn hint(&self) -> &'static str {
        match self {
            Self::UnknownFormat(_) => "Use md (Markdown) or html (a page to print).",
        }
    }
}

/// One object in the tenant, as the portal names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectRow {
    /// The app it belongs to (display name), for grouping.
    pub app: String,
    /// What it is, in portal words: "App registration", "Client secret "TonicDM Office365
    /// Secret"".
    pub object: String,
    /// What AppGrant did to it.
    pub action: String,
    /// Where to find it in the portal.
    pub place: String,
    /// `(label, id)` pairs: "Application (client) ID", "Object ID", ...
    pub ids: Vec<(String, String)>,
    /// "Show in the Entra admin center" (real tenants only).
    pub link: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PermissionRow {
    pub app: String,
    pub name: String,
    /// "Application" or "Delegated", as the portal says.
    pub kind: String,
    /// What it lets the vendor do, in plain words.
    pub meaning: String,
    /// "read", "write", "send", "directory-wide".
    pub risk: String,
    /// How it is granted now: "Granted for the whole organisation", "Limited to chosen
    /// mailboxes (Exchange)".
    pub status: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckRow {
    /// "Passed", "Warning", "Failed", "Skipped".
    pub status: String,
    pub title: String,
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LimitSection {
    pub app: String,
    /// "Mailbox access limit (Exchange RBAC for Applications)" or "Sign-in limit".
    pub kind: String,
    pub headline: String,
    pub people: Vec<String>,
    /// The probes, one sentence each ("Allowed: reading ... (inside the limit)").
    pub proof: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SecretRow {
    pub app: String,
    pub description: String,
    pub key_id: String,
    pub created: String,
    pub expires: String,
    /// "in 729 days", "expired 3 days ago".
    pub due: String,
}

/// Everything a record says, as plain rows; rendered by [`ChangeRecord::render`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChangeRecord {
    pub vendor: String,
    pub connection_id: String,
    pub tenant: String,
    pub tenant_id: String,
    pub cloud: String,
    pub practice: bool,
    /// "Avery Admin (avery.admin@contoso.onmicrosoft.com), Global Administrator".
    pub signed_in: String,
    pub connected_at: String,
    pub verified_at: Option<String>,
    pub generated_at: String,
    pub portal_name: Option<String>,
    pub objects: Vec<ObjectRow>,
    /// Set when the grants could not be read when the connection was saved.
    pub grants_note: Option<String>,
    pub permissions: Vec<PermissionRow>,
    pub checks_at: Option<String>,
    pub checks: Vec<CheckRow>,
    pub limits: Vec<LimitSection>,
    pub secrets: Vec<SecretRow>,
}

fn when(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

fn day(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d").to_string()
}

/// The cloud the connection's tenant lives in, for links: none for the practice tenant.
fn link_cloud(connection: &Connection) -> Option<Cloud> {
    if connection.practice {
        return None;
    }
    Some(connection.cloud.clone().unwrap_or(Cloud::Global))
}

/// Builds records from connections.
struct Builder<'a> {
    connection: &'a Connection,
    recipe: Option<&'a Recipe>,
    cloud: Option<Cloud>,
    tenant: String,
}

impl<'a> Builder<'a> {
    fn link(&self, place: &Place, app: &ConnectedApp) -> Option<String> {
        let cloud = self.cloud.as_ref()?;
        deep_link(
            cloud,
            place.blade?,
            ObjectIds {
                app_id: &app.app_id,
                service_principal_id: app.service_principal_id.as_deref(),
            },
        )
    }

    fn row(
        &self,
        app: &ConnectedApp,
        object: String,
        action: &str,
        place: Place,
        ids: Vec<(&str, String)>,
    ) -> ObjectRow {
        ObjectRow {
            app: app.display_name.clone(),
            object,
            action: action.to_string(),
            link: self.link(&place, app),
            place: place.text,
            ids: ids.into_iter().map(|(l, v)| (l.to_string(), v)).collect(),
        }
    }

    fn app_rows(&self, app: &ConnectedApp) -> Vec<ObjectRow> {
        let name = &app.display_name;
        let mut rows = vec![self.row(
            app,
            format!("App registration \"{name}\""),
            "Registered with the vendor's permissions",
            step_place(&StepKind::RegisterApp, name, &self.tenant),
            vec![
                ("Application (client) ID", app.app_id.clone()),
                ("Object ID", app.object_id.clone()),
            ],
        )];
        if let Some(sp) = &app.service_principal_id {
            rows.push(self.row(
                app,
                format!("Enterprise application \"{name}\""),
                "Created (the app's identity in this tenant)",
                object_place(PortalObject::ServicePrincipal, name),
                vec![("Object ID", sp.clone())],
            ));
        }
        rows.extend(self.grant_rows(app));
        for (secret, action) in secrets_of(app) {
            rows.push(self.row(
                app,
                format!("Client secret \"{}\"", secret.description),
                action,
                step_place(&StepKind::CreateSecret { days: 0 }, name, &self.tenant),
                vec![("Secret ID", secret.key_id.clone())],
            ));
        }
        if let Some(cert) = &app.certificate {
            let kind = StepKind::AddCertificate {
                days: 0,
                origin: cert.origin,
                thumbprint: Some(cert.thumbprint.clone()),
            };
            rows.push(self.row(
                app,
                format!("Certificate \"{}\"", cert.subject),
                match cert.origin {
                    crate::certificate::CertificateOrigin::Generated => {
                        "Added (made by AppGrant; its private key is in the credential store)"
                    }
                    crate::certificate::CertificateOrigin::Vendor => {
                        "Added (the vendor's public certificate)"
                    }
                },
                step_place(&kind, name, &self.tenant),
                vec![
                    ("Thumbprint", cert.thumbprint.clone()),
                    ("Key ID", cert.key_id.clone()),
                ],
            ));
        }
        rows
    }

    fn grant_rows(&self, app: &ConnectedApp) -> Vec<ObjectRow> {
        self.connection
            .grants
            .iter()
            .filter(|g| g.app_key == app.key)
            .map(|g| {
                let (object, kind) = match g.kind {
                    PermissionKind::Application => (
                        format!(
                            "Admin consent: Microsoft Graph {} (Application)",
                            g.permissions.join(" ")
                        ),
                        StepKind::GrantApplicationPermission {
                            name: g.permissions.join(" "),
                            app_role_id: String::new(),
                        },
                    ),
                    PermissionKind::Delegated => (
                        format!(
                            "Admin consent for everyone: Microsoft Graph {} (Delegated)",
                            g.permissions.join(" ")
                        ),
                        StepKind::GrantDelegatedPermissions {
                            scopes: g.permissions.clone(),
                        },
                    ),
                };
                let mut place = step_place(&kind, &app.display_name, &self.tenant);
                place.blade = Some(portal::Blade::EnterpriseAppPermissions);
                let label = match g.kind {
                    PermissionKind::Application => "App role assignment ID",
                    PermissionKind::Delegated => "Permission grant ID",
                };
                self.row(app, object, "Granted", place, vec![(label, g.id.clone())])
            })
            .collect()
    }

    fn mailbox_rows(&self, app: &ConnectedApp, limit: &ScopeState) -> Vec<ObjectRow> {
        let place = || Place {
            path: vec![portal::MAILBOX_LIMIT_PLACE.to_string()],
            text: portal::MAILBOX_LIMIT_PLACE.to_string(),
            blade: None,
        };
        let mut rows = Vec::new();
        if let Some(scope_id) = &limit.scope_id {
            rows.push(self.row(
                app,
                format!("Exchange management scope \"{}\"", limit.scope_name),
                "Created: the mailboxes the app may use",
                place(),
                vec![
                    ("Scope ID", scope_id.clone()),
                    ("Recipient filter", limit.recipient_filter.clone()),
                ],
            ));
        }
        for a in &limit.assignments {
            if let Some(id) = &a.assignment_id {
                rows.push(self.row(
                    app,
                    format!("Exchange role assignment \"{}\"", a.role),
                    "Created: the permission, limited to the scope",
                    place(),
                    vec![("Role assignment ID", id.clone())],
                ));
            }
        }
        for g in &limit.replaced_entra_grants {
            rows.push(
                self.row(
                    app,
                    format!(
                        "Admin consent: Microsoft Graph {} (Application)",
                        g.permission
                    ),
                    "Removed: replaced by the Exchange limit above",
                    object_place(PortalObject::PermissionGrants, &app.display_name),
                    g.assignment_id
                        .iter()
                        .map(|id| ("Former app role assignment ID", id.clone()))
                        .collect(),
                ),
            );
        }
        rows
    }

    fn sign_in_rows(&self, app: &ConnectedApp, limit: &SignInLimit) -> Vec<ObjectRow> {
        let name = &app.display_name;
        let mut rows = vec![self.row(
            app,
            format!("Enterprise application \"{name}\": Assignment required"),
            "Changed to Yes",
            object_place(PortalObject::AssignmentRequired, name),
            vec![],
        )];
        for (principal, assignment) in &limit.assignments {
            let who = limit
                .recipients
                .iter()
                .find(|r| &r.id == principal)
                .map(|r| r.display_name.clone())
                .unwrap_or_else(|| principal.clone());
            rows.push(self.row(
                app,
                format!("User or group assignment: {who}"),
                "Assigned (may sign in)",
                object_place(PortalObject::SignInAssignments, name),
                vec![
                    ("Assignment ID", assignment.clone()),
                    ("Principal ID", principal.clone()),
                ],
            ));
        }
        rows
    }

    fn objects(&self) -> Vec<ObjectRow> {
        let mut rows = Vec::new();
        for app in &self.connection.apps {
            rows.extend(self.app_rows(app));
            for limit in self
                .connection
                .mailbox_limits
                .iter()
                .filter(|l| l.app_key == app.key)
            {
                rows.extend(self.mailbox_rows(app, limit));
            }
            for limit in self
                .connection
                .sign_in_limits
                .iter()
                .filter(|l| l.app_key == app.key)
            {
                rows.extend(self.sign_in_rows(app, limit));
            }
        }
        rows
    }

    /// Permissions from the recipe (what the vendor needs), else from the grants read.
    fn permissions(&self) -> Vec<PermissionRow> {
        let catalog = Catalog::bundled().ok();
        let mut wanted: Vec<(String, String, PermissionKind)> = Vec::new();
        for app in &self.connection.apps {
            let from_recipe = self
                .recipe
                .and_then(|r| r.apps.iter().find(|a| a.key == app.key))
                .map(|spec| {
                    spec.permissions
                        .iter()
                        .map(|p| (p.name.clone(), p.kind))
                        .collect::<Vec<_>>()
                });
            let names = from_recipe.unwrap_or_else(|| {
                self.connection
                    .grants
                    .iter()
                    .filter(|g| g.app_key == app.key)
                    .flat_map(|g| g.permissions.iter().map(move |p| (p.clone(), g.kind)))
                    .collect()
            });
            wanted.extend(names.into_iter().map(|(n, k)| (app.key.clone(), n, k)));
        }
        wanted
            .into_iter()
            .map(|(key, name, kind)| {
                let entry = catalog.and_then(|c| c.get(kind, &name));
                let app = self
                    .connection
                    .app(&key)
                    .map(|a| a.display_name.clone())
                    .unwrap_or(key.clone());
                PermissionRow {
                    status: self.permission_status(&key, &name, kind),
                    app,
                    kind: capitalised(kind.portal_name()),
                    meaning: entry
                        .map(|p| p.summary())
                        .unwrap_or_else(|| "Not in AppGrant's permission catalog".to_string()),
                    risk: entry
                        .map(|p| p.risk().label().to_string())
                        .unwrap_or_else(|| "unknown".to_string()),
                    name,
                }
            })
            .collect()
    }

    fn permission_status(&self, key: &str, name: &str, kind: PermissionKind) -> String {
        let limited = self
            .connection
            .mailbox_limits
            .iter()
            .any(|l| l.app_key == key && l.permissions.iter().any(|p| p == name));
        if limited && kind == PermissionKind::Application {
            return "Limited to chosen mailboxes (Exchange)".to_string();
        }
        let granted =
            self.connection.grants.iter().any(|g| {
                g.app_key == key && g.kind == kind && g.permissions.iter().any(|p| p == name)
            });
        match (granted, self.connection.grants.is_empty()) {
            (true, _) => "Granted for the whole organisation".to_string(),
            (false, true) => "Not read from the tenant".to_string(),
            (false, false) => "Not granted".to_string(),
        }
    }
}

/// The app's secrets the tenant holds: the current one and, while a rotation runs, the other
/// one of the pair (the new secret being proved, or the old one kept for the overlap).
fn secrets_of(app: &ConnectedApp) -> Vec<(&SecretMeta, &'static str)> {
    const CURRENT: &str = "Added; the value is kept in this computer's credential store only";
    let mut out: Vec<(&SecretMeta, &'static str)> =
        app.secret.iter().map(|s| (s, CURRENT)).collect();
    if let Some(r) = app.rotation.as_ref().filter(|r| r.finished_at.is_none()) {
        let others = [
            (
                r.new_secret.as_ref(),
                "Added by a rotation that is still running (the new secret)",
            ),
            (
                r.old_secret.as_ref(),
                "Kept until the rotation finishes (the old secret)",
            ),
        ];
        for (secret, action) in others {
            if let Some(secret) = secret.filter(|s| out.iter().all(|(o, _)| o.key_id != s.key_id)) {
                out.push((secret, action));
            }
        }
    }
    out
}

fn capitalised(word: &str) -> String {
    let mut chars = word.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

fn check_status(status: CheckStatus) -> &'static str {
    match status {
        CheckStatus::Passed => "Passed",
        CheckStatus::Warning => "Warning",
        CheckStatus::Failed => "Failed",
        CheckStatus::Skipped => "Skipped",
    }
}

fn probe_line(probe: &Probe, side: &str) -> String {
    let result = match probe.result {
        ProbeResult::Allowed => "Allowed",
        ProbeResult::Refused => "Refused",
        ProbeResult::Inconclusive => "Inconclusive",
    };
    format!(
        "{result}: {} from {}, a mailbox {side} the limit (Microsoft: {}).",
        probe.what, probe.mailbox, probe.detail
    )
}

fn mailbox_section(app: &str, limit: &ScopeState, proof: Option<&LimitProof>) -> LimitSection {
    let mut lines: Vec<String> = Vec::new();
    if let Some(p) = proof {
        lines.extend(p.inside.iter().map(|i| probe_line(i, "inside")));
        lines.extend(p.outside.iter().map(|o| probe_line(o, "outside")));
        if !lines.is_empty() {
            lines.push(format!("Checked {}.", when(p.checked_at)));
        }
    }
    if let ScopeStatus::Verified { verified_at, .. } = &limit.status {
        if lines.is_empty() {
            lines.push(format!(
                "Proven with the app's own token on {}.",
                when(*verified_at)
            ));
        }
    }
    LimitSection {
        app: app.to_string(),
        kind: "Mailbox access limit (Exchange RBAC for Applications)".to_string(),
        headline: limit.headline(),
        people: limit.recipients.iter().map(person).collect(),
        proof: lines,
    }
}

fn person(r: &crate::scope::Recipient) -> String {
    match &r.upn_or_mail {
        Some(upn) => format!("{} ({upn})", r.display_name),
        None => r.display_name.clone(),
    }
}

fn due(expires: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let days = (expires - now).num_seconds().div_euclid(86_400);
    match days {
        d if d < 0 => format!("expired {} day(s) ago", -d),
        0 => "expires today".to_string(),
        d => format!("in {d} days"),
    }
}

impl ChangeRecord {
    /// The record of `connection`. `recipe` supplies the permissions the vendor needs (the
    /// grants read from the tenant are used without it).
    pub fn build(connection: &Connection, recipe: Option<&Recipe>, now: DateTime<Utc>) -> Self {
        let tenant = connection
            .tenant_domain
            .clone()
            .unwrap_or_else(|| connection.tenant_id.clone());
        let builder = Builder {
            connection,
            recipe,
            cloud: link_cloud(connection),
            tenant: tenant.clone(),
        };
        let app_name = |key: &str| {
            connection
                .app(key)
                .map(|a| a.display_name.clone())
                .unwrap_or_else(|| key.to_string())
        };
        let mut limits: Vec<LimitSection> = connection
            .mailbox_limits
            .iter()
            .map(|l| {
                let proof = connection
                    .limit_proofs
                    .iter()
                    .find(|p| p.app_key == l.app_key);
                mailbox_section(&app_name(&l.app_key), l, proof)
            })
            .collect();
        limits.extend(connection.sign_in_limits.iter().map(|l| LimitSection {
            app: app_name(&l.app_key),
            kind: "Sign-in limit (assignment required)".to_string(),
            headline: l.headline(),
            people: l.recipients.iter().map(person).collect(),
            proof: vec![format!("Applied {}.", when(l.applied_at))],
        }));
        Self {
            vendor: connection.vendor.clone(),
            connection_id: connection.id.clone(),
            tenant,
            tenant_id: connection.tenant_id.clone(),
            cloud: if connection.practice {
                "Practice tenant (AppGrant's simulator, not a Microsoft tenant)".to_string()
            } else {
                connection.cloud.clone().unwrap_or(Cloud::Global).label().to_string()
            },
            practice: connection.practice,
            signed_in: signed_in(connection.created_by.as_ref()),
            connected_at: when(connection.created_at),
            verified_at: connection.verified_at.map(when),
            generated_at: when(now),
            portal_name: builder.cloud.as_ref().and_then(portal::portal_name).map(str::to_string),
            objects: builder.objects(),
            grants_note: connection.grants.is_empty().then(|| {
                "The permission grants were not read from the tenant when this connection was saved (an older AppGrant, or Microsoft did not answer). Check the enterprise application's Permissions page.".to_string()
            }),
            permissions: builder.permissions(),
            checks_at: connection.last_verify.as_ref().map(|v| when(v.at)),
            checks: connection
                .last_verify
                .iter()
                .flat_map(|v| &v.checks)
                .map(|c| CheckRow {
                    status: check_status(c.status).to_string(),
                    title: c.title.clone(),
                    detail: c.detail.clone(),
                })
                .collect(),
            limits,
            secrets: connection
                .apps
                .iter()
                .flat_map(|a| {
                    secrets_of(a).into_iter().map(|(s, _)| SecretRow {
                        app: a.display_name.clone(),
                        description: s.description.clone(),
                        key_id: s.key_id.clone(),
                        created: day(s.created_at),
                        expires: day(s.expires_at),
                        due: due(s.expires_at, now),
                    })
                })
                .collect(),
        }
    }

    pub fn render(&self, format: RecordFormat) -> String {
        match format {
            RecordFormat::Md => markdown::render(self),
            RecordFormat::Html => html::render(self),
        }
    }

    /// `appgrant-change-record-tonicdm-contoso.onmicrosoft.com-2026-12-04.html`
    pub fn file_name(&self, format: RecordFormat, now: DateTime<Utc>) -> String {
        let safe = |s: &str| -> String {
            s.chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                        c.to_ascii_lowercase()
                    } else {
                        '-'
                    }
                })
                .collect()
        };
        format!(
            "appgrant-change-record-{}-{}-{}.{}",
            safe(&self.vendor),
            safe(&self.tenant),
            now.format("%Y-%m-%d"),
            format.extension()
        )
    }
}

/// A rendered record and the file name to save it under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordFile {
    pub file_name: String,
    pub text: String,
}

/// The record of `connection` in `format`, ready to write (what the desktop shell and the CLI
/// save). `recipes` are the loaded recipes; the connection's own is looked up among them.
pub fn record_file(
    connection: &Connection,
    recipes: &[Recipe],
    format: RecordFormat,
    now: DateTime<Utc>,
) -> RecordFile {
    let recipe = recipes.iter().find(|r| r.id == connection.recipe_id);
    let record = ChangeRecord::build(connection, recipe, now);
    RecordFile {
        file_name: record.file_name(format, now),
        text: record.render(format),
    }
}

fn signed_in(admin: Option<&SignedInAdmin>) -> String {
    let Some(admin) = admin else {
        return "Not recorded (this connection was saved by an older AppGrant)".to_string();
    };
    let mut text = match &admin.display_name {
        Some(name) if !name.is_empty() => format!("{name} ({})", admin.user_principal_name),
        _ => admin.user_principal_name.clone(),
    };
    if !admin.roles.is_empty() {
        text.push_str(&format!(", {}", admin.roles.join(", ")));
    }
    text
}

#[cfg(test)]
mod tests;
