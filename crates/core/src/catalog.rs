//! The Microsoft Graph permission catalog bundled with AppGrant.
//!
//! `data/permissions.json` (see `data/SOURCE.md`) is embedded at compile time (deflated). It is used to
//! validate recipes offline, to explain each permission in plain words and to rank its risk.
//! At run time the permission ids are resolved again from the tenant's own Graph service
//! principal; the ids here are for display and validation only.

use std::collections::HashMap;
use std::fmt;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

const PERMISSIONS_DEFLATED: &[u8] = crate::data_file::deflated!("permissions.json");

/// Whether a permission is used by the app on its own (an app role, granted by an admin) or
/// on behalf of a signed-in user (an OAuth2 scope).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum PermissionKind {
    Application,
    Delegated,
}

impl PermissionKind {
    pub fn other(self) -> Self {
        match self {
            Self::Application => Self::Delegated,
            Self::Delegated => Self::Application,
        }
    }

    /// "an application" / "a delegated", for sentences.
    pub fn with_article(self) -> &'static str {
        match self {
            Self::Application => "an application",
            Self::Delegated => "a delegated",
        }
    }

    /// The word the Entra portal uses ("Application" / "Delegated" permissions).
    pub fn portal_name(self) -> &'static str {
        match self {
            Self::Application => "application",
            Self::Delegated => "delegated",
        }
    }
}

impl fmt::Display for PermissionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.portal_name())
    }
}

/// How much harm a permission can do if the vendor's secret leaks, in the order an admin
/// would rank them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Risk {
    /// Can only read.
    Read,
    /// Can create, change or delete data.
    Write,
    /// Can send messages as people in the organisation.
    Send,
    /// Can change the directory itself: apps, roles, permissions, users or groups.
    DirectoryWide,
}

impl Risk {
    pub fn label(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Write => "write",
            Self::Send => "send",
            Self::DirectoryWide => "directory-wide",
        }
    }
}

/// One entry of the catalog, as Microsoft publishes it.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Permission {
    pub value: String,
    pub kind: PermissionKind,
    pub id: String,
    pub display_name: String,
    pub description: String,
    pub admin_consent_required: bool,
    pub is_enabled: bool,
}

/// Resource families whose application permissions reach into mailboxes, and which Exchange
/// Online RBAC for Applications can therefore limit to chosen mailboxes.
const MAILBOX_FAMILIES: &[&str] = &["Mail", "Calendars", "MailboxSettings", "Contacts"];

/// Resource families that control the directory itself.
const DIRECTORY_FAMILIES: &[&str] = &[
    "Directory",
    "RoleManagement",
    "AppRoleAssignment",
    "Application",
    "DelegatedPermissionGrant",
    "Policy",
    "User",
    "Group",
    "GroupMember",
    "Domain",
    "Organization",
    "PrivilegedAccess",
    "RoleAssignmentSchedule",
    "RoleEligibilitySchedule",
];

/// Plain-language sentences for the permissions vendors ask for most, written for a
/// non-technical admin. Everything else falls back to Microsoft's own description.
const PLAIN_SUMMARIES: &[(PermissionKind, &str, &str)] = &[
    (PermissionKind::Application, "Mail.ReadWrite", "Read, change and delete e-mail in every mailbox"),
    (PermissionKind::Application, "Mail.Read", "Read e-mail in every mailbox"),
    (PermissionKind::Application, "Mail.ReadBasic.All", "See senders, subjects and dates of e-mail in every mailbox (not the message text or attachments)"),
    (PermissionKind::Application, "Mail.Send", "Send e-mail as any person in your organisation"),
    (PermissionKind::Application, "MailboxSettings.ReadWrite", "Read and change mailbox settings (time zone, automatic replies) of every mailbox"),
    (PermissionKind::Application, "MailboxSettings.Read", "Read mailbox settings of every mailbox"),
    (PermissionKind::Application, "Calendars.Read", "Read calendars of every mailbox"),
    (PermissionKind::Application, "Calendars.ReadWrite", "Read and change calendars of every mailbox"),
    (PermissionKind::Application, "Contacts.Read", "Read contacts in every mailbox"),
    (PermissionKind::Application, "Contacts.ReadWrite", "Read and change contacts in every mailbox"),
    (PermissionKind::Application, "User.Read.All", "Read the profile of every user (name, e-mail address, job title)"),
    (PermissionKind::Application, "Directory.Read.All", "Read everything in your directory: users, groups, apps and devices"),
    (PermissionKind::Delegated, "User.Read", "Let people sign in and read their own profile"),
    (PermissionKind::Delegated, "Mail.ReadWrite", "Read, change and delete e-mail in the mailbox of the person who signs in"),
    (PermissionKind::Delegated, "Mail.Read", "Read e-mail in the mailbox of the person who signs in"),
    (PermissionKind::Delegated, "Mail.ReadBasic", "See senders, subjects and dates of e-mail of the person who signs in"),
    (PermissionKind::Delegated, "Mail.Send", "Send e-mail as the person who signs in"),
    (PermissionKind::Delegated, "offline_access", "Stay connected after the person signs in, until access is revoked"),
    (PermissionKind::Delegated, "openid", "Let people sign in"),
    (PermissionKind::Delegated, "profile", "See the basic profile of the person who signs in"),
    (PermissionKind::Delegated, "email", "See the e-mail address of the person who signs in"),
];

