//! Seed data for the "Contoso Practice" tenant: ~50 users (one of each relevant admin role,
//! a plain user, regular users with mailboxes), groups, mailbox content, the Microsoft Graph
//! service principal from the real catalog, the pre-consented first-party public client, and
//! optionally N generated users for scale tests.
//!
//! Ids of seeded objects are deterministic (derived from a name), so they are the same in
//! every run.

use crate::data::{self, roles, GRAPH_APP_ID, MICROSOFT_TENANT_ID, PUBLIC_CLIENT_ID};
use crate::model::*;
use chrono::{Duration, Utc};
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::time::Instant;

/// Fixed tenant id of the practice tenant.
pub const TENANT_ID: &str = "5f3c2b1a-7d6e-4f80-9a1b-2c3d4e5f6a7b";
/// Initial (and only) verified domain.
pub const TENANT_DOMAIN: &str = "contosopractice.onmicrosoft.com";
/// Organization display name.
pub const TENANT_NAME: &str = "Contoso Practice";
/// Object id of Microsoft Graph's service principal in this tenant.
pub const GRAPH_SP_ID: &str = "6b7e2a3c-9f1d-4e8a-b5c2-0d4f7a9e1c35";
/// Scopes pre-consented tenant-wide for the first-party public client.
pub const PRECONSENTED_SCOPES: &str = "User.Read User.ReadBasic.All Application.ReadWrite.All AppRoleAssignment.ReadWrite.All DelegatedPermissionGrant.ReadWrite.All Directory.Read.All Group.Read.All Policy.Read.All RoleManagement.ReadWrite.Exchange Mail.Read openid profile offline_access email";

/// A seeded user as the tests and the CLI banner see it.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SeededUser {
    pub id: String,
    pub user_principal_name: String,
    pub display_name: String,
    /// Role display names (e.g. "Global Administrator").
    pub roles: Vec<String>,
    pub role_template_ids: Vec<String>,
    pub has_mailbox: bool,
}

/// Deterministic GUID from a tag (FNV-1a, version-4 layout).
pub fn det_uuid(tag: &str) -> String {
    let mut h1: u64 = 0xcbf2_9ce4_8422_2325;
    let mut h2: u64 = 0x8422_2325_cbf2_9ce4;
    for b in tag.bytes() {
        h1 ^= u64::from(b);
        h1 = h1.wrapping_mul(0x0100_0000_01b3);
        h2 ^= u64::from(b).wrapping_add(0x5a);
        h2 = h2.wrapping_mul(0x0100_0000_01b3);
    }
    let v = (u128::from(h1) << 64) | u128::from(h2);
    uuid::Builder::from_random_bytes(v.to_be_bytes())
        .into_uuid()
        .to_string()
}

const FIRST: [&str; 24] = [
    "Adele", "Bianca", "Carlos", "Dana", "Elif", "Farah", "Gustav", "Hana", "Ivan", "Jonas",
    "Kemal", "Lena", "Mateo", "Nadia", "Oskar", "Priya", "Quinn", "Rosa", "Sami", "Tariq", "Uma",
    "Viktor", "Wen", "Yara",
];
const LAST: [&str; 20] = [
    "Vance",
    "Okafor",
    "Lindqvist",
    "Moreau",
    "Tanaka",
    "Bauer",
    "Costa",
    "Novak",
    "Haddad",
    "Jensen",
    "Kowalski",
    "Ortega",
    "Petrov",
    "Rossi",
    "Silva",
    "Dubois",
    "Fischer",
    "Ivanova",
    "Mendes",
    "Larsen",
];
const DEPARTMENTS: [&str; 5] = ["Sales", "Finance", "Support", "Engineering", "Marketing"];

