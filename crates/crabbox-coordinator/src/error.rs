//! API failures: an HTTP status, a stable machine code and a human message,
//! always rendered as `{"error":code,"message":…}` (with `Retry-After` when
//! waiting helps); and how store failures become them.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use crabbox_proto::wire::ErrorBody;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// Seconds after which the same request may succeed.
    pub retry_after: Option<u32>,
    /// For 424 `provider_not_configured`: the provider and the settings it lacks.
    pub missing: Option<(String, Vec<String>)>,
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            retry_after: None,
            missing: None,
        }
    }

    /// 424 `{error:"provider_not_configured", provider, missing[], message}`.
    pub fn provider_not_configured(
        provider: &str,
        missing: Vec<String>,
        message: impl Into<String>,
    ) -> ApiError {
        ApiError {
            missing: Some((provider.to_string(), missing)),
            ..ApiError::new(
                StatusCode::FAILED_DEPENDENCY,
                "provider_not_configured",
                message,
            )
        }
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, code, message)
    }

    pub fn conflict(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::CONFLICT, code, message)
    }

    pub fn not_found(what: &str) -> ApiError {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("{what} not found"),
        )
    }

    pub fn unauthorized() -> ApiError {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "a valid bearer token is required",
        )
    }

    pub fn forbidden(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    /// A store failure: logged with detail by the caller, reported without it.
    pub fn internal(context: &str) -> ApiError {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            format!("{context} failed"),
        )
    }

    pub fn unavailable(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, code, message)
    }

    /// The database is unreachable or out of connections: 503 with a retry hint.
    pub fn database_unavailable() -> ApiError {
        ApiError {
            retry_after: Some(DATABASE_RETRY_SECS),
            ..ApiError::unavailable(
                "database_unavailable",
                format!(
                    "the coordinator cannot reach its database; retry in {DATABASE_RETRY_SECS} seconds"
                ),
            )
        }
    }
}

/// What a 503 for an unreachable database asks clients to wait.
const DATABASE_RETRY_SECS: u32 = 5;

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let Some((provider, missing)) = &self.missing {
            let body = serde_json::json!({
                "error": self.code,
                "provider": provider,
                "missing": missing,
                "message": first_line(&self.message),
            });
            return (self.status, Json(body)).into_response();
        }
        let body = ErrorBody {
            error: self.code.to_string(),
            message: first_line(&self.message).to_string(),
        };
        let mut response = (self.status, Json(body)).into_response();
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, seconds.into());
        }
        response
    }
}

/// Error text is cut to its first line so stack traces and multi-line provider
/// output never reach clients.
fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or_default()
}

/// A row-locked store change as an API result; `what` names the missing row.
pub fn updated<T>(result: Result<T, crabbox_store::Update<ApiError>>, what: &str) -> ApiResult<T> {
    match result {
        Ok(value) => Ok(value),
        Err(crabbox_store::Update::NotFound) => Err(ApiError::not_found(what)),
        Err(crabbox_store::Update::Rejected(error)) => Err(error),
        Err(crabbox_store::Update::Store(error)) => Err(error.into()),
    }
}

/// The one place store failures become API errors: an unreachable database is
/// a 503 to retry, text the database cannot hold a 400 (the request extractors
/// refuse NUL first; this keeps any other path from answering 500).
impl From<crabbox_store::StoreError> for ApiError {
    fn from(error: crabbox_store::StoreError) -> ApiError {
        if error.is_invalid_text() {
            return ApiError::bad_request(
                "invalid_text",
                "the request holds text the database cannot store (a NUL character)",
            );
        }
        tracing::error!("coordinator: store error: {error}");
        if error.is_unavailable() {
            return ApiError::database_unavailable();
        }
        ApiError::internal("database operation")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_first_line_of_a_message_is_sent() {
        assert_eq!(first_line("bad\nsecret stack"), "bad");
        assert_eq!(first_line(""), "");
    }
}
