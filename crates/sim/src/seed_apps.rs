//! App registrations an admin made by hand before AppGrant, the way the vendors' guides make
//! them, mistakes included (SimConfig `hand_made_apps`), and N generated app registrations
//! with random credentials for scale (SimConfig `extra_apps`).
//!
//! Shapes follow Microsoft's documented application resource: `passwordCredentials`
//! (rendered from the app's secrets) and `keyCredentials` (`customKeyIdentifier`,
//! `displayName`, `endDateTime`, `key` (never returned), `keyId`, `startDateTime`, `type`,
//! `usage`), and the servicePrincipal's `appRoleAssignmentRequired`.

use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Value};
use std::time::Instant;

use crate::data::{self, GRAPH_APP_ID};
use crate::graph::apps::new_app_body;
use crate::model::*;
use crate::seed::{det_uuid, TENANT_DOMAIN, TENANT_NAME};

/// One hand-made app: its name, Graph permissions (application roles unless `Scope:`), which
/// of them an admin consented to, assignment required, and credentials (days from now).
struct HandMade {
    tag: &'static str,
    name: &'static str,
    listed: &'static [&'static str],
    consented: &'static [&'static str],
    assignment_required: bool,
    secrets: &'static [(&'static str, i64)],
    certificates: &'static [(&'static str, i64)],
    /// An application permission id Microsoft Graph does not publish (a typo in a script).
    unknown_role: bool,
}

/// A role id no catalog knows.
pub const UNKNOWN_ROLE_ID: &str = "0e0e0e0e-1111-4222-8333-444444444444";

const HAND_MADE: [HandMade; 6] = [
    // TonicDM's guide: "assignment required" as a mailbox limit; an extra Calendars.Read.
    HandMade {
        tag: "tonicdm",
        name: "TonicDM O365 Org Token",
        listed: &[
            "Mail.ReadWrite",
            "MailboxSettings.ReadWrite",
            "User.Read.All",
            "Calendars.Read",
            "Scope:User.Read",
        ],
        consented: &[
            "Mail.ReadWrite",
            "MailboxSettings.ReadWrite",
            "User.Read.All",
            "Calendars.Read",
        ],
        assignment_required: true,
        secrets: &[("TonicDM Office365 Secret", 7)],
        certificates: &[],
        unknown_role: false,
    },
    // Totalview's guide: Calendars.Read next to Calendars.ReadWrite, assignment required; the
    // secret already expired.
    HandMade {
        tag: "totalview-calendar",
        name: "Totalview Calendar Sync",
        listed: &[
            "Calendars.ReadWrite",
            "Calendars.Read",
            "User.Read.All",
            "Scope:User.Read",
        ],
        consented: &["Calendars.ReadWrite", "Calendars.Read", "User.Read.All"],
        assignment_required: true,
        secrets: &[("Totalview", -12)],
        certificates: &[],
        unknown_role: false,
    },
    // The e-mail app: Mail.Send listed but admin consent never granted.
    HandMade {
        tag: "totalview-mail",
        name: "Totalview Email",
        listed: &["Mail.Send"],
        consented: &[],
        assignment_required: false,
        secrets: &[("Totalview mail", 200)],
        certificates: &[],
        unknown_role: false,
    },
    HandMade {
        tag: "hr-sync",
        name: "Contoso HR Sync",
        listed: &["User.Read.All"],
        consented: &["User.Read.All"],
        assignment_required: false,
        secrets: &[],
        certificates: &[("CN=hr-sync.contoso.example", 300)],
        unknown_role: false,
    },
    HandMade {
        tag: "intranet",
        name: "Old Intranet",
        listed: &["Scope:User.Read"],
        consented: &[],
        assignment_required: false,
        secrets: &[],
        certificates: &[],
        unknown_role: false,
    },
    HandMade {
        tag: "archiver",
        name: "Legacy Mail Archiver",
        listed: &["Mail.Read"],
        consented: &["Mail.Read"],
        assignment_required: false,
        secrets: &[("archiver", 45)],
        certificates: &[],
        unknown_role: true,
    },
];

