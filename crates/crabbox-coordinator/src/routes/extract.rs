//! Path and query extractors whose failures are JSON 400s like every other error;
//! text with a NUL character is refused here, before it can reach the store.

use std::collections::HashMap;

use axum::extract::{FromRequestParts, Path, Query};
use axum::http::request::Parts;

use crate::error::ApiError;
use crate::text;

/// The `{id}` path segment.
pub struct Id(pub String);

impl<S: Send + Sync> FromRequestParts<S> for Id {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Id, ApiError> {
        let Path(id) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|_| {
                ApiError::bad_request("invalid_path", "the path segment is not valid UTF-8")
            })?;
        if text::has_nul(&id) {
            return Err(ApiError::bad_request(
                "invalid_path",
                "the path segment must not contain NUL characters",
            ));
        }
        Ok(Id(id))
    }
}

/// Query parameters; invalid numbers fall back to the route default.
pub struct Params(pub HashMap<String, String>);

impl Params {
    pub fn text(&self, name: &str) -> Option<String> {
        self.0
            .get(name)
            .map(|value| value.trim().to_string())
            .filter(|value| !value.is_empty())
    }

    pub fn number(&self, name: &str, default: i64) -> i64 {
        self.text(name)
            .and_then(|value| value.parse().ok())
            .unwrap_or(default)
    }

    /// `limit`, clamped to 1..=500; invalid or missing means `default`.
    pub fn limit(&self, default: i64) -> i64 {
        let limit = self.number("limit", default);
        if limit <= 0 {
            default
        } else {
            limit.min(500)
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Params {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Params, ApiError> {
        let Query(map) = Query::<HashMap<String, String>>::from_request_parts(parts, state)
            .await
            .map_err(|_| {
                ApiError::bad_request("invalid_query", "the query string could not be parsed")
            })?;
        if map
            .iter()
            .any(|(name, value)| text::has_nul(name) || text::has_nul(value))
        {
            return Err(ApiError::bad_request(
                "invalid_query",
                "query parameters must not contain NUL characters",
            ));
        }
        Ok(Params(map))
    }
}
