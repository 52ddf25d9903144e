//! Sign-in errors in plain language, each with what to do next.
//!
//! Microsoft's answers are classified by their `error` value and AADSTS number (never by
//! message text, which Microsoft changes); see api-notes §2.7.

use serde::Serialize;

/// Stable codes the UI and CLI branch on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SignInCode {
    Cancelled,
    TimedOut,
    BrowserUnavailable,
    ConsentDenied,
    AdminConsentRequired,
    MfaRequired,
    ConditionalAccess,
    WrongTenant,
    SignInExpired,
    DeviceCodeExpired,
    DeviceCodeBlocked,
    MissingRole,
    Network,
    InvalidResponse,
    Failed,
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum SignInError {
    #[error("Sign-in was cancelled.")]
    Cancelled,
    #[error("Sign-in did not finish within {minutes} minutes.")]
    TimedOut { minutes: u64 },
    #[error("AppGrant could not open your web browser: {0}")]
    BrowserUnavailable(String),
    #[error("The permission request was declined, so AppGrant cannot read your tenant.")]
    ConsentDenied,
    #[error(
        "Your organisation requires an administrator to approve AppGrant before you can use it."
    )]
    AdminConsentRequired,
    #[error("Your organisation requires multi-factor authentication for this sign-in.")]
    MfaRequired,
    #[error("A Conditional Access policy in your organisation blocked this sign-in.")]
    ConditionalAccess,
    #[error("{0}")]
    WrongTenant(String),
    #[error("Your saved sign-in has expired or was revoked.")]
    SignInExpired,
    #[error("The device code expired before the sign-in was completed.")]
    DeviceCodeExpired,
    #[error("Your organisation does not allow signing in with a device code.")]
    DeviceCodeBlocked,
    #[error("{account} does not have a role that can {action}.")]
    MissingRole { account: String, action: String },
    #[error("Could not reach Microsoft: {0}")]
    Network(String),
    #[error("Microsoft's answer could not be understood: {0}")]
    InvalidResponse(String),
    #[error("Sign-in failed: {0}")]
    Failed(String),
}

impl SignInError {
    pub fn code(&self) -> SignInCode {
        match self {
            Self::Cancelled => SignInCode::Cancelled,
            Self::TimedOut { .. } => SignInCode::TimedOut,
            Self::BrowserUnavailable(_) => SignInCode::BrowserUnavailable,
            Self::ConsentDenied => SignInCode::ConsentDenied,
            Self::AdminConsentRequired => SignInCode::AdminConsentRequired,
            Self::MfaRequired => SignInCode::MfaRequired,
            Self::ConditionalAccess => SignInCode::ConditionalAccess,
            Self::WrongTenant(_) => SignInCode::WrongTenant,
            Self::SignInExpired => SignInCode::SignInExpired,
            Self::DeviceCodeExpired => SignInCode::DeviceCodeExpired,
            Self::DeviceCodeBlocked => SignInCode::DeviceCodeBlocked,
            Self::MissingRole { .. } => SignInCode::MissingRole,
            Self::Network(_) => SignInCode::Network,
            Self::InvalidResponse(_) => SignInCode::InvalidResponse,
            Self::Failed(_) => SignInCode::Failed,
        }
    }

    /// What the admin can do about it.
    pub fn hint(&self) -> &'static str {
        match self {
            Self::Cancelled => "Start the sign-in again when you are ready.",
            Self::TimedOut { .. } => "Start again and finish the sign-in in the browser tab AppGrant opens. If no tab opened, use the device code option.",
            Self::BrowserUnavailable(_) => "Use \"Sign in with a code\" instead: it works from any browser, even on another device.",
            Self::ConsentDenied => "Sign in again and choose Accept, or ask your administrator to approve AppGrant.",
            Self::AdminConsentRequired => "Ask a Global Administrator or Privileged Role Administrator to sign in to AppGrant once and accept on behalf of the organisation.",
            Self::MfaRequired => "Sign in with the browser option, which supports multi-factor authentication, and complete the extra check.",
            Self::ConditionalAccess => "Sign in from a device and network your organisation allows, or ask your identity administrator which policy applies.",
            Self::WrongTenant(_) => "Sign in with an account of the organisation you want to connect, or choose \"any organisation\" and let AppGrant use your account's home tenant.",
            Self::SignInExpired => "Sign in again.",
            Self::DeviceCodeExpired => "Ask for a new code and enter it within 15 minutes.",
            Self::DeviceCodeBlocked => "Use the browser sign-in instead.",
            Self::MissingRole { .. } => "Sign in with an account that has the role, or send the consent hand-off to someone who has it.",
            Self::Network(_) => "Check your internet connection (and proxy), then try again.",
            Self::InvalidResponse(_) | Self::Failed(_) => "Try again. If it keeps failing, attach AppGrant's log file to a support ticket.",
        }
    }
}

