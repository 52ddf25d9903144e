//! Reading every app registration of the tenant: pages of 999 with only the properties the
//! finder and the expiry report use, and a progress callback after each page (Microsoft sends
//! no total, so progress counts what has been read).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

use super::AdoptError;
use crate::catalog::{Catalog, PermissionKind};
use crate::graph::GraphClient;
use crate::plan::GRAPH_APP_ID;

/// The first page: only what the finder and the report need, as many as Microsoft allows.
pub const APPS_QUERY: &str = "applications?$select=id,appId,displayName,createdDateTime,signInAudience,requiredResourceAccess,web,spa,publicClient,passwordCredentials,keyCredentials&$top=999";

/// A client secret or a certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CredentialKind {
    Secret,
    Certificate,
}

impl CredentialKind {
    pub fn label(self) -> &'static str {
        match self {
            Self::Secret => "client secret",
            Self::Certificate => "certificate",
        }
    }
}

/// One of an app's credentials (never a value: Entra does not give those back).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Credential {
    pub kind: CredentialKind,
    pub key_id: String,
    pub name: String,
    pub starts_at: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
}

/// A Microsoft Graph permission listed on an app (its requiredResourceAccess).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Permission {
    /// `Mail.ReadWrite`; None when the bundled catalog does not know the id.
    pub name: Option<String>,
    pub id: String,
    pub kind: PermissionKind,
}

impl Permission {
    /// The name, or "an unknown permission (id …)".
    pub fn label(&self) -> String {
        match &self.name {
            Some(n) => n.clone(),
            None => format!("an unknown permission (id {})", self.id),
        }
    }
}

/// One app registration, as far as finding and reporting need it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TenantApp {
    pub object_id: String,
    pub app_id: String,
    pub display_name: String,
    pub created_at: Option<DateTime<Utc>>,
    pub sign_in_audience: String,
    /// Web, single-page and public-client redirect URIs together.
    pub redirect_uris: Vec<String>,
    /// Microsoft Graph permissions listed on the app.
    pub permissions: Vec<Permission>,
    /// How many other APIs (not Microsoft Graph) the app lists permissions for.
    pub other_apis: usize,
    pub credentials: Vec<Credential>,
}

impl TenantApp {
    /// Names of the Graph permissions of `kind` the catalog knows.
    pub fn names(&self, kind: PermissionKind) -> impl Iterator<Item = &str> {
        self.permissions
            .iter()
            .filter(move |p| p.kind == kind)
            .filter_map(|p| p.name.as_deref())
    }

    /// Reads one application object (as Graph returns it).
    pub fn from_graph(v: &Value, names: &PermissionNames) -> Self {
        let mut permissions = Vec::new();
        let mut other_apis = 0;
        for resource in array(v, "requiredResourceAccess") {
            if text(resource, "resourceAppId") != GRAPH_APP_ID {
                other_apis += 1;
                continue;
            }
            for access in array(resource, "resourceAccess") {
                let kind = match text(access, "type").as_str() {
                    "Role" => PermissionKind::Application,
                    _ => PermissionKind::Delegated,
                };
                let id = text(access, "id");
                let name = names.get(kind, &id);
                permissions.push(Permission { name, id, kind });
            }
        }
        let redirect_uris = ["web", "spa", "publicClient"]
            .iter()
            .flat_map(|k| array(v.get(*k).unwrap_or(&Value::Null), "redirectUris"))
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect();
        let credentials = array(v, "passwordCredentials")
            .iter()
            .map(|c| credential(c, CredentialKind::Secret))
            .chain(
                array(v, "keyCredentials")
                    .iter()
                    .map(|c| credential(c, CredentialKind::Certificate)),
            )
            .collect();
        Self {
            object_id: text(v, "id"),
            app_id: text(v, "appId"),
            display_name: text(v, "displayName"),
            created_at: time(v, "createdDateTime"),
            sign_in_audience: text(v, "signInAudience"),
            redirect_uris,
            permissions,
            other_apis,
            credentials,
        }
    }
}

/// Graph permission names by id, from the bundled catalog (looked up once per read).
pub struct PermissionNames(pub(crate) HashMap<(PermissionKind, String), String>);

impl PermissionNames {
    pub fn bundled() -> Self {
        Self(
            Catalog::bundled()
                .map(|c| {
                    c.iter()
                        .map(|p| ((p.kind, p.id.to_ascii_lowercase()), p.value.clone()))
                        .collect()
                })
                .unwrap_or_default(),
        )
    }

    fn get(&self, kind: PermissionKind, id: &str) -> Option<String> {
        self.0.get(&(kind, id.to_ascii_lowercase())).cloned()
    }
}

/// How far reading has come.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReadProgress {
    pub pages: usize,
    pub apps: usize,
}

/// Every app registration of the tenant, calling `on_progress` after each page.
pub async fn read_apps(
    graph: &GraphClient,
    on_progress: impl Fn(ReadProgress),
) -> Result<Vec<TenantApp>, AdoptError> {
    let names = PermissionNames::bundled();
    let mut apps = Vec::new();
    let mut next = Some(APPS_QUERY.to_string());
    let mut pages = 0;
    while let Some(link) = next {
        let page = graph
            .get(&link)
            .await
            .map_err(|e| AdoptError::graph("Reading the tenant's app registrations", e))?;
        apps.extend(
            array(&page, "value")
                .iter()
                .map(|v| TenantApp::from_graph(v, &names)),
        );
        pages += 1;
        on_progress(ReadProgress {
            pages,
            apps: apps.len(),
        });
        next = page
            .get("@odata.nextLink")
            .and_then(Value::as_str)
            .map(str::to_string);
    }
    Ok(apps)
}

fn credential(c: &Value, kind: CredentialKind) -> Credential {
    Credential {
        kind,
        key_id: text(c, "keyId"),
        name: text(c, "displayName"),
        starts_at: time(c, "startDateTime"),
        expires_at: time(c, "endDateTime"),
    }
}

fn array<'a>(v: &'a Value, key: &str) -> &'a [Value] {
    v.get(key)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
}

pub(crate) fn text(v: &Value, key: &str) -> String {
    v.get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

fn time(v: &Value, key: &str) -> Option<DateTime<Utc>> {
    v.get(key)
        .and_then(Value::as_str)
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|d| d.with_timezone(&Utc))
}