impl Permission {
    /// The resource family: `Mail` for `Mail.ReadWrite`, `offline_access` for itself.
    pub fn family(&self) -> &str {
        self.value.split('.').next().unwrap_or(&self.value)
    }

    /// Whether Exchange Online RBAC for Applications can limit this permission to chosen
    /// mailboxes (only application permissions reach every mailbox in the first place).
    pub fn is_mailbox_scoped(&self) -> bool {
        self.kind == PermissionKind::Application && MAILBOX_FAMILIES.contains(&self.family())
    }

    /// A sentence an admin can understand, without the "Allows the app to" preamble.
    pub fn summary(&self) -> String {
        if let Some((_, _, text)) = PLAIN_SUMMARIES
            .iter()
            .find(|(kind, value, _)| *kind == self.kind && *value == self.value)
        {
            return (*text).to_string();
        }
        let text = self.description.trim();
        let text = text
            .strip_prefix("Allows the app to ")
            .or_else(|| text.strip_prefix("Allows an app to "))
            .unwrap_or(text);
        let text = text.trim_end_matches('.');
        let mut chars = text.chars();
        match chars.next() {
            Some(first) => first.to_uppercase().chain(chars).collect(),
            None => self.display_name.trim().to_string(),
        }
    }

    /// The permission's risk level, derived from what its name says it may do.
    pub fn risk(&self) -> Risk {
        let action = self.value.split_once('.').map_or("", |(_, rest)| rest);
        let writes = [
            "ReadWrite",
            "Write",
            "Create",
            "Manage",
            "Delete",
            "Import",
            "Invite",
        ]
        .iter()
        .any(|w| action.contains(w));
        if writes && DIRECTORY_FAMILIES.contains(&self.family()) {
            return Risk::DirectoryWide;
        }
        if action
            .split('.')
            .any(|part| part == "Send" || part == "SendAs")
        {
            return Risk::Send;
        }
        if writes {
            return Risk::Write;
        }
        Risk::Read
    }
}

/// Why a permission name could not be found, with the fix to suggest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LookupError {
    /// The name exists, but only as the other kind.
    WrongKind {
        name: String,
        asked: PermissionKind,
        /// A permission of the asked kind that is probably what was meant (`User.Read.All`
        /// for application `User.Read`).
        alternative: Option<String>,
    },
    /// No such permission in Microsoft Graph.
    Unknown {
        name: String,
        kind: PermissionKind,
        suggestion: Option<String>,
    },
}

impl LookupError {
    /// What went wrong, in one sentence.
    pub fn message(&self) -> String {
        match self {
            Self::WrongKind { name, asked, .. } => format!(
                "{name} is {} permission, not {} one",
                asked.other().with_article(),
                asked.with_article()
            ),
            Self::Unknown { name, kind, .. } => {
                format!("{name} is not a Microsoft Graph {kind} permission")
            }
        }
    }

    /// What to do about it, when we can tell.
    pub fn fix(&self) -> Option<String> {
        match self {
            Self::WrongKind {
                name,
                asked,
                alternative,
            } => Some(match alternative {
                Some(alt) => format!(
                    "did you mean {alt}? (or move {name} to the {} list)",
                    asked.other()
                ),
                None => format!("move {name} to the {} list", asked.other()),
            }),
            Self::Unknown { suggestion, .. } => {
                suggestion.as_ref().map(|s| format!("did you mean {s}?"))
            }
        }
    }
}

/// The bundled catalog with lookups by kind and name.
pub struct Catalog {
    entries: Vec<Permission>,
    by_name: HashMap<(PermissionKind, String), usize>,
}

