//! Lifecycle errors (check, rotate, finish) in plain language, each with what to do next.

use serde::Serialize;

use crate::graph::GraphError;
use crate::identity::SignInError;
use crate::vault::VaultError;

/// Stable codes the UI and CLI branch on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LifecycleCode {
    /// No saved connection (or app) with that id.
    NotFound,
    /// The caller's sign-in is missing or for another tenant.
    SignIn,
    /// Microsoft Graph refused or failed.
    Tenant,
    /// The app registration is gone from the tenant.
    AppDeleted,
    /// The tenant's app management policy refused the new secret.
    SecretPolicy,
    /// The OS credential store failed; nothing was lost.
    Keyring,
    /// The new secret did not work; the old one was left in place.
    NotProved,
    /// There is no rotation waiting to be finished.
    NothingToFinish,
    /// The grace period has not ended and the admin has not confirmed.
    GraceNotOver,
    /// The connection's recipe is not known to this AppGrant.
    UnknownRecipe,
    /// The connection records no client secret to rotate.
    NoSecret,
    /// The current secret is missing (from the tenant or this computer): rotate first.
    SecretNotUsable,
    /// A choice out of range (the secret lifetime).
    InvalidInput,
    /// The data folder could not be written.
    Storage,
    /// Stopped on request; run again to continue where it stopped.
    Cancelled,
}

#[derive(Debug, thiserror::Error)]
pub enum LifecycleError {
    #[error("There is no saved connection with id {0}.")]
    NotFound(String),
    #[error("Sign in to the connection's tenant first.")]
    NotSignedIn,
    #[error("You are signed in to the tenant {signed_in}, but this connection is in {expected}.")]
    WrongTenant { signed_in: String, expected: String },
    #[error("{what} failed: {source}")]
    Graph {
        what: String,
        #[source]
        source: GraphError,
    },
    #[error("The app \"{app}\" no longer exists in the tenant, so its secret cannot be rotated.")]
    AppDeleted { app: String },
    #[error("Your organisation's app management policy refused the new client secret ({detail}).")]
    SecretPolicy { detail: String },
    #[error("The new secret could not be saved in this computer's credential store ({detail}).")]
    Keyring { detail: String },
    #[error(
        "The new secret for \"{app}\" did not work ({detail}); the old secret was left in place."
    )]
    NotProved { app: String, detail: String },
    #[error("{vendor} has no rotation waiting to be finished.")]
    NothingToFinish { vendor: String },
    #[error("The old secret of \"{app}\" stays valid until {until} (the grace period), unless you confirm the vendor now uses the new one.")]
    GraceNotOver { app: String, until: String },
    #[error(
        "This connection was made with the recipe \"{0}\", which this AppGrant does not know."
    )]
    UnknownRecipe(String),
    #[error("{vendor} has no client secret to rotate.")]
    NoSecret { vendor: String },
    #[error("A new secret may live 1 to {max} months, not {months}.")]
    InvalidLifetime { months: u32, max: u32 },
    #[error("The secret of \"{app}\" is missing from the tenant or from this computer's credential store, so its permissions cannot be fixed safely.")]
    SecretNotUsable { app: String },
    #[error(transparent)]
    Vault(#[from] VaultError),
    #[error(transparent)]
    SignIn(#[from] SignInError),
    #[error("Stopped. Run it again to continue where it stopped; nothing is lost.")]
    Cancelled,
}

impl LifecycleError {
    pub(crate) fn graph(what: impl Into<String>, source: GraphError) -> Self {
        match source {
            GraphError::Cancelled => Self::Cancelled,
            source => Self::Graph {
                what: what.into(),
                source,
            },
        }
    }

    pub fn code(&self) -> LifecycleCode {
        match self {
            Self::NotFound(_) => LifecycleCode::NotFound,
            Self::NotSignedIn | Self::WrongTenant { .. } | Self::SignIn(_) => LifecycleCode::SignIn,
            Self::Graph { .. } => LifecycleCode::Tenant,
            Self::AppDeleted { .. } => LifecycleCode::AppDeleted,
            Self::SecretPolicy { .. } => LifecycleCode::SecretPolicy,
            Self::Keyring { .. } => LifecycleCode::Keyring,
            Self::NotProved { .. } => LifecycleCode::NotProved,
            Self::NothingToFinish { .. } => LifecycleCode::NothingToFinish,
            Self::GraceNotOver { .. } => LifecycleCode::GraceNotOver,
            Self::UnknownRecipe(_) => LifecycleCode::UnknownRecipe,
            Self::NoSecret { .. } => LifecycleCode::NoSecret,
            Self::SecretNotUsable { .. } => LifecycleCode::SecretNotUsable,
            Self::InvalidLifetime { .. } => LifecycleCode::InvalidInput,
            Self::Vault(
                VaultError::KeyringUnavailable { .. } | VaultError::KeyringFailed { .. },
            ) => LifecycleCode::Keyring,
            Self::Vault(VaultError::NotFound { .. }) => LifecycleCode::NotFound,
            Self::Vault(_) => LifecycleCode::Storage,
            Self::Cancelled => LifecycleCode::Cancelled,
        }
    }

    /// What the person can do about it.
    pub fn hint(&self) -> String {
        match self {
            Self::NotFound(_) => "Refresh the list of connections; it may have been removed.".into(),
            Self::NotSignedIn | Self::WrongTenant { .. } => {
                "Sign in with an administrator account of the connection's tenant.".into()
            }
            Self::SignIn(e) => e.hint().to_string(),
            Self::Graph { .. } => "Check the message and try again; a rotation continues where it stopped, without losing a secret.".into(),
            Self::AppDeleted { .. } => "Connect the vendor again to create a new app, then remove this connection.".into(),
            Self::SecretPolicy { .. } => "Choose a shorter lifetime, or ask your identity administrator about the app management policy.".into(),
            Self::Keyring { .. } => "Unlock or start your system credential store, then rotate again. The new secret was removed from the tenant; the old one still works.".into(),
            Self::NotProved { .. } => "Wait a few minutes and rotate again: AppGrant continues with the same new secret. The vendor keeps working with the old one meanwhile.".into(),
            Self::NothingToFinish { .. } => "Start a rotation first.".into(),
            Self::GraceNotOver { .. } => "Confirm that the vendor now uses the new secret, or wait until the grace period ends.".into(),
            Self::UnknownRecipe(_) => "Update AppGrant, or connect the vendor again with its recipe file.".into(),
            Self::NoSecret { .. } => "Nothing to do: this vendor signs in without a client secret.".into(),
            Self::SecretNotUsable { .. } => "Rotate the secret first, then fix the permissions.".into(),
            Self::InvalidLifetime { .. } => "Choose a lifetime within the range; the tenant's policy may shorten it further.".into(),
            Self::Vault(e) => e.hint().to_string(),
            Self::Cancelled => "Run it again; it continues where it stopped.".into(),
        }
    }
}
