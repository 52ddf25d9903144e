//! Directory reads: `/me`, `/me/memberOf`, `/me/transitiveMemberOf[/microsoft.graph.directoryRole]`,
//! `/organization`, `/users`, `/groups`, `/groups/{id}/members`, and
//! `/policies/defaultAppManagementPolicy`.

use super::{Caller, Ctx, GResult, Reply};
use crate::data;
use crate::error::GraphError;
use crate::model::{Group, Tenant, User};
use crate::odata::{self, OData};
use crate::seed::det_uuid;
use axum::http::{Method, StatusCode};
use serde_json::{json, Value};

const USER_SCOPES: [&str; 6] = [
    "User.ReadBasic.All",
    "User.Read.All",
    "User.ReadWrite.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
    "Directory.AccessAsUser.All",
];
const USER_ROLES: [&str; 5] = [
    "User.ReadBasic.All",
    "User.Read.All",
    "User.ReadWrite.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
];
const GROUP_SCOPES: [&str; 6] = [
    "GroupMember.Read.All",
    "Group.Read.All",
    "Group.ReadWrite.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
    "Directory.AccessAsUser.All",
];
const ME_SCOPES: [&str; 7] = [
    "User.Read",
    "User.ReadWrite",
    "User.ReadBasic.All",
    "User.Read.All",
    "User.ReadWrite.All",
    "Directory.Read.All",
    "Directory.AccessAsUser.All",
];
const USER_FILTER: [&str; 12] = [
    "id",
    "userPrincipalName",
    "displayName",
    "mail",
    "givenName",
    "surname",
    "department",
    "jobTitle",
    "accountEnabled",
    "userType",
    "mailNickname",
    "officeLocation",
];
const USER_SEARCH: [&str; 6] = [
    "displayName",
    "mail",
    "userPrincipalName",
    "givenName",
    "surname",
    "mailNickname",
];
const GROUP_FILTER: [&str; 7] = [
    "id",
    "displayName",
    "mail",
    "mailEnabled",
    "securityEnabled",
    "groupTypes",
    "mailNickname",
];
const GROUP_SEARCH: [&str; 4] = ["displayName", "mail", "description", "mailNickname"];

pub fn dispatch(ctx: &Ctx, s: &[&str]) -> (String, GResult) {
    let get = ctx.method == Method::GET;
    match s {
        ["me"] if get => ("/me".into(), me(ctx)),
        ["me", rel] | ["me", rel, "microsoft.graph.directoryRole"]
            if get && (*rel == "memberOf" || *rel == "transitiveMemberOf") =>
        {
            let roles_only = s.len() == 3;
            (
                format!(
                    "/me/{rel}{}",
                    if roles_only {
                        "/microsoft.graph.directoryRole"
                    } else {
                        ""
                    }
                ),
                member_of(ctx, roles_only),
            )
        }
        ["organization"] if get => ("/organization".into(), organization(ctx)),
        ["users"] if get => ("/users".into(), list_users(ctx)),
        ["users", id] if get => ("/users/{id}".into(), get_user(ctx, id)),
        ["groups"] if get => ("/groups".into(), list_groups(ctx)),
        ["groups", id] if get => ("/groups/{id}".into(), get_group(ctx, id)),
        ["groups", id, "members"] if get => ("/groups/{id}/members".into(), group_members(ctx, id)),
        ["policies", "defaultAppManagementPolicy"] if get => {
            ("/policies/defaultAppManagementPolicy".into(), policy(ctx))
        }
        // Graph creates, changes and deletes users, groups and policies; the simulator only
        // reads them.
        [first, ..] if !get && s.len() <= 3 => (
            format!("/{first}"),
            Err(super::paths::not_implemented(&format!(
                "{} /{}",
                ctx.method,
                s.join("/")
            ))),
        ),
        [first, ..] => (
            format!("/{first}/..."),
            Err(GraphError::segment(s.last().copied().unwrap_or(first))),
        ),
        [] => ("/".into(), Err(GraphError::segment(""))),
    }
}

fn me_user(ctx: &Ctx) -> Result<String, GraphError> {
    match &ctx.caller {
        Caller::User { user_id, .. } => {
            ctx.require(&ME_SCOPES, &[])?;
            Ok(user_id.clone())
        }
        Caller::App { .. } => Err(GraphError::new(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            "/me request is only valid with delegated authentication flow.",
        )),
    }
}

