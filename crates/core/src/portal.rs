//! Where AppGrant's work lives in the Microsoft Entra admin center, in the portal's own words,
//! and the "Show in the Entra admin center" links that open an existing object's blade.
//!
//! Two things live here, both plain data plus small functions:
//! - [`Place`]: a breadcrumb an admin can follow by hand, e.g. "Entra ID → App registrations →
//!   TonicDM Office 365 Token → API permissions → Grant admin consent for Contoso", for every
//!   plan step ([`step_place`]), every portal phase ([`phase_place`]) and every hand-off value
//!   ([`handoff_place`]), so people who later work in the portal recognise what AppGrant did.
//! - [`deep_link`]: the URL of one blade of an existing object, per Microsoft cloud. Custom
//!   endpoints (the practice tenant, a standalone simulator) have no portal: no link.
//!
//! SOURCES (checked 2026-12):
//! - Portal hosts. Global: the Microsoft Entra admin center, `https://entra.microsoft.com`
//!   (learn.microsoft.com/entra/fundamentals/entra-admin-center; every Entra how-to starts
//!   "Sign in to the Microsoft Entra admin center"). US Government (GCC High and DoD) and China
//!   (21Vianet): Microsoft Learn "National clouds", table "App registration endpoints"
//!   (learn.microsoft.com/entra/identity-platform/authentication-national-cloud): "Azure portal
//!   for US Government https://portal.azure.us", "Azure portal China operated by 21Vianet
//!   https://portal.azure.cn" (also `/work/shared/graph/api-notes.md` §1). The Azure portal
//!   serves the same Entra blades under the same `#view/...` fragments. (maester365/maester
//!   `powershell/public/core/Get-MtAdminPortalUrl.ps1` also names `entra.microsoft.us` /
//!   `entra.microsoft.cn`; Microsoft's own docs list only the Azure portal hosts, so we use
//!   those.)
//! - Blade fragments. App registrations: `#view/Microsoft_AAD_RegisteredApps/ApplicationMenuBlade/~/{Overview|CallAnAPI|Credentials}/appId/{appId}`
//!   (the portal's own URLs for an app's Overview, API permissions and Certificates & secrets
//!   pages, as the address bar shows them; AppGrant's consent hand-off has linked to
//!   `~/CallAnAPI` since the first release). Enterprise applications:
//!   `#view/Microsoft_AAD_IAM/ManagedAppMenuBlade/~/{Overview|Permissions|Users}/objectId/{servicePrincipalId}/appId/{appId}`
//!   (maester365/maester `powershell/internal/Get-MtLinkServicePrincipal.ps1`, blades
//!   `Overview` and `Permissions`; `Users` is the "Users and groups" page).
//! - Portal words. Microsoft Learn "Grant tenant-wide admin consent to an application"
//!   (learn.microsoft.com/entra/identity/enterprise-apps/grant-admin-consent): "App
//!   registrations → the app → API permissions → Grant admin consent for Contoso"; "Register an
//!   application" (learn.microsoft.com/entra/identity-platform/quickstart-register-app): "Entra
//!   ID > App registrations > New registration", "Certificates & secrets > Client secrets > New
//!   client secret", the Overview's "Application (client) ID" and "Directory (tenant) ID";
//!   "Assign enterprise application owners"
//!   (learn.microsoft.com/entra/identity/enterprise-apps/assign-app-owners): "Entra ID >
//!   Enterprise apps > All applications".
//!
//! The portal's URLs are not a documented API: if Microsoft moves a blade, the link opens the
//! portal's home page for that extension. The path strings are kept as data in [`BLADES`] so
//! one table changes when that happens.

use serde::Serialize;

use crate::cloud::Cloud;
use crate::plan::{Phase, StepKind};
use crate::recipe::Var;

/// The portal page that shows one object, in the order an admin would click to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Place {
    /// The breadcrumb, one entry per click: `["Entra ID", "App registrations", "TonicDM
    /// Office 365 Token", "API permissions"]`.
    pub path: Vec<String>,
    /// The breadcrumb joined with " → ", ready to show.
    pub text: String,
    /// The blade that shows it, when AppGrant can link to it once the object exists.
    pub blade: Option<Blade>,
}

impl Place {
    fn new(path: &[&str], blade: Option<Blade>) -> Self {
        let path: Vec<String> = path.iter().map(|p| (*p).to_string()).collect();
        Self {
            text: path.join(" → "),
            path,
            blade,
        }
    }
}

