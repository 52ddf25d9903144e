//! The one place where core errors become what the CLI prints: `{ code, message, hint }`
//! (plus `detail`, core's finer code, and `errors` for recipe problems), and the exit status.
//!
//! Exit statuses (stable; scripts branch on them, README lists them):
//!
//! | status | code               | meaning                                                   |
//! |--------|--------------------|-----------------------------------------------------------|
//! | 0      |                    | success                                                   |
//! | 1      | `internal`         | a bug or an unexpected failure                            |
//! | 2      | `invalid_recipe`, `invalid_input` | bad arguments, recipe file or input values (clap's own usage errors are 2 too) |
//! | 3      | `sign_in`          | sign-in failed, was cancelled, or the account lacks a role |
//! | 4      | `not_found`        | no such connection or recipe                              |
//! | 5      | `tenant`           | reading or changing the tenant failed (Microsoft Graph)   |
//! | 6      | `apply`            | one or more set-up steps failed; run again to continue    |
//! | 7      | `verify`           | set up and saved, but the checks found a problem          |
//! | 8      | `storage`          | the data folder or the OS credential store failed         |
//! | 9      | `export`           | the hand-off could not be produced in that format         |
//! | 10     | `cancelled`        | not confirmed (or `--yes` missing when not interactive)   |
//! | 11     | `practice`         | the practice tenant could not start (or a practice connection cannot be checked or rotated here) |
//! | 12     | `due`              | done, but something is due or failed: a secret expiring within the window, a check that found a problem, a bulk rotation with a failure |

use appgrant_core::apply::ApplyError;
use appgrant_core::connect::RemoveError;
use appgrant_core::export::ExportError;
use appgrant_core::flow::FlowError;
use appgrant_core::identity::SignInError;
use appgrant_core::plan::PlanError;
use appgrant_core::recipe::{RecipeError, RecipeErrors};
use appgrant_core::vault::{VaultCode, VaultError};
use serde::Serialize;

/// What went wrong, as the CLI prints it.
#[derive(Debug, Clone, Serialize)]
pub struct CliError {
    pub code: Code,
    pub message: String,
    pub hint: Option<String>,
    /// Core's finer code (`consent_denied`, `keyring_unavailable`, ...), when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Every problem of an invalid recipe, with file, line and fix.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<RecipeError>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Code {
    Internal,
    InvalidRecipe,
    InvalidInput,
    SignIn,
    NotFound,
    Tenant,
    Apply,
    Verify,
    Storage,
    Export,
    Cancelled,
    Practice,
    /// Not an error: the command ran, and something is due or failed (scheduled tasks alert).
    Due,
}

impl Code {
    pub fn exit_status(self) -> u8 {
        match self {
            Self::Internal => 1,
            Self::InvalidRecipe | Self::InvalidInput => 2,
            Self::SignIn => 3,
            Self::NotFound => 4,
            Self::Tenant => 5,
            Self::Apply => 6,
            Self::Verify => 7,
            Self::Storage => 8,
            Self::Export => 9,
            Self::Cancelled => 10,
            Self::Practice => 11,
            Self::Due => 12,
        }
    }
}

impl CliError {
    pub fn new(code: Code, message: impl Into<String>, hint: Option<&str>) -> Self {
        Self {
            code,
            message: message.into(),
            hint: hint.map(str::to_string),
            detail: None,
            errors: Vec::new(),
        }
    }

    fn with_detail(mut self, detail: impl Serialize) -> Self {
        self.detail = serde_json::to_value(detail)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string));
        self
    }

    pub fn internal(message: impl std::fmt::Display) -> Self {
        Self::new(
            Code::Internal,
            message.to_string(),
            Some("Try again. If it keeps failing, run with APPGRANT_LOG=debug and attach the output to a support ticket."),
        )
    }
}

impl From<RecipeErrors> for CliError {
    fn from(errors: RecipeErrors) -> Self {
        Self {
            errors: errors.0.clone(),
            ..Self::new(
                Code::InvalidRecipe,
                errors.to_string(),
                Some("Fix the lines named above and check the recipe again."),
            )
        }
    }
}

impl From<SignInError> for CliError {
    fn from(e: SignInError) -> Self {
        Self::new(Code::SignIn, e.to_string(), Some(e.hint())).with_detail(e.code())
    }
}

impl From<VaultError> for CliError {
    fn from(e: VaultError) -> Self {
        let code = match e.code() {
            VaultCode::NotFound => Code::NotFound,
            _ => Code::Storage,
        };
        let hint = match e.code() {
            VaultCode::NotFound => {
                "Run `appgrant-cli connections` to see the saved connections and their ids."
            }
            _ => e.hint(),
        };
        Self::new(code, e.to_string(), Some(hint)).with_detail(e.code())
    }
}

impl From<ExportError> for CliError {
    fn from(e: ExportError) -> Self {
        if let ExportError::Vault(v) = e {
            return v.into();
        }
        Self::new(Code::Export, e.to_string(), Some(e.hint())).with_detail(e.code())
    }
}

