//! "Check now": read the tenant and compare it with what AppGrant saved and the recipe asks
//! for. The app and its enterprise app still exist; each stored secret is still on the app
//! with the recorded expiry (and which secrets AppGrant does not hold); the grants equal the
//! recipe's (missing ones come with the steps that fix them, from re-planning the recipe
//! against the existing app); the mailbox and sign-in limits are still in place.
//!
//! The result is saved on the connection ([`CheckSummary`], with the time checked), so the
//! dashboard shows it offline.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::status::Severity;
use serde_json::Value;

use super::error::LifecycleError;
use super::rotate::RotationStage;
use crate::apply::journal::Journal;
use crate::cloud::Endpoints;
use crate::graph::fields::{text, time};
use crate::graph::{ErrorClass, GraphClient};
use crate::identity::Session;
use crate::plan::{plan, Choices, Phase, Plan, StepKind};
use crate::recipe::Recipe;
use crate::vault::{ConnectedApp, Connection, SecretMeta};

/// The app's certificate must still be on the app (by its keyId); one that is gone is
/// reported like a missing secret.
fn certificate_findings(app: &ConnectedApp, body: &Value, f: &mut Findings) {
    let Some(cert) = &app.certificate else {
        return;
    };
    let on_app = body
        .get("keyCredentials")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .any(|c| text(c, "keyId") == cert.key_id);
    if !on_app {
        let action = match cert.origin {
            crate::certificate::CertificateOrigin::Generated => "rotate it to add a new one",
            crate::certificate::CertificateOrigin::Vendor => {
                "connect again with the vendor's certificate"
            }
        };
        f.add(
            FindingKind::SecretMissingInTenant,
            Some(app.key.as_str()),
            format!(
                "The certificate (thumbprint {}) of \"{}\" is no longer in the tenant: {action}",
                cert.thumbprint, app.display_name
            ),
        );
    }
}

/// What one check found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingKind {
    /// The app registration is gone from the tenant.
    AppDeleted,
    /// The enterprise app (service principal) is gone.
    EnterpriseAppDeleted,
    /// A secret AppGrant holds is no longer on the app.
    SecretMissingInTenant,
    /// A secret's expiry in the tenant differs from the one AppGrant recorded.
    SecretExpiryDiffers,
    /// A secret is on the app that AppGrant did not create or does not hold.
    UnknownSecret,
    /// A permission the recipe needs is not granted (or not on the app).
    MissingPermission,
    /// A permission is granted that the recipe does not ask for.
    ExtraPermission,
    /// The mailbox limit is written but not yet in effect.
    MailboxLimitPending,
    /// The mailbox limit was proved with the app's own token.
    MailboxLimitVerified,
    /// The mailbox limit does not hold (or its Exchange objects are gone).
    MailboxLimitFailed,
    /// "Assignment required" was switched off, or assignments are gone.
    SignInLimitChanged,
    /// The sign-in limit is in place.
    SignInLimitInPlace,
}

impl FindingKind {
    /// A difference from the recipe or from what AppGrant saved (not just news).
    pub fn is_drift(self) -> bool {
        !matches!(
            self,
            Self::MailboxLimitPending
                | Self::MailboxLimitVerified
                | Self::SignInLimitInPlace
                | Self::UnknownSecret
        )
    }

    pub fn severity(self) -> Severity {
        match self {
            Self::AppDeleted
            | Self::EnterpriseAppDeleted
            | Self::SecretMissingInTenant
            | Self::MailboxLimitFailed => Severity::Critical,
            Self::SecretExpiryDiffers
            | Self::MissingPermission
            | Self::ExtraPermission
            | Self::SignInLimitChanged => Severity::Warning,
            Self::UnknownSecret | Self::MailboxLimitPending => Severity::Info,
            Self::MailboxLimitVerified | Self::SignInLimitInPlace => Severity::Ok,
        }
    }
}

/// One finding, in words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    pub kind: FindingKind,
    pub severity: Severity,
    /// The app it is about (None: the connection).
    pub app_key: Option<String>,
    pub text: String,
}

