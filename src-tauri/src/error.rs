//! The one place where core errors become what the UI receives: `{ code, message, hint }`.
//!
//! `code` is stable and the UI branches on it (`ui/src/lib/types.ts` `ErrorCode`); `message`
//! says what happened; `hint` says what to do next; `detail` carries core's finer code.

use appgrant_core::apply::ApplyError;
use appgrant_core::flow::FlowError;
use appgrant_core::identity::SignInError;
use appgrant_core::plan::PlanError;
use serde::Serialize;

/// An error as the UI sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UiError {
    pub code: Code,
    pub message: String,
    pub hint: Option<String>,
    pub detail: Option<String>,
}

/// Error codes the UI branches on. Add one only when the UI needs to tell it apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Code {
    /// A recipe could not be loaded; the message lists each problem with its line.
    InvalidRecipe,
    /// The step needs a signed-in admin (or a chosen tenant) first.
    NotSignedIn,
    /// Sign-in failed; `detail` has the sign-in code (consent_denied, timed_out...).
    SignIn,
    /// Planning failed (bad input value, unreadable tenant).
    Plan,
    /// Apply failed; the message lists the failed steps.
    Apply,
    /// The connections store failed.
    Vault,
    /// An export could not be written.
    Export,
    /// The practice tenant could not start.
    Practice,
    /// A check, rotation or finish failed; `detail` has core's lifecycle code.
    Lifecycle,
    /// Finding, adopting or reporting on existing apps failed; `detail` has core's code.
    Adopt,
    /// A certificate could not be read, checked or exported; `detail` is `private_key` when
    /// the file holds a private key.
    Certificate,
}

impl UiError {
    pub fn new(code: Code, message: impl Into<String>, hint: Option<&str>) -> Self {
        Self {
            code,
            message: message.into(),
            hint: hint.map(str::to_string),
            detail: None,
        }
    }
}

impl From<appgrant_core::cloud::CloudError> for UiError {
    fn from(e: appgrant_core::cloud::CloudError) -> Self {
        FlowError::Cloud(e).into()
    }
}

impl From<appgrant_core::recipe::RecipeErrors> for UiError {
    fn from(errors: appgrant_core::recipe::RecipeErrors) -> Self {
        Self::new(
            Code::InvalidRecipe,
            errors.to_string(),
            Some("Fix the lines named above and load the recipe again."),
        )
    }
}

fn sign_in(e: &SignInError) -> UiError {
    UiError {
        code: Code::SignIn,
        message: e.to_string(),
        hint: Some(e.hint().to_string()),
        detail: serde_json::to_value(e.code())
            .ok()
            .and_then(|v| v.as_str().map(str::to_string)),
    }
}