impl From<ApplyError> for CliError {
    fn from(ApplyError { failures }: ApplyError) -> Self {
        let detail = failures.first().map(|f| f.code);
        Self::new(
            Code::Apply,
            failures
                .iter()
                .map(|f| f.message.clone())
                .collect::<Vec<_>>()
                .join("\n"),
            Some(
                failures
                    .first()
                    .map(|f| f.hint.as_str())
                    .unwrap_or("Run the same command again: AppGrant continues where it stopped, without duplicates."),
            ),
        )
        .with_detail(detail)
    }
}

impl From<FlowError> for CliError {
    fn from(e: FlowError) -> Self {
        match e {
            FlowError::NoTenant | FlowError::NotSignedIn => {
                Self::new(Code::SignIn, e.to_string(), Some("Sign in and try again."))
            }
            FlowError::NoPlan | FlowError::NotApplied => CliError::internal(e),
            FlowError::SignIn(s) => s.into(),
            FlowError::Cloud(c) => c.into(),
            FlowError::NeedsClientId(_) => Self::new(
                Code::InvalidInput,
                e.to_string(),
                Some("Register a public client app (redirect URI http://localhost) in your tenant and pass its id with --client-id."),
            ),
            FlowError::Plan(PlanError::Inputs(inputs)) => Self::new(
                Code::InvalidInput,
                inputs
                    .iter()
                    .map(|i| format!("--input {}: {}", i.input, i.message))
                    .collect::<Vec<_>>()
                    .join("\n"),
                Some("Correct the value (--input key=value) and run again."),
            ),
            FlowError::Plan(p @ PlanError::Lifetime) => Self::new(
                Code::InvalidInput,
                p.to_string(),
                Some("Choose --lifetime-months within the range."),
            ),
            FlowError::Plan(PlanError::Credential { app, message, hint }) => Self::new(
                Code::InvalidInput,
                format!("{app}: {message}"),
                Some(&hint),
            ),
            FlowError::Plan(p) => Self::new(
                Code::Tenant,
                p.to_string(),
                Some("Check your connection and sign-in, then try again."),
            ),
            FlowError::Apply(a) => a.into(),
            FlowError::Journal(j) => Self::new(
                Code::Storage,
                j.to_string(),
                Some("Check that AppGrant's data folder is writable, then try again."),
            ),
            FlowError::Vault(v) => v.into(),
            FlowError::Scope(s) => {
                let hint = s.hint();
                Self::new(Code::Tenant, s.to_string(), Some(hint.as_str()))
                    .with_detail(s.code().to_string())
            }
            FlowError::NotLimitable(_)
            | FlowError::NoMailboxesChosen
            | FlowError::NotLimited
            | FlowError::SignInNotLimitable(_)
            | FlowError::NoSignInPeopleChosen => CliError::internal(e),
        }
    }
}

impl From<appgrant_core::certificate::CertificateError> for CliError {
    fn from(e: appgrant_core::certificate::CertificateError) -> Self {
        Self::new(Code::Export, e.to_string(), Some(e.hint()))
    }
}

impl From<appgrant_core::export::certificate::CertificateExportError> for CliError {
    fn from(e: appgrant_core::export::certificate::CertificateExportError) -> Self {
        use appgrant_core::export::certificate::CertificateExportError as E;
        let code = match e {
            E::Vault(v) => return v.into(),
            E::NoCertificate => Code::NotFound,
            E::Several(_) => Code::InvalidInput,
            E::KeyMissing => Code::Storage,
            E::VendorHoldsKey | E::Certificate(_) => Code::Export,
        };
        Self::new(code, e.to_string(), Some(&e.hint()))
    }
}

impl From<RemoveError> for CliError {
    fn from(e: RemoveError) -> Self {
        match e {
            RemoveError::Graph { .. } => Self::new(
                Code::Tenant,
                e.to_string(),
                Some("Nothing that is already gone is re-created; run the same command again to finish the removal."),
            ),
            RemoveError::Vault(v) => v.into(),
            RemoveError::Journal(j) => Self::new(
                Code::Storage,
                j.to_string(),
                Some("Check that AppGrant's data folder is writable, then run the command again."),
            ),
        }
    }
}

impl From<appgrant_core::adopt::AdoptError> for CliError {
    fn from(e: appgrant_core::adopt::AdoptError) -> Self {
        use appgrant_core::adopt::AdoptCode;
        let code = match e.code() {
            AdoptCode::NotFound | AdoptCode::NoMatch => Code::NotFound,
            AdoptCode::NotAllowed | AdoptCode::Graph => Code::Tenant,
            AdoptCode::Storage => Code::Storage,
            AdoptCode::Lifecycle => Code::Apply,
        };
        Self::new(code, e.to_string(), Some(&e.hint())).with_detail(e.code())
    }
}