/// The bundled catalog could not be read (only possible if the data file is corrupted).
#[derive(Debug, Clone, thiserror::Error)]
#[error("the bundled permission catalog is damaged: {0}")]
pub struct CatalogError(String);

impl Catalog {
    /// Parses a catalog from Microsoft's JSON shape (see `data/SOURCE.md`).
    pub fn from_json(json: &str) -> Result<Self, CatalogError> {
        let entries: Vec<Permission> =
            serde_json::from_str(json).map_err(|e| CatalogError(e.to_string()))?;
        let by_name = entries
            .iter()
            .enumerate()
            .map(|(i, p)| ((p.kind, p.value.clone()), i))
            .collect();
        Ok(Self { entries, by_name })
    }

    /// The catalog embedded in the binary, parsed once.
    pub fn bundled() -> Result<&'static Catalog, CatalogError> {
        static CATALOG: OnceLock<Result<Catalog, CatalogError>> = OnceLock::new();
        CATALOG
            .get_or_init(|| Catalog::from_json(&crate::data_file::inflate(PERMISSIONS_DEFLATED)))
            .as_ref()
            .map_err(Clone::clone)
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Permission> {
        self.entries.iter()
    }

    /// Exact, case-sensitive lookup (Graph permission values are case-sensitive).
    pub fn get(&self, kind: PermissionKind, name: &str) -> Option<&Permission> {
        self.by_name
            .get(&(kind, name.to_string()))
            .and_then(|&i| self.entries.get(i))
    }

    /// Looks a name up and, when it is not there, works out what the author meant.
    pub fn lookup(&self, kind: PermissionKind, name: &str) -> Result<&Permission, LookupError> {
        if let Some(found) = self.get(kind, name) {
            return Ok(found);
        }
        if self.get(kind.other(), name).is_some() {
            let alternative = match kind {
                PermissionKind::Application => Some(format!("{name}.All")),
                PermissionKind::Delegated => name.strip_suffix(".All").map(str::to_string),
            }
            .filter(|alt| self.get(kind, alt).is_some());
            return Err(LookupError::WrongKind {
                name: name.to_string(),
                asked: kind,
                alternative,
            });
        }
        Err(LookupError::Unknown {
            name: name.to_string(),
            kind,
            suggestion: self.nearest(kind, name),
        })
    }

    /// The closest permission name of this kind, if one is close enough to be a typo.
    fn nearest(&self, kind: PermissionKind, name: &str) -> Option<String> {
        let wanted = name.to_lowercase();
        let limit = (wanted.chars().count() / 4).clamp(1, 3);
        self.entries
            .iter()
            .filter(|p| p.kind == kind)
            .map(|p| (edit_distance(&wanted, &p.value.to_lowercase()), &p.value))
            .filter(|(distance, _)| *distance <= limit)
            .min_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.cmp(b.1)))
            .map(|(_, value)| value.clone())
    }
}

