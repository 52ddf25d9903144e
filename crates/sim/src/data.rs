//! Reference data embedded at compile time (the two large files deflated; copied from `shared/graph/`, see `data/SOURCE.md`):
//! the Microsoft Graph permission catalog, the Graph service principal body and the
//! directory role templates, plus well-known Microsoft constants.

use crate::data_file::inflate;
use serde::Deserialize;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::OnceLock;

/// appId of Microsoft Graph (same in every tenant).
pub const GRAPH_APP_ID: &str = "00000003-0000-0000-c000-000000000000";
/// Graph resource URI.
pub const GRAPH_RESOURCE: &str = "https://graph.microsoft.com";
/// Microsoft's own tenant (owner of first-party apps).
pub const MICROSOFT_TENANT_ID: &str = "f8cdef31-a31e-4b4a-93e4-5f571e91255a";
/// "Microsoft Graph Command Line Tools": a first-party public client that accepts
/// `http://localhost:{any port}` redirects and dynamic Graph scopes. The simulator's
/// recommended admin sign-in client.
pub const PUBLIC_CLIENT_ID: &str = "14d82eec-204b-4c2f-b7e8-296a70dab67e";
/// Other first-party public clients the simulator also accepts without registration:
/// Azure CLI and Azure PowerShell.
pub const OTHER_PUBLIC_CLIENTS: [(&str, &str); 2] = [
    (
        "04b07795-8ddb-461a-bbee-02f9e1bf7b46",
        "Microsoft Azure CLI",
    ),
    (
        "1950a258-227b-4e31-a9cf-717495945fc2",
        "Microsoft Azure PowerShell",
    ),
];
/// Template id of the default "User" role present in member users' `wids` claim.
pub const DEFAULT_USER_ROLE_TEMPLATE: &str = "b79fbf4d-3ef9-4689-8143-76b194e85509";

const PERMISSIONS_DEFLATED: &[u8] = crate::data_file::deflated!("permissions.json");
const SERVICE_PRINCIPAL_DEFLATED: &[u8] = crate::data_file::deflated!("service-principal.json");
const DIRECTORY_ROLES_JSON: &str = include_str!("../data/directory-roles.json");

/// One Graph permission from the catalog.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Permission {
    pub value: String,
    pub kind: String,
    pub id: String,
    pub admin_consent_required: bool,
}

/// One directory role template.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoleTemplate {
    pub display_name: String,
    pub template_id: String,
    pub summary: String,
}

#[derive(Deserialize)]
struct RolesFile {
    roles: Vec<RoleTemplate>,
}

/// The parsed catalog, built once per process.
pub struct Catalog {
    pub app_roles_by_id: HashMap<String, Permission>,
    pub app_roles_by_value: HashMap<String, Permission>,
    pub scopes_by_value: HashMap<String, Permission>,
    pub graph_sp: Value,
    pub roles: Vec<RoleTemplate>,
}

static CATALOG: OnceLock<Catalog> = OnceLock::new();

/// Returns the embedded catalog. The embedded files are checked by the tests; if one ever
/// failed to parse, the catalog would be empty rather than panicking.
pub fn catalog() -> &'static Catalog {
    CATALOG.get_or_init(|| {
        let perms: Vec<Permission> =
            serde_json::from_str(&inflate(PERMISSIONS_DEFLATED)).unwrap_or_default();
        let mut app_roles_by_id = HashMap::new();
        let mut app_roles_by_value = HashMap::new();
        let mut scopes_by_value = HashMap::new();
        for p in perms {
            if p.kind == "application" {
                app_roles_by_id.insert(p.id.clone(), p.clone());
                app_roles_by_value.insert(p.value.clone(), p);
            } else {
                scopes_by_value.insert(p.value.clone(), p);
            }
        }
        let graph_sp =
            serde_json::from_str(&inflate(SERVICE_PRINCIPAL_DEFLATED)).unwrap_or(Value::Null);
        let roles = serde_json::from_str::<RolesFile>(DIRECTORY_ROLES_JSON)
            .map(|r| r.roles)
            .unwrap_or_default();
        Catalog {
            app_roles_by_id,
            app_roles_by_value,
            scopes_by_value,
            graph_sp,
            roles,
        }
    })
}

/// Directory role template ids used by the authorization rules.
pub mod roles {
    pub const GLOBAL_ADMIN: &str = "62e90394-69f5-4237-9190-012177145e10";
    pub const PRIVILEGED_ROLE_ADMIN: &str = "e8611ab8-c189-46e8-94e1-60213ab1f814";
    pub const APPLICATION_ADMIN: &str = "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3";
    pub const CLOUD_APPLICATION_ADMIN: &str = "158c047a-c907-4556-b7ef-446551a6b5f7";
    pub const APPLICATION_DEVELOPER: &str = "cf1c38e5-3621-4004-a7cb-879624dced7c";
    pub const GLOBAL_READER: &str = "f2ef992c-3afb-46b9-b7cf-a126ee74c451";
    pub const EXCHANGE_ADMIN: &str = "29232cdf-9323-42fd-ade2-1d097af3e4de";
}

