//! How Graph reads a request path before dispatch, and what the practice tenant says about
//! paths it does not model:
//! - `/v1.0/myorganization/...` is the signed-in tenant (real clients use it);
//! - segment names are case-insensitive (`/v1.0/serviceprincipals`, `appid='…'` keys), ids are
//!   left alone;
//! - a trailing `/$count` asks for the size of a collection (text/plain; directory objects need
//!   `ConsistencyLevel: eventual`);
//! - a path Microsoft Graph serves but the simulator does not model is a 501 `NotImplemented`
//!   naming what is missing, never a misleading "resource not found".

use crate::error::GraphError;
use axum::http::StatusCode;

/// Every segment name the dispatchers match, in Graph's spelling.
const SEGMENTS: &[&str] = &[
    "me",
    "users",
    "groups",
    "organization",
    "policies",
    "defaultAppManagementPolicy",
    "memberOf",
    "transitiveMemberOf",
    "microsoft.graph.directoryRole",
    "members",
    "applications",
    "servicePrincipals",
    "oauth2PermissionGrants",
    "addPassword",
    "removePassword",
    "appRoleAssignedTo",
    "appRoleAssignments",
    "roleManagement",
    "exchange",
    "customAppScopes",
    "roleAssignments",
    "roleDefinitions",
    "messages",
    "mailFolders",
    "calendar",
    "events",
    "mailboxSettings",
    "sendMail",
    "$batch",
    "$count",
];

/// Alternate keys Graph accepts in parentheses, in Graph's spelling.
const KEYS: &[&str] = &["appId="];

/// Documented Graph entity sets and singletons the practice tenant does not model.
const UNMODELLED_ROOTS: &[&str] = &[
    "admin",
    "administrativeUnits",
    "agreements",
    "appCatalogs",
    "applicationTemplates",
    "auditLogs",
    "authenticationMethodConfigurations",
    "authenticationMethodsPolicy",
    "chats",
    "communications",
    "connections",
    "contacts",
    "contracts",
    "deviceAppManagement",
    "deviceManagement",
    "devices",
    "directory",
    "directoryObjects",
    "directoryRoles",
    "directoryRoleTemplates",
    "domains",
    "drives",
    "education",
    "employeeExperience",
    "external",
    "groupLifecyclePolicies",
    "groupSettings",
    "groupSettingTemplates",
    "identity",
    "identityGovernance",
    "identityProtection",
    "identityProviders",
    "informationProtection",
    "invitations",
    "permissionGrantPolicies",
    "places",
    "planner",
    "print",
    "privacy",
    "reports",
    "schemaExtensions",
    "search",
    "security",
    "shares",
    "sites",
    "solutions",
    "storage",
    "subscribedSkus",
    "subscriptions",
    "teams",
    "teamwork",
    "tenantRelationships",
];

/// Documented relationships and actions of the modelled entities that the simulator does not
/// model (`{entity set}/{id}/{name}`, or `me/{name}`).
const UNMODELLED_CHILDREN: &[(&str, &[&str])] = &[
    (
        "applications",
        &[
            "owners",
            "extensionProperties",
            "federatedIdentityCredentials",
            "tokenIssuancePolicies",
            "tokenLifetimePolicies",
            "appManagementPolicies",
            "homeRealmDiscoveryPolicies",
            "createdOnBehalfOf",
            "setVerifiedPublisher",
            "unsetVerifiedPublisher",
            "synchronization",
            "logo",
            "restore",
            "checkMemberGroups",
            "checkMemberObjects",
            "getMemberGroups",
            "getMemberObjects",
        ],
    ),
    (
        "servicePrincipals",
        &[
            "owners",
            "ownedObjects",
            "createdObjects",
            "memberOf",
            "transitiveMemberOf",
            "oauth2PermissionGrants",
            "claimsMappingPolicies",
            "delegatedPermissionClassifications",
            "endpoints",
            "homeRealmDiscoveryPolicies",
            "tokenIssuancePolicies",
            "tokenLifetimePolicies",
            "addKey",
            "removeKey",
            "addPassword",
            "removePassword",
            "addTokenSigningCertificate",
            "synchronization",
            "remoteDesktopSecurityConfiguration",
        ],
    ),
    (
        "users",
        &[
            "memberOf",
            "transitiveMemberOf",
            "ownedObjects",
            "ownedDevices",
            "registeredDevices",
            "createdObjects",
            "manager",
            "directReports",
            "photo",
            "photos",
            "appRoleAssignments",
            "oauth2PermissionGrants",
            "licenseDetails",
            "authentication",
            "drive",
            "drives",
            "calendars",
            "contacts",
            "onenote",
            "outlook",
            "people",
            "planner",
            "presence",
            "joinedTeams",
            "chats",
            "todo",
            "insights",
            "settings",
            "extensions",
        ],
    ),
    (
        "groups",
        &[
            "owners",
            "transitiveMembers",
            "memberOf",
            "transitiveMemberOf",
            "appRoleAssignments",
            "drive",
            "drives",
            "sites",
            "team",
            "conversations",
            "threads",
            "events",
            "calendar",
            "photo",
            "settings",
            "extensions",
        ],
    ),
];