/// A client secret on the app that AppGrant does not hold (made by hand, or by someone else).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UnknownSecret {
    pub app_key: String,
    pub key_id: String,
    pub description: String,
    pub created_at: Option<DateTime<Utc>>,
    pub expires_at: DateTime<Utc>,
}

/// What the last check found, saved on the connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckSummary {
    pub checked_at: DateTime<Utc>,
    pub findings: Vec<Finding>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unknown_secrets: Vec<UnknownSecret>,
}

impl CheckSummary {
    /// Whether anything differs from the recipe or from what AppGrant saved.
    pub fn drift(&self) -> bool {
        self.findings.iter().any(|f| f.kind.is_drift())
    }

    pub fn has(&self, kind: FindingKind) -> bool {
        self.findings.iter().any(|f| f.kind == kind)
    }
}

/// The result of "Check now" on one connection: the saved summary, plus the reviewed steps
/// that would bring the grants back to the recipe's (nothing is changed by checking).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckReport {
    pub connection_id: String,
    pub summary: CheckSummary,
    /// Steps that would grant what is missing (from re-planning the recipe against the
    /// existing apps), in the plan's words. Empty when nothing is missing.
    pub fix_steps: Vec<crate::plan::Step>,
    /// Extra grants that removing would bring back to the recipe, in words.
    pub extra_grants: Vec<ExtraGrant>,
}

/// A permission granted beyond the recipe.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExtraGrant {
    pub app_key: String,
    /// The permission's name (`User.Read.All`).
    pub permission: String,
    /// `application` or `delegated`.
    pub kind: String,
}

/// How far apart a recorded and an actual expiry may be before it counts as different
/// (Microsoft rounds `endDateTime`).
const EXPIRY_TOLERANCE_SECS: i64 = 120;

struct Findings {
    list: Vec<Finding>,
    unknown: Vec<UnknownSecret>,
    extra: Vec<ExtraGrant>,
}

impl Findings {
    fn add(&mut self, kind: FindingKind, app: Option<&str>, text: String) {
        self.list.push(Finding {
            kind,
            severity: kind.severity(),
            app_key: app.map(str::to_string),
            text,
        });
    }
}

/// Reads the tenant for `connection` and reports what differs. Writes nothing.
pub(super) async fn run(
    graph: &GraphClient,
    endpoints: &Endpoints,
    session: &Session,
    connection: &Connection,
    recipe: Option<&Recipe>,
) -> Result<CheckReport, LifecycleError> {
    let mut f = Findings {
        list: Vec::new(),
        unknown: Vec::new(),
        extra: Vec::new(),
    };
    let mut alive = Vec::new();
    for app in &connection.apps {
        if check_app(graph, connection, app, &mut f).await? {
            alive.push(app);
        }
    }
    let mut fix_steps = Vec::new();
    if let (Some(recipe), false) = (recipe, alive.is_empty()) {
        let the_plan = replan(graph, endpoints, session, connection, recipe).await?;
        for app in &alive {
            grants(graph, &the_plan, recipe, connection, app, &mut f).await?;
        }
        fix_steps = the_plan
            .steps
            .iter()
            .filter(|s| !s.done && s.phase != Phase::Secret && alive.iter().any(|a| a.key == s.app))
            .filter(|s| {
                !matches!(
                    s.kind,
                    StepKind::RegisterApp | StepKind::CreateServicePrincipal
                ) || f
                    .list
                    .iter()
                    .any(|x| x.kind == FindingKind::MissingPermission)
            })
            .cloned()
            .collect();
    }
    limits(graph, connection, &mut f).await?;
    Ok(CheckReport {
        connection_id: connection.id.clone(),
        summary: CheckSummary {
            checked_at: Utc::now(),
            findings: f.list,
            unknown_secrets: f.unknown,
        },
        fix_steps,
        extra_grants: f.extra,
    })
}

