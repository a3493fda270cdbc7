//! The client against a small in-test axum server that records every request and
//! answers from a script: paths, query strings, headers, bodies and error mapping.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::body::{to_bytes, Body};
use axum::http::{Request, StatusCode};
use axum::response::{IntoResponse, Response};
use crabbox_client::{Client, ClientError, ErrorClass, LeaseFilter, RunFilter, UsageQuery};
use crabbox_proto::wire::{
    AppendEventRequest, CreateLeaseRequest, CreateRunRequest, FinishRunRequest, HeartbeatRequest,
    ReleaseRequest, TelemetrySample,
};
use serde_json::{json, Value};

/// One request as the server saw it.
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    path: String,
    query: String,
    authorization: Option<String>,
    owner: Option<String>,
    body: Value,
}

/// Status, body and content type of a scripted answer.
type Answer = (u16, String, &'static str);

#[derive(Clone, Default)]
struct Script {
    answers: Arc<Mutex<HashMap<String, Answer>>>,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Script {
    /// Answers `METHOD /path` with a status and JSON body.
    fn answer(&self, route: &str, status: u16, body: Value) {
        self.answers.lock().unwrap().insert(
            route.to_string(),
            (status, body.to_string(), "application/json"),
        );
    }

    fn answer_text(&self, route: &str, status: u16, body: &str, content_type: &'static str) {
        self.answers
            .lock()
            .unwrap()
            .insert(route.to_string(), (status, body.to_string(), content_type));
    }

    fn last(&self) -> Seen {
        self.seen
            .lock()
            .unwrap()
            .last()
            .cloned()
            .expect("a request")
    }
}

async fn handle(script: Script, request: Request<Body>) -> Response {
    let (parts, body) = request.into_parts();
    let bytes = to_bytes(body, usize::MAX).await.unwrap();
    let header = |name: &str| {
        parts
            .headers
            .get(name)
            .map(|value| value.to_str().unwrap().to_string())
    };
    let seen = Seen {
        method: parts.method.to_string(),
        path: parts.uri.path().to_string(),
        query: parts.uri.query().unwrap_or_default().to_string(),
        authorization: header("authorization"),
        owner: header("x-crabbox-owner"),
        body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    };
    let route = format!("{} {}", seen.method, seen.path);
    script.seen.lock().unwrap().push(seen);
    let answer = script.answers.lock().unwrap().get(&route).cloned();
    match answer {
        Some((status, body, content_type)) => (
            StatusCode::from_u16(status).unwrap(),
            [("content-type", content_type)],
            body,
        )
            .into_response(),
        None => (
            StatusCode::NOT_FOUND,
            json!({"error": "not_found", "message": format!("no route {route}")}).to_string(),
        )
            .into_response(),
    }
}

/// Starts the server on a free loopback port.
async fn server() -> (Script, String) {
    let script = Script::default();
    let state = script.clone();
    let app = axum::Router::new().fallback(move |request: Request<Body>| {
        let script = state.clone();
        async move { handle(script, request).await }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (script, url)
}

fn lease_json(id: &str, state: &str) -> Value {
    json!({
        "id": id, "slug": "swift-crab", "provider": "local", "owner": "tester",
        "state": state, "host": "127.0.0.1", "sshUser": "crab", "sshPort": 2222,
        "createdAt": "2026-01-01T00:00:00.000Z", "updatedAt": "2026-01-01T00:00:00.000Z",
        "lastTouchedAt": "2026-01-01T00:00:00.000Z", "expiresAt": "2026-01-01T00:30:00.000Z",
    })
}

fn run_json(id: &str) -> Value {
    json!({"id": id, "owner": "tester", "command": ["echo", "hi"], "state": "running",
           "startedAt": "2026-01-01T00:00:00.000Z"})
}

#[tokio::test]
async fn lease_routes_send_the_reference_paths_and_bodies() {
    let (script, url) = server().await;
    let client = Client::new(&format!("{url}/"), Some("s3cret".into()))
        .unwrap()
        .with_identity(Some("alice".into()), None);
    let id = "cbx_0123456789ab";
    script.answer(
        "POST /v1/leases",
        201,
        json!({"lease": lease_json(id, "active")}),
    );
    let request = CreateLeaseRequest {
        lease_id: id.into(),
        create_attempt_id: format!("cat_{}", "0".repeat(32)),
        provider: "local".into(),
        ttl_seconds: 5400,
        keep: true,
        ..CreateLeaseRequest::default()
    };
    let lease = client.create_lease(&request).await.unwrap();
    assert_eq!(lease.ssh_port, "2222");
    let seen = script.last();
    assert_eq!(seen.authorization.as_deref(), Some("Bearer s3cret"));
    assert_eq!(seen.owner.as_deref(), Some("alice"));
    assert_eq!(seen.body["leaseID"], id);
    assert_eq!(seen.body["ttlSeconds"], 5400);
    assert_eq!(seen.body["keep"], true);

    script.answer(
        "GET /v1/leases/swift%20crab",
        200,
        json!({"lease": lease_json(id, "active")}),
    );
    assert_eq!(client.get_lease("swift crab").await.unwrap().id, id);

    script.answer(
        "GET /v1/leases",
        200,
        json!({"leases": [lease_json(id, "active")]}),
    );
    let filter = LeaseFilter {
        provider: Some("local".into()),
        limit: Some(10),
        ..LeaseFilter::default()
    };
    assert_eq!(client.list_leases(&filter).await.unwrap().len(), 1);
    assert_eq!(script.last().query, "provider=local&limit=10");

    let route = format!("/v1/leases/{id}/heartbeat");
    script.answer(
        &format!("POST {route}"),
        200,
        json!({"lease": lease_json(id, "active")}),
    );
    let beat = HeartbeatRequest {
        idle_timeout_seconds: Some(600),
        ..HeartbeatRequest::default()
    };
    client.heartbeat(id, &beat).await.unwrap();
    assert_eq!(script.last().body, json!({"idleTimeoutSeconds": 600}));

    script.answer(
        &format!("POST /v1/leases/{id}/release"),
        200,
        json!({"lease": lease_json(id, "released")}),
    );
    let release = ReleaseRequest {
        delete: Some(true),
        ..ReleaseRequest::default()
    };
    let released = client.release_lease(id, &release).await.unwrap();
    assert_eq!(released.state.as_str(), "released");
    assert_eq!(script.last().body, json!({"delete": true}));

    script.answer(
        &format!("POST /v1/leases/{id}/cancel-create"),
        200,
        json!({"canceledCreate": {"version": 1, "requestedLeaseID": id,
               "createAttemptID": "cat_x", "state": "canceled"}}),
    );
    let canceled = client.cancel_create(id, "cat_x").await.unwrap();
    assert_eq!(canceled.canceled_create.state, "canceled");
    assert!(canceled.lease.is_none());
    assert_eq!(script.last().body, json!({"createAttemptID": "cat_x"}));
}

#[tokio::test]
async fn run_routes_page_events_and_read_logs_as_text() {
    let (script, url) = server().await;
    let client = Client::new(&url, Some("token".into())).unwrap();
    let run = "run_0123456789ab";
    script.answer("POST /v1/runs", 201, json!({"run": run_json(run)}));
    let created = client
        .create_run(&CreateRunRequest {
            provider: "local".into(),
            command: vec!["echo".into(), "hi".into()],
            ..CreateRunRequest::default()
        })
        .await
        .unwrap();
    assert_eq!(created.id, run);
    assert_eq!(script.last().body["command"], json!(["echo", "hi"]));

    script.answer(
        &format!("POST /v1/runs/{run}/events"),
        201,
        json!({"event": {"runID": run, "seq": 2, "type": "stdout",
               "createdAt": "2026-01-01T00:00:01.000Z"}}),
    );
    let event = client
        .append_event(
            run,
            &AppendEventRequest {
                kind: "stdout".into(),
                stream: "stdout".into(),
                data: "hi\n".into(),
                ..AppendEventRequest::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(event.seq, 2);
    assert_eq!(
        script.last().body,
        json!({"type": "stdout", "stream": "stdout", "data": "hi\n"})
    );

    script.answer(
        &format!("GET /v1/runs/{run}/events"),
        200,
        json!({"events": []}),
    );
    assert!(client.events(run, 7, 500).await.unwrap().is_empty());
    assert_eq!(script.last().query, "after=7&limit=500");

    script.answer(
        &format!("POST /v1/runs/{run}/finish"),
        200,
        json!({"run": run_json(run)}),
    );
    let finish = FinishRunRequest {
        exit_code: Some(0.0),
        log_chunks: vec!["hi\n".into()],
        ..FinishRunRequest::default()
    };
    client.finish_run(run, &finish).await.unwrap();
    assert_eq!(script.last().body["logChunks"], json!(["hi\n"]));
    // An integer, as the Go CLI sends it (Go decodes `exitCode` into an int).
    assert_eq!(script.last().body["exitCode"], json!(0));

    script.answer_text(
        &format!("GET /v1/runs/{run}/logs"),
        200,
        "hi\n",
        "text/plain",
    );
    assert_eq!(client.run_logs(run).await.unwrap(), "hi\n");

    script.answer("GET /v1/runs", 200, json!({"runs": [run_json(run)]}));
    let runs = client
        .list_runs(&RunFilter {
            lease_id: Some("cbx_0123456789ab".into()),
            state: Some("succeeded".into()),
            ..RunFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(
        script.last().query,
        "leaseID=cbx_0123456789ab&state=succeeded"
    );
}

/// A run as the Node coordinator answers it after telemetry and a failed
/// finish: text `retryLikely`, typed results and telemetry, empty lease lists.
fn node_run(id: &str) -> Value {
    json!({
        "id": id, "leaseID": "", "leaseIDs": [], "owner": "tester", "org": "acme",
        "leaseOwners": [], "provider": "hetzner", "target": "linux", "class": "",
        "serverType": "", "command": ["pnpm", "test"], "state": "failed", "phase": "failed",
        "exitCode": 1, "logBytes": 0, "logTruncated": false, "blockedStage": "test",
        "retryLikely": "false",
        "results": {"format": "junit", "files": ["junit.xml"], "suites": 1, "tests": 2,
                    "failures": 1, "errors": 0, "skipped": 0, "timeSeconds": 0.5,
                    "failed": [{"suite": "api", "name": "creates", "kind": "failure"}]},
        "telemetry": {"start": {"capturedAt": "2026-01-01T00:00:01.000Z", "cpuCount": 4, "load1": 0.5},
                      "samples": [{"capturedAt": "2026-01-01T00:00:01.000Z", "cpuCount": 4, "load1": 0.5}]},
        "startedAt": "2026-01-01T00:00:00.000Z", "lastEventAt": "2026-01-01T00:00:05.000Z",
        "eventCount": 4, "endedAt": "2026-01-01T00:00:05.000Z",
    })
}

#[tokio::test]
async fn run_telemetry_and_node_run_answers() {
    let (script, url) = server().await;
    let client = Client::new(&url, Some("token".into())).unwrap();
    let run = "run_0123456789ab";
    script.answer(
        &format!("POST /v1/runs/{run}/telemetry"),
        200,
        json!({"run": node_run(run)}),
    );
    let sample = TelemetrySample {
        captured_at: "2026-01-01T00:00:01.000Z".into(),
        cpu_count: Some(4),
        load1: Some(0.5),
        ..TelemetrySample::default()
    };
    let answered = client.append_run_telemetry(run, &sample).await.unwrap();
    let seen = script.last();
    assert_eq!(
        (seen.method.as_str(), seen.path.as_str()),
        ("POST", "/v1/runs/run_0123456789ab/telemetry")
    );
    assert_eq!(
        seen.body,
        json!({"telemetry": {"capturedAt": "2026-01-01T00:00:01.000Z", "load1": 0.5, "cpuCount": 4}})
    );
    assert_eq!(answered.retry_likely, "false");
    assert_eq!(
        answered.results.as_ref().map(|results| results.tests),
        Some(2)
    );
    let telemetry = answered.telemetry.expect("telemetry");
    assert_eq!(telemetry.samples.len(), 1);
    assert_eq!(telemetry.start.and_then(|start| start.cpu_count), Some(4));
}

#[tokio::test]
async fn identity_health_and_usage() {
    let (script, url) = server().await;
    let client = Client::new(&url, None).unwrap();
    script.answer(
        "GET /v1/health",
        200,
        json!({"ok": true, "service": "crabbox-coordinator"}),
    );
    assert!(client.health().await.unwrap().ok);
    assert_eq!(script.last().authorization, None);
    script.answer(
        "GET /v1/whoami",
        200,
        json!({"owner": "tester", "org": "", "auth": "bearer", "admin": false}),
    );
    let whoami = client.whoami().await.unwrap();
    assert_eq!(
        (whoami.owner.as_str(), whoami.auth.as_str()),
        ("tester", "bearer")
    );
    script.answer(
        "GET /v1/usage",
        200,
        json!({"usage": {"month": "2026-01", "scope": "user", "leases": 3}, "limits": {}}),
    );
    let usage = client
        .usage(&UsageQuery {
            month: Some("2026-01".into()),
            ..UsageQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(usage.usage.leases, 3);
    assert_eq!(script.last().query, "month=2026-01");
}

#[tokio::test]
async fn failures_keep_code_and_message_but_never_the_token() {
    let (script, url) = server().await;
    let client = Client::new(&url, Some("very-secret-token".into())).unwrap();
    script.answer(
        "POST /v1/leases",
        429,
        json!({"error": "cost_limit_exceeded", "message": "active lease limit exceeded: 2/1"}),
    );
    let error = client
        .create_lease(&CreateLeaseRequest::default())
        .await
        .unwrap_err();
    assert_eq!(error.class(), ErrorClass::Limit);
    assert_eq!(error.code(), Some("cost_limit_exceeded"));
    assert!(error.to_string().contains("2/1"), "{error}");

    script.answer("GET /v1/whoami", 401, json!({"error": "unauthorized"}));
    let error = client.whoami().await.unwrap_err();
    assert_eq!(error.class(), ErrorClass::Auth);
    assert!(error.hint().unwrap().contains("crabbox login"));

    let error = client.get_lease("cbx_ffffffffffff").await.unwrap_err();
    assert_eq!(error.class(), ErrorClass::NotFound);
    assert_eq!(error.status(), Some(404));

    script.answer_text("GET /v1/runs/run_x", 502, "bad gateway", "text/plain");
    let error = client.get_run("run_x").await.unwrap_err();
    assert_eq!(error.class(), ErrorClass::Unavailable);
    assert_eq!(error.code(), Some("Bad Gateway"));

    script.answer_text("GET /v1/runs/run_y", 200, "not json", "text/plain");
    let error = client.get_run("run_y").await.unwrap_err();
    assert!(matches!(error, ClientError::Decode { .. }), "{error:?}");

    // Nothing listens on port 1.
    let offline = Client::new("http://127.0.0.1:1", Some("very-secret-token".into())).unwrap();
    let error = offline.health().await.unwrap_err();
    assert_eq!(error.class(), ErrorClass::Unavailable);
    for text in [
        error.to_string(),
        format!("{error:?}"),
        format!("{offline:?}"),
    ] {
        assert!(!text.contains("very-secret-token"), "{text}");
    }
}