impl From<FlowError> for UiError {
    fn from(e: FlowError) -> Self {
        match &e {
            FlowError::NoTenant => Self::new(
                Code::NotSignedIn,
                e.to_string(),
                Some("Go back to the start and pick the practice tenant or your own."),
            ),
            FlowError::NotSignedIn => Self::new(
                Code::NotSignedIn,
                e.to_string(),
                Some("Sign in on the Sign in step."),
            ),
            FlowError::NoPlan | FlowError::NotApplied => Self::new(
                Code::Plan,
                e.to_string(),
                Some("Go back to the Review step."),
            ),
            FlowError::SignIn(s) => sign_in(s),
            FlowError::Cloud(c) => UiError {
                detail: Some("cloud".to_string()),
                ..Self::new(Code::SignIn, c.to_string(), Some(c.hint()))
            },
            FlowError::NeedsClientId(_) => UiError {
                detail: Some("needs_client_id".to_string()),
                ..Self::new(
                    Code::SignIn,
                    e.to_string(),
                    Some("Register a public client app (redirect URI http://localhost) in your tenant and enter its Application (client) ID."),
                )
            },
            FlowError::Plan(PlanError::Inputs(inputs)) => Self::new(
                Code::Plan,
                inputs
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("\n"),
                Some("Correct the value and continue."),
            ),
            FlowError::Plan(PlanError::Credential { app, message, hint }) => Self::new(
                Code::Certificate,
                format!("{app}: {message}"),
                Some(hint.as_str()),
            ),
            FlowError::Plan(p) => Self::new(
                Code::Plan,
                p.to_string(),
                Some("Check your connection and sign-in, then try again."),
            ),
            FlowError::Apply(ApplyError { failures }) => Self {
                code: Code::Apply,
                message: failures
                    .iter()
                    .map(|f| f.message.clone())
                    .collect::<Vec<_>>()
                    .join("\n"),
                hint: failures.first().map(|f| f.hint.clone()),
                detail: failures
                    .first()
                    .and_then(|f| serde_json::to_value(f.code).ok())
                    .and_then(|v| v.as_str().map(str::to_string)),
            },
            FlowError::Journal(j) => Self::new(
                Code::Apply,
                j.to_string(),
                Some("Check that AppGrant's data folder is writable, then try again."),
            ),
            FlowError::Vault(v) => Self::new(Code::Vault, v.to_string(), Some(v.hint())),
            FlowError::Scope(s) => Self {
                code: Code::Apply,
                message: format!("The limit could not be applied: {s}."),
                hint: Some(s.hint()),
                detail: Some(s.code().to_string()),
            },
            FlowError::NotLimitable(_) => Self::new(
                Code::Plan,
                e.to_string(),
                Some("Nothing to limit: the connection works as it is."),
            ),
            FlowError::NoMailboxesChosen => Self::new(
                Code::Plan,
                e.to_string(),
                Some("Go back to Review and add people or groups under \"Scope users\"."),
            ),
            FlowError::NotLimited => Self::new(
                Code::Plan,
                e.to_string(),
                Some("Use \"Limit mailbox access\" on the Verify step."),
            ),
            FlowError::SignInNotLimitable(_) => Self::new(
                Code::Plan,
                e.to_string(),
                Some("Nothing to limit: nobody signs in to this vendor's apps."),
            ),
            FlowError::NoSignInPeopleChosen => Self::new(
                Code::Plan,
                e.to_string(),
                Some("Choose people or groups under \"Who may sign in\" on the Review step."),
            ),
        }
    }
}

impl From<appgrant_core::lifecycle::LifecycleError> for UiError {
    fn from(e: appgrant_core::lifecycle::LifecycleError) -> Self {
        use appgrant_core::lifecycle::LifecycleError as L;
        let code = match &e {
            L::NotSignedIn | L::WrongTenant { .. } => Code::NotSignedIn,
            L::SignIn(s) => return sign_in(s),
            _ => Code::Lifecycle,
        };
        Self {
            code,
            message: e.to_string(),
            hint: Some(e.hint()),
            detail: serde_json::to_value(e.code())
                .ok()
                .and_then(|v| v.as_str().map(str::to_string)),
        }
    }
}

impl From<appgrant_core::vault::VaultError> for UiError {
    fn from(e: appgrant_core::vault::VaultError) -> Self {
        Self::new(Code::Vault, e.to_string(), Some(e.hint()))
    }
}

impl From<appgrant_core::export::ExportError> for UiError {
    fn from(e: appgrant_core::export::ExportError) -> Self {
        Self::new(Code::Export, e.to_string(), Some(e.hint()))
    }
}

impl From<appgrant_core::certificate::CertificateError> for UiError {
    fn from(e: appgrant_core::certificate::CertificateError) -> Self {
        use appgrant_core::certificate::CertificateError as C;
        Self {
            code: Code::Certificate,
            message: e.to_string(),
            hint: Some(e.hint().to_string()),
            detail: matches!(e, C::PrivateKey).then(|| "private_key".to_string()),
        }
    }
}