/// What the path asks for once Graph has read it.
#[derive(Debug, Clone, PartialEq)]
pub struct Normalized {
    pub segs: Vec<String>,
    /// The path ended in `/$count`.
    pub count: bool,
}

/// Drops `myorganization`, spells known segment names and key names as Graph does, and takes
/// off a trailing `/$count`.
pub fn normalize(segs: Vec<String>) -> Normalized {
    let mut out: Vec<String> = segs
        .into_iter()
        .enumerate()
        .filter(|(i, s)| !(*i == 0 && s.eq_ignore_ascii_case("myorganization")))
        .map(|(_, s)| canonical(s))
        .collect();
    let count = out.len() > 1 && out.last().is_some_and(|s| s == "$count");
    if count {
        out.pop();
    }
    Normalized { segs: out, count }
}

fn canonical(seg: String) -> String {
    if let Some(known) = SEGMENTS.iter().find(|k| k.eq_ignore_ascii_case(&seg)) {
        return (*known).to_string();
    }
    for key in KEYS {
        if let Some(head) = seg.get(..key.len()) {
            if head.eq_ignore_ascii_case(key) {
                return format!("{key}{}", &seg[key.len()..]);
            }
        }
    }
    seg
}

/// A 501 for a documented Graph path the practice tenant does not model, if `segs` is one.
pub fn not_modelled(segs: &[String]) -> Option<GraphError> {
    let find = |list: &[&str], name: &str| {
        list.iter()
            .find(|k| k.eq_ignore_ascii_case(name))
            .map(|k| k.to_string())
    };
    let first = segs.first()?;
    if let Some(root) = find(UNMODELLED_ROOTS, first) {
        return Some(not_implemented(&format!("/{root}")));
    }
    let (set, child) = match segs {
        [me, child, ..] if me == "me" => ("users", child),
        [set, _, child, ..] => (set.as_str(), child),
        _ => return None,
    };
    let (_, children) = UNMODELLED_CHILDREN.iter().find(|(s, _)| *s == set)?;
    let name = find(children, child)?;
    let shown = if segs[0] == "me" {
        format!("/me/{name}")
    } else {
        format!("/{set}/{{id}}/{name}")
    };
    Some(not_implemented(&shown))
}

/// Graph's `NotImplemented` answer, saying what the practice tenant lacks.
pub fn not_implemented(what: &str) -> GraphError {
    GraphError::new(
        StatusCode::NOT_IMPLEMENTED,
        "NotImplemented",
        format!("{what} is part of Microsoft Graph but is not modelled by the practice tenant (appgrant-sim). Run this request against a real tenant."),
    )
}

/// Collections whose `/$count` the simulator answers (all directory objects: Microsoft requires
/// `ConsistencyLevel: eventual` for them), by route template.
pub const COUNTABLE: &[&str] = &[
    "/users",
    "/groups",
    "/groups/{id}/members",
    "/applications",
    "/servicePrincipals",
    "/me/memberOf",
    "/me/transitiveMemberOf",
    "/me/transitiveMemberOf/microsoft.graph.directoryRole",
    "/me/memberOf/microsoft.graph.directoryRole",
    "/servicePrincipals/{id}/appRoleAssignedTo",
    "/servicePrincipals/{id}/appRoleAssignments",
    "/oauth2PermissionGrants",
];

#[cfg(test)]
mod tests {
    use super::*;

    fn segs(p: &str) -> Vec<String> {
        p.split('/').map(str::to_string).collect()
    }

    #[test]
    fn myorganization_case_and_count_are_read_like_graph() {
        let n = normalize(segs("myorganization/SERVICEPRINCIPALS/AppID='x'/$count"));
        assert_eq!(n.segs, ["servicePrincipals", "appId='x'"]);
        assert!(n.count);
        let n = normalize(segs("users/Robin.User@Contoso/memberof"));
        assert_eq!(n.segs, ["users", "Robin.User@Contoso", "memberOf"]);
        assert!(!n.count);
        assert_eq!(normalize(segs("$count")).segs, ["$count"]);
    }

    #[test]
    fn unmodelled_graph_paths_are_named() {
        let e = not_modelled(&segs("devices")).unwrap();
        assert_eq!(e.status, StatusCode::NOT_IMPLEMENTED);
        assert!(e.message.starts_with("/devices is part of Microsoft Graph"));
        let e = not_modelled(&segs("applications/123/owners")).unwrap();
        assert!(e.message.starts_with("/applications/{id}/owners"));
        let e = not_modelled(&segs("me/ownedObjects")).unwrap();
        assert!(e.message.starts_with("/me/ownedObjects"));
        assert!(not_modelled(&segs("nonsense")).is_none());
        assert!(not_modelled(&segs("applications/123/nonsense")).is_none());
    }
}
