//! JSON request bodies with a size limit: malformed JSON is a 400, an oversized
//! body a 413, unknown fields are ignored and an empty body means "all defaults".
//! A NUL character in a string is a 400, except in bodies that carry command
//! output ([`OutputBody`]).

use axum::body::Body;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use serde::de::DeserializeOwned;

use crate::error::ApiError;
use crate::text;

/// Authenticated requests may carry up to 16 MiB.
pub const DEFAULT_LIMIT: usize = 16 << 20;
/// Run finish carries logs: up to 64 MiB.
pub const FINISH_LIMIT: usize = 64 << 20;

/// A JSON body of at most `LIMIT` bytes whose strings hold no NUL.
pub struct JsonBody<T, const LIMIT: usize = DEFAULT_LIMIT>(pub T);

/// A JSON body of at most `LIMIT` bytes carrying command output, which may
/// hold NUL characters (stored as U+FFFD).
pub struct OutputBody<T, const LIMIT: usize = DEFAULT_LIMIT>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Default, const LIMIT: usize> FromRequest<S>
    for JsonBody<T, LIMIT>
{
    type Rejection = ApiError;

    async fn from_request(request: Request<Body>, _state: &S) -> Result<Self, ApiError> {
        let bytes = read(request, LIMIT).await?;
        let value = parse(&bytes)?;
        if text::json_has_nul(&bytes) {
            return Err(ApiError::bad_request(
                "invalid_text",
                "request body strings must not contain NUL characters",
            ));
        }
        Ok(JsonBody(value))
    }
}

impl<S: Send + Sync, T: DeserializeOwned + Default, const LIMIT: usize> FromRequest<S>
    for OutputBody<T, LIMIT>
{
    type Rejection = ApiError;

    async fn from_request(request: Request<Body>, _state: &S) -> Result<Self, ApiError> {
        let bytes = read(request, LIMIT).await?;
        parse(&bytes).map(OutputBody)
    }
}

async fn read(request: Request<Body>, limit: usize) -> Result<axum::body::Bytes, ApiError> {
    axum::body::to_bytes(request.into_body(), limit)
        .await
        .map_err(|_| {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "request_too_large",
                format!("request body is larger than {} MiB", limit >> 20),
            )
        })
}

/// Parses a body; whitespace-only means the type's defaults.
pub fn parse<T: DeserializeOwned + Default>(bytes: &[u8]) -> Result<T, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(bytes).map_err(|error| {
        ApiError::bad_request(
            "invalid_json",
            format!("request body is not valid JSON for this endpoint: {error}"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crabbox_proto::wire::HeartbeatRequest;

    #[test]
    fn malformed_json_is_a_bad_request() {
        let error = parse::<HeartbeatRequest>(b"{not json").unwrap_err();
        assert_eq!(
            (error.status, error.code),
            (StatusCode::BAD_REQUEST, "invalid_json")
        );
        let error = parse::<HeartbeatRequest>(br#"{"idleTimeoutSeconds":"soon"}"#).unwrap_err();
        assert_eq!(error.code, "invalid_json");
        assert_eq!(
            parse::<HeartbeatRequest>(b" \n").unwrap(),
            HeartbeatRequest::default()
        );
        let unknown: HeartbeatRequest = parse(br#"{"future":1,"idleTimeoutSeconds":60}"#).unwrap();
        assert_eq!(unknown.idle_timeout_seconds, Some(60));
    }
}
