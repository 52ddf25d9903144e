//! Adopting an app someone made by hand: a saved connection tied to the existing app and
//! enterprise app (nothing is created), and the drift against the recipe as a reviewed plan
//! in the portal's order, fixed with the same engine as a first run.
//!
//! Entra never gives a secret's value back, so an adopted app's newest secret is recorded
//! as "not held by AppGrant"; rotating it (the lifecycle's rotation with overlap) gives
//! AppGrant a secret of its own and, once finished, removes the old one.

use chrono::Utc;
use serde::Serialize;
use serde_json::{json, Value};

use super::find::score;
use super::read::{CredentialKind, PermissionNames, TenantApp, APPS_QUERY};
use super::AdoptError;
use crate::cloud::Cloud;
use crate::graph::{odata_quote, Expect, GraphClient};
use crate::identity::Session;
use crate::lifecycle::{CheckReport, Lifecycle, SignedIn};
use crate::recipe::Recipe;
use crate::vault::{ConnectedApp, Connection, SecretMeta, Vault};

/// Directory roles that may change any app registration and its enterprise app.
pub const APP_MANAGER_ROLES: [&str; 3] = [
    "Global Administrator",
    "Application Administrator",
    "Cloud Application Administrator",
];

/// What to adopt.
#[derive(Debug, Clone)]
pub struct AdoptRequest {
    pub recipe: Recipe,
    /// The Application (client) IDs of the existing apps, one per recipe app.
    pub app_ids: Vec<String>,
    /// Adopting in the practice tenant.
    pub practice: bool,
    /// Where the tenant lives (None: the global cloud, or the practice tenant).
    pub cloud: Option<Cloud>,
}

/// Saves a connection for existing apps. Reads the apps and their enterprise apps; writes
/// nothing to the tenant. Fails with [`AdoptError::ReadOnly`] when the signed-in account
/// could not rotate or fix them anyway.
pub async fn adopt(
    graph: &GraphClient,
    session: &Session,
    vault: &Vault,
    request: &AdoptRequest,
) -> Result<Connection, AdoptError> {
    may_manage_apps(session)?;
    let recipe = &request.recipe;
    let mut apps: Vec<ConnectedApp> = Vec::new();
    for app_id in &request.app_ids {
        let app = read_app(graph, app_id).await?;
        let key = recipe
            .apps
            .iter()
            .filter(|spec| !apps.iter().any(|a| a.key == spec.key))
            .filter_map(|spec| score(&app, recipe, spec))
            .max_by(|a, b| a.0.total_cmp(&b.0))
            .map(|(_, m)| m.app_key)
            .ok_or_else(|| AdoptError::NoMatch {
                app: app.display_name.clone(),
                vendor: recipe.vendor.clone(),
            })?;
        let sp = graph
            .get_all(&format!(
                "servicePrincipals?$filter=appId eq {}&$select=id",
                odata_quote(app_id)
            ))
            .await
            .map_err(|e| AdoptError::graph("Reading the enterprise app", e))?;
        let sp_id = sp
            .first()
            .and_then(|v| v.get("id"))
            .and_then(Value::as_str)
            .ok_or_else(|| AdoptError::NoEnterpriseApp(app.display_name.clone()))?;
        apps.push(ConnectedApp {
            key,
            display_name: app.display_name.clone(),
            app_id: app.app_id.clone(),
            object_id: app.object_id.clone(),
            service_principal_id: Some(sp_id.to_string()),
            secret: newest_secret(&app),
            rotation: None,
            certificate: None,
        });
    }
    let mut connection = Connection {
        id: Connection::new_id(),
        recipe_id: recipe.id.clone(),
        vendor: recipe.vendor.clone(),
        tenant_id: session.tenant_id.clone(),
        tenant_domain: session.tenant_domain.clone(),
        practice: request.practice,
        cloud: request.cloud.clone(),
        apps,
        created_at: Utc::now(),
        ..Connection::default()
    };
    connection
        .extra
        .insert("adoptedAt".into(), json!(Utc::now().to_rfc3339()));
    vault.save(&connection)?;
    Ok(connection)
}

/// Adopting is only worth it when the account may change apps (to rotate and fix them).
fn may_manage_apps(session: &Session) -> Result<(), AdoptError> {
    if session
        .roles
        .iter()
        .any(|r| APP_MANAGER_ROLES.contains(&r.as_str()))
    {
        return Ok(());
    }
    Err(AdoptError::ReadOnly {
        who: session.user_principal_name.clone(),
        roles: if session.roles.is_empty() {
            "no admin role".into()
        } else {
            session.roles.join(", ")
        },
    })
}

