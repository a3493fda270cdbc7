//! A fake Islo shares API. As Islo does, `POST /auth/token` trades the API key
//! (`{"access_key"}`) for a session token (`{"session_token", "cookie_max_age"}`),
//! and `GET|POST /sandboxes/<name>/shares` accept only a session token as the
//! bearer — never the API key itself. Unknown sandboxes answer 404; a create
//! outside 60..604800 seconds of TTL is refused with 422.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

use super::{header, spawn, Shared};

#[derive(Debug, Clone, PartialEq)]
pub struct IsloShare {
    pub sandbox: String,
    pub share_id: String,
    pub url: String,
    pub port: u16,
    /// Raw `expires_at` as the API returns it (may be unparsable on purpose).
    pub expires_at: Option<String>,
}

#[derive(Debug, Default)]
pub struct IsloState {
    /// The API key `POST /auth/token` accepts.
    pub token: String,
    /// Session tokens issued so far; each is a valid bearer.
    pub sessions: Vec<String>,
    pub sandboxes: Vec<String>,
    pub shares: Vec<IsloShare>,
    /// Bodies of accepted and refused create requests, in order.
    pub create_requests: Vec<Value>,
    pub list_requests: usize,
    /// When set, listing answers 500 (to prove no create follows a failed list).
    pub fail_list: bool,
}

#[derive(Debug, Clone)]
pub struct FakeIslo {
    pub url: String,
    pub state: Shared<IsloState>,
}

impl FakeIslo {
    pub async fn start(token: &str, sandboxes: &[&str]) -> FakeIslo {
        let state = Shared::new(IsloState {
            token: token.to_string(),
            sandboxes: sandboxes.iter().map(|name| name.to_string()).collect(),
            ..IsloState::default()
        });
        let router = Router::new()
            .route("/auth/token", post(exchange))
            .route("/sandboxes/{name}/shares", get(list).post(create))
            .with_state(state.clone());
        FakeIslo {
            url: spawn(router).await,
            state,
        }
    }

    pub fn add_share(&self, sandbox: &str, port: u16, url: &str, expires_at: Option<&str>) {
        let mut state = self.state.lock();
        let share_id = format!("shr_seed{}", state.shares.len());
        state.shares.push(IsloShare {
            sandbox: sandbox.to_string(),
            share_id,
            url: url.to_string(),
            port,
            expires_at: expires_at.map(str::to_string),
        });
    }
}

fn share_json(share: &IsloShare) -> Value {
    json!({
        "share_id": share.share_id,
        "url": share.url,
        "port": share.port,
        "created_at": "2026-01-01T00:00:00Z",
        "expires_at": share.expires_at,
    })
}

async fn exchange(State(shared): State<Shared<IsloState>>, Json(body): Json<Value>) -> Response {
    let mut state = shared.lock();
    if body["access_key"].as_str() != Some(state.token.as_str()) {
        return (
            StatusCode::UNAUTHORIZED,
            r#"{"detail":"invalid access key"}"#,
        )
            .into_response();
    }
    let session = format!("islo-session-{}", state.sessions.len() + 1);
    state.sessions.push(session.clone());
    Json(json!({ "session_token": session, "cookie_max_age": 3600 })).into_response()
}

fn gate(state: &IsloState, headers: &HeaderMap, name: &str) -> Option<Response> {
    let bearer = header(headers, "authorization");
    let session = bearer.strip_prefix("Bearer ").unwrap_or_default();
    if !state.sessions.iter().any(|issued| issued == session) {
        return Some((StatusCode::UNAUTHORIZED, r#"{"detail":"unauthorized"}"#).into_response());
    }
    if !state.sandboxes.iter().any(|known| known == name) {
        return Some((StatusCode::NOT_FOUND, r#"{"detail":"sandbox not found"}"#).into_response());
    }
    None
}

async fn list(
    State(shared): State<Shared<IsloState>>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Response {
    let mut state = shared.lock();
    state.list_requests += 1;
    if let Some(refusal) = gate(&state, &headers, &name) {
        return refusal;
    }
    if state.fail_list {
        return (StatusCode::INTERNAL_SERVER_ERROR, r#"{"detail":"boom"}"#).into_response();
    }
    let shares: Vec<Value> = state
        .shares
        .iter()
        .filter(|share| share.sandbox == name)
        .map(share_json)
        .collect();
    Json(Value::Array(shares)).into_response()
}

async fn create(
    State(shared): State<Shared<IsloState>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let mut state = shared.lock();
    state.create_requests.push(body.clone());
    if let Some(refusal) = gate(&state, &headers, &name) {
        return refusal;
    }
    let Some(port) = body["port"]
        .as_u64()
        .filter(|port| (1..=65535).contains(port))
    else {
        return (StatusCode::UNPROCESSABLE_ENTITY, r#"{"detail":"bad port"}"#).into_response();
    };
    let expires_at = match body.get("ttl_seconds") {
        None | Some(Value::Null) => None,
        Some(ttl) => match ttl.as_i64().filter(|ttl| (60..=604_800).contains(ttl)) {
            // Far enough ahead that the created share stays reusable.
            Some(_) => Some("2099-01-01T00:00:00Z".to_string()),
            None => {
                let body = r#"{"detail":"ttl_seconds must be between 60 and 604800"}"#;
                return (StatusCode::UNPROCESSABLE_ENTITY, body).into_response();
            }
        },
    };
    let share_id = format!("shr_{}", state.shares.len());
    let share = IsloShare {
        sandbox: name,
        url: format!("https://{share_id}.share.islo.test"),
        share_id,
        port: port as u16,
        expires_at,
    };
    state.shares.push(share.clone());
    (StatusCode::CREATED, Json(share_json(&share))).into_response()
}
