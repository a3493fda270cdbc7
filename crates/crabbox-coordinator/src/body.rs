//! JSON request bodies with a size limit: malformed JSON is a 400, an oversized
//! body a 413, a stalled one a 408, unknown fields are ignored and an empty body means "all defaults".
//! A NUL character in a string is a 400, except in bodies that carry command
//! output ([`OutputBody`]).

use std::future::poll_fn;
use std::pin::Pin;
use std::time::Duration;

use axum::body::{Body, HttpBody};
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

/// How long a request body may go without a byte arriving; the connection
/// layer sets it from the idle timeout.
#[derive(Debug, Clone, Copy)]
pub struct BodyStall(pub Duration);

/// For requests that did not come through the connection layer.
const DEFAULT_STALL: Duration = Duration::from_secs(60);

/// The whole body, refused when it passes `limit` or stalls (a client that
/// sends a head and then trickles or withholds the body does not hold the
/// handler forever).
async fn read(request: Request<Body>, limit: usize) -> Result<Vec<u8>, ApiError> {
    let stall = request
        .extensions()
        .get::<BodyStall>()
        .map_or(DEFAULT_STALL, |stall| stall.0);
    let mut body = request.into_body();
    let mut bytes = Vec::new();
    loop {
        let frame = poll_fn(|context| Pin::new(&mut body).poll_frame(context));
        let data = match tokio::time::timeout(stall, frame).await {
            Err(_) => {
                return Err(ApiError::new(
                    StatusCode::REQUEST_TIMEOUT,
                    "request_timeout",
                    format!(
                        "no part of the request body arrived for {} ms",
                        stall.as_millis()
                    ),
                ))
            }
            Ok(None) => return Ok(bytes),
            Ok(Some(Err(_))) => {
                return Err(ApiError::bad_request(
                    "invalid_body",
                    "the request body could not be read",
                ))
            }
            Ok(Some(Ok(frame))) => match frame.into_data() {
                Ok(data) => data,
                Err(_trailers) => continue,
            },
        };
        if bytes.len() + data.len() > limit {
            return Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "request_too_large",
                format!("request body is larger than {} MiB", limit >> 20),
            ));
        }
        bytes.extend_from_slice(&data);
    }
}

/// Parses a body; whitespace-only means the type's defaults. A value of the
/// wrong JSON type is refused with the field's path in the message.
pub fn parse<T: DeserializeOwned + Default>(bytes: &[u8]) -> Result<T, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    crabbox_proto::wire::from_json_slice(bytes).map_err(|error| {
        let message = if error.path.is_empty() || error.path == "." {
            format!(
                "request body is not valid JSON for this endpoint: {}",
                error.message
            )
        } else {
            format!(
                "request body field `{}` is invalid: {}",
                error.path, error.message
            )
        };
        ApiError::bad_request("invalid_json", message)
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
        assert!(
            error.message.contains("`idleTimeoutSeconds`"),
            "{}",
            error.message
        );
        assert_eq!(
            parse::<HeartbeatRequest>(b" \n").unwrap(),
            HeartbeatRequest::default()
        );
        let unknown: HeartbeatRequest = parse(br#"{"future":1,"idleTimeoutSeconds":60}"#).unwrap();
        assert_eq!(unknown.idle_timeout_seconds, Some(60));
    }
}