/// The permissions of app `app_key` that the connection's mailbox limits cover.
fn mailbox_limited<'a>(connection: &'a Connection, app_key: &str) -> Vec<&'a String> {
    connection
        .mailbox_limits
        .iter()
        .filter(|l| l.app_key == app_key)
        .flat_map(|l| &l.permissions)
        .collect()
}

/// GETs `path`: `None` when the tenant answers that it is not found (deleted there), an error
/// saying what was being read (`reading`) for any other failure.
async fn read_or_gone(
    graph: &GraphClient,
    path: &str,
    reading: String,
) -> Result<Option<Value>, LifecycleError> {
    match graph.get(path).await {
        Ok(body) => Ok(Some(body)),
        Err(e) if e.class() == ErrorClass::NotFound => Ok(None),
        Err(e) => Err(LifecycleError::graph(reading, e)),
    }
}

/// The app, its enterprise app and its secrets. False when the app is gone.
async fn check_app(
    graph: &GraphClient,
    connection: &Connection,
    app: &ConnectedApp,
    f: &mut Findings,
) -> Result<bool, LifecycleError> {
    let key = Some(app.key.as_str());
    let name = &app.display_name;
    let Some(body) = read_or_gone(
        graph,
        &format!(
            "applications/{}?$select=id,appId,passwordCredentials,keyCredentials",
            app.object_id
        ),
        format!("Reading the app \"{name}\""),
    )
    .await?
    else {
        f.add(
            FindingKind::AppDeleted,
            key,
            format!("The app \"{name}\" was deleted in the tenant"),
        );
        return Ok(false);
    };
    if let Some(sp) = &app.service_principal_id {
        let found = read_or_gone(
            graph,
            &format!("servicePrincipals/{sp}?$select=id"),
            format!("Reading the enterprise app of \"{name}\""),
        )
        .await?;
        if found.is_none() {
            f.add(
                FindingKind::EnterpriseAppDeleted,
                key,
                format!("The enterprise app of \"{name}\" was deleted in the tenant"),
            );
            return Ok(false);
        }
    }
    certificate_findings(app, &body, f);
    let creds = body
        .get("passwordCredentials")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let held = held_secrets(app);
    for meta in &held {
        match creds.iter().find(|c| text(c, "keyId") == meta.key_id) {
            None => f.add(
                FindingKind::SecretMissingInTenant,
                key,
                format!(
                    "The secret \"{}\" of \"{name}\" is no longer in the tenant: rotate it",
                    meta.description
                ),
            ),
            Some(c) => {
                if let Some(end) = time(c, "endDateTime") {
                    if (end - meta.expires_at).num_seconds().abs() > EXPIRY_TOLERANCE_SECS {
                        f.add(FindingKind::SecretExpiryDiffers, key, format!("The secret of \"{name}\" now expires on {} in the tenant, not {} as AppGrant recorded", end.format("%Y-%m-%d"), meta.expires_at.format("%Y-%m-%d")));
                    }
                }
            }
        }
    }
    for c in creds
        .iter()
        .filter(|c| !held.iter().any(|h| h.key_id == text(c, "keyId")))
    {
        let Some(expires_at) = time(c, "endDateTime") else {
            continue;
        };
        let description = text(c, "displayName");
        f.add(
            FindingKind::UnknownSecret,
            key,
            format!(
                "\"{name}\" has a secret AppGrant does not hold (\"{description}\", expires {})",
                expires_at.format("%Y-%m-%d")
            ),
        );
        f.unknown.push(UnknownSecret {
            app_key: app.key.clone(),
            key_id: text(c, "keyId"),
            description,
            created_at: time(c, "startDateTime"),
            expires_at,
        });
    }
    let _ = connection;
    Ok(true)
}

/// The secrets AppGrant holds for the app: the current one, and a rotation's other one.
fn held_secrets(app: &ConnectedApp) -> Vec<SecretMeta> {
    let mut held: Vec<SecretMeta> = app.secret.iter().cloned().collect();
    if let Some(r) = app.rotation.as_ref().filter(|r| r.active()) {
        let other = if r.stage >= RotationStage::Overlap {
            &r.old_secret
        } else {
            &r.new_secret
        };
        if let Some(o) = other {
            if !held.iter().any(|h| h.key_id == o.key_id) {
                held.push(o.clone());
            }
        }
    }
    held
}

