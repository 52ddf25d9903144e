//! Mailbox calls (`/users/{id|upn}/messages`, `/mailFolders/inbox`, `/calendar/events`,
//! `/mailboxSettings`, `/sendMail`) with Entra permission checks and Exchange RBAC for
//! Applications scoping; and the Graph beta `/roleManagement/exchange/*` routes that manage
//! those scopes and assignments.

use super::{Caller, Ctx, GResult, Reply};
use crate::data::{roles, EXCHANGE_ROLES};
use crate::error::{parse_body, GraphError};
use crate::model::*;
use crate::odata;
use axum::http::{Method, StatusCode};
use serde::Deserialize;
use serde_json::{json, Map, Value};
use std::time::{Duration, Instant};

const MAIL_SEGS: [&str; 6] = [
    "messages",
    "mailFolders",
    "calendar",
    "events",
    "mailboxSettings",
    "sendMail",
];

/// Is this path a mailbox call?
pub fn is_mail_route(s: &[&str]) -> bool {
    match s {
        ["me", seg, ..] => MAIL_SEGS.contains(seg),
        ["users", _, seg, ..] => MAIL_SEGS.contains(seg),
        _ => false,
    }
}

/// The kind of mailbox operation (decides the permissions needed).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum MailOp {
    ReadMail,
    ReadCalendar,
    ReadSettings,
    WriteSettings,
    Send,
}

impl MailOp {
    fn app_perms(self) -> &'static [&'static str] {
        match self {
            MailOp::ReadMail => &[
                "Mail.ReadBasic.All",
                "Mail.ReadBasic",
                "Mail.Read",
                "Mail.ReadWrite",
            ],
            MailOp::ReadCalendar => &[
                "Calendars.ReadBasic.All",
                "Calendars.Read",
                "Calendars.ReadWrite",
            ],
            MailOp::ReadSettings => &["MailboxSettings.Read", "MailboxSettings.ReadWrite"],
            MailOp::WriteSettings => &["MailboxSettings.ReadWrite"],
            MailOp::Send => &["Mail.Send"],
        }
    }
    fn delegated_perms(self) -> &'static [&'static str] {
        match self {
            MailOp::ReadMail => &["Mail.ReadBasic", "Mail.Read", "Mail.ReadWrite"],
            MailOp::ReadCalendar => &[
                "Calendars.ReadBasic",
                "Calendars.Read",
                "Calendars.ReadWrite",
            ],
            MailOp::ReadSettings => &["MailboxSettings.Read", "MailboxSettings.ReadWrite"],
            MailOp::WriteSettings => &["MailboxSettings.ReadWrite"],
            MailOp::Send => &["Mail.Send"],
        }
    }
}

fn effective(a: &ExchangeAssignment, propagation: Duration) -> bool {
    a.created.elapsed() >= propagation && a.deleted.is_none_or(|d| d.elapsed() < propagation)
}

fn group_by_ref<'a>(t: &'a Tenant, r: &str) -> Option<&'a Group> {
    let name = r
        .strip_prefix("CN=")
        .or_else(|| r.strip_prefix("cn="))
        .map(|x| x.split(',').next().unwrap_or(x))
        .unwrap_or(r);
    t.groups.iter().find(|g| {
        g.id.eq_ignore_ascii_case(name)
            || g.display_name.eq_ignore_ascii_case(name)
            || g.mail
                .as_deref()
                .is_some_and(|m| m.eq_ignore_ascii_case(name))
    })
}

fn clause_matches(t: &Tenant, c: &RecipientClause, u: &User) -> bool {
    match c {
        RecipientClause::MemberOfGroup(r) => {
            group_by_ref(t, r).is_some_and(|g| g.members.contains(&u.id))
        }
        RecipientClause::Department(d) => u
            .department
            .as_deref()
            .is_some_and(|x| x.eq_ignore_ascii_case(d)),
        RecipientClause::Address(a) => {
            u.upn.eq_ignore_ascii_case(a)
                || u.mail.as_deref().is_some_and(|m| m.eq_ignore_ascii_case(a))
        }
    }
}