/// The AADSTS number at the start of an `error_description` ("AADSTS50076: ...").
pub fn aadsts_code(description: &str) -> Option<u32> {
    let rest = description.trim_start().strip_prefix("AADSTS")?;
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// Classifies an identity-platform error answer.
pub fn classify(error: &str, description: Option<&str>) -> SignInError {
    let code = description.and_then(aadsts_code);
    match (error, code) {
        (_, Some(65004)) | ("access_denied", None) | ("authorization_declined", _) => {
            SignInError::ConsentDenied
        }
        (_, Some(65001 | 90094 | 90095)) | ("consent_required", _) => {
            SignInError::AdminConsentRequired
        }
        (_, Some(50076 | 50079 | 50074 | 50078)) => SignInError::MfaRequired,
        (_, Some(53000..=53003)) => SignInError::ConditionalAccess,
        (_, Some(90002)) => SignInError::WrongTenant(
            "Microsoft does not know that organisation (tenant name or id).".to_string(),
        ),
        (_, Some(50020)) => SignInError::WrongTenant(
            "That account does not belong to the organisation you chose.".to_string(),
        ),
        (_, Some(700082 | 50173 | 70043)) => SignInError::SignInExpired,
        ("expired_token", _) | (_, Some(70019)) => SignInError::DeviceCodeExpired,
        ("invalid_grant", _) => SignInError::SignInExpired,
        _ => SignInError::Failed(match (description, code) {
            (Some(d), _) => d.lines().next().unwrap_or(d).to_string(),
            (None, _) => error.to_string(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_aadsts_number() {
        assert_eq!(
            aadsts_code("AADSTS50076: Due to a configuration change..."),
            Some(50076)
        );
        assert_eq!(aadsts_code("something else"), None);
    }

    #[test]
    fn classifies_by_code_not_text() {
        assert_eq!(
            classify("invalid_grant", Some("AADSTS50076: x")).code(),
            SignInCode::MfaRequired
        );
        assert_eq!(
            classify("access_denied", Some("AADSTS53003: x")).code(),
            SignInCode::ConditionalAccess
        );
        assert_eq!(
            classify("invalid_grant", Some("AADSTS65001: x")).code(),
            SignInCode::AdminConsentRequired
        );
        assert_eq!(
            classify("access_denied", None).code(),
            SignInCode::ConsentDenied
        );
        assert_eq!(
            classify("invalid_request", Some("AADSTS90002: x")).code(),
            SignInCode::WrongTenant
        );
        assert_eq!(
            classify("invalid_grant", Some("AADSTS700082: x")).code(),
            SignInCode::SignInExpired
        );
        assert_eq!(
            classify("expired_token", None).code(),
            SignInCode::DeviceCodeExpired
        );
        let other = classify(
            "server_error",
            Some("AADSTS12345: Odd thing\r\nTrace ID: 1"),
        );
        assert_eq!(other.to_string(), "Sign-in failed: AADSTS12345: Odd thing");
    }

    #[test]
    fn every_error_says_what_to_do() {
        let all = [
            SignInError::Cancelled,
            SignInError::TimedOut { minutes: 5 },
            SignInError::Network("x".into()),
            SignInError::MissingRole {
                account: "a".into(),
                action: "b".into(),
            },
        ];
        for e in all {
            assert!(!e.hint().is_empty(), "{e}");
        }
    }
}