/// One page of an app registration or enterprise application that AppGrant can link to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Blade {
    /// App registrations → the app → Overview (client id, tenant id, object id).
    AppOverview,
    /// App registrations → the app → API permissions ("Grant admin consent" lives here).
    ApiPermissions,
    /// App registrations → the app → Certificates & secrets.
    CertificatesAndSecrets,
    /// Enterprise applications → the app → Overview (the service principal).
    EnterpriseApp,
    /// Enterprise applications → the app → Permissions (what was granted, admin consent).
    EnterpriseAppPermissions,
    /// Enterprise applications → the app → Users and groups (sign-in limits).
    EnterpriseAppUsers,
}

/// The ids a blade link needs. `service_principal_id` is only needed by enterprise-app blades.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ObjectIds<'a> {
    /// The Application (client) ID.
    pub app_id: &'a str,
    /// The enterprise application's (service principal's) object id.
    pub service_principal_id: Option<&'a str>,
}

/// The fragment of each blade; `{appId}` and `{objectId}` are filled in by [`deep_link`].
/// SOURCE: see the module documentation.
pub const BLADES: &[(Blade, &str)] = &[
    (
        Blade::AppOverview,
        "#view/Microsoft_AAD_RegisteredApps/ApplicationMenuBlade/~/Overview/appId/{appId}",
    ),
    (
        Blade::ApiPermissions,
        "#view/Microsoft_AAD_RegisteredApps/ApplicationMenuBlade/~/CallAnAPI/appId/{appId}",
    ),
    (
        Blade::CertificatesAndSecrets,
        "#view/Microsoft_AAD_RegisteredApps/ApplicationMenuBlade/~/Credentials/appId/{appId}",
    ),
    (
        Blade::EnterpriseApp,
        "#view/Microsoft_AAD_IAM/ManagedAppMenuBlade/~/Overview/objectId/{objectId}/appId/{appId}",
    ),
    (
        Blade::EnterpriseAppPermissions,
        "#view/Microsoft_AAD_IAM/ManagedAppMenuBlade/~/Permissions/objectId/{objectId}/appId/{appId}",
    ),
    (
        Blade::EnterpriseAppUsers,
        "#view/Microsoft_AAD_IAM/ManagedAppMenuBlade/~/Users/objectId/{objectId}/appId/{appId}",
    ),
];

/// The admin portal of each Microsoft cloud (custom endpoints have none). SOURCE: see the
/// module documentation.
pub const PORTAL_HOSTS: &[(&str, &str)] = &[
    ("global", "https://entra.microsoft.com/"),
    ("us_gov", "https://portal.azure.us/"),
    ("us_gov_dod", "https://portal.azure.us/"),
    ("china", "https://portal.azure.cn/"),
];

/// The portal's name in each cloud, for link labels ("Show in the Azure portal").
pub fn portal_name(cloud: &Cloud) -> Option<&'static str> {
    match cloud {
        Cloud::Global => Some("Microsoft Entra admin center"),
        Cloud::UsGov | Cloud::UsGovDod | Cloud::China => Some("Azure portal"),
        Cloud::Custom { .. } => None,
    }
}

/// The address of the portal for `cloud`, or `None` for custom endpoints (the practice
/// tenant has no portal).
pub fn portal_host(cloud: &Cloud) -> Option<&'static str> {
    PORTAL_HOSTS
        .iter()
        .find(|(id, _)| *id == cloud.id())
        .map(|(_, host)| *host)
}

/// The "Show in the Entra admin center" link for one blade of an existing object.
///
/// `None` when the cloud has no portal (custom endpoints, the practice tenant), when the blade
/// needs a service principal id that is not given, or when an id is not a GUID (ids come from
/// the tenant; anything else is not put into a URL).
pub fn deep_link(cloud: &Cloud, blade: Blade, ids: ObjectIds<'_>) -> Option<String> {
    let host = portal_host(cloud)?;
    let (_, fragment) = BLADES.iter().find(|(b, _)| *b == blade)?;
    if !is_guid(ids.app_id) {
        return None;
    }
    let mut fragment = fragment.replace("{appId}", ids.app_id);
    if fragment.contains("{objectId}") {
        let object_id = ids.service_principal_id.filter(|id| is_guid(id))?;
        fragment = fragment.replace("{objectId}", object_id);
    }
    Some(format!("{host}{fragment}"))
}

/// A Microsoft object id: 8-4-4-4-12 hexadecimal digits.
fn is_guid(text: &str) -> bool {
    let groups: Vec<&str> = text.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, len)| g.len() == len && g.chars().all(|c| c.is_ascii_hexdigit()))
}