fn in_scope(t: &Tenant, target: &ExchangeTarget, u: &User) -> bool {
    match target {
        ExchangeTarget::Organization => true,
        ExchangeTarget::User(id) => u.id.eq_ignore_ascii_case(id),
        ExchangeTarget::Group(id) => t.group(id).is_some_and(|g| g.members.contains(&u.id)),
        ExchangeTarget::AppScope(id) => t.ex_scopes.iter().find(|s| &s.id == id).is_some_and(|s| {
            let mut it = s.filter.clauses.iter().map(|c| clause_matches(t, c, u));
            if s.filter.any {
                it.any(|b| b)
            } else {
                it.all(|b| b)
            }
        }),
    }
}

fn role_perms(role_definition_id: &str) -> &'static [&'static str] {
    EXCHANGE_ROLES
        .iter()
        .find(|(id, _, _)| *id == role_definition_id)
        .map(|(_, _, p)| *p)
        .unwrap_or(&[])
}

/// Decides whether the caller may perform `op` on `target`'s mailbox.
pub fn check_mailbox_access(
    ctx: &Ctx,
    t: &Tenant,
    target: &User,
    op: MailOp,
) -> Result<(), GraphError> {
    match &ctx.caller {
        Caller::User {
            user_id, scopes, ..
        } => {
            let has = scopes.iter().any(|s| {
                op.delegated_perms()
                    .iter()
                    .any(|p| p.eq_ignore_ascii_case(s))
            });
            if has && user_id == &target.id {
                Ok(())
            } else {
                Err(GraphError::access_denied())
            }
        }
        Caller::App { sp_id, roles, .. } => {
            let knobs = ctx.state.knobs();
            let propagation = Duration::from_millis(knobs.exchange_propagation_ms);
            let entra = roles.iter().any(|r| op.app_perms().contains(&r.as_str()));
            let ex: Vec<&ExchangeAssignment> = t
                .ex_assignments
                .iter()
                .filter(|a| &a.sp_id == sp_id && effective(a, propagation))
                .collect();
            let ex_relevant: Vec<&&ExchangeAssignment> = ex
                .iter()
                .filter(|a| {
                    role_perms(&a.role_definition_id)
                        .iter()
                        .any(|p| op.app_perms().contains(p))
                })
                .collect();
            if ex_relevant.iter().any(|a| in_scope(t, &a.target, target)) {
                return Ok(());
            }
            if entra {
                if knobs.exchange_scope_restricts_entra_grants && !ex.is_empty() {
                    return Err(GraphError::mailbox_denied());
                }
                return Ok(());
            }
            if !ex_relevant.is_empty() {
                return Err(GraphError::mailbox_denied());
            }
            Err(GraphError::access_denied())
        }
    }
}

pub fn dispatch(ctx: &Ctx, s: &[&str]) -> (String, GResult) {
    let (owner, rest): (String, Vec<&str>) = match s {
        ["me", rest @ ..] => match ctx.caller.user_id() {
            Some(u) => (u.to_string(), rest.to_vec()),
            None => {
                return (
                    "/me/...".into(),
                    Err(GraphError::new(
                        StatusCode::BAD_REQUEST,
                        "BadRequest",
                        "/me request is only valid with delegated authentication flow.",
                    )),
                )
            }
        },
        ["users", id, rest @ ..] => (id.to_string(), rest.to_vec()),
        _ => return ("/users/{id}/...".into(), Err(GraphError::segment(""))),
    };
    let m = &ctx.method;
    let lower_folder = rest.get(1).map(|f| f.to_ascii_lowercase());
    let (tmpl, op, route): (&str, MailOp, Route) = match (rest.as_slice(), m) {
        (["messages"], &Method::GET) => ("/messages", MailOp::ReadMail, Route::Messages),
        (["messages", id], &Method::GET) => (
            "/messages/{id}",
            MailOp::ReadMail,
            Route::Message(id.to_string()),
        ),
        (["mailFolders", _], &Method::GET) if lower_folder.as_deref() == Some("inbox") => {
            ("/mailFolders/inbox", MailOp::ReadMail, Route::Inbox)
        }
        (["mailFolders", _, "messages"], &Method::GET)
            if lower_folder.as_deref() == Some("inbox") =>
        {
            (
                "/mailFolders/inbox/messages",
                MailOp::ReadMail,
                Route::Messages,
            )
        }
        (["calendar", "events"], &Method::GET) => {
            ("/calendar/events", MailOp::ReadCalendar, Route::Events)
        }
        (["events"], &Method::GET) => ("/events", MailOp::ReadCalendar, Route::Events),
        (["mailboxSettings"], &Method::GET) => {
            ("/mailboxSettings", MailOp::ReadSettings, Route::Settings)
        }
        (["mailboxSettings"], &Method::PATCH) => (
            "/mailboxSettings",
            MailOp::WriteSettings,
            Route::PatchSettings,
        ),
        (["sendMail"], &Method::POST) => ("/sendMail", MailOp::Send, Route::Send),
        _ => {
            return (
                "/users/{id}/(unsupported mailbox route)".into(),
                Err(GraphError::segment(
                    rest.last().copied().unwrap_or_default(),
                )),
            )
        }
    };
    let template = format!("{}{tmpl}", if s[0] == "me" { "/me" } else { "/users/{id}" });
    (template, run(ctx, &owner, op, route))
}

