//! A stand-in for the Node coordinator of the Go Crabbox, answering in its body
//! shapes (numeric `serverID`, string `exposedPorts`, run records that always
//! carry `leaseID`, `leaseIDs` and `leaseOwners`, `retryLikely` as a string) so
//! our CLI can be checked against them. It serves one lease the test describes
//! and records runs in memory; it has no control socket (`GET /v1/control` is a
//! 404, as on a coordinator without one), so clients must fall back to polling.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

use super::{spawn, Shared};

#[derive(Debug, Default)]
pub struct NodeState {
    /// The lease, as Node's `publicLeaseRecord` would send it.
    pub lease: Value,
    pub runs: Vec<Value>,
    /// Events per run, in order.
    pub events: Vec<(String, Vec<Value>)>,
    /// Every request line, e.g. `POST /v1/runs`.
    pub requests: Vec<String>,
}

pub struct FakeNodeCoordinator {
    pub url: String,
    pub state: Shared<NodeState>,
    _runtime: std::thread::JoinHandle<()>,
}

const NOW: &str = "2026-12-04T10:00:00.000Z";

/// A Node-shaped lease record for a machine at `host:port`, reached as `user`.
pub fn node_lease(
    id: &str,
    slug: &str,
    host: &str,
    port: u16,
    user: &str,
    work_root: &str,
) -> Value {
    json!({
        "id": id, "slug": slug, "provider": "hetzner", "lifecycle": "managed",
        "target": "linux", "cloudID": "58316224", "owner": "alice@example.com", "org": "acme",
        "profile": "default", "class": "beast", "serverType": "ccx63", "pond": "",
        "exposedPorts": ["8080"], "serverID": 58316224, "serverName": format!("crabbox-{slug}"),
        "providerKey": format!("crabbox-{id}"), "host": host, "sshUser": user,
        "sshPort": port.to_string(), "sshFallbackPorts": [], "workRoot": work_root,
        "keep": true, "ttlSeconds": 5400, "idleTimeoutSeconds": 1800,
        "estimatedHourlyUSD": 0.3571, "maxEstimatedUSD": 0.5357, "state": "active",
        "createdAt": NOW, "updatedAt": NOW, "lastTouchedAt": NOW,
        "expiresAt": "2099-01-01T00:00:00.000Z"
    })
}

impl FakeNodeCoordinator {
    /// Serves `lease` on a free loopback port from a thread of its own, so
    /// synchronous tests can use it.
    pub fn start(lease: Value) -> FakeNodeCoordinator {
        let state = Shared::new(NodeState {
            lease,
            ..NodeState::default()
        });
        let (sender, receiver) = std::sync::mpsc::channel();
        let shared = state.clone();
        let handle = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime for the fake coordinator");
            runtime.block_on(async move {
                let url = spawn(router(shared)).await;
                let _ = sender.send(url);
                std::future::pending::<()>().await;
            });
        });
        let url = receiver.recv().expect("the fake coordinator started");
        FakeNodeCoordinator {
            url,
            state,
            _runtime: handle,
        }
    }
}

fn router(state: Shared<NodeState>) -> Router {
    Router::new()
        .route("/v1/leases", get(list_leases))
        .route("/v1/leases/{id}", get(get_lease))
        .route("/v1/leases/{id}/heartbeat", post(lease_answer))
        .route("/v1/leases/{id}/release", post(lease_answer))
        .route("/v1/runs", get(list_runs).post(create_run))
        .route("/v1/runs/{id}", get(get_run))
        .route("/v1/runs/{id}/events", get(list_events).post(append_event))
        .route("/v1/runs/{id}/finish", post(finish_run))
        .route("/v1/runs/{id}/telemetry", post(telemetry))
        .route("/v1/runs/{id}/logs", get(logs))
        .with_state(state)
}

fn note(state: &Shared<NodeState>, line: String) {
    state.lock().requests.push(line);
}

fn not_found() -> Response {
    (StatusCode::NOT_FOUND, Json(json!({"error": "not_found"}))).into_response()
}

async fn list_leases(State(state): State<Shared<NodeState>>) -> Json<Value> {
    note(&state, "GET /v1/leases".into());
    Json(json!({"leases": [state.lock().lease.clone()]}))
}

async fn get_lease(State(state): State<Shared<NodeState>>, Path(id): Path<String>) -> Response {
    note(&state, format!("GET /v1/leases/{id}"));
    let lease = state.lock().lease.clone();
    if lease["id"] == id.as_str() || lease["slug"] == id.as_str() {
        Json(json!({ "lease": lease })).into_response()
    } else {
        not_found()
    }
}

async fn lease_answer(State(state): State<Shared<NodeState>>, Path(id): Path<String>) -> Response {
    note(&state, format!("POST /v1/leases/{id}/…"));
    let lease = state.lock().lease.clone();
    Json(json!({ "lease": lease })).into_response()
}

fn run_record(id: &str, body: &Value, lease: &Value) -> Value {
    let lease_id = body["leaseID"].as_str().unwrap_or_default();
    let known = lease["id"] == lease_id;
    json!({
        "id": id, "leaseID": lease_id,
        "leaseIDs": if known { json!([lease_id]) } else { json!([]) },
        "slug": if known { lease["slug"].clone() } else { json!("") },
        "owner": "alice@example.com", "org": "acme",
        "leaseOwners": if known { json!([{"owner": "alice@example.com", "org": "acme"}]) } else { json!([]) },
        "provider": body["provider"].as_str().unwrap_or("hetzner"),
        "target": "linux", "class": body["class"].as_str().unwrap_or(""),
        "serverType": body["serverType"].as_str().unwrap_or(""),
        "command": body["command"].clone(), "state": "running", "phase": "starting",
        "logBytes": 0, "logTruncated": false, "startedAt": NOW, "lastEventAt": NOW,
        "eventCount": 1
    })
}