const ENTRA: &str = "Entra ID";
const APP_REGISTRATIONS: &str = "App registrations";
const ENTERPRISE_APPS: &str = "Enterprise apps";
const API_PERMISSIONS: &str = "API permissions";
const CERTS_AND_SECRETS: &str = "Certificates & secrets";
const CLIENT_SECRETS: &str = "Client secrets";
const CERTIFICATES: &str = "Certificates";

/// "Grant admin consent for Contoso", with the organisation's name as the portal shows it.
fn grant_consent(tenant: &str) -> String {
    let tenant = tenant.trim();
    if tenant.is_empty() {
        "Grant admin consent for your organisation".to_string()
    } else {
        format!("Grant admin consent for {tenant}")
    }
}

/// Where one plan step's result lives in the portal. `app` is the app registration's display
/// name, `tenant` the organisation's name (or domain) as the consent button shows it.
pub fn step_place(kind: &StepKind, app: &str, tenant: &str) -> Place {
    match kind {
        StepKind::RegisterApp => Place::new(
            &[ENTRA, APP_REGISTRATIONS, app, "Overview"],
            Some(Blade::AppOverview),
        ),
        StepKind::CreateServicePrincipal => Place::new(
            &[ENTRA, ENTERPRISE_APPS, "All applications", app],
            Some(Blade::EnterpriseApp),
        ),
        StepKind::GrantApplicationPermission { name, .. } => Place::new(
            &[
                ENTRA,
                APP_REGISTRATIONS,
                app,
                API_PERMISSIONS,
                &format!("Microsoft Graph · {name} (Application)"),
                &grant_consent(tenant),
            ],
            Some(Blade::ApiPermissions),
        ),
        StepKind::GrantDelegatedPermissions { scopes } => Place::new(
            &[
                ENTRA,
                APP_REGISTRATIONS,
                app,
                API_PERMISSIONS,
                &format!("Microsoft Graph · {} (Delegated)", scopes.join(", ")),
                &grant_consent(tenant),
            ],
            Some(Blade::ApiPermissions),
        ),
        StepKind::CreateSecret { .. } => Place::new(
            &[
                ENTRA,
                APP_REGISTRATIONS,
                app,
                CERTS_AND_SECRETS,
                CLIENT_SECRETS,
            ],
            Some(Blade::CertificatesAndSecrets),
        ),
        StepKind::AddCertificate { .. } => Place::new(
            &[
                ENTRA,
                APP_REGISTRATIONS,
                app,
                CERTS_AND_SECRETS,
                CERTIFICATES,
            ],
            Some(Blade::CertificatesAndSecrets),
        ),
    }
}

/// Where a whole portal phase happens (the Review screen's group headings).
pub fn phase_place(phase: Phase, app: &str, tenant: &str) -> Place {
    match phase {
        Phase::Register => Place::new(
            &[ENTRA, APP_REGISTRATIONS, "New registration"],
            Some(Blade::AppOverview),
        ),
        Phase::Permissions => Place::new(
            &[
                ENTRA,
                APP_REGISTRATIONS,
                app,
                API_PERMISSIONS,
                "Add a permission",
            ],
            Some(Blade::ApiPermissions),
        ),
        Phase::Consent => Place::new(
            &[
                ENTRA,
                APP_REGISTRATIONS,
                app,
                API_PERMISSIONS,
                &grant_consent(tenant),
            ],
            Some(Blade::ApiPermissions),
        ),
        Phase::Secret => Place::new(
            &[
                ENTRA,
                APP_REGISTRATIONS,
                app,
                CERTS_AND_SECRETS,
                CLIENT_SECRETS,
                "New client secret",
            ],
            Some(Blade::CertificatesAndSecrets),
        ),
    }
}

