//! Which recipe does each app registration look like? An app is compared with every app of
//! every recipe by what it holds (the Graph permissions listed on it), its redirect URIs and
//! its name, and gets a confidence with the reason in words. Apps that match no recipe but
//! hold high-risk Graph application permissions are listed apart, so the admin sees them too.
//!
//! Pure: works on what [`super::read_apps`] read, so it costs no extra calls.

use serde::Serialize;

use super::read::TenantApp;
use crate::catalog::{Catalog, PermissionKind, Risk};
use crate::recipe::{AppSpec, Recipe};

/// How sure AppGrant is that an app was made for a recipe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Confidence {
    Low,
    Medium,
    High,
}

impl Confidence {
    pub fn label(self) -> &'static str {
        match self {
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
        }
    }
}

/// An app registration that looks like one app of a recipe.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VendorMatch {
    pub app: TenantApp,
    pub recipe_id: String,
    pub vendor: String,
    /// The recipe's key for the app it looks like (`main`, `calendar`, ...).
    pub app_key: String,
    pub confidence: Confidence,
    /// Why, in words ("holds Mail.ReadWrite ... as application permissions, like TonicDM").
    pub reason: String,
    /// Permissions the recipe asks for that the app does not list.
    pub missing: Vec<String>,
    /// Permissions the app lists that the recipe does not ask for (unknown ones included).
    pub extra: Vec<String>,
}

/// An app that matches no recipe but may do a lot of harm if its secret leaks.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RiskyApp {
    pub app: TenantApp,
    /// Its high-risk Graph application permissions.
    pub permissions: Vec<String>,
    pub reason: String,
}

/// What [`find`] found.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Findings {
    /// Best first (by confidence, then name).
    pub matches: Vec<VendorMatch>,
    pub risky: Vec<RiskyApp>,
    /// How many app registrations were looked at.
    pub apps_read: usize,
}

/// Matches `apps` with `recipes`; each app is reported once, with the recipe app it looks
/// most like.
pub fn find(apps: &[TenantApp], recipes: &[Recipe]) -> Findings {
    let catalog = Catalog::bundled().ok();
    let mut found = Findings {
        apps_read: apps.len(),
        ..Findings::default()
    };
    for app in apps {
        let best = recipes
            .iter()
            .flat_map(|r| r.apps.iter().map(move |spec| (r, spec)))
            .filter_map(|(r, spec)| score(app, r, spec))
            .max_by(|a, b| a.0.total_cmp(&b.0));
        match best {
            Some((_, m)) => found.matches.push(m),
            None => {
                if let Some(r) = risky(app, catalog) {
                    found.risky.push(r);
                }
            }
        }
    }
    found.matches.sort_by(|a, b| {
        b.confidence
            .cmp(&a.confidence)
            .then_with(|| a.app.display_name.cmp(&b.app.display_name))
    });
    found
        .risky
        .sort_by(|a, b| a.app.display_name.cmp(&b.app.display_name));
    found
}

/// Permissions too common to point at a vendor on their own.
const GENERIC: [&str; 3] = ["User.Read", "User.Read.All", "User.ReadBasic.All"];

