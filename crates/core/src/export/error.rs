//! Export errors in plain language, each with what to do next.

use serde::Serialize;

use super::ExportFormat;
use crate::vault::{VaultCode, VaultError};

/// Stable codes the UI and CLI branch on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ExportCode {
    /// The connection was made with another recipe.
    WrongRecipe,
    /// Secrets were asked for, but one is not in the keyring.
    SecretNotAvailable,
    /// A value the vendor needs is not recorded on the connection.
    MissingValue,
    /// The vendor does not take values in that format.
    FormatNotOffered,
    /// The keyring could not be reached to read the secrets.
    KeyringUnavailable,
    /// Another vault problem (see the message).
    Vault,
    /// A bug: the export could not be encoded.
    Internal,
}

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("This connection was made with the \"{connection_recipe}\" recipe, not \"{recipe}\", so its values do not fit that hand-off.")]
    WrongRecipe {
        connection_recipe: String,
        recipe: String,
    },
    #[error("The client secret of {app} is not in this computer's credential store, so it cannot be included in the export.")]
    SecretNotAvailable { app: String },
    #[error("{vendor} needs {var}, but this connection has no value for it.")]
    MissingValue { vendor: String, var: String },
    #[error("{vendor} does not take its values as {format}.")]
    FormatNotOffered {
        vendor: String,
        format: ExportFormat,
    },
    #[error("\"{label}\" cannot be used as an environment variable name.")]
    NotEnvName { label: String },
    #[error(transparent)]
    Vault(#[from] VaultError),
    #[error("The export could not be written: {0}")]
    Encode(String),
}

impl ExportError {
    pub fn code(&self) -> ExportCode {
        match self {
            Self::WrongRecipe { .. } => ExportCode::WrongRecipe,
            Self::SecretNotAvailable { .. } => ExportCode::SecretNotAvailable,
            Self::MissingValue { .. } => ExportCode::MissingValue,
            Self::FormatNotOffered { .. } | Self::NotEnvName { .. } => ExportCode::FormatNotOffered,
            Self::Vault(e) if e.code() == VaultCode::KeyringUnavailable => {
                ExportCode::KeyringUnavailable
            }
            Self::Vault(_) => ExportCode::Vault,
            Self::Encode(_) => ExportCode::Internal,
        }
    }

    /// What the person can do about it.
    pub fn hint(&self) -> &'static str {
        match self {
            Self::WrongRecipe { .. } => "Export from the connection's own vendor page.",
            Self::SecretNotAvailable { .. } => "Microsoft never shows a secret twice, so rotate the secret in AppGrant to make a new one, then export again. Or export without secrets.",
            Self::MissingValue { .. } => "Run the recipe again on this tenant: AppGrant finds what it made earlier and records the missing values.",
            Self::FormatNotOffered { .. } => "Choose one of the formats AppGrant offers for this vendor.",
            Self::NotEnvName { .. } => "The recipe's hand-off labels must be NAME_LIKE_THIS for an environment file; fix the recipe or export another format.",
            Self::Vault(e) => e.hint(),
            Self::Encode(_) => "Try again. If it keeps failing, attach AppGrant's log file to a support ticket.",
        }
    }
}