async fn create_run(State(state): State<Shared<NodeState>>, Json(body): Json<Value>) -> Response {
    note(&state, "POST /v1/runs".into());
    let mut state = state.lock();
    let id = format!("run_{:012x}", 0xabc000 + state.runs.len());
    let run = run_record(&id, &body, &state.lease);
    let started = json!({"runID": id, "seq": 1, "type": "run.started", "phase": "starting",
        "message": "run started", "leaseID": run["leaseID"], "createdAt": NOW});
    state.runs.push(run.clone());
    state.events.push((id, vec![started]));
    (StatusCode::CREATED, Json(json!({ "run": run }))).into_response()
}

fn with_run<T>(state: &mut NodeState, id: &str, change: impl FnOnce(&mut Value) -> T) -> Option<T> {
    state
        .runs
        .iter_mut()
        .find(|run| run["id"] == id)
        .map(change)
}

async fn append_event(
    State(state): State<Shared<NodeState>>,
    Path(id): Path<String>,
    Json(body): Json<Value>,
) -> Response {
    note(&state, format!("POST /v1/runs/{id}/events"));
    let mut state = state.lock();
    let Some((_, events)) = state.events.iter_mut().find(|(run, _)| *run == id) else {
        return not_found();
    };
    let mut event = body.clone();
    event["runID"] = json!(id);
    event["seq"] = json!(events.len() + 1);
    event["createdAt"] = json!(NOW);
    events.push(event.clone());
    (StatusCode::CREATED, Json(json!({ "event": event }))).into_response()
}

async fn list_events(
    State(state): State<Shared<NodeState>>,
    Path(id): Path<String>,
    Query(query): Query<std::collections::HashMap<String, String>>,
) -> Response {
    note(&state, format!("GET /v1/runs/{id}/events"));
    let after: i64 = query
        .get("after")
        .and_then(|after| after.parse().ok())
        .unwrap_or(0);
    let state = state.lock();
    let Some((_, events)) = state.events.iter().find(|(run, _)| *run == id) else {
        return not_found();
    };
    let events: Vec<Value> = events
        .iter()
        .filter(|event| event["seq"].as_i64().unwrap_or(0) > after)
        .cloned()
        .collect();
    Json(json!({ "events": events })).into_response()
}

async fn finish_run(
    State(state): State<Shared<NodeState>>,
    Path(id): Path<String>,
    Json(body): Json<Value>,
) -> Response {
    note(&state, format!("POST /v1/runs/{id}/finish"));
    let mut state = state.lock();
    let log: String = body["logChunks"]
        .as_array()
        .map(|chunks| chunks.iter().filter_map(Value::as_str).collect())
        .or_else(|| body["log"].as_str().map(str::to_string))
        .unwrap_or_default();
    let finished = with_run(&mut state, &id, |run| {
        let code = body["exitCode"].as_i64().unwrap_or(0);
        run["state"] = json!(if code == 0 { "succeeded" } else { "failed" });
        run["phase"] = json!("finished");
        run["exitCode"] = json!(code);
        run["logBytes"] = json!(log.len());
        run["log"] = json!(log);
        run["endedAt"] = json!(NOW);
        if let Some(retry) = body.get("retryLikely") {
            run["retryLikely"] = retry.clone();
        }
        run.clone()
    });
    match finished {
        Some(mut run) => {
            run.as_object_mut().map(|object| object.remove("log"));
            Json(json!({ "run": run })).into_response()
        }
        None => not_found(),
    }
}

async fn telemetry(State(state): State<Shared<NodeState>>, Path(id): Path<String>) -> Response {
    note(&state, format!("POST /v1/runs/{id}/telemetry"));
    let run = state
        .lock()
        .runs
        .iter()
        .find(|run| run["id"] == id.as_str())
        .cloned();
    run.map_or_else(not_found, |run| Json(json!({ "run": run })).into_response())
}

fn public(run: &Value) -> Value {
    let mut run = run.clone();
    run.as_object_mut().map(|object| object.remove("log"));
    run
}

async fn get_run(State(state): State<Shared<NodeState>>, Path(id): Path<String>) -> Response {
    note(&state, format!("GET /v1/runs/{id}"));
    let run = state
        .lock()
        .runs
        .iter()
        .find(|run| run["id"] == id.as_str())
        .map(public);
    run.map_or_else(not_found, |run| Json(json!({ "run": run })).into_response())
}

async fn list_runs(State(state): State<Shared<NodeState>>) -> Json<Value> {
    note(&state, "GET /v1/runs".into());
    let runs: Vec<Value> = state.lock().runs.iter().rev().map(public).collect();
    Json(json!({ "runs": runs }))
}

async fn logs(State(state): State<Shared<NodeState>>, Path(id): Path<String>) -> Response {
    note(&state, format!("GET /v1/runs/{id}/logs"));
    let log = state
        .lock()
        .runs
        .iter()
        .find(|run| run["id"] == id.as_str())
        .map(|run| run["log"].as_str().unwrap_or_default().to_string());
    log.map_or_else(not_found, |log| log.into_response())
}
