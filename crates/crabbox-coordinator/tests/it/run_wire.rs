//! Run and event bodies as the Go CLI sends them and the Node coordinator
//! answers them, on every configured database: `retryLikely` text, `null`
//! lists, run telemetry, the always-present fields, lease attribution of runs
//! on unknown leases, and bad input refused whole with the field named.

use serde_json::{json, Value};

use crate::common::*;

/// A server, and the directory and database it uses: keep them until the
/// server is gone (a PostgreSQL database is dropped with its handle).
async fn start(backend: &str) -> ((TestDir, TestDatabase), Running) {
    let dir = temp_dir();
    let database = database_url(backend, dir.path()).await;
    let server = Running::start_default(&database, dir.path()).await;
    ((dir, database), server)
}

/// The body `FinishRun` of the Go CLI sends for a failed run without output or
/// results (`logChunks` and `results` are Go nil slices and pointers: `null`).
fn go_failed_finish(retry_likely: Value) -> Value {
    json!({
        "exitCode": 2,
        "syncMs": 120,
        "commandMs": 3400,
        "log": "",
        "logChunks": null,
        "logTruncated": false,
        "results": null,
        "blockedStage": "unknown",
        "retryLikely": retry_likely,
        "unknownFutureField": {"nested": true},
    })
}

