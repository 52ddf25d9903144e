//! Application registrations, service principals, app role assignments and delegated
//! permission grants: `/applications`, `/servicePrincipals`, `/appRoleAssignedTo`,
//! `/appRoleAssignments`, `/oauth2PermissionGrants`, `addPassword` / `removePassword`
//! (`addKey` / `removeKey` and `keyCredentials` checks live in `keys.rs`),
//! with Microsoft's authorization rules, replication lag and duplicate answers.

use super::{
    opaque_id, too_young, Caller, Ctx, GResult, Reply, APP_MANAGERS, DELEGATED_GRANTERS,
    GRAPH_APP_ROLE_GRANTERS,
};
use crate::data::{roles, MICROSOFT_TENANT_ID};
use crate::error::{parse_body, GraphError};
use crate::model::*;
use crate::odata;
use axum::http::{Method, StatusCode};
use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;
use serde_json::{json, Map, Value};
use std::time::Instant;

const APP_READ_SCOPES: [&str; 6] = [
    "Application.Read.All",
    "Application.ReadWrite.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
    "Directory.AccessAsUser.All",
    "AppRoleAssignment.ReadWrite.All",
];
const APP_READ_ROLES: [&str; 5] = [
    "Application.Read.All",
    "Application.ReadWrite.All",
    "Application.ReadWrite.OwnedBy",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
];
const APP_WRITE_SCOPES: [&str; 2] = ["Application.ReadWrite.All", "Directory.AccessAsUser.All"];
const APP_WRITE_ROLES: [&str; 2] = ["Application.ReadWrite.All", "Application.ReadWrite.OwnedBy"];
const APP_FILTER: [&str; 12] = [
    "id",
    "appId",
    "displayName",
    "tags",
    "identifierUris",
    "signInAudience",
    "publisherDomain",
    "createdDateTime",
    "description",
    "passwordCredentials",
    "keyCredentials",
    "requiredResourceAccess",
];
const SP_FILTER: [&str; 14] = [
    "id",
    "appId",
    "displayName",
    "tags",
    "servicePrincipalNames",
    "servicePrincipalType",
    "accountEnabled",
    "appOwnerOrganizationId",
    "appDisplayName",
    "publisherName",
    "preferredSingleSignOnMode",
    "signInAudience",
    "passwordCredentials",
    "keyCredentials",
];
/// `$search` properties (Microsoft: tokenised search on displayName and description).
const APP_SEARCH: [&str; 2] = ["displayName", "description"];
const GRANT_FILTER: [&str; 5] = ["id", "clientId", "consentType", "resourceId", "principalId"];
const ZERO_GUID: &str = "00000000-0000-0000-0000-000000000000";

pub fn dispatch(ctx: &Ctx, s: &[&str]) -> (String, GResult) {
    use Method as M;
    let m = &ctx.method;
    let (t, r): (&str, GResult) = match (s, m) {
        (["applications"], &M::GET) => ("/applications", list_apps(ctx)),
        (["applications"], &M::POST) => ("/applications", create_app(ctx)),
        (["applications", k], &M::GET) => (
            tmpl_key(k, "/applications/{id}", "/applications(appId=)"),
            get_app(ctx, k),
        ),
        (["applications", k], &M::PATCH) => (
            tmpl_key(k, "/applications/{id}", "/applications(appId=)"),
            patch_app(ctx, k),
        ),
        (["applications", k], &M::DELETE) => (
            tmpl_key(k, "/applications/{id}", "/applications(appId=)"),
            delete_app(ctx, k),
        ),
        (["applications", k, "owners"], &M::GET) => {
            ("/applications/{id}/owners", list_owners(ctx, k))
        }
        (["applications", k, "addPassword"], &M::POST) => {
            ("/applications/{id}/addPassword", add_password(ctx, k))
        }
        (["applications", k, "removePassword"], &M::POST) => {
            ("/applications/{id}/removePassword", remove_password(ctx, k))
        }
        (["applications", k, "addKey"], &M::POST) => {
            ("/applications/{id}/addKey", super::keys::add_key(ctx, k))
        }
        (["applications", k, "removeKey"], &M::POST) => (
            "/applications/{id}/removeKey",
            super::keys::remove_key(ctx, k),
        ),
        (["servicePrincipals"], &M::GET) => ("/servicePrincipals", list_sps(ctx)),
        (["servicePrincipals"], &M::POST) => ("/servicePrincipals", create_sp(ctx)),
        (["servicePrincipals", k], &M::GET) => (
            tmpl_key(k, "/servicePrincipals/{id}", "/servicePrincipals(appId=)"),
            get_sp(ctx, k),
        ),
        (["servicePrincipals", k], &M::PATCH) => (
            tmpl_key(k, "/servicePrincipals/{id}", "/servicePrincipals(appId=)"),
            patch_sp(ctx, k),
        ),
        (["servicePrincipals", k], &M::DELETE) => (
            tmpl_key(k, "/servicePrincipals/{id}", "/servicePrincipals(appId=)"),
            delete_sp(ctx, k),
        ),
        (["servicePrincipals", k, "appRoleAssignedTo"], &M::GET) => (
            "/servicePrincipals/{id}/appRoleAssignedTo",
            list_assignments(ctx, k, true),
        ),
        (["servicePrincipals", k, "appRoleAssignedTo"], &M::POST) => (
            "/servicePrincipals/{id}/appRoleAssignedTo",
            create_assignment(ctx, k, true),
        ),
        (["servicePrincipals", k, "appRoleAssignedTo", a], &M::DELETE) => (
            "/servicePrincipals/{id}/appRoleAssignedTo/{id}",
            delete_assignment(ctx, k, a, true),
        ),
        (["servicePrincipals", k, "appRoleAssignments"], &M::GET) => (
            "/servicePrincipals/{id}/appRoleAssignments",
            list_assignments(ctx, k, false),
        ),
        (["servicePrincipals", k, "appRoleAssignments"], &M::POST) => (
            "/servicePrincipals/{id}/appRoleAssignments",
            create_assignment(ctx, k, false),
        ),
        (["servicePrincipals", k, "appRoleAssignments", a], &M::DELETE) => (
            "/servicePrincipals/{id}/appRoleAssignments/{id}",
            delete_assignment(ctx, k, a, false),
        ),
        (["oauth2PermissionGrants"], &M::GET) => ("/oauth2PermissionGrants", list_grants(ctx)),
        (["oauth2PermissionGrants"], &M::POST) => ("/oauth2PermissionGrants", create_grant(ctx)),
        (["oauth2PermissionGrants", id], &M::GET) => {
            ("/oauth2PermissionGrants/{id}", get_grant(ctx, id))
        }
        (["oauth2PermissionGrants", id], &M::PATCH) => {
            ("/oauth2PermissionGrants/{id}", patch_grant(ctx, id))
        }
        (["oauth2PermissionGrants", id], &M::DELETE) => {
            ("/oauth2PermissionGrants/{id}", delete_grant(ctx, id))
        }
        ([_, ..], _) if s.len() <= 2 => (
            "(unsupported method)",
            Err(GraphError::method_not_allowed()),
        ),
        ([first, ..], _) => (
            "(unknown segment)",
            Err(GraphError::segment(s.last().copied().unwrap_or(first))),
        ),
        ([], _) => ("/", Err(GraphError::segment(""))),
    };
    (t.to_string(), r)
}