/// Levenshtein distance over characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    let mut current = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        current[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        std::mem::swap(&mut previous, &mut current);
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalog() -> &'static Catalog {
        Catalog::bundled().expect("bundled catalog parses")
    }

    #[test]
    fn bundled_catalog_has_every_graph_permission() {
        let c = catalog();
        let apps = c
            .iter()
            .filter(|p| p.kind == PermissionKind::Application)
            .count();
        let delegated = c
            .iter()
            .filter(|p| p.kind == PermissionKind::Delegated)
            .count();
        assert_eq!((apps, delegated), (716, 807), "counts from data/SOURCE.md");
    }

    #[test]
    fn ids_match_the_ones_microsoft_publishes() {
        let c = catalog();
        let id = |k, n| c.get(k, n).map(|p| p.id.as_str());
        assert_eq!(
            id(PermissionKind::Application, "Mail.ReadWrite"),
            Some("e2a3a72e-5f79-4c64-b1b1-878b674786c9")
        );
        assert_eq!(
            id(PermissionKind::Delegated, "User.Read"),
            Some("e1fe6dd8-ba31-4d61-89e7-88639da4683d")
        );
        // User.Export.All shares one GUID across both kinds; lookups must be by kind.
        assert!(c
            .get(PermissionKind::Application, "User.Export.All")
            .is_some());
        assert!(c
            .get(PermissionKind::Delegated, "User.Export.All")
            .is_some());
    }

    #[test]
    fn a_typo_gets_the_permission_that_was_meant() {
        let err = catalog()
            .lookup(PermissionKind::Application, "Email.Send")
            .expect_err("Email.Send does not exist");
        assert_eq!(
            err.message(),
            "Email.Send is not a Microsoft Graph application permission"
        );
        assert_eq!(err.fix().as_deref(), Some("did you mean Mail.Send?"));
    }

    #[test]
    fn wrong_case_is_caught_and_corrected() {
        let err = catalog()
            .lookup(PermissionKind::Application, "mail.readwrite")
            .expect_err("values are case-sensitive");
        assert_eq!(err.fix().as_deref(), Some("did you mean Mail.ReadWrite?"));
    }

    #[test]
    fn nonsense_gets_no_suggestion() {
        let err = catalog()
            .lookup(PermissionKind::Application, "Teleport.Everything")
            .expect_err("not a permission");
        assert_eq!(err.fix(), None, "a far-off guess would mislead");
    }

    #[test]
    fn delegated_name_under_application_points_to_the_all_variant() {
        let err = catalog()
            .lookup(PermissionKind::Application, "User.Read")
            .expect_err("User.Read is delegated only");
        assert_eq!(
            err.message(),
            "User.Read is a delegated permission, not an application one"
        );
        assert_eq!(
            err.fix().as_deref(),
            Some("did you mean User.Read.All? (or move User.Read to the delegated list)")
        );
        let err = catalog()
            .lookup(PermissionKind::Application, "offline_access")
            .expect_err("offline_access is delegated only");
        assert_eq!(
            err.fix().as_deref(),
            Some("move offline_access to the delegated list")
        );
    }

    #[test]
    fn risk_levels_rank_what_a_leak_would_cost() {
        let c = catalog();
        let risk = |k, n: &str| c.get(k, n).map(Permission::risk);
        use PermissionKind::*;
        assert_eq!(risk(Application, "Mail.ReadBasic.All"), Some(Risk::Read));
        assert_eq!(risk(Application, "User.Read.All"), Some(Risk::Read));
        assert_eq!(risk(Application, "Mail.ReadWrite"), Some(Risk::Write));
        assert_eq!(risk(Application, "Calendars.ReadWrite"), Some(Risk::Write));
        assert_eq!(risk(Application, "Mail.Send"), Some(Risk::Send));
        assert_eq!(
            risk(Application, "Directory.ReadWrite.All"),
            Some(Risk::DirectoryWide)
        );
        assert_eq!(
            risk(Application, "AppRoleAssignment.ReadWrite.All"),
            Some(Risk::DirectoryWide)
        );
        assert_eq!(risk(Delegated, "offline_access"), Some(Risk::Read));
        assert!(Risk::Send > Risk::Write && Risk::DirectoryWide > Risk::Send);
    }

    #[test]
    fn summaries_are_plain_sentences() {
        let c = catalog();
        let summary = |k, n: &str| c.get(k, n).map(Permission::summary);
        assert_eq!(
            summary(PermissionKind::Application, "Mail.Send").as_deref(),
            Some("Send e-mail as any person in your organisation")
        );
        // Fallback: Microsoft's description without the "Allows the app to" preamble.
        let fallback = summary(PermissionKind::Application, "Sites.Read.All").unwrap_or_default();
        assert!(!fallback.starts_with("Allows"), "{fallback}");
        assert!(fallback.starts_with(char::is_uppercase), "{fallback}");
        assert!(!fallback.ends_with('.'), "{fallback}");
    }

    #[test]
    fn only_application_mailbox_permissions_can_be_limited_to_mailboxes() {
        let c = catalog();
        let scoped = |k, n: &str| c.get(k, n).map(Permission::is_mailbox_scoped);
        assert_eq!(
            scoped(PermissionKind::Application, "Mail.ReadWrite"),
            Some(true)
        );
        assert_eq!(
            scoped(PermissionKind::Application, "Calendars.ReadWrite"),
            Some(true)
        );
        assert_eq!(
            scoped(PermissionKind::Application, "MailboxSettings.ReadWrite"),
            Some(true)
        );
        assert_eq!(
            scoped(PermissionKind::Application, "User.Read.All"),
            Some(false)
        );
        assert_eq!(
            scoped(PermissionKind::Delegated, "Mail.ReadWrite"),
            Some(false)
        );
    }

    #[test]
    fn edit_distance_counts_single_edits() {
        assert_eq!(edit_distance("email.send", "mail.send"), 1);
        assert_eq!(edit_distance("abc", "abc"), 0);
        assert_eq!(edit_distance("", "abc"), 3);
    }
}