fn me(ctx: &Ctx) -> GResult {
    let id = me_user(ctx)?;
    let od = ctx.odata()?;
    let t = ctx.state.tenant();
    let u = t.user(&id).ok_or_else(|| GraphError::not_found(&id))?;
    let mut v = od.project(u.to_graph_full(), "user")?;
    if od.select.is_none() {
        v = u.to_graph();
    }
    insert_context(
        &mut v,
        ctx.context(&format!("{}/$entity", od.context_suffix("users"))),
    );
    Ok(Reply::ok(v))
}

fn insert_context(v: &mut Value, c: String) {
    if let Some(o) = v.as_object_mut() {
        o.insert("@odata.context".into(), Value::String(c));
    }
}

/// A directoryRole object for a role template.
pub fn directory_role(template: &str) -> Value {
    json!({
        "@odata.type": "#microsoft.graph.directoryRole",
        "id": det_uuid(&format!("dirrole:{template}")),
        "deletedDateTime": null,
        "description": data::role_description(template),
        "displayName": data::role_name(template),
        "roleTemplateId": template,
    })
}

fn member_of(ctx: &Ctx, roles_only: bool) -> GResult {
    let id = me_user(ctx)?;
    let od = ctx.odata()?;
    let t = ctx.state.tenant();
    let u = t.user(&id).ok_or_else(|| GraphError::not_found(&id))?;
    let mut items: Vec<Value> = u.roles.iter().map(|r| directory_role(r)).collect();
    if !roles_only {
        for g in t.groups.iter().filter(|g| g.members.contains(&u.id)) {
            let mut v = g.to_graph();
            if let Some(o) = v.as_object_mut() {
                o.insert("@odata.type".into(), json!("#microsoft.graph.group"));
            }
            items.push(v);
        }
    }
    let set = if roles_only {
        "directoryRoles"
    } else {
        "directoryObjects"
    };
    ctx.page_reply(&od, items, &od.context_suffix(set), "directoryObject")
}

fn organization(ctx: &Ctx) -> GResult {
    ctx.require(
        &[
            "User.Read",
            "User.ReadBasic.All",
            "Organization.Read.All",
            "Directory.Read.All",
            "Directory.AccessAsUser.All",
        ],
        &[
            "Organization.Read.All",
            "Directory.Read.All",
            "Organization.ReadWrite.All",
        ],
    )?;
    let t = ctx.state.tenant();
    Ok(Reply::ok(json!({
        "@odata.context": ctx.context("organization"),
        "value": [{
            "id": t.id,
            "deletedDateTime": null,
            "displayName": t.display_name,
            "tenantType": "AAD",
            "countryLetterCode": "NL",
            "preferredLanguage": "en",
            "createdDateTime": "2024-01-15T08:01:44Z",
            "verifiedDomains": [{
                "capabilities": "Email, OfficeCommunicationsOnline",
                "isDefault": true,
                "isInitial": true,
                "name": t.domain,
                "type": "Managed"
            }]
        }]
    })))
}

/// Microsoft's advanced-query rules for directory objects: `$search` needs
/// `ConsistencyLevel: eventual` (400 without it); `$count=true` without it is silently ignored.
pub fn advanced_checks(ctx: &Ctx, od: &mut OData) -> Result<(), GraphError> {
    if od.search.is_some() && !ctx.eventual() {
        return Err(GraphError::unsupported_query(
            "Request with $search query parameter only works through MSGraph with a special request header: 'ConsistencyLevel: eventual'",
        ));
    }
    if !ctx.eventual() {
        od.count = false;
    }
    Ok(())
}

fn user_prop<'a>(u: &'a User, p: &str) -> Option<&'a str> {
    match p.to_ascii_lowercase().as_str() {
        "displayname" => Some(&u.display_name),
        "mail" => u.mail.as_deref(),
        "userprincipalname" => Some(&u.upn),
        "givenname" => Some(&u.given_name),
        "surname" => Some(&u.surname),
        "mailnickname" => u.upn.split('@').next(),
        _ => None,
    }
}