fn tmpl_key(k: &str, by_id: &'static str, by_app_id: &'static str) -> &'static str {
    if k.starts_with("appId=") {
        by_app_id
    } else {
        by_id
    }
}

/// `appId='x'` → Some("x").
fn app_id_key(k: &str) -> Option<String> {
    k.strip_prefix("appId=")
        .map(|v| v.trim_matches('\'').to_string())
}

// ---------------------------------------------------------------------------------------
// input types (strict)

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[allow(dead_code)]
struct InfoInput {
    logo_url: Option<String>,
    marketing_url: Option<String>,
    privacy_statement_url: Option<String>,
    support_url: Option<String>,
    terms_of_service_url: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RedirectsInput {
    redirect_uris: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[allow(dead_code)]
struct ImplicitInput {
    enable_id_token_issuance: Option<bool>,
    enable_access_token_issuance: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[allow(dead_code)]
struct WebInput {
    home_page_url: Option<String>,
    logout_url: Option<String>,
    redirect_uris: Option<Vec<String>>,
    implicit_grant_settings: Option<ImplicitInput>,
    redirect_uri_settings: Option<Vec<Value>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ResourceAccessInput {
    id: String,
    #[serde(rename = "type")]
    kind: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RraInput {
    resource_app_id: String,
    resource_access: Vec<ResourceAccessInput>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[allow(dead_code)]
struct AppInput {
    display_name: Option<String>,
    description: Option<String>,
    sign_in_audience: Option<String>,
    is_fallback_public_client: Option<bool>,
    is_device_only_auth_supported: Option<bool>,
    notes: Option<String>,
    tags: Option<Vec<String>>,
    info: Option<InfoInput>,
    public_client: Option<RedirectsInput>,
    spa: Option<RedirectsInput>,
    web: Option<WebInput>,
    required_resource_access: Option<Vec<RraInput>>,
    identifier_uris: Option<Vec<String>>,
    key_credentials: Option<Vec<super::keys::KeyCredentialInput>>,
    group_membership_claims: Option<String>,
    service_management_reference: Option<String>,
    token_encryption_key_id: Option<String>,
    api: Option<Map<String, Value>>,
    app_roles: Option<Vec<Value>>,
    optional_claims: Option<Map<String, Value>>,
    parental_control_settings: Option<Map<String, Value>>,
    password_credentials: Option<Value>,
    id: Option<Value>,
    app_id: Option<Value>,
    created_date_time: Option<Value>,
    publisher_domain: Option<Value>,
}

fn read_only(name: &str) -> GraphError {
    GraphError::bad_request(format!("Property '{name}' is read-only and cannot be set."))
}

fn check_redirect(uri: &str) -> Result<(), GraphError> {
    let bad = || {
        GraphError::bad_request(format!(
            "Invalid value specified for property 'redirectUris' of resource 'Application': '{uri}'."
        ))
    };
    let u = url::Url::parse(uri).map_err(|_| bad())?;
    match u.scheme() {
        "https" => Ok(()),
        "http" if matches!(u.host_str(), Some("localhost") | Some("127.0.0.1")) => Ok(()),
        "http" => Err(bad()),
        _ if !uri.contains("://") => Err(bad()),
        _ => Ok(()), // custom schemes (msal{appId}://auth) are allowed for public clients
    }
}

/// Validates an application body and returns its raw JSON object (annotations removed).
fn validate_app(ctx: &Ctx, creating: bool) -> Result<Map<String, Value>, GraphError> {
    let input: AppInput = parse_body(&ctx.body, "application")?;
    for (v, n) in [
        (&input.id, "id"),
        (&input.app_id, "appId"),
        (&input.created_date_time, "createdDateTime"),
        (&input.publisher_domain, "publisherDomain"),
    ] {
        if v.is_some() {
            return Err(read_only(n));
        }
    }
    if input.password_credentials.is_some() {
        return Err(GraphError::bad_request(
            "Property 'passwordCredentials' cannot be set through this request; use the addPassword action.",
        ));
    }
    if creating
        && input
            .display_name
            .as_deref()
            .is_none_or(|d| d.trim().is_empty())
    {
        return Err(GraphError::bad_request(
            "Property 'displayName' is required on type 'microsoft.graph.application'.",
        ));
    }
    if let Some(a) = &input.sign_in_audience {
        if ![
            "AzureADMyOrg",
            "AzureADMultipleOrgs",
            "AzureADandPersonalMicrosoftAccount",
            "PersonalMicrosoftAccount",
        ]
        .contains(&a.as_str())
        {
            return Err(GraphError::bad_request(format!(
                "Invalid value specified for property 'signInAudience' of resource 'Application': '{a}'."
            )));
        }
    }
    for r in input.required_resource_access.iter().flatten() {
        if uuid::Uuid::parse_str(&r.resource_app_id).is_err() {
            return Err(GraphError::bad_request("Invalid value specified for property 'resourceAppId' of resource 'RequiredResourceAccess'."));
        }
        for a in &r.resource_access {
            if a.kind != "Scope" && a.kind != "Role" {
                return Err(GraphError::bad_request(format!(
                    "Invalid value specified for property 'type' of resource 'ResourceAccess': '{}'.",
                    a.kind
                )));
            }
            if uuid::Uuid::parse_str(&a.id).is_err() {
                return Err(GraphError::bad_request(
                    "Invalid value specified for property 'id' of resource 'ResourceAccess'.",
                ));
            }
        }
    }
    let uris = [
        &input.web.as_ref().and_then(|w| w.redirect_uris.clone()),
        &input
            .public_client
            .as_ref()
            .and_then(|w| w.redirect_uris.clone()),
        &input.spa.as_ref().and_then(|w| w.redirect_uris.clone()),
    ];
    for list in uris.into_iter().flatten() {
        for u in list {
            check_redirect(u)?;
        }
    }
    let keys = input
        .key_credentials
        .as_deref()
        .map(|k| super::keys::normalise_all(k, ctx.state.knobs().cert_max_lifetime_days))
        .transpose()?;
    let mut v: Value = serde_json::from_slice(&ctx.body).unwrap_or_default();
    let mut obj = v.as_object_mut().map(std::mem::take).unwrap_or_default();
    obj.retain(|k, _| !k.starts_with("@odata."));
    if obj.contains_key("keyCredentials") {
        // PATCH replaces the whole collection (null: none left).
        obj.insert("keyCredentials".into(), keys.unwrap_or(json!([])));
    }
    Ok(obj)
}

fn merge(body: &mut Value, input: Map<String, Value>) {
    let Some(o) = body.as_object_mut() else {
        return;
    };
    for (k, v) in input {
        let complex = [
            "web",
            "info",
            "api",
            "publicClient",
            "spa",
            "parentalControlSettings",
        ]
        .contains(&k.as_str());
        match (o.get_mut(&k), v) {
            (Some(Value::Object(existing)), Value::Object(new)) if complex => {
                for (k2, v2) in new {
                    existing.insert(k2, v2);
                }
            }
            (_, v) => {
                o.insert(k, v);
            }
        }
    }
}

pub(crate) fn new_app_body(id: &str, app_id: &str, domain: &str) -> Value {
    json!({
        "id": id,
        "deletedDateTime": null,
        "appId": app_id,
        "applicationTemplateId": null,
        "createdDateTime": fmt_time(&Utc::now()),
        "displayName": null,
        "description": null,
        "groupMembershipClaims": null,
        "identifierUris": [],
        "isDeviceOnlyAuthSupported": null,
        "isFallbackPublicClient": null,
        "notes": null,
        "publisherDomain": domain,
        "serviceManagementReference": null,
        "signInAudience": "AzureADandPersonalMicrosoftAccount",
        "tags": [],
        "tokenEncryptionKeyId": null,
        "addIns": [],
        "api": {
            "acceptMappedClaims": null,
            "knownClientApplications": [],
            "requestedAccessTokenVersion": null,
            "oauth2PermissionScopes": [],
            "preAuthorizedApplications": []
        },
        "appRoles": [],
        "info": {"logoUrl": null, "marketingUrl": null, "privacyStatementUrl": null, "supportUrl": null, "termsOfServiceUrl": null},
        "keyCredentials": [],
        "optionalClaims": null,
        "parentalControlSettings": {"countriesBlockedForMinors": [], "legalAgeGroupRule": "Allow"},
        "passwordCredentials": [],
        "publicClient": {"redirectUris": []},
        "requiredResourceAccess": [],
        "spa": {"redirectUris": []},
        "web": {
            "homePageUrl": null,
            "logoutUrl": null,
            "redirectUris": [],
            "implicitGrantSettings": {"enableAccessTokenIssuance": false, "enableIdTokenIssuance": false}
        }
    })
}

fn with_context(mut v: Value, c: String) -> Value {
    if let Some(o) = v.as_object_mut() {
        o.insert("@odata.context".into(), Value::String(c));
    }
    v
}

// ---------------------------------------------------------------------------------------
// applications

pub(crate) fn find_app_idx(ctx: &Ctx, t: &Tenant, k: &str) -> Result<usize, GraphError> {
    let delay = ctx.state.knobs().replication.object_read_ms;
    let found = match app_id_key(k) {
        Some(app_id) => t.apps.iter().position(|a| a.app_id == app_id),
        None => t.apps.iter().position(|a| a.id == k),
    };
    match found {
        Some(i) if !too_young(t.apps[i].created, delay) => Ok(i),
        _ => Err(GraphError::not_found(app_id_key(k).as_deref().unwrap_or(k))),
    }
}

/// Delegated: app managers, or owners of this app. App-only: Application.ReadWrite.All, or
/// Application.ReadWrite.OwnedBy on apps it owns.
pub(crate) fn may_manage_app(ctx: &Ctx, app: &Application) -> Result<(), GraphError> {
    ctx.require(&APP_WRITE_SCOPES, &APP_WRITE_ROLES)?;
    match &ctx.caller {
        Caller::User { user_id, .. } => {
            if app.owners.contains(user_id) {
                Ok(())
            } else {
                ctx.require_role(&APP_MANAGERS)
            }
        }
        Caller::App { sp_id, roles, .. } => {
            if roles.iter().any(|r| r == "Application.ReadWrite.All") || app.owners.contains(sp_id)
            {
                Ok(())
            } else {
                Err(GraphError::denied())
            }
        }
    }
}

/// `$filter` and `$search` of a directory-object list, checked against Microsoft's rules.
struct ListQuery {
    od: odata::OData,
    filter: Option<odata::Expr>,
    search: Option<odata::Search>,
}

impl ListQuery {
    fn parse(ctx: &Ctx, filterable: &[&str], resource: &str) -> Result<ListQuery, GraphError> {
        let mut od = ctx.odata()?;
        super::directory::advanced_checks(ctx, &mut od)?;
        let filter = od
            .filter
            .as_deref()
            .map(|f| odata::parse_filter(f, filterable, resource))
            .transpose()?;
        let search = od
            .search
            .as_deref()
            .map(|s| odata::parse_search(s, &APP_SEARCH))
            .transpose()?;
        Ok(ListQuery { od, filter, search })
    }

    fn keeps(&self, v: &Value) -> bool {
        self.filter.as_ref().is_none_or(|f| odata::eval(f, v))
            && self
                .search
                .as_ref()
                .is_none_or(|s| s.matches(|p| odata::get(v, p).as_str()))
    }
}

fn list_apps(ctx: &Ctx) -> GResult {
    ctx.require(&APP_READ_SCOPES, &APP_READ_ROLES)?;
    let q = ListQuery::parse(ctx, &APP_FILTER, "Application")?;
    let od = &q.od;
    let t = ctx.state.tenant();
    if q.filter.is_none() && q.search.is_none() && od.orderby.is_none() {
        // Only the page is rendered: a tenant with thousands of apps answers each page fast.
        let body = odata::page_with(
            od,
            t.apps.len(),
            ctx.context(&od.context_suffix("applications")),
            &ctx.url_base(),
            "application",
            100,
            |start, end| t.apps[start..end].iter().map(Application::render).collect(),
        )?;
        return Ok(Reply::ok(body));
    }
    let items: Vec<Value> = t
        .apps
        .iter()
        .map(Application::render)
        .filter(|v| q.keeps(v))
        .collect();
    ctx.page_reply(od, items, &od.context_suffix("applications"), "application")
}

/// `GET /applications/{id}/owners`: the owners as directory objects (users here), readable by
/// whoever may read the app.
fn list_owners(ctx: &Ctx, k: &str) -> GResult {
    ctx.require(&APP_READ_SCOPES, &APP_READ_ROLES)?;
    let od = ctx.odata()?;
    let t = ctx.state.tenant();
    let app = &t.apps[find_app_idx(ctx, &t, k)?];
    let owners: Vec<Value> = app
        .owners
        .iter()
        .filter_map(|id| t.user(id))
        .map(|u| {
            json!({
                "@odata.type": "#microsoft.graph.user",
                "id": u.id,
                "displayName": u.display_name,
                "userPrincipalName": u.upn,
                "mail": u.mail,
            })
        })
        .collect();
    ctx.page_reply(&od, owners, "directoryObjects", "directoryObject")
}

fn create_app(ctx: &Ctx) -> GResult {
    ctx.require(&APP_WRITE_SCOPES, &APP_WRITE_ROLES)?;
    let knobs = ctx.state.knobs();
    if let Caller::User { .. } = ctx.caller {
        let roles = ctx.user_roles();
        let privileged = roles
            .iter()
            .any(|r| APP_MANAGERS.contains(&r.as_str()) || r == roles::APPLICATION_DEVELOPER);
        if !privileged && !knobs.users_can_register_apps {
            return Err(GraphError::denied());
        }
    }
    let input = validate_app(ctx, true)?;
    let mut t = ctx.state.tenant();
    if let Some(uris) = input.get("identifierUris").and_then(Value::as_array) {
        for u in uris {
            if t.apps.iter().any(|a| {
                a.body["identifierUris"]
                    .as_array()
                    .is_some_and(|l| l.contains(u))
            }) {
                return Err(GraphError::bad_request("Another object with the same value for property identifierUris already exists."));
            }
        }
    }
    let id = uuid::Uuid::new_v4().to_string();
    let app_id = uuid::Uuid::new_v4().to_string();
    let mut body = new_app_body(&id, &app_id, &t.domain);
    merge(&mut body, input);
    let owner = match &ctx.caller {
        Caller::User { user_id, .. } => user_id.clone(),
        Caller::App { sp_id, .. } => sp_id.clone(),
    };
    let app = Application {
        id,
        app_id,
        body,
        created: Instant::now(),
        owners: vec![owner],
        secrets: vec![],
    };
    let out = with_context(app.render(), ctx.context("applications/$entity"));
    let location = format!("{}/applications/{}", ctx.base(), app.id);
    t.apps.push(app);
    let mut r = Reply::created(out);
    r.headers.push(("location", location));
    Ok(r)
}

fn get_app(ctx: &Ctx, k: &str) -> GResult {
    ctx.require(&APP_READ_SCOPES, &APP_READ_ROLES)?;
    let od = ctx.odata()?;
    let t = ctx.state.tenant();
    let i = find_app_idx(ctx, &t, k)?;
    // keyCredentials' `key` is returned only for `$select=keyCredentials` on one object.
    let with_keys = od
        .select
        .as_ref()
        .is_some_and(|s| s.iter().any(|p| p.eq_ignore_ascii_case("keyCredentials")));
    let app = &t.apps[i];
    let full = if with_keys {
        app.render_with_keys()
    } else {
        app.render()
    };
    let v = od.project(full, "application")?;
    Ok(Reply::ok(with_context(
        v,
        ctx.context(&format!("{}/$entity", od.context_suffix("applications"))),
    )))
}

fn patch_app(ctx: &Ctx, k: &str) -> GResult {
    let input = validate_app(ctx, false)?;
    let mut t = ctx.state.tenant();
    let i = find_app_idx(ctx, &t, k)?;
    may_manage_app(ctx, &t.apps[i])?;
    merge(&mut t.apps[i].body, input);
    Ok(Reply::no_content())
}

pub(crate) fn remove_sp_cascade(t: &mut Tenant, sp_id: &str) {
    t.sps.retain(|s| s.id != sp_id);
    t.assignments
        .retain(|a| a.principal_id != sp_id && a.resource_id != sp_id);
    t.grants
        .retain(|g| g.client_id != sp_id && g.resource_id != sp_id);
    t.ex_assignments.retain(|a| a.sp_id != sp_id);
}

fn delete_app(ctx: &Ctx, k: &str) -> GResult {
    let mut t = ctx.state.tenant();
    let i = find_app_idx(ctx, &t, k)?;
    may_manage_app(ctx, &t.apps[i])?;
    let app = t.apps.remove(i);
    let sps: Vec<String> = t
        .sps
        .iter()
        .filter(|s| s.app_id == app.app_id)
        .map(|s| s.id.clone())
        .collect();
    for s in sps {
        remove_sp_cascade(&mut t, &s);
    }
    Ok(Reply::no_content())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct PasswordCredentialInput {
    display_name: Option<String>,
    start_date_time: Option<DateTime<Utc>>,
    end_date_time: Option<DateTime<Utc>>,
    #[allow(dead_code)]
    custom_key_identifier: Option<Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct AddPasswordInput {
    password_credential: Option<PasswordCredentialInput>,
}

fn secret_text() -> String {
    const ALPHA: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._~-";
    let mut bytes = Vec::with_capacity(48);
    for _ in 0..3 {
        bytes.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
    }
    let pick = |b: &u8| ALPHA[(*b as usize) % ALPHA.len()] as char;
    let head: String = bytes[..3]
        .iter()
        .map(|b| ALPHA[(*b as usize) % 62] as char)
        .collect();
    let tail: String = bytes[3..37].iter().map(pick).collect();
    format!("{head}8Q~{tail}")
}

fn add_password(ctx: &Ctx, k: &str) -> GResult {
    let input: AddPasswordInput = if ctx.body.iter().all(u8::is_ascii_whitespace) {
        AddPasswordInput {
            password_credential: None,
        }
    } else {
        parse_body(&ctx.body, "passwordCredential")?
    };
    let pc = input
        .password_credential
        .unwrap_or(PasswordCredentialInput {
            display_name: None,
            start_date_time: None,
            end_date_time: None,
            custom_key_identifier: None,
        });
    let now = Utc::now();
    let start = pc.start_date_time.unwrap_or(now);
    let end = pc.end_date_time.unwrap_or(start + Duration::days(730));
    if end <= start {
        return Err(GraphError::bad_request(
            "Invalid value specified for property 'endDateTime' of resource 'PasswordCredential'.",
        ));
    }
    let mut t = ctx.state.tenant();
    let i = find_app_idx(ctx, &t, k)?;
    may_manage_app(ctx, &t.apps[i])?;
    if let Some(days) = ctx.state.knobs().secret_max_lifetime_days {
        if end - start > Duration::days(i64::from(days)) {
            return Err(GraphError::bad_request(
                "Credential lifetime exceeds the max value allowed as per assigned policy.",
            )
            .with_code("CredentialInvalidLifetimeAsPerAppPolicy"));
        }
    }
    let text = secret_text();
    let secret = Secret::from_text(
        uuid::Uuid::new_v4().to_string(),
        &text,
        pc.display_name.clone(),
        start,
        end,
    );
    let out = json!({
        "@odata.context": ctx.context("microsoft.graph.passwordCredential"),
        "customKeyIdentifier": null,
        "displayName": pc.display_name,
        "endDateTime": fmt_time(&end),
        "hint": text.chars().take(3).collect::<String>(),
        "keyId": secret.key_id,
        "secretText": text,
        "startDateTime": fmt_time_frac(&start),
    });
    t.apps[i].secrets.push(secret);
    Ok(Reply::ok(out))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RemovePasswordInput {
    key_id: String,
}

fn remove_password(ctx: &Ctx, k: &str) -> GResult {
    let input: RemovePasswordInput = parse_body(&ctx.body, "removePassword")?;
    let mut t = ctx.state.tenant();
    let i = find_app_idx(ctx, &t, k)?;
    may_manage_app(ctx, &t.apps[i])?;
    let before = t.apps[i].secrets.len();
    t.apps[i]
        .secrets
        .retain(|s| !s.key_id.eq_ignore_ascii_case(&input.key_id));
    if t.apps[i].secrets.len() == before {
        return Err(GraphError::bad_request(format!(
            "No password credential found with keyId '{}'.",
            input.key_id
        )));
    }
    Ok(Reply::no_content())
}

impl GraphError {
    fn with_code(mut self, code: &str) -> Self {
        self.code = code.to_string();
        self
    }
}

// ---------------------------------------------------------------------------------------
// service principals

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[allow(dead_code)]
struct SpInput {
    app_id: Option<String>,
    tags: Option<Vec<String>>,
    app_role_assignment_required: Option<bool>,
    account_enabled: Option<bool>,
    notes: Option<String>,
    description: Option<String>,
    homepage: Option<String>,
    login_url: Option<String>,
    logout_url: Option<String>,
    notification_email_addresses: Option<Vec<String>>,
    preferred_single_sign_on_mode: Option<String>,
    app_description: Option<String>,
    display_name: Option<String>,
    id: Option<Value>,
}

fn find_sp_idx(ctx: &Ctx, t: &Tenant, k: &str) -> Result<usize, GraphError> {
    let delay = ctx.state.knobs().replication.object_read_ms;
    let found = match app_id_key(k) {
        Some(app_id) => t.sps.iter().position(|a| a.app_id == app_id),
        None => t.sps.iter().position(|a| a.id == k),
    };
    match found {
        Some(i) if !too_young(t.sps[i].created, delay) => Ok(i),
        _ => Err(GraphError::not_found(app_id_key(k).as_deref().unwrap_or(k))),
    }
}

fn may_manage_sp(ctx: &Ctx, t: &Tenant, sp: &ServicePrincipal) -> Result<(), GraphError> {
    match t.app_by_app_id(&sp.app_id) {
        Some(app) => may_manage_app(ctx, app),
        None => {
            ctx.require(&APP_WRITE_SCOPES, &["Application.ReadWrite.All"])?;
            ctx.require_role(&APP_MANAGERS)
        }
    }
}

fn list_sps(ctx: &Ctx) -> GResult {
    ctx.require(&APP_READ_SCOPES, &APP_READ_ROLES)?;
    let q = ListQuery::parse(ctx, &SP_FILTER, "ServicePrincipal")?;
    let od = &q.od;
    let t = ctx.state.tenant();
    let items: Vec<Value> = t
        .sps
        .iter()
        .filter(|s| q.keeps(&s.body))
        .map(|s| s.body.clone())
        .collect();
    ctx.page_reply(
        od,
        items,
        &od.context_suffix("servicePrincipals"),
        "servicePrincipal",
    )
}

fn create_sp(ctx: &Ctx) -> GResult {
    ctx.require(&APP_WRITE_SCOPES, &APP_WRITE_ROLES)?;
    let input: SpInput = parse_body(&ctx.body, "servicePrincipal")?;
    if input.id.is_some() {
        return Err(read_only("id"));
    }
    let app_id = input.app_id.clone().ok_or_else(|| {
        GraphError::bad_request(
            "Property 'appId' is required on type 'microsoft.graph.servicePrincipal'.",
        )
    })?;
    let delay = ctx.state.knobs().replication.app_to_sp_ms;
    let mut t = ctx.state.tenant();
    let no_backing = || {
        GraphError::bad_request(format!("The appId '{app_id}' of the service principal does not reference a valid application object."))
    };
    let app = t.app_by_app_id(&app_id).ok_or_else(no_backing)?;
    may_manage_app(ctx, app).or_else(|e| match &ctx.caller {
        Caller::User { .. }
            if ctx
                .user_roles()
                .iter()
                .any(|r| r == roles::APPLICATION_DEVELOPER) =>
        {
            Ok(())
        }
        _ => Err(e),
    })?;
    if too_young(app.created, delay) {
        return Err(no_backing());
    }
    if t.sp_by_app_id(&app_id).is_some() {
        return Err(GraphError::new(
            StatusCode::CONFLICT,
            "Request_MultipleObjectsWithSameKeyValue",
            "Another object with the same value for property servicePrincipalNames already exists.",
        ));
    }
    let id = uuid::Uuid::new_v4().to_string();
    let a = &app.body;
    let mut reply_urls: Vec<Value> = vec![];
    for k in ["web", "publicClient", "spa"] {
        reply_urls.extend(a[k]["redirectUris"].as_array().cloned().unwrap_or_default());
    }
    let mut spns = vec![json!(app_id)];
    spns.extend(a["identifierUris"].as_array().cloned().unwrap_or_default());
    let body = json!({
        "id": id,
        "deletedDateTime": null,
        "accountEnabled": input.account_enabled.unwrap_or(true),
        "appDisplayName": a["displayName"],
        "appId": app_id,
        "appOwnerOrganizationId": t.id,
        "appRoleAssignmentRequired": input.app_role_assignment_required.unwrap_or(false),
        "displayName": a["displayName"],
        "homepage": input.homepage.clone().map(Value::String).unwrap_or_else(|| a["web"]["homePageUrl"].clone()),
        "loginUrl": input.login_url,
        "logoutUrl": input.logout_url,
        "notes": input.notes,
        "preferredSingleSignOnMode": input.preferred_single_sign_on_mode,
        "replyUrls": reply_urls,
        "servicePrincipalNames": spns,
        "servicePrincipalType": "Application",
        "signInAudience": a["signInAudience"],
        "tags": input.tags.unwrap_or_default(),
        "addIns": [],
        "appRoles": a["appRoles"],
        "keyCredentials": [],
        "oauth2PermissionScopes": a["api"]["oauth2PermissionScopes"],
        "passwordCredentials": [],
        "info": a["info"],
    });
    let body = with_documented_sp_properties(body, &t.display_name);
    let out = with_context(body.clone(), ctx.context("servicePrincipals/$entity"));
    let location = format!("{}/servicePrincipals/{id}", ctx.base());
    t.sps.push(ServicePrincipal {
        id,
        app_id,
        body,
        created: Instant::now(),
    });
    let mut r = Reply::created(out);
    r.headers.push(("location", location));
    Ok(r)
}

fn get_sp(ctx: &Ctx, k: &str) -> GResult {
    ctx.require(&APP_READ_SCOPES, &APP_READ_ROLES)?;
    let od = ctx.odata()?;
    let t = ctx.state.tenant();
    let i = find_sp_idx(ctx, &t, k)?;
    let v = od.project(t.sps[i].body.clone(), "servicePrincipal")?;
    Ok(Reply::ok(with_context(
        v,
        ctx.context(&format!(
            "{}/$entity",
            od.context_suffix("servicePrincipals")
        )),
    )))
}

fn patch_sp(ctx: &Ctx, k: &str) -> GResult {
    let input: SpInput = parse_body(&ctx.body, "servicePrincipal")?;
    if input.app_id.is_some() {
        return Err(read_only("appId"));
    }
    if input.id.is_some() {
        return Err(read_only("id"));
    }
    let mut t = ctx.state.tenant();
    let i = find_sp_idx(ctx, &t, k)?;
    may_manage_sp(ctx, &t, &t.sps[i])?;
    let raw: Value = serde_json::from_slice(&ctx.body).unwrap_or_default();
    if let Some(o) = raw.as_object() {
        let mut o = o.clone();
        o.retain(|k, _| !k.starts_with("@odata."));
        merge(&mut t.sps[i].body, o);
    }
    Ok(Reply::no_content())
}

fn delete_sp(ctx: &Ctx, k: &str) -> GResult {
    let mut t = ctx.state.tenant();
    let i = find_sp_idx(ctx, &t, k)?;
    if t.sps[i].id == t.graph_sp_id {
        return Err(GraphError::denied());
    }
    may_manage_sp(ctx, &t, &t.sps[i])?;
    let id = t.sps[i].id.clone();
    remove_sp_cascade(&mut t, &id);
    Ok(Reply::no_content())
}

// ---------------------------------------------------------------------------------------
// app role assignments

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct AssignmentInput {
    principal_id: String,
    resource_id: String,
    app_role_id: String,
}

fn list_assignments(ctx: &Ctx, k: &str, assigned_to: bool) -> GResult {
    ctx.require(&APP_READ_SCOPES, &APP_READ_ROLES)?;
    let od = ctx.odata()?;
    let t = ctx.state.tenant();
    let i = find_sp_idx(ctx, &t, k)?;
    let id = &t.sps[i].id;
    let items: Vec<Value> = t
        .assignments
        .iter()
        .filter(|a| {
            if assigned_to {
                &a.resource_id == id
            } else {
                &a.principal_id == id
            }
        })
        .map(|a| a.body.clone())
        .collect();
    let rel = if assigned_to {
        "appRoleAssignedTo"
    } else {
        "appRoleAssignments"
    };
    ctx.page_reply(
        &od,
        items,
        &format!("servicePrincipals('{id}')/{rel}"),
        "appRoleAssignment",
    )
}

fn create_assignment(ctx: &Ctx, k: &str, assigned_to: bool) -> GResult {
    ctx.require(
        &["AppRoleAssignment.ReadWrite.All"],
        &["AppRoleAssignment.ReadWrite.All"],
    )?;
    let input: AssignmentInput = parse_body(&ctx.body, "appRoleAssignment")?;
    let knobs = ctx.state.knobs();
    let mut t = ctx.state.tenant();
    let path_idx = find_sp_idx(ctx, &t, k)?;
    let path_id = t.sps[path_idx].id.clone();
    if assigned_to && !input.resource_id.eq_ignore_ascii_case(&path_id) {
        return Err(GraphError::bad_request("The resourceId in the request body does not match the service principal in the request URL."));
    }
    if !assigned_to && !input.principal_id.eq_ignore_ascii_case(&path_id) {
        return Err(GraphError::bad_request("The principalId in the request body does not match the service principal in the request URL."));
    }
    // Borrowed, not cloned: Microsoft Graph's own service principal carries hundreds of roles
    // and scopes, and copying it made every grant slow enough to skew the apply benchmark.
    let resource = t
        .sp(&input.resource_id)
        .ok_or_else(|| GraphError::not_found(&input.resource_id))?;
    let microsoft_owned = resource.body["appOwnerOrganizationId"] == MICROSOFT_TENANT_ID;
    if microsoft_owned {
        ctx.require_role(&GRAPH_APP_ROLE_GRANTERS)?;
    } else {
        ctx.require_role(&DELEGATED_GRANTERS)?;
    }
    let (principal_type, principal_name, member_type) = if let Some(sp) = t.sp(&input.principal_id)
    {
        if too_young(sp.created, knobs.replication.sp_to_grant_ms) {
            return Err(GraphError::not_found(&input.principal_id));
        }
        ("ServicePrincipal", sp.display_name(), "Application")
    } else if let Some(u) = t.user(&input.principal_id) {
        ("User", u.display_name.clone(), "User")
    } else if let Some(g) = t.group(&input.principal_id) {
        ("Group", g.display_name.clone(), "User")
    } else {
        return Err(GraphError::not_found(&input.principal_id));
    };
    let no_roles = Vec::new();
    let roles_list = resource.body["appRoles"].as_array().unwrap_or(&no_roles);
    let role_ok = if input.app_role_id == ZERO_GUID {
        member_type == "User" || roles_list.is_empty()
    } else {
        roles_list.iter().any(|r| {
            r["id"]
                .as_str()
                .is_some_and(|id| id.eq_ignore_ascii_case(&input.app_role_id))
                && r["allowedMemberTypes"]
                    .as_array()
                    .is_some_and(|m| m.iter().any(|x| x == member_type))
        })
    };
    let (resource_id, resource_app_id, resource_name) = (
        resource.id.clone(),
        resource.app_id.clone(),
        resource.display_name(),
    );
    if !role_ok {
        return Err(GraphError::bad_request(format!(
            "Permission being assigned was not found on application '{}'.",
            resource_app_id
        )));
    }
    if t.assignments.iter().any(|a| {
        a.principal_id.eq_ignore_ascii_case(&input.principal_id)
            && a.resource_id == resource_id
            && a.app_role_id.eq_ignore_ascii_case(&input.app_role_id)
    }) {
        return Err(GraphError::bad_request(
            "Permission being assigned already exists on the object.",
        ));
    }
    let id = opaque_id();
    let body = json!({
        "id": id,
        "deletedDateTime": null,
        "appRoleId": input.app_role_id.to_lowercase(),
        "createdDateTime": fmt_time_frac(&Utc::now()),
        "principalDisplayName": principal_name,
        "principalId": input.principal_id.to_lowercase(),
        "principalType": principal_type,
        "resourceDisplayName": resource_name,
        "resourceId": resource_id,
    });
    let rel = if assigned_to {
        "appRoleAssignedTo"
    } else {
        "appRoleAssignments"
    };
    let out = with_context(
        body.clone(),
        ctx.context(&format!("servicePrincipals('{path_id}')/{rel}/$entity")),
    );
    t.assignments.push(AppRoleAssignment {
        id: id.clone(),
        principal_id: input.principal_id.to_lowercase(),
        resource_id,
        app_role_id: input.app_role_id.to_lowercase(),
        body,
        created: Instant::now(),
    });
    let mut r = Reply::created(out);
    r.headers.push((
        "location",
        format!("{}/servicePrincipals('{path_id}')/{rel}/{id}", ctx.base()),
    ));
    Ok(r)
}

fn delete_assignment(ctx: &Ctx, k: &str, a: &str, assigned_to: bool) -> GResult {
    ctx.require(
        &["AppRoleAssignment.ReadWrite.All"],
        &["AppRoleAssignment.ReadWrite.All"],
    )?;
    let mut t = ctx.state.tenant();
    let i = find_sp_idx(ctx, &t, k)?;
    let sp_id = t.sps[i].id.clone();
    let pos = t
        .assignments
        .iter()
        .position(|x| {
            x.id == a
                && if assigned_to {
                    x.resource_id == sp_id
                } else {
                    x.principal_id == sp_id
                }
        })
        .ok_or_else(|| GraphError::not_found(a))?;
    let resource_id = t.assignments[pos].resource_id.clone();
    let microsoft_owned = t
        .sp(&resource_id)
        .is_some_and(|r| r.body["appOwnerOrganizationId"] == MICROSOFT_TENANT_ID);
    ctx.require_role(if microsoft_owned {
        &GRAPH_APP_ROLE_GRANTERS[..]
    } else {
        &DELEGATED_GRANTERS[..]
    })?;
    t.assignments.remove(pos);
    Ok(Reply::no_content())
}

// ---------------------------------------------------------------------------------------
// oauth2PermissionGrants

const GRANT_READ_SCOPES: [&str; 5] = [
    "DelegatedPermissionGrant.ReadWrite.All",
    "DelegatedPermissionGrant.Read.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
    "Directory.AccessAsUser.All",
];
const GRANT_WRITE: [&str; 3] = [
    "DelegatedPermissionGrant.ReadWrite.All",
    "Directory.ReadWrite.All",
    "Directory.AccessAsUser.All",
];

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[allow(dead_code)]
struct GrantInput {
    client_id: String,
    consent_type: String,
    principal_id: Option<String>,
    resource_id: String,
    scope: Option<String>,
    start_time: Option<String>,
    expiry_time: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[allow(dead_code)]
struct GrantPatch {
    scope: Option<String>,
    start_time: Option<String>,
    expiry_time: Option<String>,
}

fn list_grants(ctx: &Ctx) -> GResult {
    ctx.require(&GRANT_READ_SCOPES, &GRANT_READ_SCOPES[..4])?;
    let od = ctx.odata()?;
    let filter = od
        .filter
        .as_deref()
        .map(|f| odata::parse_filter(f, &GRANT_FILTER, "OAuth2PermissionGrant"))
        .transpose()?;
    let t = ctx.state.tenant();
    let items: Vec<Value> = t
        .grants
        .iter()
        .map(Grant::to_graph)
        .filter(|v| filter.as_ref().is_none_or(|f| odata::eval(f, v)))
        .collect();
    ctx.page_reply(
        &od,
        items,
        &od.context_suffix("oauth2PermissionGrants"),
        "oAuth2PermissionGrant",
    )
}

fn create_grant(ctx: &Ctx) -> GResult {
    ctx.require(
        &GRANT_WRITE,
        &[
            "DelegatedPermissionGrant.ReadWrite.All",
            "Directory.ReadWrite.All",
        ],
    )?;
    let input: GrantInput = parse_body(&ctx.body, "oAuth2PermissionGrant")?;
    ctx.require_role(&DELEGATED_GRANTERS)?;
    match (input.consent_type.as_str(), &input.principal_id) {
        ("AllPrincipals", None) | ("Principal", Some(_)) => {}
        ("AllPrincipals", Some(_)) => return Err(GraphError::bad_request("principalId must be null when consentType is 'AllPrincipals'.")),
        ("Principal", None) => return Err(GraphError::bad_request("principalId is required when consentType is 'Principal'.")),
        (other, _) => return Err(GraphError::bad_request(format!("Invalid value specified for property 'consentType' of resource 'OAuth2PermissionGrant': '{other}'."))),
    }
    let knobs = ctx.state.knobs();
    let mut t = ctx.state.tenant();
    let client = t
        .sp(&input.client_id)
        .ok_or_else(|| GraphError::not_found(&input.client_id))?;
    if too_young(client.created, knobs.replication.sp_to_grant_ms) {
        return Err(GraphError::not_found(&input.client_id));
    }
    if t.sp(&input.resource_id).is_none() {
        return Err(GraphError::not_found(&input.resource_id));
    }
    if let Some(p) = &input.principal_id {
        if t.user(p).is_none() {
            return Err(GraphError::not_found(p));
        }
    }
    let dup = t.grants.iter().any(|g| {
        g.client_id.eq_ignore_ascii_case(&input.client_id)
            && g.resource_id.eq_ignore_ascii_case(&input.resource_id)
            && g.consent_type == input.consent_type
            && g.principal_id.as_deref().map(str::to_lowercase)
                == input.principal_id.as_deref().map(str::to_lowercase)
    });
    if dup {
        return Err(GraphError::new(
            StatusCode::CONFLICT,
            "Request_MultipleObjectsWithSameKeyValue",
            "Permission entry already exists.",
        ));
    }
    let g = Grant {
        id: opaque_id(),
        client_id: input.client_id.to_lowercase(),
        consent_type: input.consent_type,
        principal_id: input.principal_id.map(|p| p.to_lowercase()),
        resource_id: input.resource_id.to_lowercase(),
        scope: input.scope.unwrap_or_default(),
    };
    let out = with_context(g.to_graph(), ctx.context("oauth2PermissionGrants/$entity"));
    t.grants.push(g);
    Ok(Reply::created(out))
}

fn get_grant(ctx: &Ctx, id: &str) -> GResult {
    ctx.require(&GRANT_READ_SCOPES, &GRANT_READ_SCOPES[..4])?;
    let t = ctx.state.tenant();
    let g = t
        .grants
        .iter()
        .find(|g| g.id == id)
        .ok_or_else(|| GraphError::not_found(id))?;
    Ok(Reply::ok(with_context(
        g.to_graph(),
        ctx.context("oauth2PermissionGrants/$entity"),
    )))
}

fn patch_grant(ctx: &Ctx, id: &str) -> GResult {
    ctx.require(
        &GRANT_WRITE,
        &[
            "DelegatedPermissionGrant.ReadWrite.All",
            "Directory.ReadWrite.All",
        ],
    )?;
    let input: GrantPatch = parse_body(&ctx.body, "oAuth2PermissionGrant")?;
    ctx.require_role(&DELEGATED_GRANTERS)?;
    let mut t = ctx.state.tenant();
    let g = t
        .grants
        .iter_mut()
        .find(|g| g.id == id)
        .ok_or_else(|| GraphError::not_found(id))?;
    if let Some(s) = input.scope {
        g.scope = s;
    }
    Ok(Reply::no_content())
}

fn delete_grant(ctx: &Ctx, id: &str) -> GResult {
    ctx.require(
        &GRANT_WRITE,
        &[
            "DelegatedPermissionGrant.ReadWrite.All",
            "Directory.ReadWrite.All",
        ],
    )?;
    ctx.require_role(&DELEGATED_GRANTERS)?;
    let mut t = ctx.state.tenant();
    let before = t.grants.len();
    t.grants.retain(|g| g.id != id);
    if t.grants.len() == before {
        return Err(GraphError::not_found(id));
    }
    Ok(Reply::no_content())
}
