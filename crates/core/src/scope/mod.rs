//! Limit a vendor's mailbox access to chosen users and groups, and prove it.
//!
//! An application permission such as `Mail.ReadWrite` reaches every mailbox in the
//! organisation. "Assignment required" on the enterprise app does not change that (api-notes
//! §6.4). What does is Exchange Online RBAC for Applications (api-notes §7): a management
//! scope (a recipient filter for the chosen people), the matching Exchange application roles
//! assigned to the app's service principal within that scope, and, because Exchange grants
//! are *additive*, the removal of the tenant-wide Entra grant for the same permissions.
//! Non-mailbox permissions (User.Read.All) stay Entra grants.
//!
//! The flow, after the engine has applied a recipe:
//! [`people::search_recipients`] (pick users/groups) → [`plan_scope`] (steps a person can
//! read, or a PowerShell hand-off for an Exchange Administrator) → [`apply_scope`]
//! (idempotent; returns a [`ScopeState`] to store on the connection, `Pending` with the time
//! applied) → [`verify::verify_scope`] with the app's own token (one in-scope mailbox
//! answers, one out-of-scope mailbox is refused; only then `Verified`, "limited to N
//! mailboxes"). [`change_recipients`] and [`remove_scope`] change or undo it later.
//! [`signin`] offers "only these users may sign in" for delegated apps, which is sign-in
//! limiting, not mailbox limiting.
//!
//! Exchange calls go through the Graph **beta** `roleManagement/exchange` route.

mod error;
pub mod handoff;
pub mod people;
pub mod roles;
pub mod signin;
pub mod verify;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

pub use error::ScopeError;
pub use handoff::ExchangeHandoff;
pub use people::{resolve, search_recipients, Recipient, RecipientKind};

use crate::apply::ApplyOutcome;
use crate::graph::{ErrorClass, Expect, GraphClient};
use crate::identity::Session;
use crate::plan::Plan;
use crate::recipe::Recipe;

const SCOPES: &str = "beta/roleManagement/exchange/customAppScopes";
const ASSIGNMENTS: &str = "beta/roleManagement/exchange/roleAssignments";
const DEFINITIONS: &str = "beta/roleManagement/exchange/roleDefinitions";

/// Who can do the Exchange part.
pub const EXCHANGE_WHO: &str = "an Exchange Administrator (or Global Administrator)";
/// Who can remove (or restore) a tenant-wide Microsoft Graph application permission.
pub const ENTRA_WHO: &str = "a Global Administrator or Privileged Role Administrator";

/// The people chosen for each app (by app key). Apps not listed are left unlimited.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScopeChoices {
    pub recipients: BTreeMap<String, Vec<Recipient>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ScopeStepKind {
    /// Create the management scope (the list of mailboxes).
    CreateScope { name: String, filter: String },
    /// Bring an existing scope's recipient filter up to date.
    UpdateScope { scope_id: String, filter: String },
    /// Assign one Exchange application role to the app, within the scope.
    AssignRole { permission: String, role: String },
    /// Remove the tenant-wide Entra grant of one permission.
    RemoveTenantWideGrant { permission: String },
}

/// One step, in words the admin reads before anything is written.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScopeStep {
    pub id: String,
    pub app: String,
    #[serde(flatten)]
    pub kind: ScopeStepKind,
    pub title: String,
    /// Already true in the tenant.
    pub done: bool,
    /// Why the signed-in account cannot run it (the hand-off covers it).
    pub blocked: Option<String>,
}

/// An Exchange role the app gets within the scope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoleAssignmentRef {
    /// The Graph permissions it stands in for.
    pub permissions: Vec<String>,
    /// "Application Mail.ReadWrite".
    pub role: String,
    pub role_definition_id: Option<String>,
    pub assignment_id: Option<String>,
}

/// A Graph application permission whose tenant-wide grant the limit removes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EntraGrant {
    pub permission: String,
    pub app_role_id: String,
    /// The app role assignment, while it still exists.
    pub assignment_id: Option<String>,
}