/// Plans the recipe again against the existing apps: what is missing shows as pending steps.
async fn replan(
    graph: &GraphClient,
    endpoints: &Endpoints,
    session: &Session,
    connection: &Connection,
    recipe: &Recipe,
) -> Result<Plan, LifecycleError> {
    let journal = journal_of(connection);
    plan_with(graph, endpoints, session, connection, recipe, &journal).await
}

/// A run journal saying what the connection's apps already are, so re-planning finds them.
fn journal_of(connection: &Connection) -> Journal {
    let mut journal = Journal::in_memory(&connection.tenant_id, &connection.recipe_id);
    for app in &connection.apps {
        let j = journal.app_mut(&app.key);
        j.app_id = Some(app.app_id.clone());
        j.object_id = Some(app.object_id.clone());
        j.service_principal_id = app.service_principal_id.clone();
        if let Some(s) = &app.secret {
            j.secret_key_id = Some(s.key_id.clone());
            j.secret_stored = true;
        }
        for limit in connection
            .mailbox_limits
            .iter()
            .filter(|l| l.app_key == app.key)
        {
            j.limited_permissions
                .extend(limit.permissions.iter().cloned());
        }
    }
    journal
}

async fn plan_with(
    graph: &GraphClient,
    endpoints: &Endpoints,
    session: &Session,
    connection: &Connection,
    recipe: &Recipe,
    journal: &Journal,
) -> Result<Plan, LifecycleError> {
    let choices = Choices {
        inputs: connection.inputs.clone(),
        // Keep the names the admin chose when connecting.
        app_names: connection
            .apps
            .iter()
            .map(|a| (a.key.clone(), a.display_name.clone()))
            .collect(),
        ..Choices::default()
    };
    plan(graph, endpoints, session, recipe, &choices, journal)
        .await
        .map_err(|e| match e {
            crate::plan::PlanError::Graph(g) => LifecycleError::graph("Reading the tenant", g),
            other => LifecycleError::graph(
                "Planning the recipe again",
                crate::graph::GraphError::Decode(other.to_string()),
            ),
        })
}