enum Route {
    Messages,
    Message(String),
    Inbox,
    Events,
    Settings,
    PatchSettings,
    Send,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[allow(dead_code)]
struct SendMailInput {
    message: Map<String, Value>,
    save_to_sent_items: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[allow(dead_code)]
struct SettingsPatch {
    automatic_replies_setting: Option<Map<String, Value>>,
    time_zone: Option<String>,
    language: Option<Map<String, Value>>,
    working_hours: Option<Map<String, Value>>,
    date_format: Option<String>,
    time_format: Option<String>,
    delegate_meeting_message_delivery_options: Option<String>,
}

fn run(ctx: &Ctx, owner: &str, op: MailOp, route: Route) -> GResult {
    // Parse bodies before touching state so bad input is a 400 whoever calls.
    let send = if let Route::Send = route {
        Some(parse_body::<SendMailInput>(&ctx.body, "sendMail")?)
    } else {
        None
    };
    let settings_patch = if let Route::PatchSettings = route {
        parse_body::<SettingsPatch>(&ctx.body, "mailboxSettings")?;
        let v: Value = serde_json::from_slice(&ctx.body).unwrap_or_default();
        v.as_object().cloned()
    } else {
        None
    };
    let od = ctx.odata()?;
    let mut t = ctx.state.tenant();
    let user = t
        .user(owner)
        .cloned()
        .ok_or_else(|| GraphError::not_found(owner))?;
    check_mailbox_access(ctx, &t, &user, op)?;
    if !user.has_mailbox {
        return Err(GraphError::new(
            StatusCode::NOT_FOUND,
            "MailboxNotEnabledForRESTAPI",
            "The mailbox is either inactive, soft-deleted, or is hosted on-premise.",
        ));
    }
    let base_ctx = format!("users('{}')", user.id);
    let mb = t
        .mailboxes
        .entry(user.id.clone())
        .or_insert_with(|| Mailbox {
            settings: crate::seed::default_mailbox_settings(),
            ..Default::default()
        });
    let url_base = ctx.url_base();
    match route {
        Route::Messages => {
            let items = mb.messages.clone();
            let total = items.len();
            let body = odata::page(
                &od,
                items,
                total,
                ctx.context(&format!("{base_ctx}/messages")),
                &url_base,
                "message",
                10,
            )?;
            Ok(Reply::ok(body))
        }
        Route::Message(id) => {
            let m = mb
                .messages
                .iter()
                .find(|m| m["id"] == id.as_str())
                .cloned()
                .ok_or_else(|| {
                    GraphError::new(
                        StatusCode::NOT_FOUND,
                        "ErrorItemNotFound",
                        "The specified object was not found in the store.",
                    )
                })?;
            let mut v = od.project(m, "message")?;
            if let Some(o) = v.as_object_mut() {
                o.insert(
                    "@odata.context".into(),
                    json!(ctx.context(&format!("{base_ctx}/messages/$entity"))),
                );
            }
            Ok(Reply::ok(v))
        }
        Route::Inbox => {
            let unread = mb.messages.iter().filter(|m| m["isRead"] == false).count();
            Ok(Reply::ok(json!({
                "@odata.context": ctx.context(&format!("{base_ctx}/mailFolders/$entity")),
                "id": "AQMkAGI2AAAIBDAAAA==",
                "displayName": "Inbox",
                "parentFolderId": "AQMkAGI2AAAIBCAAAA==",
                "childFolderCount": 0,
                "unreadItemCount": unread,
                "totalItemCount": mb.messages.len(),
                "sizeInBytes": 4096 * mb.messages.len(),
                "isHidden": false
            })))
        }
        Route::Events => {
            let items = mb.events.clone();
            let total = items.len();
            let body = odata::page(
                &od,
                items,
                total,
                ctx.context(&format!("{base_ctx}/events")),
                &url_base,
                "event",
                10,
            )?;
            Ok(Reply::ok(body))
        }
        Route::Settings => {
            let mut v = mb.settings.clone();
            if let Some(o) = v.as_object_mut() {
                o.insert(
                    "@odata.context".into(),
                    json!(ctx.context(&format!("{base_ctx}/mailboxSettings"))),
                );
            }
            Ok(Reply::ok(v))
        }
        Route::PatchSettings => {
            if let (Some(patch), Some(o)) = (settings_patch, mb.settings.as_object_mut()) {
                for (k, v) in patch {
                    o.insert(k, v);
                }
            }
            let mut v = mb.settings.clone();
            if let Some(o) = v.as_object_mut() {
                o.insert(
                    "@odata.context".into(),
                    json!(ctx.context(&format!("{base_ctx}/mailboxSettings"))),
                );
            }
            Ok(Reply::ok(v))
        }
        Route::Send => {
            if let Some(s) = send {
                mb.sent.push(Value::Object(s.message));
            }
            Ok(Reply::accepted())
        }
    }
}

// ---------------------------------------------------------------------------------------
// beta /roleManagement/exchange

const EX_WRITE: [&str; 1] = ["RoleManagement.ReadWrite.Exchange"];
const EX_READ: [&str; 2] = [
    "RoleManagement.Read.Exchange",
    "RoleManagement.ReadWrite.Exchange",
];
const EX_ADMINS: [&str; 2] = [roles::EXCHANGE_ADMIN, roles::GLOBAL_ADMIN];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct CustomAttributes {
    #[serde(rename = "Exclusive")]
    exclusive: Option<bool>,
    #[serde(rename = "RecipientFilter")]
    recipient_filter: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ScopeInput {
    #[serde(rename = "type")]
    kind: Option<String>,
    display_name: Option<String>,
    custom_attributes: Option<CustomAttributes>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct AssignmentInput {
    principal_id: String,
    role_definition_id: String,
    directory_scope_id: Option<String>,
    app_scope_id: Option<String>,
}

/// Parses an Exchange recipient filter (the subset the simulator understands).
pub fn parse_recipient_filter(src: &str) -> Result<RecipientFilter, GraphError> {
    let bad = || {
        GraphError::bad_request(format!("The recipient filter '{src}' is invalid or not supported by the simulator (supported: MemberOfGroup, Department, PrimarySmtpAddress, UserPrincipalName with -eq, joined by -and / -or)."))
    };
    let s = src
        .trim()
        .trim_start_matches('(')
        .trim_end_matches(')')
        .trim();
    let lower = s.to_ascii_lowercase();
    let (parts, any): (Vec<&str>, bool) = if lower.contains(" -or ") {
        (split_ci(s, " -or "), true)
    } else {
        (split_ci(s, " -and "), false)
    };
    let mut clauses = Vec::new();
    for p in parts {
        let p = p
            .trim()
            .trim_start_matches('(')
            .trim_end_matches(')')
            .trim();
        let idx = p.to_ascii_lowercase().find(" -eq ").ok_or_else(bad)?;
        let prop = p[..idx].trim();
        let val = p[idx + 5..]
            .trim()
            .trim_matches('\'')
            .trim_matches('"')
            .to_string();
        clauses.push(match prop.to_ascii_lowercase().as_str() {
            "memberofgroup" => RecipientClause::MemberOfGroup(val),
            "department" => RecipientClause::Department(val),
            "primarysmtpaddress" | "userprincipalname" | "windowsemailaddress" => {
                RecipientClause::Address(val)
            }
            _ => return Err(bad()),
        });
    }
    Ok(RecipientFilter { clauses, any })
}

fn split_ci<'a>(s: &'a str, sep: &str) -> Vec<&'a str> {
    let lower = s.to_ascii_lowercase();
    let mut out = Vec::new();
    let mut last = 0;
    for (i, _) in lower.match_indices(sep) {
        out.push(&s[last..i]);
        last = i + sep.len();
    }
    out.push(&s[last..]);
    out
}

fn ex_auth(ctx: &Ctx, write: bool, app_allowed: bool) -> Result<(), GraphError> {
    if matches!(ctx.caller, Caller::App { .. }) && !app_allowed {
        return Err(GraphError::denied());
    }
    if write {
        ctx.require(&EX_WRITE, &EX_WRITE)?;
    } else {
        ctx.require(&EX_READ, &EX_READ)?;
    }
    ctx.require_role(&EX_ADMINS)
}

fn scope_body(ctx: &Ctx, s: &ExchangeScope) -> Value {
    let mut v = s.body.clone();
    if let Some(o) = v.as_object_mut() {
        o.insert(
            "@odata.context".into(),
            json!(ctx.context("roleManagement/exchange/customAppScopes/$entity")),
        );
    }
    v
}

pub fn dispatch_exchange(ctx: &Ctx, s: &[&str]) -> (String, GResult) {
    use Method as M;
    let m = &ctx.method;
    let (t, r): (&str, GResult) = match (s, m) {
        (["roleManagement", "exchange", "customAppScopes"], &M::GET) => {
            ("/roleManagement/exchange/customAppScopes", list_scopes(ctx))
        }
        (["roleManagement", "exchange", "customAppScopes"], &M::POST) => (
            "/roleManagement/exchange/customAppScopes",
            create_scope(ctx),
        ),
        (["roleManagement", "exchange", "customAppScopes", id], &M::GET) => (
            "/roleManagement/exchange/customAppScopes/{id}",
            get_scope(ctx, id),
        ),
        (["roleManagement", "exchange", "customAppScopes", id], &M::PATCH) => (
            "/roleManagement/exchange/customAppScopes/{id}",
            patch_scope(ctx, id),
        ),
        (["roleManagement", "exchange", "customAppScopes", id], &M::DELETE) => (
            "/roleManagement/exchange/customAppScopes/{id}",
            delete_scope(ctx, id),
        ),
        (["roleManagement", "exchange", "roleAssignments"], &M::GET) => (
            "/roleManagement/exchange/roleAssignments",
            list_ex_assignments(ctx),
        ),
        (["roleManagement", "exchange", "roleAssignments"], &M::POST) => (
            "/roleManagement/exchange/roleAssignments",
            create_ex_assignment(ctx),
        ),
        (["roleManagement", "exchange", "roleAssignments", id], &M::GET) => (
            "/roleManagement/exchange/roleAssignments/{id}",
            get_ex_assignment(ctx, id),
        ),
        (["roleManagement", "exchange", "roleAssignments", id], &M::DELETE) => (
            "/roleManagement/exchange/roleAssignments/{id}",
            delete_ex_assignment(ctx, id),
        ),
        (["roleManagement", "exchange", "roleDefinitions"], &M::GET) => (
            "/roleManagement/exchange/roleDefinitions",
            list_role_definitions(ctx),
        ),
        _ => (
            "/roleManagement/(unsupported)",
            Err(GraphError::segment(s.last().copied().unwrap_or_default())),
        ),
    };
    (t.to_string(), r)
}

fn list_scopes(ctx: &Ctx) -> GResult {
    ex_auth(ctx, false, false)?;
    let t = ctx.state.tenant();
    let items: Vec<Value> = t.ex_scopes.iter().map(|s| s.body.clone()).collect();
    Ok(Reply::ok(
        json!({"@odata.context": ctx.context("roleManagement/exchange/customAppScopes"), "value": items}),
    ))
}

fn create_scope(ctx: &Ctx) -> GResult {
    ex_auth(ctx, true, false)?;
    let input: ScopeInput = parse_body(&ctx.body, "customAppScope")?;
    let kind = input.kind.unwrap_or_else(|| "RecipientScope".into());
    if kind != "RecipientScope" {
        return Err(GraphError::bad_request(format!(
            "Invalid value specified for property 'type': '{kind}'."
        )));
    }
    let display = input
        .display_name
        .ok_or_else(|| GraphError::bad_request("Property 'displayName' is required."))?;
    let attrs = input
        .custom_attributes
        .ok_or_else(|| GraphError::bad_request("Property 'customAttributes' is required."))?;
    let filter = parse_recipient_filter(&attrs.recipient_filter)?;
    let id = uuid::Uuid::new_v4().to_string();
    let body = json!({
        "id": id,
        "type": kind,
        "displayName": display,
        "customAttributes": {"Exclusive": attrs.exclusive.unwrap_or(false), "RecipientFilter": attrs.recipient_filter},
    });
    let scope = ExchangeScope { id, body, filter };
    let out = scope_body(ctx, &scope);
    ctx.state.tenant().ex_scopes.push(scope);
    Ok(Reply::created(out))
}

fn get_scope(ctx: &Ctx, id: &str) -> GResult {
    ex_auth(ctx, false, false)?;
    let t = ctx.state.tenant();
    let s = t
        .ex_scopes
        .iter()
        .find(|s| s.id == id)
        .ok_or_else(|| GraphError::not_found(id))?;
    Ok(Reply::ok(scope_body(ctx, s)))
}

fn patch_scope(ctx: &Ctx, id: &str) -> GResult {
    ex_auth(ctx, true, false)?;
    let input: ScopeInput = parse_body(&ctx.body, "customAppScope")?;
    let filter = input
        .custom_attributes
        .as_ref()
        .map(|a| parse_recipient_filter(&a.recipient_filter))
        .transpose()?;
    let mut t = ctx.state.tenant();
    let s = t
        .ex_scopes
        .iter_mut()
        .find(|s| s.id == id)
        .ok_or_else(|| GraphError::not_found(id))?;
    if let Some(d) = input.display_name {
        s.body["displayName"] = json!(d);
    }
    if let (Some(f), Some(a)) = (filter, input.custom_attributes) {
        s.filter = f;
        s.body["customAttributes"] = json!({"Exclusive": a.exclusive.unwrap_or(false), "RecipientFilter": a.recipient_filter});
    }
    Ok(Reply::no_content())
}

fn delete_scope(ctx: &Ctx, id: &str) -> GResult {
    ex_auth(ctx, true, false)?;
    let mut t = ctx.state.tenant();
    if t.ex_assignments
        .iter()
        .any(|a| a.deleted.is_none() && a.target == ExchangeTarget::AppScope(id.to_string()))
    {
        return Err(GraphError::bad_request(
            "The scope is in use by a role assignment; remove the assignment first.",
        ));
    }
    let before = t.ex_scopes.len();
    t.ex_scopes.retain(|s| s.id != id);
    if t.ex_scopes.len() == before {
        return Err(GraphError::not_found(id));
    }
    Ok(Reply::no_content())
}

fn list_ex_assignments(ctx: &Ctx) -> GResult {
    ex_auth(ctx, false, true)?;
    let t = ctx.state.tenant();
    let items: Vec<Value> = t
        .ex_assignments
        .iter()
        .filter(|a| a.deleted.is_none())
        .map(|a| a.body.clone())
        .collect();
    Ok(Reply::ok(
        json!({"@odata.context": ctx.context("roleManagement/exchange/roleAssignments"), "value": items}),
    ))
}

fn create_ex_assignment(ctx: &Ctx) -> GResult {
    ex_auth(ctx, true, true)?;
    let input: AssignmentInput = parse_body(&ctx.body, "unifiedRoleAssignment")?;
    let mut t = ctx.state.tenant();
    let sp_ref = input
        .principal_id
        .strip_prefix("/ServicePrincipals/")
        .or_else(|| input.principal_id.strip_prefix("/servicePrincipals/"))
        .unwrap_or(&input.principal_id);
    let sp_id = t
        .sps
        .iter()
        .find(|s| s.id.eq_ignore_ascii_case(sp_ref) || s.app_id.eq_ignore_ascii_case(sp_ref))
        .map(|s| s.id.clone())
        .ok_or_else(|| {
            GraphError::bad_request(format!("The service principal '{sp_ref}' was not found."))
        })?;
    if !EXCHANGE_ROLES
        .iter()
        .any(|(id, _, _)| *id == input.role_definition_id)
    {
        return Err(GraphError::bad_request(format!(
            "The role definition '{}' was not found.",
            input.role_definition_id
        )));
    }
    let target = match (&input.directory_scope_id, &input.app_scope_id) {
        (Some(_), Some(_)) | (None, None) => {
            return Err(GraphError::bad_request(
                "Exactly one of directoryScopeId and appScopeId must be specified.",
            ))
        }
        (None, Some(s)) => {
            if !t.ex_scopes.iter().any(|x| &x.id == s) {
                return Err(GraphError::bad_request(format!(
                    "The app scope '{s}' was not found."
                )));
            }
            ExchangeTarget::AppScope(s.clone())
        }
        (Some(d), None) => {
            let parts: Vec<&str> = d.split('/').filter(|p| !p.is_empty()).collect();
            match parts.as_slice() {
                [] => ExchangeTarget::Organization,
                [k, id] if k.eq_ignore_ascii_case("users") && t.user(id).is_some() => {
                    ExchangeTarget::User(t.user(id).map(|u| u.id.clone()).unwrap_or_default())
                }
                [k, id] if k.eq_ignore_ascii_case("groups") && t.group(id).is_some() => {
                    ExchangeTarget::Group(id.to_string())
                }
                _ => {
                    return Err(GraphError::bad_request(format!(
                        "The directory scope '{d}' is invalid or not supported."
                    )))
                }
            }
        }
    };
    let id = uuid::Uuid::new_v4().to_string();
    let body = json!({
        "id": id,
        "principalId": input.principal_id,
        "roleDefinitionId": input.role_definition_id,
        "directoryScopeId": input.directory_scope_id,
        "appScopeId": input.app_scope_id,
    });
    let mut out = body.clone();
    out["@odata.context"] = json!(ctx.context("roleManagement/exchange/roleAssignments/$entity"));
    t.ex_assignments.push(ExchangeAssignment {
        id,
        sp_id,
        role_definition_id: input.role_definition_id,
        target,
        body,
        created: Instant::now(),
        deleted: None,
    });
    Ok(Reply::created(out))
}

fn get_ex_assignment(ctx: &Ctx, id: &str) -> GResult {
    ex_auth(ctx, false, true)?;
    let t = ctx.state.tenant();
    let a = t
        .ex_assignments
        .iter()
        .find(|a| a.id == id && a.deleted.is_none())
        .ok_or_else(|| GraphError::not_found(id))?;
    let mut v = a.body.clone();
    v["@odata.context"] = json!(ctx.context("roleManagement/exchange/roleAssignments/$entity"));
    Ok(Reply::ok(v))
}

fn delete_ex_assignment(ctx: &Ctx, id: &str) -> GResult {
    ex_auth(ctx, true, true)?;
    let mut t = ctx.state.tenant();
    let a = t
        .ex_assignments
        .iter_mut()
        .find(|a| a.id == id && a.deleted.is_none())
        .ok_or_else(|| GraphError::not_found(id))?;
    a.deleted = Some(Instant::now());
    Ok(Reply::no_content())
}

fn list_role_definitions(ctx: &Ctx) -> GResult {
    ex_auth(ctx, false, true)?;
    let items: Vec<Value> = EXCHANGE_ROLES
        .iter()
        .map(|(id, name, perms)| {
            json!({
                "id": id,
                "displayName": name,
                "description": format!("Grants {} to an application through Exchange RBAC for Applications.", perms.join(", ")),
                "isBuiltIn": true,
                "isEnabled": true,
                "rolePermissions": [{"allowedResourceActions": perms}],
            })
        })
        .collect();
    Ok(Reply::ok(
        json!({"@odata.context": ctx.context("roleManagement/exchange/roleDefinitions"), "value": items}),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recipient_filters() {
        let f = parse_recipient_filter("MemberOfGroup -eq 'CN=Mail Connector Users,OU=x,DC=y'")
            .unwrap();
        assert_eq!(
            f.clauses,
            vec![RecipientClause::MemberOfGroup(
                "CN=Mail Connector Users,OU=x,DC=y".into()
            )]
        );
        let f =
            parse_recipient_filter("(Department -eq 'Sales') -or (PrimarySmtpAddress -eq 'a@b')")
                .unwrap();
        assert!(f.any);
        assert_eq!(f.clauses.len(), 2);
        assert!(parse_recipient_filter("CustomAttribute1 -like 'x*'").is_err());
    }
}