/// Adds the hand-made apps (with enterprise apps and grants) that `t` does not hold (by
/// their fixed appId), and returns the names of those added: the seed adds all of them, and
/// `POST /_sim/hand-made-apps` puts back the ones adopted away or deleted since.
pub fn add_hand_made(t: &mut Tenant) -> Vec<&'static str> {
    let owner = t
        .user(&format!("avery.admin@{TENANT_DOMAIN}"))
        .map(|u| u.id.clone());
    let mut added = Vec::new();
    for h in &HAND_MADE {
        let app_id = det_uuid(&format!("hand:{}:appId", h.tag));
        if t.apps
            .iter()
            .any(|a| a.app_id.eq_ignore_ascii_case(&app_id))
        {
            continue;
        }
        added.push(h.name);
        let mut access: Vec<Value> = h
            .listed
            .iter()
            .filter_map(|p| permission(p))
            .map(|(id, kind)| json!({"id": id, "type": kind}))
            .collect();
        if h.unknown_role {
            access.push(json!({"id": UNKNOWN_ROLE_ID, "type": "Role"}));
        }
        let now = Utc::now();
        let mut app = application(
            &format!("hand:{}", h.tag),
            h.name,
            access,
            now - Duration::days(400),
        );
        app.owners.extend(owner.clone());
        app.secrets = h
            .secrets
            .iter()
            .enumerate()
            .map(|(i, (name, days))| secret(&format!("hand:{}:{i}", h.tag), name, now, *days))
            .collect();
        set_certificates(&mut app, h.certificates, h.tag, now);
        let sp = service_principal(&app, h.assignment_required);
        for role in h.consented {
            if let Some((role_id, _)) = permission(role) {
                t.assignments
                    .push(assignment(&sp, &t.graph_sp_id, &role_id, h.tag));
            }
        }
        t.apps.push(app);
        t.sps.push(sp);
    }
    added
}

/// Adds `n` generated app registrations with 0–3 random secrets and sometimes a certificate,
/// expiring between 60 days ago and two years from now (no enterprise apps).
pub fn add_generated(t: &mut Tenant, n: usize) {
    let now = Utc::now();
    let user_read_all = permission("User.Read.All");
    t.apps.reserve(n);
    for i in 0..n {
        let mut rng = Lcg(i as u64 ^ 0x9e37_79b9_7f4a_7c15);
        let access: Vec<Value> = match (&user_read_all, rng.below(4)) {
            (Some((id, kind)), 0) => vec![json!({"id": id, "type": kind})],
            _ => vec![],
        };
        let created = now - Duration::days(rng.below(900) as i64);
        let mut app = application(
            &format!("gen-app:{i}"),
            &format!("Generated app {i:05}"),
            access,
            created,
        );
        app.secrets = (0..rng.below(4))
            .map(|s| {
                let days = rng.below(790) as i64 - 60;
                secret(
                    &format!("gen-app:{i}:{s}"),
                    &format!("secret {s}"),
                    now,
                    days,
                )
            })
            .collect();
        if rng.below(5) == 0 {
            let days = rng.below(790) as i64 - 60;
            set_certificates(
                &mut app,
                &[("CN=generated", days)],
                &format!("gen-{i}"),
                now,
            );
        }
        t.apps.push(app);
    }
}

/// A small deterministic generator (same apps in every run).
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n.max(1)
    }
}

/// `(id, "Role"|"Scope")` of a Graph permission (`Scope:` prefix for delegated).
fn permission(p: &str) -> Option<(String, &'static str)> {
    let c = data::catalog();
    match p.strip_prefix("Scope:") {
        Some(scope) => c
            .scopes_by_value
            .get(scope)
            .map(|s| (s.id.clone(), "Scope")),
        None => c.app_roles_by_value.get(p).map(|r| (r.id.clone(), "Role")),
    }
}

fn application(tag: &str, name: &str, access: Vec<Value>, created: DateTime<Utc>) -> Application {
    let id = det_uuid(&format!("{tag}:object"));
    let app_id = det_uuid(&format!("{tag}:appId"));
    let mut body = new_app_body(&id, &app_id, TENANT_DOMAIN);
    body["displayName"] = json!(name);
    body["signInAudience"] = json!("AzureADMyOrg");
    body["createdDateTime"] = json!(fmt_time(&created));
    if !access.is_empty() {
        body["requiredResourceAccess"] =
            json!([{"resourceAppId": GRAPH_APP_ID, "resourceAccess": access}]);
    }
    Application {
        id,
        app_id,
        body,
        created: Instant::now(),
        owners: vec![],
        secrets: vec![],
    }
}