fn user(prefix: &str, given: &str, surname: &str, display: &str, roles: &[&str]) -> User {
    let upn = format!("{prefix}@{TENANT_DOMAIN}");
    User {
        id: det_uuid(&format!("user:{prefix}")),
        mail: Some(upn.clone()),
        upn,
        display_name: display.to_string(),
        given_name: given.to_string(),
        surname: surname.to_string(),
        job_title: None,
        department: Some("IT".into()),
        office_location: Some("Amsterdam".into()),
        roles: roles.iter().map(|r| r.to_string()).collect(),
        has_mailbox: true,
        password: None,
    }
}

/// UPN prefix of each seeded role holder (for banners and docs).
pub const ADMIN_UPNS: [(&str, &str); 7] = [
    ("avery.admin", roles::GLOBAL_ADMIN),
    ("pat.privileged", roles::PRIVILEGED_ROLE_ADMIN),
    ("casey.cloudapps", roles::CLOUD_APPLICATION_ADMIN),
    ("alex.appadmin", roles::APPLICATION_ADMIN),
    ("emery.exchange", roles::EXCHANGE_ADMIN),
    ("devon.developer", roles::APPLICATION_DEVELOPER),
    ("gray.reader", roles::GLOBAL_READER),
];

fn seeded_users() -> Vec<User> {
    let mut users = vec![
        user(
            "avery.admin",
            "Avery",
            "Admin",
            "Avery Admin",
            &[roles::GLOBAL_ADMIN],
        ),
        user(
            "pat.privileged",
            "Pat",
            "Privileged",
            "Pat Privileged",
            &[roles::PRIVILEGED_ROLE_ADMIN],
        ),
        user(
            "casey.cloudapps",
            "Casey",
            "Cloudapps",
            "Casey Cloudapps",
            &[roles::CLOUD_APPLICATION_ADMIN],
        ),
        user(
            "alex.appadmin",
            "Alex",
            "Appadmin",
            "Alex Appadmin",
            &[roles::APPLICATION_ADMIN],
        ),
        user(
            "emery.exchange",
            "Emery",
            "Exchange",
            "Emery Exchange",
            &[roles::EXCHANGE_ADMIN],
        ),
        user(
            "devon.developer",
            "Devon",
            "Developer",
            "Devon Developer",
            &[roles::APPLICATION_DEVELOPER],
        ),
        user(
            "gray.reader",
            "Gray",
            "Reader",
            "Gray Reader",
            &[roles::GLOBAL_READER],
        ),
        user("robin.user", "Robin", "User", "Robin User", &[]),
        user(
            "robin.shared",
            "Robin",
            "Shared Mailbox",
            "Robin Shared Mailbox",
            &[],
        ),
    ];
    for u in users.iter_mut().skip(7) {
        u.department = Some("Sales".into());
    }
    // 41 regular staff; the last two are unlicensed (no mailbox).
    for i in 0..41usize {
        let given = FIRST[i % FIRST.len()];
        let surname = LAST[(i * 7 + 3) % LAST.len()];
        let prefix = format!("{}.{}", given.to_lowercase(), surname.to_lowercase());
        let mut u = user(&prefix, given, surname, &format!("{given} {surname}"), &[]);
        u.department = Some(DEPARTMENTS[i % DEPARTMENTS.len()].into());
        u.job_title = Some(format!("{} Specialist", DEPARTMENTS[i % DEPARTMENTS.len()]));
        if i >= 39 {
            u.has_mailbox = false;
            u.mail = None;
        }
        users.push(u);
    }
    users
}

