//! A fake E2B control API: `GET /sandboxes/<id>` and `GET /v2/sandboxes` with a
//! `metadata` filter (URL-encoded `key=value&…`), both behind `X-API-Key`.

use std::collections::BTreeMap;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

use super::{header, spawn, Shared};

#[derive(Debug, Clone)]
pub struct E2bSandbox {
    pub sandbox_id: String,
    /// The sandbox's own domain; empty means the API leaves it out.
    pub domain: String,
    pub metadata: BTreeMap<String, String>,
}

#[derive(Debug, Default)]
pub struct E2bState {
    pub api_key: String,
    pub sandboxes: Vec<E2bSandbox>,
    pub requests: usize,
}

#[derive(Debug, Clone)]
pub struct FakeE2b {
    pub url: String,
    pub state: Shared<E2bState>,
}

impl FakeE2b {
    pub async fn start(api_key: &str) -> FakeE2b {
        let state = Shared::new(E2bState {
            api_key: api_key.to_string(),
            ..E2bState::default()
        });
        let router = Router::new()
            .route("/sandboxes/{id}", get(get_sandbox))
            .route("/v2/sandboxes", get(list_sandboxes))
            .with_state(state.clone());
        FakeE2b {
            url: spawn(router).await,
            state,
        }
    }

    pub fn add_sandbox(&self, sandbox_id: &str, domain: &str, metadata: &[(&str, &str)]) {
        self.state.lock().sandboxes.push(E2bSandbox {
            sandbox_id: sandbox_id.to_string(),
            domain: domain.to_string(),
            metadata: metadata
                .iter()
                .map(|(key, value)| (key.to_string(), value.to_string()))
                .collect(),
        });
    }
}

fn sandbox_json(sandbox: &E2bSandbox) -> Value {
    let mut value = json!({
        "sandboxID": sandbox.sandbox_id,
        "templateID": "base",
        "state": "running",
        "metadata": sandbox.metadata,
    });
    if !sandbox.domain.is_empty() {
        value["domain"] = json!(sandbox.domain);
    }
    value
}

fn unauthorized(state: &E2bState, headers: &HeaderMap) -> Option<Response> {
    (header(headers, "x-api-key") != state.api_key).then(|| {
        let body = r#"{"code":401,"message":"Invalid API key"}"#;
        (StatusCode::UNAUTHORIZED, body).into_response()
    })
}

async fn get_sandbox(
    State(shared): State<Shared<E2bState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let mut state = shared.lock();
    state.requests += 1;
    if let Some(refusal) = unauthorized(&state, &headers) {
        return refusal;
    }
    match state
        .sandboxes
        .iter()
        .find(|sandbox| sandbox.sandbox_id == id)
    {
        Some(sandbox) => Json(sandbox_json(sandbox)).into_response(),
        None => (
            StatusCode::NOT_FOUND,
            r#"{"code":404,"message":"not found"}"#,
        )
            .into_response(),
    }
}

/// Splits `a=1&b=2` (already percent-decoded once by the query extractor).
fn parse_filter(text: &str) -> Vec<(String, String)> {
    text.split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(key, value)| (key.to_string(), value.to_string()))
        .collect()
}

async fn list_sandboxes(
    State(shared): State<Shared<E2bState>>,
    Query(query): Query<BTreeMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let mut state = shared.lock();
    state.requests += 1;
    if let Some(refusal) = unauthorized(&state, &headers) {
        return refusal;
    }
    let filter = parse_filter(
        query
            .get("metadata")
            .map(String::as_str)
            .unwrap_or_default(),
    );
    let matching: Vec<Value> = state
        .sandboxes
        .iter()
        .filter(|sandbox| {
            filter
                .iter()
                .all(|(key, value)| sandbox.metadata.get(key) == Some(value))
        })
        .map(sandbox_json)
        .collect();
    Json(Value::Array(matching)).into_response()
}