fn secret(tag: &str, name: &str, now: DateTime<Utc>, days: i64) -> Secret {
    let end = now + Duration::days(days);
    Secret::from_text(
        det_uuid(&format!("{tag}:key")),
        &format!("hm{}", det_uuid(tag).replace('-', "")),
        Some(name.to_string()),
        end - Duration::days(365),
        end,
    )
}

fn set_certificates(app: &mut Application, certs: &[(&str, i64)], tag: &str, now: DateTime<Utc>) {
    let creds: Vec<Value> = certs
        .iter()
        .enumerate()
        .map(|(i, (subject, days))| {
            let end = now + Duration::days(*days);
            json!({
                "customKeyIdentifier": det_uuid(&format!("{tag}:thumb:{i}")).replace('-', "").to_uppercase(),
                "displayName": subject,
                "endDateTime": fmt_time(&end),
                "key": null,
                "keyId": det_uuid(&format!("{tag}:cert:{i}")),
                "startDateTime": fmt_time(&(end - Duration::days(730))),
                "type": "AsymmetricX509Cert",
                "usage": "Verify",
            })
        })
        .collect();
    app.body["keyCredentials"] = Value::Array(creds);
}

fn service_principal(app: &Application, assignment_required: bool) -> ServicePrincipal {
    let id = det_uuid(&format!("{}:sp", app.id));
    let body = json!({
        "id": id,
        "accountEnabled": true,
        "appDisplayName": app.display_name(),
        "appId": app.app_id,
        "appOwnerOrganizationId": crate::seed::TENANT_ID,
        "appRoleAssignmentRequired": assignment_required,
        "displayName": app.display_name(),
        "servicePrincipalNames": [app.app_id],
        "servicePrincipalType": "Application",
        "signInAudience": "AzureADMyOrg",
        "tags": ["WindowsAzureActiveDirectoryIntegratedApp"],
        "appRoles": [],
        "keyCredentials": [],
        "oauth2PermissionScopes": [],
        "passwordCredentials": [],
        "replyUrls": [],
    });
    ServicePrincipal {
        id,
        app_id: app.app_id.clone(),
        body: with_documented_sp_properties(body, TENANT_NAME),
        created: Instant::now(),
    }
}

fn assignment(
    sp: &ServicePrincipal,
    graph_sp: &str,
    role_id: &str,
    tag: &str,
) -> AppRoleAssignment {
    let id = det_uuid(&format!("hand:{tag}:assignment:{role_id}")).replace('-', "");
    let body = json!({
        "id": id,
        "deletedDateTime": null,
        "appRoleId": role_id,
        "createdDateTime": fmt_time(&(Utc::now() - Duration::days(400))),
        "principalDisplayName": sp.body["displayName"],
        "principalId": sp.id,
        "principalType": "ServicePrincipal",
        "resourceDisplayName": "Microsoft Graph",
        "resourceId": graph_sp,
    });
    AppRoleAssignment {
        id,
        principal_id: sp.id.clone(),
        resource_id: graph_sp.to_string(),
        app_role_id: role_id.to_string(),
        body,
        created: Instant::now(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_made_apps_carry_the_guides_mistakes_and_generated_apps_scale() {
        let mut t = crate::seed::build_tenant(0);
        add_hand_made(&mut t);
        add_generated(&mut t, 1000);
        let tonic = t
            .apps
            .iter()
            .find(|a| a.display_name() == "TonicDM O365 Org Token")
            .unwrap();
        let sp = t.sp_by_app_id(&tonic.app_id).unwrap();
        assert_eq!(sp.body["appRoleAssignmentRequired"], json!(true));
        assert_eq!(
            t.assignments
                .iter()
                .filter(|a| a.principal_id == sp.id)
                .count(),
            4
        );
        let hr = t
            .apps
            .iter()
            .find(|a| a.display_name() == "Contoso HR Sync")
            .unwrap();
        assert!(hr.secrets.is_empty());
        assert_eq!(
            hr.render()["keyCredentials"][0]["type"],
            json!("AsymmetricX509Cert")
        );
        assert_eq!(t.apps.len(), HAND_MADE.len() + 1000);
        let secrets: usize = t.apps.iter().map(|a| a.secrets.len()).sum();
        assert!(secrets > 1000, "{secrets}");
        assert!(t
            .apps
            .iter()
            .any(|a| a.secrets.iter().any(|s| s.end < Utc::now())));
    }
}