/// How much `app` looks like `spec` of `recipe` (None: not at all).
pub(super) fn score(
    app: &TenantApp,
    recipe: &Recipe,
    spec: &AppSpec,
) -> Option<(f64, VendorMatch)> {
    let wanted: Vec<(&str, PermissionKind)> = spec
        .permissions
        .iter()
        .map(|p| (p.name.as_str(), p.kind))
        .collect();
    let holds = |name: &str, kind| app.names(kind).any(|n| n.eq_ignore_ascii_case(name));
    let held: Vec<(&str, PermissionKind)> = wanted
        .iter()
        .copied()
        .filter(|(n, k)| holds(n, *k))
        .collect();
    let missing: Vec<String> = wanted
        .iter()
        .filter(|w| !held.contains(w))
        .map(|(n, _)| n.to_string())
        .collect();
    let extra: Vec<String> = app
        .permissions
        .iter()
        .filter(|p| {
            p.name.as_deref().is_none_or(|n| {
                !wanted
                    .iter()
                    .any(|(w, k)| *k == p.kind && w.eq_ignore_ascii_case(n))
            }) && !(p.kind == PermissionKind::Delegated && p.name.as_deref() == Some("User.Read"))
        })
        .map(|p| p.label())
        .collect();
    let named = names_vendor(app, recipe, spec);
    let redirect = shares_redirect(app, spec);
    let coverage = if wanted.is_empty() {
        0.0
    } else {
        held.len() as f64 / wanted.len() as f64
    };
    // Entra adds delegated User.Read to every new app, and reading the user list is what
    // half the apps in a tenant do: neither says which vendor an app is for.
    let evidence = held.iter().any(|(n, _)| !GENERIC.contains(n));
    if !evidence && !named && !redirect {
        return None;
    }
    let confidence = if coverage >= 1.0 && (named || redirect || extra.len() <= 1) {
        Confidence::High
    } else if (coverage >= 0.6 && (named || redirect)) || coverage >= 1.0 {
        Confidence::Medium
    } else if named || coverage >= 0.5 {
        Confidence::Low
    } else {
        return None;
    };
    let value =
        coverage * 10.0 + f64::from(u8::from(named)) * 4.0 + f64::from(u8::from(redirect)) * 3.0
            - extra.len() as f64 * 0.5;
    let reason = reason(recipe, &held, &missing, &extra, named, redirect);
    Some((
        value,
        VendorMatch {
            app: app.clone(),
            recipe_id: recipe.id.clone(),
            vendor: recipe.vendor.clone(),
            app_key: spec.key.clone(),
            confidence,
            reason,
            missing,
            extra,
        },
    ))
}

/// Whether the app's name mentions the vendor (or equals the recipe's name for the app).
fn names_vendor(app: &TenantApp, recipe: &Recipe, spec: &AppSpec) -> bool {
    let name = app.display_name.to_lowercase();
    name.contains(&recipe.vendor.to_lowercase()) || name == spec.display_name.to_lowercase()
}

/// Whether a redirect URI of the app starts like one of the recipe's (its fixed part).
fn shares_redirect(app: &TenantApp, spec: &AppSpec) -> bool {
    let r = &spec.redirect_uris;
    r.web
        .iter()
        .chain(&r.spa)
        .chain(&r.public_client)
        .map(|t| t.source().split('{').next().unwrap_or_default())
        .filter(|fixed| fixed.len() > "https://".len() + 3)
        .any(|fixed| {
            app.redirect_uris
                .iter()
                .any(|u| u.to_lowercase().starts_with(&fixed.to_lowercase()))
        })
}

fn reason(
    recipe: &Recipe,
    held: &[(&str, PermissionKind)],
    missing: &[String],
    extra: &[String],
    named: bool,
    redirect: bool,
) -> String {
    let mut parts = Vec::new();
    for kind in [PermissionKind::Application, PermissionKind::Delegated] {
        let names: Vec<&str> = held
            .iter()
            .filter(|(_, k)| *k == kind)
            .map(|(n, _)| *n)
            .collect();
        if !names.is_empty() {
            parts.push(format!(
                "holds {} as {} permissions, like {}",
                words(&names),
                kind_word(kind),
                recipe.vendor
            ));
        }
    }
    if named {
        parts.push(format!("its name mentions {}", recipe.vendor));
    }
    if redirect {
        parts.push(format!("it sends sign-ins back to {}", recipe.vendor));
    }
    if !missing.is_empty() {
        let names: Vec<&str> = missing.iter().map(String::as_str).collect();
        parts.push(format!("lacks {}", words(&names)));
    }
    if !extra.is_empty() {
        let names: Vec<&str> = extra.iter().map(String::as_str).collect();
        parts.push(format!(
            "also holds {}, which the recipe does not ask for",
            words(&names)
        ));
    }
    let mut text = parts.join("; ");
    if let Some(first) = text.get(..1) {
        text = first.to_uppercase() + &text[1..];
    }
    text
}

fn kind_word(kind: PermissionKind) -> &'static str {
    match kind {
        PermissionKind::Application => "application",
        PermissionKind::Delegated => "delegated",
    }
}

