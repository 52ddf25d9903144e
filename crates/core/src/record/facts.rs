//! What a connection remembers for its change record, beyond the apps and secrets: who signed
//! in, the permission grants the tenant held (with their ids), the last verification, and the
//! mailbox limit's proof. Saved on the [`Connection`](crate::vault::Connection) (no secret in
//! any of it); [`read_grants`] reads the grants from the tenant when the connection is saved.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::catalog::{Catalog, PermissionKind};
use crate::graph::{GraphClient, GraphError};
use crate::scope::verify::{Probe, ScopeReport};
use crate::verify::Check;

/// The admin who signed in to make the connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SignedInAdmin {
    pub user_principal_name: String,
    #[serde(default)]
    pub display_name: Option<String>,
    /// The directory roles that mattered (Global Administrator, ...).
    #[serde(default)]
    pub roles: Vec<String>,
}

/// One permission grant the tenant holds for an app: an app role assignment (application
/// permission) or the tenant-wide delegated grant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GrantRecord {
    /// The recipe's key for the app.
    pub app_key: String,
    pub kind: PermissionKind,
    /// Permission names: one for an application permission, the scopes of a delegated grant.
    pub permissions: Vec<String>,
    /// The app role assignment's or the oauth2PermissionGrant's id.
    pub id: String,
}

/// The last verification, as the admin saw it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VerifyRecord {
    pub at: DateTime<Utc>,
    pub checks: Vec<Check>,
}

/// The probes that proved (or did not) a mailbox limit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LimitProof {
    pub app_key: String,
    pub checked_at: DateTime<Utc>,
    /// A mailbox inside the limit (should be allowed).
    pub inside: Option<Probe>,
    /// A mailbox outside the limit (should be refused).
    pub outside: Option<Probe>,
}

impl LimitProof {
    /// The proof in a limit report, as it stands now.
    pub fn from_report(report: &ScopeReport) -> Self {
        Self {
            app_key: report.state.app_key.clone(),
            checked_at: Utc::now(),
            inside: report.inside.clone(),
            outside: report.outside.clone(),
        }
    }
}

fn text(v: &Value, key: &str) -> String {
    v.get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

/// Reads the Microsoft Graph grants the tenant holds for one app's service principal: each
/// application permission (app role assignment, named from the bundled catalog) and the
/// tenant-wide delegated grant.
pub async fn read_grants(
    graph: &GraphClient,
    graph_sp_id: &str,
    app_key: &str,
    sp_id: &str,
) -> Result<Vec<GrantRecord>, GraphError> {
    let catalog = Catalog::bundled().ok();
    let name_of = |role_id: &str| {
        catalog
            .and_then(|c| {
                c.iter()
                    .find(|p| p.kind == PermissionKind::Application && p.id == role_id)
                    .map(|p| p.value.clone())
            })
            .unwrap_or_else(|| role_id.to_string())
    };
    let mut out: Vec<GrantRecord> = graph
        .get_all(&format!("servicePrincipals/{sp_id}/appRoleAssignments"))
        .await?
        .iter()
        .filter(|a| text(a, "resourceId") == graph_sp_id)
        .map(|a| GrantRecord {
            app_key: app_key.to_string(),
            kind: PermissionKind::Application,
            permissions: vec![name_of(&text(a, "appRoleId"))],
            id: text(a, "id"),
        })
        .collect();
    let delegated = graph
        .get_all(&format!(
            "oauth2PermissionGrants?$filter=clientId eq '{sp_id}' and consentType eq 'AllPrincipals'"
        ))
        .await?;
    out.extend(
        delegated
            .iter()
            .filter(|g| text(g, "resourceId") == graph_sp_id)
            .map(|g| GrantRecord {
                app_key: app_key.to_string(),
                kind: PermissionKind::Delegated,
                permissions: text(g, "scope")
                    .split_whitespace()
                    .map(str::to_string)
                    .collect(),
                id: text(g, "id"),
            }),
    );
    Ok(out)
}