/// Application and delegated grants compared with the recipe's.
async fn grants(
    graph: &GraphClient,
    the_plan: &Plan,
    recipe: &Recipe,
    connection: &Connection,
    app: &ConnectedApp,
    f: &mut Findings,
) -> Result<(), LifecycleError> {
    let (Some(spec), Some(sp)) = (
        recipe.apps.iter().find(|a| a.key == app.key),
        &app.service_principal_id,
    ) else {
        return Ok(());
    };
    let key = Some(app.key.as_str());
    let name = &app.display_name;
    let limited = mailbox_limited(connection, &app.key);
    let wanted: Vec<String> = spec
        .application_permissions()
        .map(|p| p.name.clone())
        .filter(|n| !limited.contains(&n))
        .collect();
    let graph_sp = &the_plan.graph_service_principal_id;
    let names: std::collections::HashMap<&str, &str> = the_plan
        .app(&app.key)
        .map(|p| {
            p.app_roles
                .iter()
                .map(|(n, id)| (id.as_str(), n.as_str()))
                .collect()
        })
        .unwrap_or_default();
    let catalog = crate::catalog::Catalog::bundled().ok();
    let assignments = graph
        .get_all(&format!("servicePrincipals/{sp}/appRoleAssignments"))
        .await
        .map_err(|e| LifecycleError::graph(format!("Reading the permissions of \"{name}\""), e))?;
    let granted: Vec<String> = assignments
        .iter()
        .filter(|a| text(a, "resourceId") == *graph_sp)
        .map(|a| {
            let id = text(a, "appRoleId");
            names
                .get(id.as_str())
                .map(|n| n.to_string())
                .unwrap_or_else(|| {
                    catalog
                        .and_then(|c| {
                            c.iter()
                                .find(|p| {
                                    p.kind == crate::catalog::PermissionKind::Application
                                        && p.id == id
                                })
                                .map(|p| p.value.clone())
                        })
                        .unwrap_or(id)
                })
        })
        .collect();
    compare(f, key, name, "application", &wanted, &granted);
    let wanted_scopes: Vec<String> = spec
        .delegated_permissions()
        .map(|p| p.name.clone())
        .collect();
    if spec.admin_consent || !wanted_scopes.is_empty() {
        let grant = graph
            .get(&format!("oauth2PermissionGrants?$filter=clientId eq '{sp}' and consentType eq 'AllPrincipals' and resourceId eq '{graph_sp}'"))
            .await
            .map_err(|e| LifecycleError::graph(format!("Reading the delegated permissions of \"{name}\""), e))?;
        let scopes: Vec<String> = grant
            .get("value")
            .and_then(Value::as_array)
            .and_then(|v| v.first())
            .map(|g| {
                text(g, "scope")
                    .split_whitespace()
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        if spec.admin_consent {
            compare(f, key, name, "delegated", &wanted_scopes, &scopes);
        }
    }
    Ok(())
}

fn compare(
    f: &mut Findings,
    key: Option<&str>,
    name: &str,
    kind: &str,
    wanted: &[String],
    granted: &[String],
) {
    for missing in wanted.iter().filter(|w| !granted.contains(w)) {
        f.add(
            FindingKind::MissingPermission,
            key,
            format!("\"{name}\" is missing the {kind} permission {missing}"),
        );
    }
    for extra in granted.iter().filter(|g| !wanted.contains(g)) {
        f.add(
            FindingKind::ExtraPermission,
            key,
            format!(
                "\"{name}\" has the {kind} permission {extra}, which the recipe does not ask for"
            ),
        );
        if let Some(app_key) = key {
            f.extra.push(ExtraGrant {
                app_key: app_key.to_string(),
                permission: extra.clone(),
                kind: kind.to_string(),
            });
        }
    }
}

/// The mailbox limit's saved state, and whether the sign-in limit is still switched on.
async fn limits(
    graph: &GraphClient,
    connection: &Connection,
    f: &mut Findings,
) -> Result<(), LifecycleError> {
    use crate::scope::ScopeStatus;
    for limit in &connection.mailbox_limits {
        let key = Some(limit.app_key.as_str());
        match &limit.status {
            ScopeStatus::Pending { applied_at } => f.add(FindingKind::MailboxLimitPending, key, format!("The mailbox limit written on {} is not proved yet: verify it again", applied_at.format("%Y-%m-%d"))),
            ScopeStatus::Verified { verified_at, .. } => f.add(FindingKind::MailboxLimitVerified, key, format!("The mailbox limit was verified on {}", verified_at.format("%Y-%m-%d"))),
            ScopeStatus::Failed { reason, .. } => f.add(FindingKind::MailboxLimitFailed, key, format!("The mailbox limit does not hold: {reason}")),
            ScopeStatus::HandedOff { .. } => f.add(FindingKind::MailboxLimitPending, key, "The mailbox limit was handed off to an Exchange administrator and is not in place yet".to_string()),
        }
    }
    for limit in &connection.sign_in_limits {
        let key = Some(limit.app_key.as_str());
        match graph
            .get(&format!(
                "servicePrincipals/{}?$select=id,appRoleAssignmentRequired",
                limit.service_principal_id
            ))
            .await
        {
            Ok(sp)
                if sp.get("appRoleAssignmentRequired").and_then(Value::as_bool) == Some(true) =>
            {
                f.add(
                    FindingKind::SignInLimitInPlace,
                    key,
                    "Only the chosen people may sign in".to_string(),
                );
            }
            Ok(_) => f.add(
                FindingKind::SignInLimitChanged,
                key,
                "The sign-in limit was switched off in the tenant: anyone may sign in".to_string(),
            ),
            Err(e) if e.class() == ErrorClass::NotFound => {}
            Err(e) => return Err(LifecycleError::graph("Reading the sign-in limit", e)),
        }
    }
    Ok(())
}

/// Runs the steps that bring the grants back to the recipe's (see `Lifecycle::fix_drift`).
#[allow(clippy::too_many_arguments)]
pub(super) async fn fix(
    graph: &GraphClient,
    endpoints: &Endpoints,
    session: &Session,
    connection: &Connection,
    recipe: &Recipe,
    vault: &std::sync::Arc<crate::vault::Vault>,
    remove_extra: bool,
    on_event: impl Fn(crate::apply::ApplyEvent) + Send + Sync + 'static,
    cancel: tokio_util::sync::CancellationToken,
) -> Result<(), LifecycleError> {
    // Apply keeps a secret that is on the app and in the keyring; it would replace any
    // other, behind the connection's back. So a missing secret is rotated first.
    for app in connection.apps.iter().filter(|a| a.secret.is_some()) {
        let held = match app.secret_ref(&connection.tenant_id) {
            Some(at) => {
                let vault = std::sync::Arc::clone(vault);
                super::rotate::blocking(move || vault.load_secret(&at))
                    .await?
                    .is_some()
            }
            None => false,
        };
        let creds = graph
            .get(&format!(
                "applications/{}?$select=id,passwordCredentials",
                app.object_id
            ))
            .await
            .map_err(|e| {
                LifecycleError::graph(format!("Reading the app \"{}\"", app.display_name), e)
            })?;
        let on_app = creds
            .get("passwordCredentials")
            .and_then(Value::as_array)
            .is_some_and(|c| {
                c.iter().any(|c| {
                    app.secret
                        .as_ref()
                        .is_some_and(|s| text(c, "keyId") == s.key_id)
                })
            });
        if !(held && on_app) {
            return Err(LifecycleError::SecretNotUsable {
                app: app.display_name.clone(),
            });
        }
    }
    let journal = journal_of(connection);
    let the_plan = plan_with(graph, endpoints, session, connection, recipe, &journal).await?;
    let ctx = crate::apply::ApplyContext {
        graph: graph.clone(),
        secrets: vault.store(),
        cancel,
    };
    crate::apply::apply(&the_plan, &std::sync::Mutex::new(journal), &ctx, on_event)
        .await
        .map_err(|e| {
            LifecycleError::graph(
                "Granting what is missing",
                crate::graph::GraphError::Decode(e.to_string()),
            )
        })?;
    if !remove_extra {
        return Ok(());
    }
    for app in &connection.apps {
        let (Some(spec), Some(sp)) = (
            recipe.apps.iter().find(|a| a.key == app.key),
            &app.service_principal_id,
        ) else {
            continue;
        };
        let limited = mailbox_limited(connection, &app.key);
        let wanted: Vec<String> = the_plan
            .app(&app.key)
            .map(|p| {
                p.app_roles
                    .iter()
                    .filter(|(n, _)| {
                        !limited.contains(&n)
                            && spec.application_permissions().any(|r| &r.name == n)
                    })
                    .map(|(_, id)| id.clone())
                    .collect()
            })
            .unwrap_or_default();
        let assignments = graph
            .get_all(&format!("servicePrincipals/{sp}/appRoleAssignments"))
            .await
            .map_err(|e| {
                LifecycleError::graph(
                    format!("Reading the permissions of \"{}\"", app.display_name),
                    e,
                )
            })?;
        for a in assignments.iter().filter(|a| {
            text(a, "resourceId") == the_plan.graph_service_principal_id
                && !wanted.contains(&text(a, "appRoleId"))
        }) {
            graph
                .delete(&format!(
                    "servicePrincipals/{sp}/appRoleAssignments/{}",
                    text(a, "id")
                ))
                .await
                .map_err(|e| {
                    LifecycleError::graph(
                        format!("Removing an extra permission of \"{}\"", app.display_name),
                        e,
                    )
                })?;
        }
    }
    Ok(())
}