/// Where a hand-off value can be read in the portal. `app` is the display name of the app the
/// value belongs to (ignored for tenant values). `None` for the recipe's own inputs, which the
/// admin typed and the portal does not hold as such.
pub fn handoff_place(var: &Var, app: &str) -> Option<Place> {
    let place = match var {
        Var::TenantId => Place::new(&[ENTRA, "Overview", "Tenant ID"], None),
        Var::TenantDomain => Place::new(&[ENTRA, "Overview", "Primary domain"], None),
        Var::ClientId(_) => Place::new(
            &[
                ENTRA,
                APP_REGISTRATIONS,
                app,
                "Overview",
                "Application (client) ID",
            ],
            Some(Blade::AppOverview),
        ),
        Var::Secret(_) => Place::new(
            &[
                ENTRA,
                APP_REGISTRATIONS,
                app,
                CERTS_AND_SECRETS,
                CLIENT_SECRETS,
                "Value (shown only once, when the secret is created)",
            ],
            Some(Blade::CertificatesAndSecrets),
        ),
        Var::SecretExpiry(_) => Place::new(
            &[
                ENTRA,
                APP_REGISTRATIONS,
                app,
                CERTS_AND_SECRETS,
                CLIENT_SECRETS,
                "Expires",
            ],
            Some(Blade::CertificatesAndSecrets),
        ),
        Var::SecretId(_) => Place::new(
            &[
                ENTRA,
                APP_REGISTRATIONS,
                app,
                CERTS_AND_SECRETS,
                CLIENT_SECRETS,
                "Secret ID",
            ],
            Some(Blade::CertificatesAndSecrets),
        ),
        Var::Input(_) => return None,
    };
    Some(place)
}

/// Where the ids the change record lists are shown: the app registration's object id, the
/// enterprise application's object id, the granted permissions and "only these people may
/// sign in".
pub fn object_place(object: PortalObject, app: &str) -> Place {
    match object {
        PortalObject::Application => Place::new(
            &[ENTRA, APP_REGISTRATIONS, app, "Overview", "Object ID"],
            Some(Blade::AppOverview),
        ),
        PortalObject::ServicePrincipal => Place::new(
            &[ENTRA, ENTERPRISE_APPS, app, "Overview", "Object ID"],
            Some(Blade::EnterpriseApp),
        ),
        PortalObject::PermissionGrants => Place::new(
            &[ENTRA, ENTERPRISE_APPS, app, "Permissions", "Admin consent"],
            Some(Blade::EnterpriseAppPermissions),
        ),
        PortalObject::SignInAssignments => Place::new(
            &[ENTRA, ENTERPRISE_APPS, app, "Users and groups"],
            Some(Blade::EnterpriseAppUsers),
        ),
        PortalObject::AssignmentRequired => Place::new(
            &[
                ENTRA,
                ENTERPRISE_APPS,
                app,
                "Properties",
                "Assignment required?",
            ],
            Some(Blade::EnterpriseApp),
        ),
    }
}

/// Objects AppGrant makes that are not a plan step of their own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PortalObject {
    Application,
    ServicePrincipal,
    PermissionGrants,
    SignInAssignments,
    AssignmentRequired,
}

/// Mailbox limits (Exchange RBAC for Applications) have no page in the Entra admin center or
/// the Exchange admin center: they are seen in Exchange Online PowerShell. SOURCE: Microsoft
/// Learn "Role Based Access Control for Applications in Exchange Online"
/// (learn.microsoft.com/exchange/permissions-exo/application-rbac).
pub const MAILBOX_LIMIT_PLACE: &str =
    "Exchange Online PowerShell → Get-ManagementScope, Get-ManagementRoleAssignment (not shown in the Entra admin center)";

#[cfg(test)]
mod tests {
    use super::*;

    const APP: &str = "6f4c3a2b-1d0e-4f9a-8b7c-5d6e7f8a9b0c";
    const SP: &str = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";