/// "A", "A and B", "A, B and C".
pub(crate) fn words(names: &[&str]) -> String {
    match names {
        [] => String::new(),
        [one] => one.to_string(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// Families whose reading alone exposes people's private data (mail, files, chats).
const PRIVATE_DATA: [&str; 8] = [
    "Mail",
    "Files",
    "Sites",
    "Calendars",
    "Chat",
    "ChannelMessage",
    "Contacts",
    "Notes",
];

/// The app's high-risk Graph application permissions (anything that writes, sends or reads
/// private data), when it has any.
fn risky(app: &TenantApp, catalog: Option<&Catalog>) -> Option<RiskyApp> {
    let catalog = catalog?;
    let permissions: Vec<String> = app
        .names(PermissionKind::Application)
        .filter(|n| {
            catalog
                .get(PermissionKind::Application, n)
                .is_some_and(|p| p.risk() >= Risk::Write || PRIVATE_DATA.contains(&p.family()))
        })
        .map(str::to_string)
        .collect();
    if permissions.is_empty() {
        return None;
    }
    let names: Vec<&str> = permissions.iter().map(String::as_str).collect();
    Some(RiskyApp {
        reason: format!(
            "Matches no recipe but holds {} as application permissions: it can act on its own, without anyone signing in",
            words(&names)
        ),
        app: app.clone(),
        permissions,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adopt::read::PermissionNames;
    use serde_json::json;

    fn role(name: &str) -> serde_json::Value {
        let c = Catalog::bundled().unwrap();
        json!({"id": c.get(PermissionKind::Application, name).unwrap().id, "type": "Role"})
    }

    fn app(name: &str, access: Vec<serde_json::Value>) -> TenantApp {
        TenantApp::from_graph(
            &json!({
                "id": "obj", "appId": "app", "displayName": name,
                "requiredResourceAccess": [{"resourceAppId": crate::plan::GRAPH_APP_ID, "resourceAccess": access}],
            }),
            &PermissionNames::bundled(),
        )
    }

    fn recipes() -> Vec<Recipe> {
        crate::recipe::builtin().unwrap()
    }

    #[test]
    fn a_hand_made_tonicdm_is_found_with_its_extra_permission_in_words() {
        let tonic = app(
            "TonicDM Office 365",
            vec![
                role("Mail.ReadWrite"),
                role("MailboxSettings.ReadWrite"),
                role("User.Read.All"),
                role("Calendars.Read"),
            ],
        );
        let found = find(&[tonic], &recipes());
        let m = &found.matches[0];
        assert_eq!(m.recipe_id, "tonicdm");
        assert_eq!(m.confidence, Confidence::High);
        assert!(
            m.reason.starts_with("Holds MailboxSettings.ReadWrite, Mail.ReadWrite and User.Read.All as application permissions, like TonicDM"),
            "{}",
            m.reason
        );
        assert!(
            m.reason.contains("its name mentions TonicDM"),
            "{}",
            m.reason
        );
        assert_eq!(m.extra, vec!["Calendars.Read"]);
    }

    #[test]
    fn an_unknown_permission_is_named_by_its_id_and_does_not_stop_the_match() {
        let odd = json!({"id": "0e0e0e0e-1111-2222-3333-444444444444", "type": "Role"});
        let tonic = app(
            "Mail archiver",
            vec![
                role("Mail.ReadWrite"),
                role("MailboxSettings.ReadWrite"),
                role("User.Read.All"),
                odd,
            ],
        );
        let found = find(&[tonic], &recipes());
        let m = &found.matches[0];
        assert_eq!(m.recipe_id, "tonicdm");
        assert_eq!(m.confidence, Confidence::High, "{}", m.reason);
        assert!(m
            .reason
            .contains("an unknown permission (id 0e0e0e0e-1111-2222-3333-444444444444)"));
    }

    #[test]
    fn apps_matching_no_recipe_are_listed_only_when_they_hold_high_risk_permissions() {
        let risky_app = app("Old sync tool", vec![role("Directory.ReadWrite.All")]);
        let harmless = app("Reader", vec![role("Organization.Read.All")]);
        let found = find(&[risky_app, harmless], &recipes());
        assert!(found.matches.is_empty());
        assert_eq!(found.risky.len(), 1);
        assert_eq!(found.risky[0].app.display_name, "Old sync tool");
        assert!(found.risky[0].reason.contains("Directory.ReadWrite.All"));
        assert_eq!(found.apps_read, 2);
    }
}
