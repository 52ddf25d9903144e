//! Errors of the mailbox-limiting module, each with a stable code the UI can branch on and a
//! hint that says what to do next.

use crate::graph::{ErrorClass, GraphError};

#[derive(Debug, thiserror::Error)]
pub enum ScopeError {
    #[error("Microsoft Graph could not complete the request: {0}")]
    Graph(#[from] GraphError),
    #[error("the signed-in account may not {action}")]
    NotAllowed { action: String, who: String },
    #[error("choose at least one user or group for {app}")]
    NoRecipients { app: String },
    #[error("{app} is not part of this connection")]
    UnknownApp { app: String },
    #[error("{permission} cannot be limited to chosen mailboxes")]
    NotScopable { permission: String },
    #[error("Exchange Online in this tenant does not offer the role \"{role}\" (needed for {permission})")]
    RoleMissing { permission: String, role: String },
    #[error("{app} does not offer \"only these users may sign in\"")]
    SignInLimitNotOffered { app: String },
    #[error("the connection has no mailbox limit to change")]
    NoScope,
}

impl ScopeError {
    /// A stable code for the UI and the CLI.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Graph(e) if e.class() == ErrorClass::Denied => "scope.denied",
            Self::Graph(_) => "scope.graph",
            Self::NotAllowed { .. } => "scope.not_allowed",
            Self::NoRecipients { .. } => "scope.no_recipients",
            Self::UnknownApp { .. } => "scope.unknown_app",
            Self::NotScopable { .. } => "scope.not_scopable",
            Self::RoleMissing { .. } => "scope.role_missing",
            Self::SignInLimitNotOffered { .. } => "scope.sign_in_limit_not_offered",
            Self::NoScope => "scope.no_scope",
        }
    }

    /// What the person should do next.
    pub fn hint(&self) -> String {
        match self {
            Self::Graph(e) if e.class() == ErrorClass::Denied => "Your account lacks a role this needs. Limiting mailboxes needs an Exchange Administrator (or Global Administrator); removing the tenant-wide grant needs a Global Administrator or Privileged Role Administrator. Send the hand-off to someone who has it.".to_string(),
            Self::Graph(e) if matches!(e.class(), ErrorClass::Throttled | ErrorClass::Transient) => {
                "Microsoft is busy or had a temporary problem. Try again in a few minutes; nothing is duplicated by a re-run.".to_string()
            }
            Self::Graph(_) => "Try again; if it keeps failing, attach the log file to a support ticket.".to_string(),
            Self::NotAllowed { who, .. } => format!("Ask {who} to do it, using the hand-off AppGrant prepared."),
            Self::NoRecipients { .. } => "Search for the people or groups whose mailboxes the app may use, and add at least one.".to_string(),
            Self::UnknownApp { .. } => "Run Apply for the connection first.".to_string(),
            Self::NotScopable { .. } => "Only Mail.*, Calendars.*, MailboxSettings.* and Contacts.* application permissions can be limited with Exchange.".to_string(),
            Self::RoleMissing { .. } => "Check Exchange's application roles with Get-ManagementRole | ? Name -like 'Application *' and tell us what you see.".to_string(),
            Self::SignInLimitNotOffered { .. } => "Sign-in limiting only applies to apps people sign in to; use the mailbox limit for app-only access.".to_string(),
            Self::NoScope => "Limit the app to chosen users first.".to_string(),
        }
    }
}