fn seeded_groups(users: &[User]) -> Vec<Group> {
    let ids = |pred: &dyn Fn(&User) -> bool| -> Vec<String> {
        users
            .iter()
            .filter(|u| pred(u))
            .map(|u| u.id.clone())
            .collect()
    };
    let dept = |d: &'static str| move |u: &User| u.department.as_deref() == Some(d);
    vec![
        Group {
            id: det_uuid("group:mail-connector-users"),
            display_name: "Mail Connector Users".into(),
            description: Some("Mailboxes the mail connector may read".into()),
            mail: Some(format!("mailconnectorusers@{TENANT_DOMAIN}")),
            mail_enabled: true,
            security_enabled: true,
            group_types: vec![],
            members: ids(&|u| {
                u.upn.starts_with("robin.") || u.department.as_deref() == Some("Support")
            }),
        },
        Group {
            id: det_uuid("group:finance"),
            display_name: "Finance Team".into(),
            description: Some("Finance department".into()),
            mail: Some(format!("finance@{TENANT_DOMAIN}")),
            mail_enabled: true,
            security_enabled: false,
            group_types: vec!["Unified".into()],
            members: ids(&dept("Finance")),
        },
        Group {
            id: det_uuid("group:sales"),
            display_name: "Sales".into(),
            description: Some("Sales department".into()),
            mail: Some(format!("sales@{TENANT_DOMAIN}")),
            mail_enabled: true,
            security_enabled: true,
            group_types: vec![],
            members: ids(&dept("Sales")),
        },
        Group {
            id: det_uuid("group:it-admins"),
            display_name: "IT Admins".into(),
            description: Some("People holding admin roles".into()),
            mail: None,
            mail_enabled: false,
            security_enabled: true,
            group_types: vec![],
            members: ids(&|u| !u.roles.is_empty()),
        },
        Group {
            id: det_uuid("group:all-staff"),
            display_name: "All Staff".into(),
            description: Some("Everyone".into()),
            mail: Some(format!("allstaff@{TENANT_DOMAIN}")),
            mail_enabled: true,
            security_enabled: false,
            group_types: vec!["Unified".into()],
            members: ids(&|_| true),
        },
    ]
}

/// Default mailbox settings body.
pub fn default_mailbox_settings() -> Value {
    json!({
        "archiveFolder": "AAMkAGI2TG93AAA=",
        "timeZone": "W. Europe Standard Time",
        "automaticRepliesSetting": {
            "status": "disabled",
            "externalAudience": "all",
            "internalReplyMessage": "",
            "externalReplyMessage": ""
        },
        "language": {"locale": "en-US", "displayName": "English (United States)"},
        "workingHours": {
            "daysOfWeek": ["monday", "tuesday", "wednesday", "thursday", "friday"],
            "startTime": "08:00:00.0000000",
            "endTime": "17:00:00.0000000",
            "timeZone": {"name": "W. Europe Standard Time"}
        },
        "dateFormat": "dd/MM/yyyy",
        "timeFormat": "HH:mm",
        "delegateMeetingMessageDeliveryOptions": "sendToDelegateOnly",
        "userPurpose": "user"
    })
}

