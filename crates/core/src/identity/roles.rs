//! What the signed-in admin's directory roles allow, from the token's `wids` claim mapped
//! through the bundled role catalog (`data/directory-roles.json`).

use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

const ROLES_JSON: &str = include_str!("../../data/directory-roles.json");

/// A built-in Entra role that matters for registering apps and granting permissions.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct DirectoryRole {
    pub display_name: String,
    pub template_id: String,
    #[serde(default)]
    pub can_create_app_registrations: bool,
    #[serde(default)]
    pub can_grant_tenant_wide_consent_graph_application_permissions: bool,
    #[serde(default)]
    pub can_grant_tenant_wide_consent_delegated_permissions: bool,
    #[serde(default)]
    pub can_manage_exchange_rbac_for_applications: bool,
}

#[derive(Deserialize)]
struct RoleFile {
    roles: Vec<DirectoryRole>,
}

fn known_roles() -> &'static [DirectoryRole] {
    static ROLES: OnceLock<Vec<DirectoryRole>> = OnceLock::new();
    ROLES.get_or_init(|| {
        serde_json::from_str::<RoleFile>(ROLES_JSON)
            .map(|f| f.roles)
            .unwrap_or_default()
    })
}

/// What the admin can do in this flow, in the terms the wizard uses.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Capabilities {
    /// Register apps. Note: any member may also register apps while the tenant's "Users can
    /// register applications" setting is on (the default); this flag covers the roles only.
    pub can_create_apps: bool,
    /// Grant Microsoft Graph application permissions (Global Admin, Privileged Role Admin).
    pub can_grant_application_permissions: bool,
    /// Grant delegated permissions for everyone (Cloud Application Administrator or above).
    pub can_grant_delegated_permissions: bool,
    /// Limit mailbox access with Exchange Online RBAC for Applications.
    pub can_manage_exchange_scoping: bool,
}

/// The admin's known roles (unknown template ids are ignored) and what they add up to.
pub fn from_wids(wids: &[String]) -> (Vec<DirectoryRole>, Capabilities) {
    let roles: Vec<DirectoryRole> = known_roles()
        .iter()
        .filter(|r| wids.iter().any(|w| w.eq_ignore_ascii_case(&r.template_id)))
        .cloned()
        .collect();
    let caps = Capabilities {
        can_create_apps: roles.iter().any(|r| r.can_create_app_registrations),
        can_grant_application_permissions: roles
            .iter()
            .any(|r| r.can_grant_tenant_wide_consent_graph_application_permissions),
        can_grant_delegated_permissions: roles
            .iter()
            .any(|r| r.can_grant_tenant_wide_consent_delegated_permissions),
        can_manage_exchange_scoping: roles
            .iter()
            .any(|r| r.can_manage_exchange_rbac_for_applications),
    };
    (roles, caps)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GLOBAL_ADMIN: &str = "62e90394-69f5-4237-9190-012177145e10";
    const CLOUD_APP_ADMIN: &str = "158c047a-c907-4556-b7ef-446551a6b5f7";
    const EXCHANGE_ADMIN: &str = "29232cdf-9323-42fd-ade2-1d097af3e4de";

    #[test]
    fn global_admin_can_do_everything() {
        let (roles, caps) = from_wids(&[GLOBAL_ADMIN.to_string()]);
        assert_eq!(roles[0].display_name, "Global Administrator");
        assert!(caps.can_create_apps && caps.can_grant_application_permissions);
        assert!(caps.can_grant_delegated_permissions && caps.can_manage_exchange_scoping);
    }

    #[test]
    fn cloud_app_admin_cannot_grant_graph_application_permissions() {
        let (_, caps) = from_wids(&[CLOUD_APP_ADMIN.to_string()]);
        assert!(caps.can_create_apps);
        assert!(caps.can_grant_delegated_permissions);
        assert!(
            !caps.can_grant_application_permissions,
            "needs Global or Privileged Role Admin"
        );
    }

    #[test]
    fn exchange_admin_only_scopes_mailboxes() {
        let (_, caps) = from_wids(&[EXCHANGE_ADMIN.to_string()]);
        assert!(caps.can_manage_exchange_scoping);
        assert!(!caps.can_grant_application_permissions && !caps.can_create_apps);
    }

    #[test]
    fn no_roles_no_capabilities() {
        let (roles, caps) = from_wids(&["b79fbf4d-3ef9-4689-8143-76b194e85509".to_string()]);
        assert!(roles.is_empty());
        assert_eq!(caps, Capabilities::default());
    }
}