/// What limiting one app involves.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AppScopePlan {
    pub app_key: String,
    pub display_name: String,
    pub vendor: String,
    pub app_id: String,
    pub service_principal_id: String,
    pub graph_service_principal_id: String,
    /// The mailbox permissions being limited.
    pub permissions: Vec<String>,
    /// Permissions that stay tenant-wide Entra grants (User.Read.All…).
    pub kept_permissions: Vec<String>,
    pub recipients: Vec<Recipient>,
    pub scope_name: String,
    pub recipient_filter: String,
    pub existing_scope_id: Option<String>,
    pub roles: Vec<RoleAssignmentRef>,
    pub entra_grants: Vec<EntraGrant>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScopePlan {
    pub apps: Vec<AppScopePlan>,
    pub steps: Vec<ScopeStep>,
    /// For someone with the rights the signed-in account lacks.
    pub handoff: Option<ExchangeHandoff>,
    pub notes: Vec<String>,
}

impl ScopePlan {
    /// Steps that still need to run (not done, not blocked).
    pub fn pending(&self) -> impl Iterator<Item = &ScopeStep> {
        self.steps.iter().filter(|s| !s.done && s.blocked.is_none())
    }
}

/// Where the limit stands. Serialised onto the connection; holds no secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum ScopeStatus {
    /// Someone else has to run the hand-off; nothing is limited yet.
    HandedOff { prepared_at: DateTime<Utc> },
    /// Written; Microsoft takes 30 minutes to 2 hours to apply it. Verify again later.
    #[serde(rename_all = "camelCase")]
    Pending { applied_at: DateTime<Utc> },
    /// Proven with the app's own token.
    #[serde(rename_all = "camelCase")]
    Verified {
        applied_at: DateTime<Utc>,
        verified_at: DateTime<Utc>,
        /// Mailboxes in scope when verified.
        mailboxes: usize,
    },
    #[serde(rename_all = "camelCase")]
    Failed {
        applied_at: Option<DateTime<Utc>>,
        checked_at: DateTime<Utc>,
        reason: String,
    },
}

/// The limit on one app, as stored on the connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScopeState {
    pub app_key: String,
    pub app_id: String,
    pub service_principal_id: String,
    pub graph_service_principal_id: String,
    pub permissions: Vec<String>,
    pub recipients: Vec<Recipient>,
    pub scope_id: Option<String>,
    pub scope_name: String,
    pub recipient_filter: String,
    pub assignments: Vec<RoleAssignmentRef>,
    /// The tenant-wide grants the limit replaced (restored by [`remove_scope`] on request).
    pub replaced_entra_grants: Vec<EntraGrant>,
    pub status: ScopeStatus,
}

impl ScopeState {
    /// When the limit was last written.
    pub fn applied_at(&self) -> Option<DateTime<Utc>> {
        match &self.status {
            ScopeStatus::HandedOff { .. } => None,
            ScopeStatus::Pending { applied_at } | ScopeStatus::Verified { applied_at, .. } => {
                Some(*applied_at)
            }
            ScopeStatus::Failed { applied_at, .. } => *applied_at,
        }
    }

    /// One line for the connections list. Claims a limit only once it is verified.
    pub fn headline(&self) -> String {
        match &self.status {
            ScopeStatus::HandedOff { .. } => {
                "Not limited yet: waiting for the Exchange administrator's part".to_string()
            }
            ScopeStatus::Pending { applied_at } => format!(
                "Scope pending since {} UTC (Microsoft takes 30 minutes to 2 hours); not yet proven",
                applied_at.format("%Y-%m-%d %H:%M")
            ),
            ScopeStatus::Verified { mailboxes, .. } => format!(
                "Limited to {mailboxes} {}",
                if *mailboxes == 1 { "user" } else { "users" }
            ),
            ScopeStatus::Failed { reason, .. } => format!("Limit not working: {reason}"),
        }
    }
}

