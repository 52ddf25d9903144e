//! Graph errors, classified by HTTP status and Graph's `error.code` (never by message text,
//! except the two documented cases where the code is too generic: the duplicate app role
//! assignment and the service principal replication race, api-notes §5).

use std::time::Duration;

use serde::Serialize;

use crate::identity::SignInError;

/// What kind of trouble an error is, which decides whether and how to retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorClass {
    /// 429: wait `Retry-After`, then retry.
    Throttled,
    /// 5xx or a dropped connection: back off and retry.
    Transient,
    /// A just-created object is not visible yet (400 "does not reference a valid
    /// application object", 404 right after a create): back off and retry.
    Replication,
    /// The desired state already holds (duplicate assignment 400, grant 409).
    AlreadyExists,
    /// 404 on an object that simply is not there.
    NotFound,
    /// 403: the token or the signed-in admin lacks a permission or role.
    Denied,
    /// 401: the token was refused.
    Unauthenticated,
    /// Anything else: a bad request that retrying will not fix.
    Fatal,
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum GraphError {
    #[error("Microsoft Graph answered {status} {code}: {message}")]
    Api {
        status: u16,
        code: String,
        message: String,
        request_id: Option<String>,
        retry_after: Option<Duration>,
    },
    #[error("could not reach Microsoft Graph: {0}")]
    Network(String),
    /// The request went out but the answer never arrived whole (connection closed or timed
    /// out mid-answer): Microsoft may or may not have done it.
    #[error("the connection to Microsoft Graph broke before its answer arrived: {0}")]
    Dropped(String),
    #[error("Microsoft Graph's answer could not be read: {0}")]
    Decode(String),
    #[error(transparent)]
    SignIn(#[from] SignInError),
    #[error("gave up after {attempts} attempts over {waited:.0?}: {last}")]
    GaveUp {
        attempts: u32,
        waited: Duration,
        last: Box<GraphError>,
    },
    #[error("the operation was cancelled")]
    Cancelled,
}

impl GraphError {
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Api { status, .. } => Some(*status),
            Self::GaveUp { last, .. } => last.status(),
            _ => None,
        }
    }

    pub fn code(&self) -> Option<&str> {
        match self {
            Self::Api { code, .. } => Some(code),
            Self::GaveUp { last, .. } => last.code(),
            _ => None,
        }
    }

    pub fn class(&self) -> ErrorClass {
        match self {
            Self::Api {
                status,
                code,
                message,
                ..
            } => classify(*status, code, message),
            Self::Network(_) | Self::Dropped(_) => ErrorClass::Transient,
            Self::Decode(_) | Self::Cancelled => ErrorClass::Fatal,
            Self::SignIn(_) => ErrorClass::Unauthenticated,
            Self::GaveUp { last, .. } => last.class(),
        }
    }

    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Api { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

fn classify(status: u16, code: &str, message: &str) -> ErrorClass {
    let lower = message.to_ascii_lowercase();
    match status {
        429 => ErrorClass::Throttled,
        500..=599 => ErrorClass::Transient,
        409 if code == "Request_MultipleObjectsWithSameKeyValue" => ErrorClass::AlreadyExists,
        400 if lower.contains("already exists on the object") => ErrorClass::AlreadyExists,
        400 if lower.contains("does not reference a valid application object") => {
            ErrorClass::Replication
        }
        404 => ErrorClass::NotFound,
        403 => ErrorClass::Denied,
        401 => ErrorClass::Unauthenticated,
        _ => ErrorClass::Fatal,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(status: u16, code: &str, message: &str) -> GraphError {
        GraphError::Api {
            status,
            code: code.into(),
            message: message.into(),
            request_id: None,
            retry_after: None,
        }
    }

    #[test]
    fn classifies_microsofts_answers() {
        assert_eq!(
            api(429, "TooManyRequests", "").class(),
            ErrorClass::Throttled
        );
        assert_eq!(
            api(503, "serviceNotAvailable", "").class(),
            ErrorClass::Transient
        );
        assert_eq!(
            api(400, "Request_BadRequest", "The appId 'x' of the service principal does not reference a valid application object.").class(),
            ErrorClass::Replication
        );
        assert_eq!(
            api(
                400,
                "Request_BadRequest",
                "Permission being assigned already exists on the object."
            )
            .class(),
            ErrorClass::AlreadyExists
        );
        assert_eq!(
            api(
                409,
                "Request_MultipleObjectsWithSameKeyValue",
                "Permission entry already exists."
            )
            .class(),
            ErrorClass::AlreadyExists
        );
        assert_eq!(
            api(403, "Authorization_RequestDenied", "").class(),
            ErrorClass::Denied
        );
        assert_eq!(
            api(400, "Request_BadRequest", "Invalid filter clause").class(),
            ErrorClass::Fatal
        );
        assert_eq!(
            GraphError::Network("reset".into()).class(),
            ErrorClass::Transient
        );
    }
}