async fn read_app(graph: &GraphClient, app_id: &str) -> Result<TenantApp, AdoptError> {
    let query = APPS_QUERY.replace(
        "&$top=999",
        &format!("&$filter=appId eq {}", odata_quote(app_id)),
    );
    let found = graph
        .get_all(&query)
        .await
        .map_err(|e| AdoptError::graph("Reading the app registration", e))?;
    let names = PermissionNames::bundled();
    found
        .first()
        .map(|v| TenantApp::from_graph(v, &names))
        .ok_or_else(|| AdoptError::AppNotFound(app_id.to_string()))
}

/// The secret that lives longest: the one a vendor most likely uses today. AppGrant does not
/// hold its value; rotating replaces it.
fn newest_secret(app: &TenantApp) -> Option<SecretMeta> {
    app.credentials
        .iter()
        .filter(|c| c.kind == CredentialKind::Secret)
        .filter_map(|c| c.expires_at.map(|e| (c, e)))
        .max_by_key(|(_, e)| *e)
        .map(|(c, expires_at)| SecretMeta {
            key_id: c.key_id.clone(),
            description: c.name.clone(),
            created_at: c.starts_at.unwrap_or(expires_at),
            expires_at,
        })
}

/// Where in the Entra admin center a drift step belongs, in the portal's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Area {
    /// App registrations › Authentication (audience, redirect URIs).
    Authentication,
    /// App registrations › API permissions (extra, missing, admin consent).
    ApiPermissions,
    /// Enterprise applications › Properties ("Assignment required?").
    EnterpriseAppProperties,
}

impl Area {
    pub fn label(self) -> &'static str {
        match self {
            Self::Authentication => "App registration › Authentication",
            Self::ApiPermissions => "App registration › API permissions",
            Self::EnterpriseAppProperties => "Enterprise application › Properties",
        }
    }
}

/// One change the fix would make.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DriftStep {
    pub area: Area,
    pub app_key: String,
    pub text: String,
    /// Why the recipe differs from what is in the tenant, when there is more to say.
    pub why: Option<String>,
}

/// The reviewed plan that brings a connection's apps back to the recipe.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DriftPlan {
    pub connection_id: String,
    /// In the portal's order; empty when nothing differs.
    pub steps: Vec<DriftStep>,
    /// The lifecycle check behind the permission steps (secrets, limits and all).
    pub check: CheckReport,
}

/// Reads the tenant and plans the fix: the lifecycle check's missing and extra grants, plus
/// the settings the check does not look at (audience, redirect URIs, "assignment required"
/// used as a mailbox limit). Writes nothing.
pub async fn drift_plan(
    life: &Lifecycle,
    graph: &GraphClient,
    signed_in: &SignedIn,
    connection_id: &str,
) -> Result<DriftPlan, AdoptError> {
    let check = life
        .check(
            signed_in,
            connection_id,
            tokio_util::sync::CancellationToken::new(),
        )
        .await?;
    let connection = life.vault().require(connection_id)?;
    let recipe = life
        .recipe_for(&connection)
        .ok_or_else(|| AdoptError::UnknownRecipe(connection.recipe_id.clone()))?;
    let mut steps = settings_drift(graph, &connection, &recipe).await?;
    for extra in &check.extra_grants {
        steps.push(DriftStep {
            area: Area::ApiPermissions,
            app_key: extra.app_key.clone(),
            text: format!(
                "Remove the {} permission {} and its admin consent",
                extra.kind, extra.permission
            ),
            why: correction(&recipe, &extra.permission),
        });
    }
    for step in &check.fix_steps {
        if matches!(step.kind, crate::plan::StepKind::RegisterApp) {
            continue; // shown as the settings above
        }
        steps.push(DriftStep {
            area: Area::ApiPermissions,
            app_key: step.app.clone(),
            text: step.title.clone(),
            why: None,
        });
    }
    steps.sort_by_key(|s| s.area);
    Ok(DriftPlan {
        connection_id: connection_id.to_string(),
        steps,
        check,
    })
}

/// The recipe's correction of a guide's mistake that mentions `permission`.
fn correction(recipe: &Recipe, permission: &str) -> Option<String> {
    recipe
        .corrections
        .iter()
        .find(|c| c.guide_says.contains(permission))
        .map(|c| c.why.clone())
}