fn str_of(v: &Value, key: &str) -> String {
    v.get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

fn same_sp(principal: &str, sp_id: &str, app_id: &str) -> bool {
    let tail = principal.rsplit('/').next().unwrap_or(principal);
    tail.eq_ignore_ascii_case(sp_id) || tail.eq_ignore_ascii_case(app_id)
}

/// What Exchange already holds for one app.
struct Observed {
    scope: Option<(String, String)>,
    /// (role definition id, assignment id) for this app within the scope.
    assignments: Vec<(String, String)>,
    /// role name → id.
    definitions: BTreeMap<String, String>,
}

async fn observe_exchange(
    graph: &GraphClient,
    app_id: &str,
    sp_id: &str,
) -> Result<Observed, ScopeError> {
    let scope = graph
        .get_all(SCOPES)
        .await?
        .into_iter()
        .find(|s| {
            str_of(s, "displayName")
                .to_ascii_lowercase()
                .contains(&app_id.to_ascii_lowercase())
        })
        .map(|s| {
            let filter = s
                .pointer("/customAttributes/RecipientFilter")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            (str_of(&s, "id"), filter)
        });
    let assignments = match &scope {
        Some((scope_id, _)) => graph
            .get_all(ASSIGNMENTS)
            .await?
            .iter()
            .filter(|a| same_sp(&str_of(a, "principalId"), sp_id, app_id))
            .filter(|a| &str_of(a, "appScopeId") == scope_id)
            .map(|a| (str_of(a, "roleDefinitionId"), str_of(a, "id")))
            .collect(),
        None => Vec::new(),
    };
    let definitions = graph
        .get_all(DEFINITIONS)
        .await?
        .iter()
        .map(|d| (str_of(d, "displayName"), str_of(d, "id")))
        .collect();
    Ok(Observed {
        scope,
        assignments,
        definitions,
    })
}

/// The app's current tenant-wide grants of `wanted` (app role id → assignment id).
async fn entra_grants(
    graph: &GraphClient,
    sp_id: &str,
    graph_sp_id: &str,
) -> Result<Vec<(String, String)>, ScopeError> {
    Ok(graph
        .get_all(&format!("servicePrincipals/{sp_id}/appRoleAssignments"))
        .await?
        .iter()
        .filter(|a| str_of(a, "resourceId").eq_ignore_ascii_case(graph_sp_id))
        .map(|a| (str_of(a, "appRoleId").to_ascii_lowercase(), str_of(a, "id")))
        .collect())
}

/// Reads the tenant and lists the steps that limit each chosen app. Writes nothing.
///
/// When the signed-in account lacks the Exchange role, the Exchange steps are blocked and
/// the plan carries a hand-off with the exact PowerShell commands; the grant removal waits
/// for it (removing it first would cut the vendor off from every mailbox).
pub async fn plan_scope(
    graph: &GraphClient,
    session: &Session,
    recipe: &Recipe,
    plan: &Plan,
    outcome: &ApplyOutcome,
    choices: &ScopeChoices,
) -> Result<ScopePlan, ScopeError> {
    let can_exchange = session.capabilities.can_manage_exchange_scoping;
    let can_entra = session.capabilities.can_grant_application_permissions;
    let mut apps = Vec::new();
    let mut steps = Vec::new();
    let mut notes = Vec::new();
    for spec in &recipe.apps {
        let Some(limit) = &spec.limit_mailboxes else {
            continue;
        };
        let Some(recipients) = choices.recipients.get(&spec.key) else {
            if limit.required {
                notes.push(format!(
                    "{} asks for \"{}\" to be limited to chosen users: {}",
                    recipe.vendor, spec.display_name, limit.why
                ));
            }
            continue;
        };
        if recipients.is_empty() {
            return Err(ScopeError::NoRecipients {
                app: spec.display_name.clone(),
            });
        }
        let app = outcome
            .apps
            .iter()
            .find(|a| a.key == spec.key)
            .ok_or_else(|| ScopeError::UnknownApp {
                app: spec.key.clone(),
            })?;
        // One role may stand in for several permissions (Mail.ReadBasic and .All).
        let mut role_refs: Vec<RoleAssignmentRef> = Vec::new();
        for permission in &limit.permissions {
            let role = roles::exchange_role(permission).ok_or_else(|| ScopeError::NotScopable {
                permission: permission.clone(),
            })?;
            match role_refs.iter_mut().find(|r| r.role == role) {
                Some(r) => r.permissions.push(permission.clone()),
                None => role_refs.push(RoleAssignmentRef {
                    permissions: vec![permission.clone()],
                    role: role.to_string(),
                    role_definition_id: None,
                    assignment_id: None,
                }),
            }
        }
        let app_roles = plan
            .app(&spec.key)
            .map(|p| p.app_roles.clone())
            .unwrap_or_default();
        let present = entra_grants(
            graph,
            &app.service_principal_id,
            &plan.graph_service_principal_id,
        )
        .await?;
        let entra: Vec<EntraGrant> = limit
            .permissions
            .iter()
            .filter_map(|p| {
                let (_, role_id) = app_roles.iter().find(|(n, _)| n == p)?;
                Some(EntraGrant {
                    permission: p.clone(),
                    app_role_id: role_id.clone(),
                    assignment_id: present
                        .iter()
                        .find(|(r, _)| r.eq_ignore_ascii_case(role_id))
                        .map(|(_, a)| a.clone()),
                })
            })
            .collect();
        let kept: Vec<String> = spec
            .application_permissions()
            .map(|p| p.name.clone())
            .filter(|n| !limit.permissions.contains(n))
            .collect();
        let filter = roles::recipient_filter(recipients);
        let scope_name = roles::scope_name(&app.display_name, &app.app_id);

        let observed = if can_exchange {
            Some(observe_exchange(graph, &app.app_id, &app.service_principal_id).await?)
        } else {
            None
        };
        if let Some(o) = &observed {
            for r in &mut role_refs {
                let id =
                    o.definitions
                        .get(&r.role)
                        .cloned()
                        .ok_or_else(|| ScopeError::RoleMissing {
                            permission: r.permissions.join(", "),
                            role: r.role.clone(),
                        })?;
                r.assignment_id = o
                    .assignments
                    .iter()
                    .find(|(d, _)| d == &id)
                    .map(|(_, a)| a.clone());
                r.role_definition_id = Some(id);
            }
        }
        let existing_scope = observed.as_ref().and_then(|o| o.scope.clone());

        let key = &spec.key;
        let vendor = &recipe.vendor;
        let who = people_phrase(recipients);
        let exchange_blocked = (!can_exchange)
            .then(|| format!("Changing Exchange Online needs {EXCHANGE_WHO}; see the hand-off."));
        steps.push(ScopeStep {
            id: format!("{key}/scope"),
            app: key.clone(),
            kind: match &existing_scope {
                Some((id, _)) => ScopeStepKind::UpdateScope {
                    scope_id: id.clone(),
                    filter: filter.clone(),
                },
                None => ScopeStepKind::CreateScope {
                    name: scope_name.clone(),
                    filter: filter.clone(),
                },
            },
            title: format!("Make a list in Exchange of the mailboxes {vendor} may use: {who}"),
            done: existing_scope.as_ref().is_some_and(|(_, f)| f == &filter),
            blocked: exchange_blocked.clone(),
        });
        for r in &role_refs {
            steps.push(ScopeStep {
                id: format!("{key}/exchange-role/{}", r.role),
                app: key.clone(),
                kind: ScopeStepKind::AssignRole {
                    permission: r.permissions.join(", "),
                    role: r.role.clone(),
                },
                title: format!(
                    "Allow \"{}\" {} in those mailboxes only (Exchange role \"{}\")",
                    app.display_name,
                    doing(&r.permissions),
                    r.role
                ),
                done: r.assignment_id.is_some(),
                blocked: exchange_blocked.clone(),
            });
        }
        for g in &entra {
            steps.push(ScopeStep {
                id: format!("{key}/remove-grant/{}", g.permission),
                app: key.clone(),
                kind: ScopeStepKind::RemoveTenantWideGrant {
                    permission: g.permission.clone(),
                },
                title: format!(
                    "Take away \"{}\"'s organisation-wide {} permission, so the list above is what counts",
                    app.display_name, g.permission
                ),
                done: g.assignment_id.is_none(),
                blocked: if !can_exchange {
                    Some("Waits until the Exchange part is done; removing it first would cut the app off from every mailbox.".to_string())
                } else if !can_entra {
                    Some(format!("Removing a Microsoft Graph application permission needs {ENTRA_WHO}; see the hand-off."))
                } else {
                    None
                },
            });
        }
        if !kept.is_empty() {
            notes.push(format!(
                "\"{}\" keeps {} for the whole organisation: {} not about mailboxes, so Exchange cannot limit {}.",
                app.display_name,
                kept.join(", "),
                if kept.len() == 1 { "it is" } else { "they are" },
                if kept.len() == 1 { "it" } else { "them" },
            ));
        }
        apps.push(AppScopePlan {
            app_key: key.clone(),
            display_name: app.display_name.clone(),
            vendor: vendor.clone(),
            app_id: app.app_id.clone(),
            service_principal_id: app.service_principal_id.clone(),
            graph_service_principal_id: plan.graph_service_principal_id.clone(),
            permissions: limit.permissions.clone(),
            kept_permissions: kept,
            recipients: recipients.clone(),
            scope_name,
            recipient_filter: filter,
            existing_scope_id: existing_scope.map(|(id, _)| id),
            roles: role_refs,
            entra_grants: entra,
        });
    }
    let needs_entra_handoff = !can_entra
        && steps
            .iter()
            .any(|s| matches!(s.kind, ScopeStepKind::RemoveTenantWideGrant { .. }) && !s.done);
    let handoff = (!can_exchange || needs_entra_handoff)
        .then(|| handoff::build(&apps, session, !can_exchange, !can_entra))
        .filter(|_| !apps.is_empty());
    Ok(ScopePlan {
        apps,
        steps,
        handoff,
        notes,
    })
}

fn people_phrase(recipients: &[Recipient]) -> String {
    let names: Vec<String> = recipients
        .iter()
        .map(|r| match r.kind {
            RecipientKind::Group => format!("members of \"{}\"", r.display_name),
            RecipientKind::User => r.display_name.clone(),
        })
        .collect();
    names.join(", ")
}

fn doing(permissions: &[String]) -> String {
    let p = permissions.first().map(String::as_str).unwrap_or_default();
    let what = if p.starts_with("Mail.Send") {
        "to send e-mail"
    } else if p.starts_with("MailboxSettings") {
        "to read and change mailbox settings"
    } else if p.starts_with("Calendars.Read") && !p.contains("Write") {
        "to read calendars"
    } else if p.starts_with("Calendars") {
        "to read and change calendars"
    } else if p.starts_with("Contacts") {
        "to use contacts"
    } else if p.contains("Write") {
        "to read and change e-mail"
    } else {
        "to read e-mail"
    };
    what.to_string()
}

fn denied_as(e: crate::graph::GraphError, action: &str, who: &str) -> ScopeError {
    if e.class() == ErrorClass::Denied {
        ScopeError::NotAllowed {
            action: action.to_string(),
            who: who.to_string(),
        }
    } else {
        ScopeError::Graph(e)
    }
}

/// Runs the plan's steps for every app, reading before writing, so a re-run creates no
/// second scope or assignment. `previous` are the states stored from an earlier run: an app
/// where nothing changed keeps its status (and the time it was applied).
pub async fn apply_scope(
    graph: &GraphClient,
    plan: &ScopePlan,
    previous: &[ScopeState],
) -> Result<Vec<ScopeState>, ScopeError> {
    let now = Utc::now();
    let mut out = Vec::new();
    for app in &plan.apps {
        let blocked = |pred: fn(&ScopeStepKind) -> bool| {
            plan.steps
                .iter()
                .any(|s| s.app == app.app_key && pred(&s.kind) && s.blocked.is_some())
        };
        let exchange_blocked =
            blocked(|k| !matches!(k, ScopeStepKind::RemoveTenantWideGrant { .. }));
        let entra_blocked = blocked(|k| matches!(k, ScopeStepKind::RemoveTenantWideGrant { .. }));
        let prev = previous.iter().find(|p| p.app_key == app.app_key);
        let mut state = ScopeState {
            app_key: app.app_key.clone(),
            app_id: app.app_id.clone(),
            service_principal_id: app.service_principal_id.clone(),
            graph_service_principal_id: app.graph_service_principal_id.clone(),
            permissions: app.permissions.clone(),
            recipients: app.recipients.clone(),
            scope_id: app.existing_scope_id.clone(),
            scope_name: app.scope_name.clone(),
            recipient_filter: app.recipient_filter.clone(),
            assignments: app.roles.clone(),
            replaced_entra_grants: app
                .entra_grants
                .iter()
                .map(|g| EntraGrant {
                    assignment_id: None,
                    ..g.clone()
                })
                .collect(),
            status: ScopeStatus::HandedOff { prepared_at: now },
        };
        if exchange_blocked {
            if let Some(p) = prev {
                state.status = p.status.clone();
            }
            out.push(state);
            continue;
        }
        let mut wrote = false;
        // Read again: the plan may be stale, and a re-run must not duplicate anything.
        let observed = observe_exchange(graph, &app.app_id, &app.service_principal_id)
            .await
            .map_err(|e| match e {
                ScopeError::Graph(g) => denied_as(g, "read Exchange's scopes", EXCHANGE_WHO),
                other => other,
            })?;
        let scope_id = match &observed.scope {
            Some((id, filter)) if filter == &app.recipient_filter => id.clone(),
            Some((id, _)) => {
                graph
                    .patch(
                        &format!("{SCOPES}/{id}"),
                        &json!({"customAttributes": {"Exclusive": false, "RecipientFilter": app.recipient_filter}}),
                        Expect::Settled,
                    )
                    .await
                    .map_err(|e| denied_as(e, "change an Exchange scope", EXCHANGE_WHO))?;
                wrote = true;
                id.clone()
            }
            None => {
                let created = graph
                    .post(
                        SCOPES,
                        &json!({
                            "type": "RecipientScope",
                            "displayName": app.scope_name,
                            "customAttributes": {"Exclusive": false, "RecipientFilter": app.recipient_filter},
                        }),
                        Expect::Settled,
                    )
                    .await
                    .map_err(|e| denied_as(e, "create an Exchange scope", EXCHANGE_WHO))?
                    .unwrap_or_default();
                wrote = true;
                str_of(&created, "id")
            }
        };
        state.scope_id = Some(scope_id.clone());
        let existing: Vec<(String, String)> = if observed.scope.is_some() {
            observed.assignments.clone()
        } else {
            Vec::new()
        };
        for r in &mut state.assignments {
            let def = observed.definitions.get(&r.role).cloned().ok_or_else(|| {
                ScopeError::RoleMissing {
                    permission: r.permissions.join(", "),
                    role: r.role.clone(),
                }
            })?;
            r.role_definition_id = Some(def.clone());
            if let Some((_, id)) = existing.iter().find(|(d, _)| d == &def) {
                r.assignment_id = Some(id.clone());
                continue;
            }
            let created = graph
                .post(
                    ASSIGNMENTS,
                    &json!({
                        "principalId": format!("/ServicePrincipals/{}", app.service_principal_id),
                        "roleDefinitionId": def,
                        "appScopeId": scope_id,
                    }),
                    Expect::Replicating,
                )
                .await
                .map_err(|e| denied_as(e, "assign Exchange application roles", EXCHANGE_WHO))?
                .unwrap_or_default();
            r.assignment_id = Some(str_of(&created, "id"));
            wrote = true;
        }
        if !entra_blocked {
            let present = entra_grants(
                graph,
                &app.service_principal_id,
                &app.graph_service_principal_id,
            )
            .await?;
            for g in &app.entra_grants {
                for (_, assignment) in present
                    .iter()
                    .filter(|(r, _)| r.eq_ignore_ascii_case(&g.app_role_id))
                {
                    graph
                        .delete(&format!(
                            "servicePrincipals/{}/appRoleAssignedTo/{assignment}",
                            app.graph_service_principal_id
                        ))
                        .await
                        .map_err(|e| {
                            denied_as(
                                e,
                                "remove a Microsoft Graph application permission",
                                ENTRA_WHO,
                            )
                        })?;
                    wrote = true;
                }
            }
        }
        state.status = match prev {
            Some(p) if !wrote && !entra_blocked => p.status.clone(),
            _ if entra_blocked => ScopeStatus::HandedOff { prepared_at: now },
            _ => ScopeStatus::Pending { applied_at: now },
        };
        out.push(state);
    }
    Ok(out)
}

/// Changes who is in the list (adds or removes people or groups). The scope keeps its id
/// and assignments; the status goes back to pending until verified again.
pub async fn change_recipients(
    graph: &GraphClient,
    state: &ScopeState,
    recipients: &[Recipient],
) -> Result<ScopeState, ScopeError> {
    if recipients.is_empty() {
        return Err(ScopeError::NoRecipients {
            app: state.app_key.clone(),
        });
    }
    let scope_id = state.scope_id.clone().ok_or(ScopeError::NoScope)?;
    let filter = roles::recipient_filter(recipients);
    let mut next = state.clone();
    if filter != state.recipient_filter {
        graph
            .patch(
                &format!("{SCOPES}/{scope_id}"),
                &json!({"customAttributes": {"Exclusive": false, "RecipientFilter": filter}}),
                Expect::Settled,
            )
            .await
            .map_err(|e| denied_as(e, "change an Exchange scope", EXCHANGE_WHO))?;
        next.status = ScopeStatus::Pending {
            applied_at: Utc::now(),
        };
    }
    next.recipients = recipients.to_vec();
    next.recipient_filter = filter;
    Ok(next)
}

/// Removes the limit: the Exchange role assignments and the scope. With
/// `restore_entra_grants`, the tenant-wide grants the limit replaced come back first, so the
/// vendor is never left without access in between.
pub async fn remove_scope(
    graph: &GraphClient,
    state: &ScopeState,
    restore_entra_grants: bool,
) -> Result<(), ScopeError> {
    if restore_entra_grants {
        for g in &state.replaced_entra_grants {
            let body = json!({
                "principalId": state.service_principal_id,
                "resourceId": state.graph_service_principal_id,
                "appRoleId": g.app_role_id,
            });
            match graph
                .post(
                    &format!(
                        "servicePrincipals/{}/appRoleAssignedTo",
                        state.graph_service_principal_id
                    ),
                    &body,
                    Expect::Settled,
                )
                .await
            {
                Ok(_) => {}
                Err(e) if e.class() == ErrorClass::AlreadyExists => {}
                Err(e) => {
                    return Err(denied_as(
                        e,
                        "grant a Microsoft Graph application permission",
                        ENTRA_WHO,
                    ))
                }
            }
        }
    }
    let Some(scope_id) = &state.scope_id else {
        return Ok(());
    };
    let mut ids: Vec<String> = state
        .assignments
        .iter()
        .filter_map(|a| a.assignment_id.clone())
        .collect();
    // Also any assignment made on this scope outside AppGrant (the hand-off's PowerShell).
    for a in graph
        .get_all(ASSIGNMENTS)
        .await
        .map_err(|e| denied_as(e, "read Exchange's role assignments", EXCHANGE_WHO))?
    {
        if &str_of(&a, "appScopeId") == scope_id
            && same_sp(
                &str_of(&a, "principalId"),
                &state.service_principal_id,
                &state.app_id,
            )
        {
            let id = str_of(&a, "id");
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
    }
    for id in ids {
        graph
            .delete(&format!("{ASSIGNMENTS}/{id}"))
            .await
            .map_err(|e| denied_as(e, "remove Exchange role assignments", EXCHANGE_WHO))?;
    }
    graph
        .delete(&format!("{SCOPES}/{scope_id}"))
        .await
        .map_err(|e| denied_as(e, "remove an Exchange scope", EXCHANGE_WHO))?;
    Ok(())
}
