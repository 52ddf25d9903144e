//! What can go wrong while finding, adopting or reporting, in words an admin can act on.

use serde::Serialize;
use thiserror::Error;

use crate::graph::GraphError;

/// A stable code for the shell and the CLI (`{code, message, hint}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AdoptCode {
    Graph,
    NotFound,
    NotAllowed,
    NoMatch,
    Storage,
    Lifecycle,
}

#[derive(Debug, Error)]
pub enum AdoptError {
    /// A Graph call failed.
    #[error("{doing}: {source}")]
    Graph {
        doing: String,
        #[source]
        source: GraphError,
    },
    /// No app registration with that Application (client) ID.
    #[error("No app registration with the Application (client) ID {0} was found in this tenant")]
    AppNotFound(String),
    /// The app has no enterprise app, so nothing can be granted to it.
    #[error("\"{0}\" has no enterprise app (service principal) in this tenant")]
    NoEnterpriseApp(String),
    /// The recipe id is not known.
    #[error("There is no recipe called \"{0}\"")]
    UnknownRecipe(String),
    /// The app does not look like any app of the recipe.
    #[error("\"{app}\" does not hold any permission the {vendor} recipe asks for")]
    NoMatch { app: String, vendor: String },
    /// The signed-in account may read apps but not change them.
    #[error("{who} may read app registrations but not change them ({roles})")]
    ReadOnly { who: String, roles: String },
    /// Checking, fixing or rotating through the lifecycle failed.
    #[error(transparent)]
    Lifecycle(#[from] crate::lifecycle::LifecycleError),
    /// Saving the connection failed.
    #[error("Saving the adopted connection failed: {0}")]
    Vault(#[from] crate::vault::VaultError),
    /// Writing the report failed.
    #[error("Writing the report failed: {0}")]
    Write(String),
}

impl AdoptError {
    pub(crate) fn graph(doing: impl Into<String>, source: GraphError) -> Self {
        Self::Graph {
            doing: doing.into(),
            source,
        }
    }

    pub fn code(&self) -> AdoptCode {
        match self {
            Self::Graph { source, .. } if source.class() == crate::graph::ErrorClass::Denied => {
                AdoptCode::NotAllowed
            }
            Self::Graph { .. } => AdoptCode::Graph,
            Self::AppNotFound(_) | Self::UnknownRecipe(_) => AdoptCode::NotFound,
            Self::NoEnterpriseApp(_) | Self::NoMatch { .. } => AdoptCode::NoMatch,
            Self::ReadOnly { .. } => AdoptCode::NotAllowed,
            Self::Vault(_) | Self::Write(_) => AdoptCode::Storage,
            Self::Lifecycle(_) => AdoptCode::Lifecycle,
        }
    }

    /// What to do next.
    pub fn hint(&self) -> String {
        match self {
            Self::Graph { source, .. }
                if source.class() == crate::graph::ErrorClass::Denied =>
            {
                "Reading app registrations needs a Global Reader, Application Administrator, Cloud Application Administrator or Global Administrator. Sign in as one of them and try again.".into()
            }
            Self::Graph { .. } => "Check your network and try again; nothing was changed.".into(),
            Self::AppNotFound(_) => "Run `adopt` without --app to list the apps AppGrant found, and copy the Application (client) ID from there.".into(),
            Self::NoEnterpriseApp(_) => "Open the app in the Entra admin center and grant admin consent once (that creates its enterprise app), then adopt it again.".into(),
            Self::UnknownRecipe(_) => "List the recipes with `appgrant-cli recipes` and pass one of their ids.".into(),
            Self::NoMatch { .. } => "Pick the recipe the app was made for (the list shows the likely one), or create a new connection instead.".into(),
            Self::ReadOnly { .. } => "Adopting lets AppGrant rotate the app's secrets and fix its permissions. Sign in as an Application Administrator or Cloud Application Administrator (a Global Administrator or Privileged Role Administrator also grants Microsoft Graph application permissions), or ask one to adopt it.".into(),
            Self::Vault(_) => "Check that AppGrant's data folder is writable and try again; nothing was changed in the tenant.".into(),
            Self::Write(_) => "Check the output path and try again.".into(),
            Self::Lifecycle(e) => e.hint(),
        }
    }
}