impl From<appgrant_core::export::certificate::CertificateExportError> for UiError {
    fn from(e: appgrant_core::export::certificate::CertificateExportError) -> Self {
        use appgrant_core::export::certificate::CertificateExportError as E;
        match e {
            E::Vault(v) => v.into(),
            E::Certificate(c) => c.into(),
            e => Self::new(Code::Certificate, e.to_string(), Some(&e.hint())),
        }
    }
}

impl From<appgrant_core::adopt::AdoptError> for UiError {
    fn from(e: appgrant_core::adopt::AdoptError) -> Self {
        use appgrant_core::adopt::AdoptError as A;
        match e {
            A::Lifecycle(l) => l.into(),
            A::Vault(v) => v.into(),
            e => Self {
                code: Code::Adopt,
                message: e.to_string(),
                hint: Some(e.hint()),
                detail: serde_json::to_value(e.code())
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string)),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serialises_to_the_shape_the_ui_reads() {
        let errors = appgrant_core::recipe::parse("bad.toml", "schema = ").unwrap_err();
        let json = serde_json::to_value(UiError::from(errors)).unwrap();
        assert_eq!(json["code"], "invalid_recipe");
        assert!(json["message"]
            .as_str()
            .unwrap()
            .starts_with("bad.toml, line 1: "));
        assert!(json["hint"].is_string());
    }

    #[test]
    fn a_cloud_without_microsofts_sign_in_app_asks_for_the_organisations_own() {
        let json =
            serde_json::to_value(UiError::from(FlowError::NeedsClientId("China (21Vianet)")))
                .unwrap();
        assert_eq!(json["code"], "sign_in");
        assert_eq!(json["detail"], "needs_client_id");
        assert!(json["message"]
            .as_str()
            .unwrap()
            .contains("China (21Vianet)"));
        assert!(json["hint"]
            .as_str()
            .unwrap()
            .contains("Application (client) ID"));
        let unknown = appgrant_core::cloud::Cloud::from_id("mars").unwrap_err();
        let json = serde_json::to_value(UiError::from(unknown)).unwrap();
        assert_eq!(json["detail"], "cloud");
        assert!(json["hint"].as_str().unwrap().contains("us_gov"));
    }

    #[test]
    fn a_file_with_a_private_key_is_a_certificate_error_the_ui_can_tell_apart() {
        let e = appgrant_core::certificate::import::inspect(
            "vendor.pem",
            b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
        )
        .unwrap_err();
        let json = serde_json::to_value(UiError::from(e)).unwrap();
        assert_eq!(json["code"], "certificate");
        assert_eq!(json["detail"], "private_key");
        assert!(json["message"]
            .as_str()
            .unwrap()
            .contains("never send private keys"));
        assert!(json["hint"]
            .as_str()
            .unwrap()
            .contains("public certificate"));
    }

    #[test]
    fn sign_in_errors_carry_their_finer_code() {
        let e = UiError::from(FlowError::SignIn(SignInError::ConsentDenied));
        let json = serde_json::to_value(e).unwrap();
        assert_eq!(json["code"], "sign_in");
        assert_eq!(json["detail"], "consent_denied");
        assert!(json["hint"].as_str().unwrap().contains("Accept"));
    }

    #[test]
    fn a_missing_sign_in_to_the_connections_tenant_asks_the_ui_for_one() {
        use appgrant_core::lifecycle::LifecycleError;
        let e = UiError::from(LifecycleError::WrongTenant {
            signed_in: "fabrikam.onmicrosoft.com".into(),
            expected: "contoso.onmicrosoft.com".into(),
        });
        assert_eq!(e.code, Code::NotSignedIn);
        assert!(e.message.contains("contoso.onmicrosoft.com"));
        let e = UiError::from(LifecycleError::NothingToFinish {
            vendor: "TonicDM".into(),
        });
        let json = serde_json::to_value(e).unwrap();
        assert_eq!(json["code"], "lifecycle");
        assert_eq!(json["detail"], "nothing_to_finish");
        assert!(json["hint"].as_str().unwrap().contains("Start a rotation"));
    }
}