fn list_users(ctx: &Ctx) -> GResult {
    ctx.require(&USER_SCOPES, &USER_ROLES)?;
    let mut od = ctx.odata()?;
    advanced_checks(ctx, &mut od)?;
    let filter = od
        .filter
        .as_deref()
        .map(|f| odata::parse_filter(f, &USER_FILTER, "User"))
        .transpose()?;
    let search = od
        .search
        .as_deref()
        .map(|s| odata::parse_search(s, &USER_SEARCH))
        .transpose()?;
    let t = ctx.state.tenant();
    // Key lookups (`id eq` / `userPrincipalName eq`) use the index instead of a scan.
    let key_lookup = match (&filter, &search) {
        (
            Some(odata::Expr::Cmp {
                prop,
                ne: false,
                lit: odata::Lit::Str(v),
            }),
            None,
        ) if prop.eq_ignore_ascii_case("id") || prop.eq_ignore_ascii_case("userPrincipalName") => {
            Some(
                t.user_index
                    .get(&v.to_lowercase())
                    .or_else(|| t.user_index.get(v.as_str()))
                    .copied(),
            )
        }
        _ => None,
    };
    let idx: Option<Vec<usize>> = if let Some(hit) = key_lookup {
        Some(hit.into_iter().collect())
    } else if filter.is_some() || search.is_some() {
        Some(
            t.users
                .iter()
                .enumerate()
                .filter(|(_, u)| {
                    search
                        .as_ref()
                        .is_none_or(|s| s.matches(|p| user_prop(u, p)))
                })
                .filter(|(_, u)| {
                    filter
                        .as_ref()
                        .is_none_or(|f| odata::eval(f, &u.to_graph_full()))
                })
                .map(|(i, _)| i)
                .collect(),
        )
    } else {
        None
    };
    let total = idx.as_ref().map(Vec::len).unwrap_or(t.users.len());
    let full = od.select.is_some();
    let render = |u: &User| {
        if full {
            u.to_graph_full()
        } else {
            u.to_graph()
        }
    };
    if od.orderby.is_some() {
        let items: Vec<Value> = match &idx {
            Some(ix) => ix
                .iter()
                .filter_map(|i| t.users.get(*i))
                .map(render)
                .collect(),
            None => t.users.iter().map(render).collect(),
        };
        return ctx.page_reply(&od, items, &od.context_suffix("users"), "user");
    }
    let body = odata::page_with(
        &od,
        total,
        ctx.context(&od.context_suffix("users")),
        &ctx.url_base(),
        "user",
        100,
        |start, end| match &idx {
            Some(ix) => ix[start..end]
                .iter()
                .filter_map(|i| t.users.get(*i))
                .map(render)
                .collect(),
            None => t.users[start..end].iter().map(render).collect(),
        },
    )?;
    Ok(Reply::ok(body))
}

fn find_user<'a>(t: &'a Tenant, id: &str) -> Result<&'a User, GraphError> {
    t.user(id).ok_or_else(|| GraphError::not_found(id))
}

fn get_user(ctx: &Ctx, id: &str) -> GResult {
    let own = {
        let t = ctx.state.tenant();
        t.user(id)
            .map(|u| Some(u.id.as_str()) == ctx.caller.user_id())
            .unwrap_or(false)
    };
    if own {
        ctx.require(&ME_SCOPES, &[])?;
    } else {
        ctx.require(&USER_SCOPES, &USER_ROLES)?;
    }
    let od = ctx.odata()?;
    let t = ctx.state.tenant();
    let u = find_user(&t, id)?;
    let mut v = if od.select.is_some() {
        od.project(u.to_graph_full(), "user")?
    } else {
        u.to_graph()
    };
    insert_context(
        &mut v,
        ctx.context(&format!("{}/$entity", od.context_suffix("users"))),
    );
    Ok(Reply::ok(v))
}

fn group_prop<'a>(g: &'a Group, p: &str) -> Option<&'a str> {
    match p.to_ascii_lowercase().as_str() {
        "displayname" => Some(&g.display_name),
        "mail" => g.mail.as_deref(),
        "description" => g.description.as_deref(),
        "mailnickname" => g.mail.as_deref().and_then(|m| m.split('@').next()),
        _ => None,
    }
}