fn mailbox_for(u: &User, n: usize) -> Mailbox {
    let now = Utc::now();
    let addr = |name: &str, a: &str| json!({"emailAddress": {"name": name, "address": a}});
    let subjects = [
        "Quarterly figures",
        "Lunch on Friday?",
        "Your invoice INV-2093",
    ];
    let messages = subjects
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let t = now - Duration::hours((i as i64 + 1) * 5 + n as i64);
            json!({
                "@odata.etag": format!("W/\"CQAAABYAAAD{n}{i}\""),
                "id": format!("AAMkAG{}{}=", det_uuid(&format!("msg:{}:{i}", u.id)).replace('-', ""), i),
                "createdDateTime": fmt_time(&t),
                "lastModifiedDateTime": fmt_time(&t),
                "receivedDateTime": fmt_time(&t),
                "sentDateTime": fmt_time(&t),
                "hasAttachments": false,
                "internetMessageId": format!("<msg{n}{i}@{TENANT_DOMAIN}>"),
                "subject": s,
                "bodyPreview": format!("Hi {}, {}", u.given_name, s.to_lowercase()),
                "importance": "normal",
                "parentFolderId": "AQMkAGI2AAAIBDAAAA==",
                "conversationId": format!("AAQkAG{n}{i}="),
                "isRead": i > 0,
                "isDraft": false,
                "webLink": format!("https://outlook.office365.com/owa/?ItemID=sim{n}{i}"),
                "body": {"contentType": "text", "content": format!("Hi {},\n\n{}.\n", u.given_name, s)},
                "sender": addr("Contoso Practice Bot", &format!("bot@{TENANT_DOMAIN}")),
                "from": addr("Contoso Practice Bot", &format!("bot@{TENANT_DOMAIN}")),
                "toRecipients": [addr(&u.display_name, u.mail.as_deref().unwrap_or(&u.upn))],
                "ccRecipients": [],
                "bccRecipients": [],
                "replyTo": [],
                "flag": {"flagStatus": "notFlagged"}
            })
        })
        .collect();
    let events = ["Team stand-up", "Customer call"]
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let start = now + Duration::days(i as i64 + 1);
            let end = start + Duration::minutes(30);
            json!({
                "@odata.etag": format!("W/\"DwAAABYAAAD{n}{i}\""),
                "id": format!("AAMkAGEv{}{}=", det_uuid(&format!("evt:{}:{i}", u.id)).replace('-', ""), i),
                "subject": s,
                "bodyPreview": "",
                "isAllDay": false,
                "isCancelled": false,
                "showAs": "busy",
                "type": "singleInstance",
                "start": {"dateTime": start.format("%Y-%m-%dT%H:%M:%S.0000000").to_string(), "timeZone": "UTC"},
                "end": {"dateTime": end.format("%Y-%m-%dT%H:%M:%S.0000000").to_string(), "timeZone": "UTC"},
                "location": {"displayName": "Teams"},
                "organizer": addr(&u.display_name, u.mail.as_deref().unwrap_or(&u.upn)),
                "attendees": []
            })
        })
        .collect();
    Mailbox {
        messages,
        events,
        settings: default_mailbox_settings(),
        sent: vec![],
    }
}

fn public_client_sp() -> ServicePrincipal {
    let id = det_uuid("sp:public-client");
    ServicePrincipal {
        id: id.clone(),
        app_id: PUBLIC_CLIENT_ID.into(),
        body: with_documented_sp_properties(
            json!({
                "id": id,
                "deletedDateTime": null,
                "accountEnabled": true,
                "appDisplayName": "Microsoft Graph Command Line Tools",
                "appId": PUBLIC_CLIENT_ID,
                "appOwnerOrganizationId": MICROSOFT_TENANT_ID,
                "appRoleAssignmentRequired": false,
                "displayName": "Microsoft Graph Command Line Tools",
                "homepage": null, "loginUrl": null, "logoutUrl": null, "notes": null,
                "preferredSingleSignOnMode": null,
                "replyUrls": ["http://localhost", "https://login.microsoftonline.com/common/oauth2/nativeclient"],
                "servicePrincipalNames": [PUBLIC_CLIENT_ID],
                "servicePrincipalType": "Application",
                "signInAudience": "AzureADandPersonalMicrosoftAccount",
                "tags": ["WindowsAzureActiveDirectoryIntegratedApp"],
                "addIns": [], "appRoles": [], "keyCredentials": [], "oauth2PermissionScopes": [],
                "passwordCredentials": [],
                "info": {"logoUrl": null, "marketingUrl": null, "privacyStatementUrl": null, "supportUrl": null, "termsOfServiceUrl": null}
            }),
            TENANT_NAME,
        ),
        created: Instant::now(),
    }
}

fn graph_sp() -> ServicePrincipal {
    let mut body = data::catalog().graph_sp.clone();
    if let Some(o) = body.as_object_mut() {
        o.remove("@odata.context");
        o.insert("id".into(), json!(GRAPH_SP_ID));
    }
    ServicePrincipal {
        id: GRAPH_SP_ID.into(),
        app_id: GRAPH_APP_ID.into(),
        body: with_documented_sp_properties(body, TENANT_NAME),
        created: Instant::now(),
    }
}