/// Audience, redirect URIs and "assignment required", compared with the recipe.
async fn settings_drift(
    graph: &GraphClient,
    connection: &Connection,
    recipe: &Recipe,
) -> Result<Vec<DriftStep>, AdoptError> {
    let mut steps = Vec::new();
    for app in &connection.apps {
        let Some(spec) = recipe.apps.iter().find(|s| s.key == app.key) else {
            continue;
        };
        let body = graph
            .get(&format!(
                "applications/{}?$select=id,signInAudience,web,spa,publicClient",
                app.object_id
            ))
            .await
            .map_err(|e| AdoptError::graph(format!("Reading \"{}\"", app.display_name), e))?;
        let audience = body
            .get("signInAudience")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if audience != spec.audience.sign_in_audience() {
            steps.push(DriftStep {
                area: Area::Authentication,
                app_key: app.key.clone(),
                text: format!(
                    "Set who may sign in to \"{}\" back to {} (it is {audience})",
                    app.display_name,
                    match spec.audience {
                        crate::recipe::Audience::SingleTenant => "your organisation only",
                        crate::recipe::Audience::MultiTenant => "any organisation",
                    }
                ),
                why: None,
            });
        }
        let wanted: Option<Vec<String>> = spec
            .redirect_uris
            .web
            .iter()
            .chain(&spec.redirect_uris.spa)
            .chain(&spec.redirect_uris.public_client)
            .map(|t| (t.vars().next().is_none()).then(|| t.source().to_string()))
            .collect();
        let have = TenantApp::from_graph(&body, &PermissionNames(Default::default())).redirect_uris;
        if let Some(wanted) = wanted {
            let mut odd: Vec<&str> = have
                .iter()
                .filter(|u| !wanted.contains(u))
                .map(String::as_str)
                .collect();
            odd.extend(
                wanted
                    .iter()
                    .filter(|w| !have.contains(w))
                    .map(String::as_str),
            );
            if !odd.is_empty() {
                steps.push(DriftStep {
                    area: Area::Authentication,
                    app_key: app.key.clone(),
                    text: format!(
                        "Set the redirect URIs of \"{}\" to the recipe's ({})",
                        app.display_name,
                        if wanted.is_empty() {
                            "none".to_string()
                        } else {
                            wanted.join(", ")
                        }
                    ),
                    why: None,
                });
            }
        }
        if assignment_required_wrongly(graph, connection, app).await? {
            steps.push(DriftStep {
                area: Area::EnterpriseAppProperties,
                app_key: app.key.clone(),
                text: format!(
                    "Switch off \"Assignment required\" on the enterprise app \"{}\"",
                    app.display_name
                ),
                why: Some("Assignment required only controls who may sign in; the app's own token can still reach every mailbox. Limit mailboxes with Exchange RBAC for Applications instead.".into()),
            });
        }
    }
    Ok(steps)
}

/// "Assignment required" switched on although the connection has no sign-in limit for the
/// app (a guide's way of "limiting" an app that never signs anyone in).
async fn assignment_required_wrongly(
    graph: &GraphClient,
    connection: &Connection,
    app: &ConnectedApp,
) -> Result<bool, AdoptError> {
    let Some(sp) = &app.service_principal_id else {
        return Ok(false);
    };
    if connection
        .sign_in_limits
        .iter()
        .any(|l| l.app_key == app.key)
    {
        return Ok(false);
    }
    let body = graph
        .get(&format!(
            "servicePrincipals/{sp}?$select=id,appRoleAssignmentRequired"
        ))
        .await
        .map_err(|e| {
            AdoptError::graph(
                format!("Reading the enterprise app of \"{}\"", app.display_name),
                e,
            )
        })?;
    Ok(body
        .get("appRoleAssignmentRequired")
        .and_then(Value::as_bool)
        == Some(true))
}

/// Switches "assignment required" off where [`drift_plan`] found it used as a mailbox limit.
pub async fn fix_settings(graph: &GraphClient, connection: &Connection) -> Result<(), AdoptError> {
    for app in &connection.apps {
        if !assignment_required_wrongly(graph, connection, app).await? {
            continue;
        }
        if let Some(sp) = &app.service_principal_id {
            graph
                .patch(
                    &format!("servicePrincipals/{sp}"),
                    &json!({"appRoleAssignmentRequired": false}),
                    Expect::Settled,
                )
                .await
                .map_err(|e| {
                    AdoptError::graph(
                        format!(
                            "Switching off \"Assignment required\" on \"{}\"",
                            app.display_name
                        ),
                        e,
                    )
                })?;
        }
    }
    Ok(())
}

/// Runs the reviewed plan: the settings, then the lifecycle's fix (the app registration
/// brought back to the recipe, missing grants added, extra ones removed), then plans again
/// so the caller sees what is left (nothing, when all went well).
pub async fn fix_drift(
    life: &Lifecycle,
    graph: &GraphClient,
    signed_in: &SignedIn,
    connection_id: &str,
    on_event: impl Fn(crate::apply::ApplyEvent) + Send + Sync + 'static,
) -> Result<DriftPlan, AdoptError> {
    let connection = life.vault().require(connection_id)?;
    fix_settings(graph, &connection).await?;
    life.fix_drift(
        signed_in,
        connection_id,
        true,
        on_event,
        tokio_util::sync::CancellationToken::new(),
    )
    .await?;
    drift_plan(life, graph, signed_in, connection_id).await
}