fn list_groups(ctx: &Ctx) -> GResult {
    ctx.require(&GROUP_SCOPES, &GROUP_SCOPES[..5])?;
    let mut od = ctx.odata()?;
    advanced_checks(ctx, &mut od)?;
    let filter = od
        .filter
        .as_deref()
        .map(|f| odata::parse_filter(f, &GROUP_FILTER, "Group"))
        .transpose()?;
    let search = od
        .search
        .as_deref()
        .map(|s| odata::parse_search(s, &GROUP_SEARCH))
        .transpose()?;
    let t = ctx.state.tenant();
    let items: Vec<Value> = t
        .groups
        .iter()
        .filter(|g| {
            search
                .as_ref()
                .is_none_or(|s| s.matches(|p| group_prop(g, p)))
        })
        .map(Group::to_graph)
        .filter(|v| filter.as_ref().is_none_or(|f| odata::eval(f, v)))
        .collect();
    ctx.page_reply(&od, items, &od.context_suffix("groups"), "group")
}

fn get_group(ctx: &Ctx, id: &str) -> GResult {
    ctx.require(&GROUP_SCOPES, &GROUP_SCOPES[..5])?;
    let od = ctx.odata()?;
    let t = ctx.state.tenant();
    let g = t.group(id).ok_or_else(|| GraphError::not_found(id))?;
    let mut v = od.project(g.to_graph(), "group")?;
    insert_context(
        &mut v,
        ctx.context(&format!("{}/$entity", od.context_suffix("groups"))),
    );
    Ok(Reply::ok(v))
}

fn group_members(ctx: &Ctx, id: &str) -> GResult {
    ctx.require(&GROUP_SCOPES, &GROUP_SCOPES[..5])?;
    let mut od = ctx.odata()?;
    advanced_checks(ctx, &mut od)?;
    if od.search.is_some() || od.filter.is_some() {
        return Err(super::paths::not_implemented(
            "$search and $filter on /groups/{id}/members",
        ));
    }
    let t = ctx.state.tenant();
    let g = t.group(id).ok_or_else(|| GraphError::not_found(id))?;
    let items: Vec<Value> = g
        .members
        .iter()
        .filter_map(|m| t.user(m))
        .map(|u| {
            let mut v = if od.select.is_some() {
                u.to_graph_full()
            } else {
                u.to_graph()
            };
            if let Some(o) = v.as_object_mut() {
                o.insert("@odata.type".into(), json!("#microsoft.graph.user"));
            }
            v
        })
        .collect();
    ctx.page_reply(&od, items, &od.context_suffix("directoryObjects"), "user")
}

/// The tenant app management policy as Graph returns it (reflects the secret and certificate
/// lifetime knobs: `passwordLifetime` and `asymmetricKeyLifetime` restrictions, as Microsoft's
/// passwordCredentialConfiguration / keyCredentialConfiguration resources name them).
pub fn policy_body(secret_max_days: Option<u32>, cert_max_days: Option<u32>) -> Value {
    let lifetime = |kind: &str, days: Option<u32>| -> Vec<Value> {
        days.map(|d| {
            json!({
                "restrictionType": kind,
                "state": "enabled",
                "maxLifetime": format!("P{d}D"),
                "restrictForAppsCreatedAfterDateTime": "2020-01-01T00:00:00Z"
            })
        })
        .into_iter()
        .collect()
    };
    json!({
        "id": "00000000-0000-0000-0000-000000000000",
        "displayName": "Default app management tenant policy",
        "description": "Default tenant policy that enforces app management restrictions on applications and service principals.",
        "isEnabled": secret_max_days.is_some() || cert_max_days.is_some(),
        "applicationRestrictions": {
            "passwordCredentials": lifetime("passwordLifetime", secret_max_days),
            "keyCredentials": lifetime("asymmetricKeyLifetime", cert_max_days),
        },
        "servicePrincipalRestrictions": {"passwordCredentials": [], "keyCredentials": []}
    })
}

fn policy(ctx: &Ctx) -> GResult {
    ctx.require(
        &[
            "Policy.Read.All",
            "Policy.ReadWrite.ApplicationConfiguration",
            "Policy.Read.ApplicationConfiguration",
        ],
        &[
            "Policy.Read.All",
            "Policy.ReadWrite.ApplicationConfiguration",
            "Policy.Read.ApplicationConfiguration",
        ],
    )?;
    let knobs = ctx.state.knobs();
    let mut v = policy_body(knobs.secret_max_lifetime_days, knobs.cert_max_lifetime_days);
    insert_context(
        &mut v,
        ctx.context("policies/defaultAppManagementPolicy/$entity"),
    );
    Ok(Reply::ok(v))
}
