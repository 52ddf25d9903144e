//! Microsoft's two error shapes: Graph (`{"error":{"code","message","innerError":{..}}}`)
//! and the identity platform (`{"error","error_description":"AADSTSnnn: ...","error_codes",..}`),
//! plus the strict JSON body parser that turns bad input into Graph-shaped 400s.

use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde::de::DeserializeOwned;
use serde_json::{json, Value};

/// A Graph error before it is rendered (request ids are added at render time).
#[derive(Debug, Clone, PartialEq)]
pub struct GraphError {
    pub status: StatusCode,
    pub code: String,
    pub message: String,
    pub retry_after: Option<u64>,
}

impl GraphError {
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        GraphError {
            status,
            code: code.to_string(),
            message: message.into(),
            retry_after: None,
        }
    }

    pub fn denied() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "Authorization_RequestDenied",
            "Insufficient privileges to complete the operation.",
        )
    }

    pub fn not_found(id: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "Request_ResourceNotFound",
            format!("Resource '{id}' does not exist or one of its queried reference-property objects are not present."),
        )
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "Request_BadRequest", message)
    }

    pub fn unsupported_query(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "Request_UnsupportedQuery", message)
    }

    pub fn segment(seg: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            format!("Resource not found for the segment '{seg}'."),
        )
    }

    /// Is this the "Resource not found for the segment" answer of [`GraphError::segment`]?
    pub fn is_unknown_segment(&self) -> bool {
        self.status == StatusCode::BAD_REQUEST
            && self
                .message
                .starts_with("Resource not found for the segment")
    }

    pub fn method_not_allowed() -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "Request_BadRequest",
            "The requested method is not allowed for this resource.",
        )
    }

    pub fn mailbox_denied() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "ErrorAccessDenied",
            "Access to OData is disabled.",
        )
    }

    pub fn access_denied() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "ErrorAccessDenied",
            "Access is denied. Check credentials and try again.",
        )
    }

    pub fn throttled(retry_after: u64) -> Self {
        GraphError {
            retry_after: Some(retry_after),
            ..Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                "TooManyRequests",
                "Too many requests.",
            )
        }
    }

    /// Renders the JSON body with `innerError` ids.
    pub fn body(&self, request_id: &str, client_request_id: &str) -> Value {
        json!({
            "error": {
                "code": self.code,
                "message": self.message,
                "innerError": {
                    "date": Utc::now().format("%Y-%m-%dT%H:%M:%S").to_string(),
                    "request-id": request_id,
                    "client-request-id": client_request_id,
                }
            }
        })
    }
}

/// Parses a JSON body strictly into `T`: malformed JSON, unknown properties and wrong types
/// become Graph-shaped 400s. OData annotations (`@odata.type`) are ignored.
pub fn parse_body<T: DeserializeOwned>(bytes: &[u8], type_name: &str) -> Result<T, GraphError> {
    let mut v: Value = serde_json::from_slice(bytes).map_err(|_| {
        GraphError::new(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.",
        )
    })?;
    if let Some(o) = v.as_object_mut() {
        o.retain(|k, _| !k.starts_with("@odata."));
    } else {
        return Err(GraphError::new(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.",
        ));
    }
    serde_json::from_value(v).map_err(|e| {
        let msg = e.to_string();
        if let Some(rest) = msg.strip_prefix("unknown field `") {
            let name = rest.split('`').next().unwrap_or_default();
            GraphError::bad_request(format!(
                "Property '{name}' does not exist on type 'microsoft.graph.{type_name}'."
            ))
        } else if msg.starts_with("missing field `") {
            let name = msg.split('`').nth(1).unwrap_or_default();
            GraphError::bad_request(format!(
                "Property '{name}' is required on type 'microsoft.graph.{type_name}'."
            ))
        } else {
            GraphError::bad_request(format!(
                "Invalid value in request body for type 'microsoft.graph.{type_name}': {msg}"
            ))
        }
    })
}

/// An identity platform (STS) error.
#[derive(Debug, Clone, PartialEq)]
pub struct AadError {
    pub status: StatusCode,
    pub error: String,
    pub code: u32,
    pub description: String,
}

impl AadError {
    pub fn new(status: StatusCode, error: &str, code: u32, description: impl Into<String>) -> Self {
        AadError {
            status,
            error: error.to_string(),
            code,
            description: description.into(),
        }
    }

    pub fn bad(error: &str, code: u32, description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, error, code, description)
    }

    pub fn unknown_tenant(tenant: &str) -> Self {
        Self::bad(
            "invalid_request",
            90002,
            format!("Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant."),
        )
    }

    pub fn app_not_found(client_id: &str, tenant_name: &str) -> Self {
        Self::bad(
            "unauthorized_client",
            700016,
            format!("Application with identifier '{client_id}' was not found in the directory '{tenant_name}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant."),
        )
    }

    pub fn invalid_secret(client_id: &str) -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            7000215,
            format!("Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{client_id}'."),
        )
    }

    pub fn expired_secret(client_id: &str) -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            7000222,
            format!("The provided client secret keys for app '{client_id}' are expired. Visit the Azure portal to create new keys for your app: https://aka.ms/NewClientSecret, or consider using certificate credentials for added security: https://aka.ms/certCreds."),
        )
    }

    /// The JSON body.
    pub fn body(&self, correlation_id: &str) -> Value {
        let now = Utc::now();
        let ts = now.format("%Y-%m-%d %H:%M:%SZ").to_string();
        let trace = uuid::Uuid::new_v4().to_string();
        json!({
            "error": self.error,
            "error_description": format!(
                "AADSTS{}: {}\r\nTrace ID: {}\r\nCorrelation ID: {}\r\nTimestamp: {}",
                self.code, self.description, trace, correlation_id, ts
            ),
            "error_codes": [self.code],
            "timestamp": ts,
            "trace_id": trace,
            "correlation_id": correlation_id,
            "error_uri": format!("https://login.microsoftonline.com/error?code={}", self.code),
        })
    }

    /// Renders the error for a request with these headers (echoing `client-request-id`).
    pub fn into_response_for(self, headers: &HeaderMap) -> Response {
        let corr = headers
            .get("client-request-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        let mut resp = (self.status, axum::Json(self.body(&corr))).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            resp.headers_mut().insert(
                "www-authenticate",
                HeaderValue::from_static("Basic realm=\"login\""),
            );
        }
        resp
    }
}

impl IntoResponse for AadError {
    fn into_response(self) -> Response {
        self.into_response_for(&HeaderMap::new())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct T {
        a: u32,
    }

    #[test]
    fn strict_parse_errors_are_graph_shaped() {
        assert_eq!(parse_body::<T>(b"{", "t").unwrap_err().code, "BadRequest");
        let e = parse_body::<T>(br#"{"a":1,"b":2}"#, "t").unwrap_err();
        assert_eq!(e.code, "Request_BadRequest");
        assert!(e.message.contains("'b'"), "{}", e.message);
        assert!(parse_body::<T>(br#"{"a":"x"}"#, "t").is_err());
        assert!(parse_body::<T>(br#"{"@odata.type":"x","a":1}"#, "t").is_ok());
    }

    #[test]
    fn aad_body_carries_code() {
        let b = AadError::invalid_secret("x").body("c");
        assert_eq!(b["error_codes"][0], 7000215);
        assert!(b["error_description"]
            .as_str()
            .unwrap()
            .starts_with("AADSTS7000215:"));
    }
}