async fn go_cli_finish(backend: &str) {
    let (_dir, server) = start(backend).await;
    let alice = server.api(&user_token("alice", "acme"));
    for (sent, stored) in [
        (json!("unknown"), "unknown"),
        (json!("true"), "true"),
        (json!(false), "false"),
    ] {
        let run = create_run(&alice).await;
        let (status, body) = alice
            .post(&format!("/v1/runs/{run}/finish"), go_failed_finish(sent))
            .await;
        assert_eq!(status, 200, "{body}");
        let (_, body) = alice.get(&format!("/v1/runs/{run}")).await;
        let run = &body["run"];
        assert_eq!(run["state"], "failed", "{run}");
        assert_eq!(run["retryLikely"], stored, "{run}");
        assert_eq!(run["blockedStage"], "unknown", "{run}");
        assert_eq!(
            (run["syncMs"].as_i64(), run["commandMs"].as_i64()),
            (Some(120), Some(3400))
        );
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_go_cli_finish_with_text_retry_likely_closes_the_run() {
    for backend in backends() {
        go_cli_finish(backend).await;
    }
}

async fn telemetry(backend: &str) {
    let (_dir, server) = start(backend).await;
    let alice = server.api(&user_token("alice", "acme"));
    let run = create_run(&alice).await;
    let path = format!("/v1/runs/{run}/telemetry");
    let sample = |at: &str, load: f64| json!({"telemetry": {"capturedAt": at, "source": "ssh-linux", "load1": load, "cpuCount": 4.0, "memoryUsedBytes": 1024, "diskPercent": 140.5}});
    let (status, body) = alice.post(&path, sample("2026-11-22T23:08:00Z", 0.5)).await;
    assert_eq!(status, 200, "{body}");
    let telemetry = &body["run"]["telemetry"];
    assert_eq!(
        telemetry["start"]["capturedAt"], "2026-11-22T23:08:00.000Z",
        "{telemetry}"
    );
    assert_eq!(
        telemetry["start"]["cpuCount"],
        json!(4),
        "integers stay integers: {telemetry}"
    );
    assert_eq!(
        telemetry["start"]["diskPercent"],
        json!(100.0),
        "{telemetry}"
    );
    for second in 1..=70 {
        let at = format!("2026-11-22T23:{:02}:{:02}Z", 8 + second / 60, second % 60);
        let (status, body) = alice.post(&path, sample(&at, 1.0)).await;
        assert_eq!(status, 200, "{body}");
    }
    let (_, body) = alice.get(&format!("/v1/runs/{run}")).await;
    let telemetry = &body["run"]["telemetry"];
    assert_eq!(
        telemetry["samples"].as_array().unwrap().len(),
        60,
        "{telemetry}"
    );
    assert_eq!(
        telemetry["start"]["load1"],
        json!(0.5),
        "the first sample stays the start"
    );

    // No usable metric, a missing sample, or someone else's run.
    for body in [
        json!({"telemetry": {"source": "x", "load1": -1}}),
        json!({}),
    ] {
        let (status, reply) = alice.post(&path, body).await;
        assert_eq!(
            (status, reply["error"].as_str()),
            (400, Some("invalid_telemetry")),
            "{reply}"
        );
    }
    let bob = server.api(&user_token("bob", "acme"));
    let (status, _) = bob.post(&path, sample("2026-11-22T23:08:00Z", 1.0)).await;
    assert_eq!(status, 404);

    // The finish's summary is merged: its end is added, samples kept.
    let mut finish = go_failed_finish(json!("false"));
    finish["telemetry"] = json!({"end": {"capturedAt": "2026-11-22T23:30:00Z", "load1": 2.0}, "samples": [{"capturedAt": "2026-11-22T23:30:00Z", "load1": 2.0}]});
    let (status, body) = alice.post(&format!("/v1/runs/{run}/finish"), finish).await;
    assert_eq!(status, 200, "{body}");
    let telemetry = &body["run"]["telemetry"];
    assert_eq!(telemetry["end"]["load1"], json!(2.0), "{telemetry}");
    assert_eq!(telemetry["start"]["load1"], json!(0.5), "{telemetry}");
    assert_eq!(telemetry["samples"].as_array().unwrap().len(), 60);
    assert_eq!(
        telemetry["samples"].as_array().unwrap().last().unwrap()["capturedAt"],
        "2026-11-22T23:30:00.000Z"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_telemetry_is_folded_into_the_run() {
    for backend in backends() {
        telemetry(backend).await;
    }
}

/// Fields the Node coordinator always sends on a run, with their JSON types.
const ALWAYS_ON_A_RUN: [(&str, &str); 17] = [
    ("id", "string"),
    ("leaseID", "string"),
    ("leaseIDs", "array"),
    ("owner", "string"),
    ("org", "string"),
    ("leaseOwners", "array"),
    ("provider", "string"),
    ("target", "string"),
    ("class", "string"),
    ("serverType", "string"),
    ("command", "array"),
    ("state", "string"),
    ("phase", "string"),
    ("logBytes", "number"),
    ("logTruncated", "boolean"),
    ("startedAt", "string"),
    ("eventCount", "number"),
];

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn assert_node_run_shape(run: &Value) {
    for (field, kind) in ALWAYS_ON_A_RUN {
        assert_eq!(
            run.get(field).map(json_type),
            Some(kind),
            "{field} must always be a {kind}: {run}"
        );
    }
}

async fn register(api: &Api, id: &str) {
    let (status, body) = api
        .call(
            "PUT",
            &format!("/v1/leases/{id}/registration"),
            Some(json!({"provider": "ssh", "host": "10.0.0.1", "target": "linux"})),
        )
        .await;
    assert_eq!(status, 201, "{body}");
}

async fn shapes(backend: &str) {
    let (_dir, server) = start(backend).await;
    let alice = server.api(&user_token("alice", "acme"));
    let known = "cbx_0000000000a1";
    register(&alice, known).await;

    // No lease: every always-present field is there, empty.
    let (status, body) = alice.post("/v1/runs", json!({"command": null})).await;
    assert_eq!(status, 201, "{body}");
    let run = &body["run"];
    assert_node_run_shape(run);
    assert_eq!(
        (run["leaseID"].as_str(), run["target"].as_str()),
        (Some(""), Some("linux"))
    );
    assert_eq!(run["eventCount"], 1);
    let bare = run["id"].as_str().unwrap().to_string();

    // An unknown lease is named but not attributed.
    let unknown = "cbx_0000000000ee";
    let (status, body) = alice
        .post("/v1/runs", json!({"leaseID": unknown, "command": ["true"]}))
        .await;
    assert_eq!(status, 201, "{body}");
    let run = &body["run"];
    assert_node_run_shape(run);
    assert_eq!(run["leaseID"], unknown);
    assert_eq!(run["leaseIDs"], json!([]), "{run}");
    assert_eq!(run["leaseOwners"], json!([]), "{run}");

    // A known lease is attributed; the first event is `run.started` as Node records it.
    let (_, body) = alice
        .post("/v1/runs", json!({"leaseID": known, "command": ["true"]}))
        .await;
    let run = &body["run"];
    assert_eq!(run["leaseIDs"], json!([known]), "{run}");
    assert_eq!(
        run["leaseOwners"],
        json!([{"owner": "alice", "org": "acme"}]),
        "{run}"
    );
    let id = run["id"].as_str().unwrap();
    let (_, body) = alice.get(&format!("/v1/runs/{id}/events")).await;
    let first = &body["events"][0];
    let mut keys: Vec<&str> = first
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        ["createdAt", "phase", "runID", "seq", "type"],
        "{first}"
    );
    assert_eq!(
        (first["type"].as_str(), first["phase"].as_str()),
        (Some("run.started"), Some("starting"))
    );

    // Events naming an unknown lease move `leaseID` but attribute nothing; a
    // known one is attributed.
    let events = format!("/v1/runs/{bare}/events");
    let (status, body) = alice
        .post(
            &events,
            json!({"type": "lease.created", "leaseID": unknown}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let (_, body) = alice.get(&format!("/v1/runs/{bare}")).await;
    assert_eq!(
        (body["run"]["leaseID"].as_str(), &body["run"]["leaseIDs"]),
        (Some(unknown), &json!([]))
    );
    alice
        .post(&events, json!({"type": "lease.created", "leaseID": known}))
        .await;
    alice
        .post(&events, json!({"type": "run.failed", "message": "boom"}))
        .await;
    let (_, body) = alice.get(&format!("/v1/runs/{bare}")).await;
    assert_eq!(body["run"]["leaseIDs"], json!([known]));
    assert_eq!(
        (body["run"]["state"].as_str(), body["run"]["phase"].as_str()),
        (Some("failed"), Some("failed"))
    );
    assert_node_run_shape(&body["run"]);
    let (_, body) = alice.get("/v1/runs").await;
    for run in body["runs"].as_array().unwrap() {
        assert_node_run_shape(run);
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_carry_the_fields_node_always_sends() {
    for backend in backends() {
        shapes(backend).await;
    }
}

async fn bad_input(backend: &str) {
    let (_dir, server) = start(backend).await;
    let alice = server.api(&user_token("alice", "acme"));
    let run = create_run(&alice).await;
    let refused = [
        (
            "/v1/runs".to_string(),
            json!({"command": "cargo test"}),
            "command",
        ),
        (
            format!("/v1/runs/{run}/events"),
            json!({"type": "stdout", "exitCode": "3"}),
            "exitCode",
        ),
        (
            format!("/v1/runs/{run}/finish"),
            json!({"exitCode": 1, "syncMs": "fast", "log": "kept?"}),
            "syncMs",
        ),
        (
            format!("/v1/runs/{run}/finish"),
            json!({"exitCode": 1, "retryLikely": 1}),
            "retryLikely",
        ),
        (
            format!("/v1/runs/{run}/finish"),
            json!({"exitCode": 1, "results": {"tests": "7"}}),
            "results.tests",
        ),
        (
            format!("/v1/runs/{run}/telemetry"),
            json!({"telemetry": {"load1": "high"}}),
            "telemetry.load1",
        ),
    ];
    for (path, body, field) in refused {
        let (status, reply) = alice.post(&path, body).await;
        assert_eq!(
            (status, reply["error"].as_str()),
            (400, Some("invalid_json")),
            "{path}: {reply}"
        );
        let message = reply["message"].as_str().unwrap();
        assert!(message.contains(&format!("`{field}`")), "{path}: {message}");
    }
    let (status, reply) = alice
        .post(
            &format!("/v1/runs/{run}/finish"),
            json!({"exitCode": 1, "retryLikely": "Maybe so"}),
        )
        .await;
    assert_eq!(
        (status, reply["error"].as_str()),
        (400, Some("invalid_retry_likely")),
        "{reply}"
    );
    // Nothing of the refused requests was stored.
    let (_, body) = alice.get(&format!("/v1/runs/{run}")).await;
    let stored = &body["run"];
    assert_eq!(
        (stored["state"].as_str(), stored["eventCount"].as_i64()),
        (Some("running"), Some(1)),
        "{stored}"
    );
    assert!(
        stored.get("telemetry").is_none() && stored.get("retryLikely").is_none(),
        "{stored}"
    );
    let (_, body) = alice.get("/v1/runs").await;
    assert_eq!(body["runs"].as_array().unwrap().len(), 1);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_json_types_are_refused_whole_naming_the_field() {
    for backend in backends() {
        bad_input(backend).await;
    }
}
