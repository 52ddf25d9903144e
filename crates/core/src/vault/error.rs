//! Vault errors in plain language, each with what to do next.

use std::path::PathBuf;

use serde::Serialize;

use crate::identity::StoreError;

/// Stable codes the UI and CLI branch on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum VaultCode {
    /// The connections index cannot be read as AppGrant's format.
    CorruptIndex,
    /// The connections index was written by a newer AppGrant.
    NewerIndex,
    /// Reading or writing the app data folder failed.
    Io,
    /// No usable system credential store (locked, not installed, no Secret Service).
    KeyringUnavailable,
    /// The credential store answered with an error.
    KeyringFailed,
    /// No connection with that id.
    NotFound,
    /// A tenant, app or secret id that cannot name a keyring entry.
    InvalidSecretRef,
}

#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    #[error("The list of saved connections at {path} is damaged ({detail}). AppGrant has not changed it and kept a copy at {backup}.")]
    CorruptIndex {
        path: PathBuf,
        backup: PathBuf,
        detail: String,
    },
    #[error("The list of saved connections at {path} was written by a newer version of AppGrant (format {found}; this version reads format {supported}).")]
    NewerIndex {
        path: PathBuf,
        found: u32,
        supported: u32,
    },
    #[error("Could not {action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("The system credential store is not available, so AppGrant cannot keep or read client secrets ({detail}).")]
    KeyringUnavailable { detail: String },
    #[error("The system credential store failed: {detail}")]
    KeyringFailed { detail: String },
    #[error("There is no saved connection with id {id}.")]
    NotFound { id: String },
    #[error("Cannot name a credential store entry after {what} \"{value}\": it must be non-empty and must not contain '/'.")]
    InvalidSecretRef { what: &'static str, value: String },
}

impl VaultError {
    pub fn code(&self) -> VaultCode {
        match self {
            Self::CorruptIndex { .. } => VaultCode::CorruptIndex,
            Self::NewerIndex { .. } => VaultCode::NewerIndex,
            Self::Io { .. } => VaultCode::Io,
            Self::KeyringUnavailable { .. } => VaultCode::KeyringUnavailable,
            Self::KeyringFailed { .. } => VaultCode::KeyringFailed,
            Self::NotFound { .. } => VaultCode::NotFound,
            Self::InvalidSecretRef { .. } => VaultCode::InvalidSecretRef,
        }
    }

    /// What the person can do about it.
    pub fn hint(&self) -> &'static str {
        match self {
            Self::CorruptIndex { .. } => "Restore connections.json from a backup, or move the damaged file out of the folder to start with an empty list. Client secrets stay in the system credential store either way.",
            Self::NewerIndex { .. } => "Update AppGrant to the latest version. This version leaves the file untouched.",
            Self::Io { .. } => "Check that the disk is not full and that you can write to AppGrant's data folder, then try again.",
            Self::KeyringUnavailable { .. } => "Unlock your keychain or credential store and try again. On Linux, install and unlock a Secret Service such as GNOME Keyring or KWallet.",
            Self::KeyringFailed { .. } => "Try again. If it keeps failing, attach AppGrant's log file to a support ticket.",
            Self::NotFound { .. } => "Refresh the list of connections; it may have been removed already.",
            Self::InvalidSecretRef { .. } => "This is a bug in AppGrant or a damaged connection record; attach AppGrant's log file to a support ticket.",
        }
    }

    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
        source: std::io::Error,
    ) -> Self {
        Self::Io {
            action,
            path: path.into(),
            source,
        }
    }
}

impl From<StoreError> for VaultError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Unavailable(detail) => Self::KeyringUnavailable { detail },
            StoreError::Failed(detail) => Self::KeyringFailed { detail },
        }
    }
}
