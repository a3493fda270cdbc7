//! A fake Tailscale policy-file API (`/api/v2/tailnet/<tailnet>/acl`): basic auth
//! with the API key as user name, an ETag per policy version, writes only with a
//! matching `If-Match` (412 otherwise), and switchable Headscale-like answers.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use base64::Engine;

use super::{header, spawn, Shared};

/// How the policy endpoint answers GETs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PolicyMode {
    #[default]
    Tailscale,
    /// 404 on every request (an endpoint without the policy API).
    NotFound,
    /// 501 on every request (Headscale in file-policy mode).
    NotImplemented,
    /// 200 without an `ETag` header (no compare-and-set possible).
    NoEtag,
}

#[derive(Debug, Default)]
pub struct TailscaleState {
    pub api_key: String,
    pub tailnet: String,
    pub policy: String,
    pub version: u64,
    pub mode: PolicyMode,
    pub gets: usize,
    /// Every POST, accepted or not.
    pub posts: usize,
    /// POSTs that replaced the policy.
    pub writes: usize,
    /// The next N POSTs find the policy changed by someone else first (a
    /// concurrent edit that bumps the version), so their If-Match fails.
    pub concurrent_edits: usize,
    pub last_if_match: Option<String>,
    pub last_content_type: Option<String>,
}

impl TailscaleState {
    pub fn etag(&self) -> String {
        format!("\"policy-v{}\"", self.version)
    }
}

/// A running fake; `url` is the API base (what `CRABBOX_TS_API_URL` points at).
#[derive(Debug, Clone)]
pub struct FakeTailscale {
    pub url: String,
    pub state: Shared<TailscaleState>,
}

impl FakeTailscale {
    pub async fn start(api_key: &str, tailnet: &str, policy: &str) -> FakeTailscale {
        let state = Shared::new(TailscaleState {
            api_key: api_key.to_string(),
            tailnet: tailnet.to_string(),
            policy: policy.to_string(),
            version: 1,
            ..TailscaleState::default()
        });
        let router = Router::new()
            .route("/api/v2/tailnet/{tailnet}/acl", get(read).post(write))
            .with_state(state.clone());
        FakeTailscale {
            url: spawn(router).await,
            state,
        }
    }

    /// Looks up the variables an operator would export to let crabbox edit
    /// this fake's policy (bootstrap opted in); unknown names are unset.
    pub fn env_lookup(&self) -> impl Fn(&str) -> Option<String> + use<> {
        let state = self.state.lock();
        let pairs: Vec<(&'static str, String)> = vec![
            ("CRABBOX_POND_ACL_BOOTSTRAP", "1".to_string()),
            ("TS_API_KEY", state.api_key.clone()),
            ("TS_TAILNET", state.tailnet.clone()),
            ("CRABBOX_TS_API_URL", self.url.clone()),
        ];
        move |name: &str| {
            pairs
                .iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| value.clone())
        }
    }

    pub fn policy(&self) -> String {
        self.state.lock().policy.clone()
    }
}

fn authorized(state: &TailscaleState, headers: &HeaderMap) -> bool {
    let expected = base64::engine::general_purpose::STANDARD.encode(format!("{}:", state.api_key));
    header(headers, "authorization") == format!("Basic {expected}")
}

fn refuse(state: &TailscaleState, headers: &HeaderMap, tailnet: &str) -> Option<Response> {
    if !authorized(state, headers) {
        let body = r#"{"message":"API token invalid"}"#;
        return Some((StatusCode::UNAUTHORIZED, body).into_response());
    }
    match state.mode {
        PolicyMode::NotFound => return Some(StatusCode::NOT_FOUND.into_response()),
        PolicyMode::NotImplemented => return Some(StatusCode::NOT_IMPLEMENTED.into_response()),
        _ => {}
    }
    if tailnet != state.tailnet && tailnet != "-" {
        let body = r#"{"message":"tailnet not found"}"#;
        return Some((StatusCode::NOT_FOUND, body).into_response());
    }
    None
}

async fn read(
    State(shared): State<Shared<TailscaleState>>,
    Path(tailnet): Path<String>,
    headers: HeaderMap,
) -> Response {
    let mut state = shared.lock();
    state.gets += 1;
    if let Some(refusal) = refuse(&state, &headers, &tailnet) {
        return refusal;
    }
    let body = state.policy.clone();
    if state.mode == PolicyMode::NoEtag {
        return ([("content-type", "application/hujson")], body).into_response();
    }
    let etag = state.etag();
    (
        [
            ("content-type", "application/hujson"),
            ("etag", etag.as_str()),
        ],
        body,
    )
        .into_response()
}

async fn write(
    State(shared): State<Shared<TailscaleState>>,
    Path(tailnet): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut state = shared.lock();
    state.posts += 1;
    state.last_if_match = Some(header(&headers, "if-match").to_string());
    state.last_content_type = Some(header(&headers, "content-type").to_string());
    if let Some(refusal) = refuse(&state, &headers, &tailnet) {
        return refusal;
    }
    if state.concurrent_edits > 0 {
        state.concurrent_edits -= 1;
        state.version += 1;
    }
    if header(&headers, "if-match") != state.etag() {
        let body = r#"{"message":"precondition failed, invalid old hash"}"#;
        return (StatusCode::PRECONDITION_FAILED, body).into_response();
    }
    let Ok(text) = String::from_utf8(body.to_vec()) else {
        return (
            StatusCode::BAD_REQUEST,
            r#"{"message":"body is not UTF-8"}"#,
        )
            .into_response();
    };
    state.policy = text;
    state.version += 1;
    state.writes += 1;
    let etag = state.etag();
    ([("etag", etag.as_str())], r#"{"acls":[]}"#).into_response()
}
