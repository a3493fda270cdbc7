//! API failures and the Kubernetes `Status` objects they are sent as.

use serde_json::{json, Value};

use crate::resources::ResourceKind;

/// A failed API call: HTTP code, Kubernetes reason and message.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{reason} ({code}): {message}")]
pub struct ApiError {
    pub code: u16,
    pub reason: &'static str,
    pub message: String,
    pub details: Value,
}

impl ApiError {
    fn new(code: u16, reason: &'static str, message: String, details: Value) -> ApiError {
        ApiError {
            code,
            reason,
            message,
            details,
        }
    }

    fn details(kind: &ResourceKind, name: &str) -> Value {
        json!({"name": name, "group": kind.group, "kind": kind.plural})
    }

    pub fn not_found(kind: &ResourceKind, name: &str) -> ApiError {
        let message = format!("{} \"{name}\" not found", kind.qualified());
        ApiError::new(404, "NotFound", message, Self::details(kind, name))
    }

    pub fn already_exists(kind: &ResourceKind, name: &str) -> ApiError {
        let message = format!("{} \"{name}\" already exists", kind.qualified());
        ApiError::new(409, "AlreadyExists", message, Self::details(kind, name))
    }

    pub fn conflict(kind: &ResourceKind, name: &str, why: &str) -> ApiError {
        let message = format!(
            "Operation cannot be fulfilled on {} \"{name}\": {why}",
            kind.qualified()
        );
        ApiError::new(409, "Conflict", message, Self::details(kind, name))
    }

    pub fn modified(kind: &ResourceKind, name: &str) -> ApiError {
        Self::conflict(
            kind,
            name,
            "the object has been modified; please apply your changes to the latest version and try again",
        )
    }

    pub fn forbidden(kind: &ResourceKind, verb: &str, namespace: Option<&str>) -> ApiError {
        let scope = match namespace {
            Some(namespace) => format!(" in the namespace \"{namespace}\""),
            None => " at the cluster scope".to_string(),
        };
        let message = format!(
            "{} is forbidden: User \"crabbox-sim\" cannot {verb} resource \"{}\" in API group \"{}\"{scope}",
            kind.qualified(),
            kind.plural,
            kind.group
        );
        ApiError::new(
            403,
            "Forbidden",
            message,
            json!({"group": kind.group, "kind": kind.plural}),
        )
    }

    pub fn unauthorized() -> ApiError {
        ApiError::new(401, "Unauthorized", "Unauthorized".into(), json!({}))
    }

    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(400, "BadRequest", message.into(), json!({}))
    }

    pub fn invalid(kind: &ResourceKind, name: &str, message: impl Into<String>) -> ApiError {
        let message = format!(
            "{} \"{name}\" is invalid: {}",
            kind.qualified(),
            message.into()
        );
        ApiError::new(422, "Invalid", message, Self::details(kind, name))
    }

    pub fn invalid_patch(message: impl Into<String>) -> ApiError {
        ApiError::new(422, "Invalid", message.into(), json!({}))
    }

    pub fn unsupported_media_type(content_type: &str) -> ApiError {
        let message = format!("the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml; got {content_type}");
        ApiError::new(415, "UnsupportedMediaType", message, json!({}))
    }

    pub fn timeout() -> ApiError {
        ApiError::new(
            504,
            "Timeout",
            "Timeout: request did not complete within the allowed duration".into(),
            json!({}),
        )
    }

    pub fn method_not_allowed() -> ApiError {
        ApiError::new(
            405,
            "MethodNotAllowed",
            "the server does not allow this method on the requested resource".into(),
            json!({}),
        )
    }

    pub fn path_not_found(path: &str) -> ApiError {
        ApiError::new(
            404,
            "NotFound",
            format!("the server could not find the requested resource ({path})"),
            json!({}),
        )
    }

    /// The `Status` object Kubernetes sends for this failure.
    pub fn to_status(&self) -> Value {
        json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "details": self.details,
            "code": self.code,
        })
    }
}