/// Display name of a role template, from the embedded directory-roles.json.
pub fn role_name(template_id: &str) -> String {
    catalog()
        .roles
        .iter()
        .find(|r| r.template_id == template_id)
        .map(|r| r.display_name.clone())
        .unwrap_or_else(|| template_id.to_string())
}

/// Description shown on directoryRole objects (Microsoft's short descriptions).
pub fn role_description(template_id: &str) -> String {
    match template_id {
        roles::GLOBAL_ADMIN => "Can manage all aspects of Microsoft Entra ID and Microsoft services that use Microsoft Entra identities.".into(),
        roles::PRIVILEGED_ROLE_ADMIN => "Can manage role assignments in Microsoft Entra ID, and all aspects of Privileged Identity Management.".into(),
        roles::APPLICATION_ADMIN => "Can create and manage all aspects of app registrations and enterprise apps.".into(),
        roles::CLOUD_APPLICATION_ADMIN => "Can create and manage all aspects of app registrations and enterprise apps except App Proxy.".into(),
        roles::APPLICATION_DEVELOPER => "Can create application registrations independent of the 'Users can register applications' setting.".into(),
        roles::GLOBAL_READER => "Can read everything that a Global Administrator can, but not update anything.".into(),
        roles::EXCHANGE_ADMIN => "Can manage all aspects of the Exchange product.".into(),
        other => catalog()
            .roles
            .iter()
            .find(|r| r.template_id == other)
            .map(|r| r.summary.clone())
            .unwrap_or_default(),
    }
}

/// Exchange "Application ..." management roles (RBAC for Applications) with the Graph
/// permissions each one grants. The ids are made up but fixed (per-tenant in reality).
pub const EXCHANGE_ROLES: [(&str, &str, &[&str]); 11] = [
    (
        "3f8e1a01-0001-4a00-9000-00000000e001",
        "Application Mail.Read",
        &["Mail.Read"],
    ),
    (
        "3f8e1a01-0001-4a00-9000-00000000e002",
        "Application Mail.ReadBasic",
        &["Mail.ReadBasic"],
    ),
    (
        "3f8e1a01-0001-4a00-9000-00000000e003",
        "Application Mail.ReadWrite",
        &["Mail.ReadWrite"],
    ),
    (
        "3f8e1a01-0001-4a00-9000-00000000e004",
        "Application Mail.Send",
        &["Mail.Send"],
    ),
    (
        "3f8e1a01-0001-4a00-9000-00000000e005",
        "Application MailboxSettings.Read",
        &["MailboxSettings.Read"],
    ),
    (
        "3f8e1a01-0001-4a00-9000-00000000e006",
        "Application MailboxSettings.ReadWrite",
        &["MailboxSettings.ReadWrite"],
    ),
    (
        "3f8e1a01-0001-4a00-9000-00000000e007",
        "Application Calendars.Read",
        &["Calendars.Read"],
    ),
    (
        "3f8e1a01-0001-4a00-9000-00000000e008",
        "Application Calendars.ReadWrite",
        &["Calendars.ReadWrite"],
    ),
    (
        "3f8e1a01-0001-4a00-9000-00000000e009",
        "Application Contacts.ReadWrite",
        &["Contacts.ReadWrite"],
    ),
    (
        "3f8e1a01-0001-4a00-9000-00000000e00a",
        "Application Mail Full Access",
        &["Mail.ReadWrite", "Mail.Send"],
    ),
    (
        "3f8e1a01-0001-4a00-9000-00000000e00b",
        "Application Exchange Full Access",
        &[
            "Mail.ReadWrite",
            "Mail.Send",
            "MailboxSettings.ReadWrite",
            "Calendars.ReadWrite",
            "Contacts.ReadWrite",
        ],
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_catalog_parses_with_real_ids() {
        let c = catalog();
        assert_eq!(c.app_roles_by_id.len(), 716);
        assert_eq!(
            c.app_roles_by_value["Mail.ReadWrite"].id,
            "e2a3a72e-5f79-4c64-b1b1-878b674786c9"
        );
        assert_eq!(
            c.scopes_by_value["User.Read"].id,
            "e1fe6dd8-ba31-4d61-89e7-88639da4683d"
        );
        assert_eq!(c.graph_sp["appId"], GRAPH_APP_ID);
        assert_eq!(c.roles.len(), 7);
        assert_eq!(role_name(roles::GLOBAL_ADMIN), "Global Administrator");
    }
}