    fn ids() -> ObjectIds<'static> {
        ObjectIds {
            app_id: APP,
            service_principal_id: Some(SP),
        }
    }

    #[test]
    fn consent_step_reads_like_the_portal() {
        let kind = StepKind::GrantApplicationPermission {
            name: "Mail.ReadWrite".into(),
            app_role_id: "e2a3a72e-5f79-4c64-b1b1-878b674786c9".into(),
        };
        let place = step_place(&kind, "TonicDM Office 365 Token", "Contoso");
        assert_eq!(
            place.text,
            "Entra ID → App registrations → TonicDM Office 365 Token → API permissions → Microsoft Graph · Mail.ReadWrite (Application) → Grant admin consent for Contoso",
            "an admin follows these clicks in the portal"
        );
        assert_eq!(place.blade, Some(Blade::ApiPermissions));
        assert_eq!(place.path.len(), 6);
    }

    #[test]
    fn every_step_kind_and_phase_has_a_place_with_the_app_name() {
        let kinds = [
            StepKind::RegisterApp,
            StepKind::CreateServicePrincipal,
            StepKind::GrantApplicationPermission {
                name: "User.Read.All".into(),
                app_role_id: "x".into(),
            },
            StepKind::GrantDelegatedPermissions {
                scopes: vec!["Calendars.ReadWrite".into(), "offline_access".into()],
            },
            StepKind::CreateSecret { days: 730 },
        ];
        for kind in &kinds {
            let place = step_place(kind, "Totalview Calendar", "");
            assert!(
                place.path.iter().any(|p| p == "Totalview Calendar"),
                "{kind:?}: the admin finds the app by its name: {}",
                place.text
            );
            assert!(
                place.blade.is_some(),
                "{kind:?} can be linked once it exists"
            );
        }
        for phase in [
            Phase::Register,
            Phase::Permissions,
            Phase::Consent,
            Phase::Secret,
        ] {
            let place = phase_place(phase, "Totalview Calendar", "Contoso");
            assert_eq!(place.path[0], "Entra ID");
            assert_eq!(place.text, place.path.join(" → "));
        }
        assert!(phase_place(Phase::Consent, "A", "")
            .text
            .ends_with("Grant admin consent for your organisation"));
    }

    #[test]
    fn handoff_values_say_where_the_portal_shows_them() {
        let client = handoff_place(&Var::ClientId("main".into()), "DocBits").unwrap();
        assert_eq!(
            client.text,
            "Entra ID → App registrations → DocBits → Overview → Application (client) ID"
        );
        let tenant = handoff_place(&Var::TenantId, "ignored").unwrap();
        assert_eq!(tenant.text, "Entra ID → Overview → Tenant ID");
        assert!(!tenant.text.contains("ignored"));
        let expiry = handoff_place(&Var::SecretExpiry("main".into()), "DocBits").unwrap();
        assert!(expiry
            .text
            .ends_with("Certificates & secrets → Client secrets → Expires"));
        assert_eq!(expiry.blade, Some(Blade::CertificatesAndSecrets));
        assert!(handoff_place(&Var::Input("portal_url".into()), "x").is_none());
    }

    #[test]
    fn links_open_the_blade_in_each_clouds_portal() {
        assert_eq!(
            deep_link(&Cloud::Global, Blade::ApiPermissions, ids()).unwrap(),
            format!("https://entra.microsoft.com/#view/Microsoft_AAD_RegisteredApps/ApplicationMenuBlade/~/CallAnAPI/appId/{APP}")
        );
        assert_eq!(
            deep_link(&Cloud::UsGov, Blade::EnterpriseAppPermissions, ids()).unwrap(),
            format!("https://portal.azure.us/#view/Microsoft_AAD_IAM/ManagedAppMenuBlade/~/Permissions/objectId/{SP}/appId/{APP}")
        );
        assert!(deep_link(&Cloud::UsGovDod, Blade::AppOverview, ids())
            .unwrap()
            .starts_with("https://portal.azure.us/#view/"));
        assert!(deep_link(&Cloud::China, Blade::CertificatesAndSecrets, ids())
            .unwrap()
            .starts_with("https://portal.azure.cn/#view/Microsoft_AAD_RegisteredApps/ApplicationMenuBlade/~/Credentials/appId/"));
        for (blade, _) in BLADES {
            let link = deep_link(&Cloud::Global, *blade, ids()).unwrap();
            assert!(
                !link.contains('{'),
                "{blade:?}: every placeholder filled: {link}"
            );
        }
    }

    #[test]
    fn no_link_for_the_practice_tenant_missing_ids_or_odd_ids() {
        let practice = Cloud::custom("http://127.0.0.1:1234/", "http://127.0.0.1:1234/");
        assert_eq!(deep_link(&practice, Blade::AppOverview, ids()), None);
        assert_eq!(portal_name(&practice), None);
        let no_sp = ObjectIds {
            app_id: APP,
            service_principal_id: None,
        };
        assert_eq!(deep_link(&Cloud::Global, Blade::EnterpriseApp, no_sp), None);
        assert!(deep_link(&Cloud::Global, Blade::AppOverview, no_sp).is_some());
        let hostile = ObjectIds {
            app_id: "x/../../evil?",
            service_principal_id: Some(SP),
        };
        assert_eq!(deep_link(&Cloud::Global, Blade::AppOverview, hostile), None);
    }

    #[test]
    fn every_named_cloud_has_a_portal() {
        for cloud in Cloud::NAMED {
            assert!(portal_host(&cloud).is_some(), "{cloud:?}");
            assert!(portal_name(&cloud).is_some(), "{cloud:?}");
        }
    }
}