/// Builds the seeded tenant with `extra_users` generated users.
pub fn build_tenant(extra_users: usize) -> Tenant {
    let mut users = seeded_users();
    let mut mailboxes = HashMap::new();
    for (n, u) in users.iter().enumerate() {
        if u.has_mailbox {
            mailboxes.insert(u.id.clone(), mailbox_for(u, n));
        }
    }
    let groups = seeded_groups(&users);
    users.reserve(extra_users);
    for n in 0..extra_users {
        let given = FIRST[n % FIRST.len()];
        let surname = LAST[(n / FIRST.len()) % LAST.len()];
        let prefix = format!("gen{n:06}");
        let upn = format!("{prefix}@{TENANT_DOMAIN}");
        users.push(User {
            id: det_uuid(&format!("user:{prefix}")),
            mail: Some(upn.clone()),
            upn,
            display_name: format!("{given} {surname} {n:06}"),
            given_name: given.to_string(),
            surname: surname.to_string(),
            job_title: None,
            department: Some(DEPARTMENTS[n % DEPARTMENTS.len()].into()),
            office_location: None,
            roles: vec![],
            has_mailbox: true,
            password: None,
        });
    }
    let pc = public_client_sp();
    let grant = Grant {
        id: "sim-preconsent-public-client-graph-allprincipals0".into(),
        client_id: pc.id.clone(),
        consent_type: "AllPrincipals".into(),
        principal_id: None,
        resource_id: GRAPH_SP_ID.into(),
        scope: PRECONSENTED_SCOPES.into(),
    };
    let mut t = Tenant {
        id: TENANT_ID.into(),
        domain: TENANT_DOMAIN.into(),
        display_name: TENANT_NAME.into(),
        users,
        user_index: HashMap::new(),
        groups,
        mailboxes,
        apps: vec![],
        sps: vec![graph_sp(), pc],
        assignments: vec![],
        grants: vec![grant],
        ex_scopes: vec![],
        ex_assignments: vec![],
        graph_sp_id: GRAPH_SP_ID.into(),
        auth: AuthState::default(),
    };
    t.index_users();
    t
}

/// The seeded tenant as `config` asks: generated users, hand-made and generated apps.
pub fn build_configured(config: &crate::SimConfig) -> Tenant {
    let mut t = build_tenant(config.extra_users);
    if config.hand_made_apps {
        let _ = crate::seed_apps::add_hand_made(&mut t);
    }
    crate::seed_apps::add_generated(&mut t, config.extra_apps);
    t
}

/// The seeded users (not the generated ones) with their roles.
pub fn seeded_user_list(t: &Tenant) -> Vec<SeededUser> {
    t.users
        .iter()
        .filter(|u| !u.upn.starts_with("gen"))
        .map(|u| SeededUser {
            id: u.id.clone(),
            user_principal_name: u.upn.clone(),
            display_name: u.display_name.clone(),
            roles: u.roles.iter().map(|r| data::role_name(r)).collect(),
            role_template_ids: u.roles.clone(),
            has_mailbox: u.has_mailbox,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_has_admins_plain_users_and_groups() {
        let t = build_tenant(10);
        let seeded = seeded_user_list(&t);
        assert!(seeded.len() >= 50, "{}", seeded.len());
        assert_eq!(t.users.len(), seeded.len() + 10);
        for (_, role) in ADMIN_UPNS {
            assert!(seeded
                .iter()
                .any(|u| u.role_template_ids.iter().any(|r| r == role)));
        }
        assert!(t
            .user("robin.user@contosopractice.onmicrosoft.com")
            .is_some());
        assert!(t.groups.iter().all(|g| !g.members.is_empty()));
        assert_eq!(det_uuid("x"), det_uuid("x"));
        assert!(uuid::Uuid::parse_str(&det_uuid("x")).is_ok());
    }
}
