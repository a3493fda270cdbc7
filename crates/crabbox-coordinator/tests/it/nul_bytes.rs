//! NUL characters in paths, query strings, JSON fields and control frames get
//! the same 400/404 answers on every backend (PostgreSQL text cannot hold NUL,
//! so without care it answers 500), while command output keeps working.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use crate::common::*;

/// The answers one backend gave, by probe.
type Answers = BTreeMap<String, (u16, String)>;

fn code(bytes: &[u8]) -> String {
    serde_json::from_slice::<Value>(bytes)
        .ok()
        .and_then(|body| body["error"].as_str().map(str::to_string))
        .unwrap_or_else(|| String::from_utf8_lossy(bytes).into_owned())
}

async fn probe(backend: &str) -> Answers {
    let dir = temp_dir();
    let database = database_url(backend, dir.path()).await;
    let server = Running::start_default(&database, dir.path()).await;
    let alice = server.api(&user_token("alice", "acme"));
    let admin = server.api(ADMIN);
    let run = create_run(&alice).await;
    let (status, body) = alice
        .call(
            "PUT",
            "/v1/leases/cbx_0000000000c1/registration",
            Some(json!({"provider": "ssh", "target": "linux", "slug": "calm-krill", "host": "10.0.0.1"})),
        )
        .await;
    assert_eq!(status, 201, "{body}");

    let requests: Vec<(&Api, &str, String, Option<&str>)> = vec![
        (&alice, "GET", "/v1/leases/cbx_00000000%00c1".into(), None),
        (&alice, "GET", "/v1/leases/calm%00krill".into(), None),
        (
            &alice,
            "POST",
            "/v1/leases/calm-krill%00/heartbeat".into(),
            Some("{}"),
        ),
        (&alice, "GET", "/v1/runs/run_%00".into(), None),
        (&alice, "GET", format!("/v1/runs/{run}%00/events"), None),
        (
            &alice,
            "GET",
            format!("/v1/runs/{run}/events?after=%00"),
            None,
        ),
        (
            &alice,
            "GET",
            format!("/v1/runs/{run}/events?after=1%00"),
            None,
        ),
        (&alice, "GET", "/v1/leases?owner=al%00ice".into(), None),
        (
            &admin,
            "GET",
            "/v1/admin/leases?owner=al%00ice".into(),
            None,
        ),
        (
            &admin,
            "GET",
            "/v1/runs?owner=al%00ice&org=acme".into(),
            None,
        ),
        (&alice, "GET", "/v1/runs?leaseID=cbx_%00".into(), None),
        (&alice, "GET", "/v1/usage?scope=user&owner=%00".into(), None),
        (
            &alice,
            "PUT",
            "/v1/leases/cbx_0000000000c2/registration".into(),
            Some(r#"{"provider": "ss\u0000h"}"#),
        ),
        (
            &alice,
            "PUT",
            "/v1/leases/cbx_0000000000c3/registration".into(),
            Some(r#"{"provider": "ssh", "slug": "calm\u0000krill"}"#),
        ),
        (
            &alice,
            "POST",
            "/v1/leases".into(),
            Some(r#"{"provider": "local", "leaseID": "cbx_0000\u0000"}"#),
        ),
        (
            &alice,
            "POST",
            "/v1/runs".into(),
            Some(r#"{"command": ["true"], "leaseID": "cbx_00000000\u0000c1"}"#),
        ),
        (
            &alice,
            "POST",
            "/v1/runs".into(),
            Some(r#"{"command": ["tr\u0000ue"], "label": "x"}"#),
        ),
        (
            &alice,
            "POST",
            "/v1/leases/cbx_0000000000c1/heartbeat".into(),
            Some(r#"{"expectedProvider": "ss\u0000h"}"#),
        ),
        (
            &alice,
            "POST",
            "/v1/leases/cbx_0000000000c1/cancel-create".into(),
            Some(r#"{"createAttemptID": "cat_\u0000"}"#),
        ),
    ];
    let mut answers = Answers::new();
    for (api, method, path, body) in requests {
        let (status, bytes) = api
            .raw(method, &path, body.map(|body| body.as_bytes().to_vec()))
            .await;
        let label = format!(
            "{method} {} {}",
            path.replace(&run, "{run}"),
            body.unwrap_or_default()
        );
        assert!(
            status == 400 || status == 404,
            "{backend}: {label} -> {status} {}",
            String::from_utf8_lossy(&bytes)
        );
        answers.insert(label, (status, code(&bytes)));
    }

    // Command output may hold NUL: accepted, and read back the same everywhere.
    let (status, body) = alice
        .post(
            &format!("/v1/runs/{run}/events"),
            json!({"type": "stdout", "stream": "stdout", "data": "a\u{0}b"}),
        )
        .await;
    assert_eq!(status, 201, "{backend}: {body}");
    let (_, events) = alice.get(&format!("/v1/runs/{run}/events")).await;
    let data = events["events"][1]["data"].as_str().unwrap().to_string();
    answers.insert("event data".into(), (200, data));

    let mut control = server.control(&user_token("alice", "acme")).await;
    control.hello().await;
    for (name, frame) in [
        (
            "subscribe_run",
            json!({"type": "subscribe_run", "runID": "run_\u{0}", "after": 0}),
        ),
        (
            "heartbeat",
            json!({"type": "heartbeat", "leaseID": "calm\u{0}krill"}),
        ),
    ] {
        control.send(frame).await;
        let reply = control.frame().await;
        assert_eq!(reply["type"], "error", "{backend}: {name} {reply}");
        let code = reply["code"].as_str().unwrap_or_default().to_string();
        assert_ne!(code, "internal_error", "{backend}: {name} {reply}");
        answers.insert(format!("control {name}"), (0, code));
    }
    control.round_trip().await;
    server.stop().await;
    answers
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nul_characters_get_the_same_client_errors_on_every_backend() {
    let mut seen: Vec<(&str, Answers)> = Vec::new();
    for backend in backends() {
        seen.push((backend, probe(backend).await));
    }
    let (first, expected) = &seen[0];
    assert_eq!(expected["event data"].1, "a\u{fffd}b");
    for (backend, answers) in &seen[1..] {
        assert_eq!(answers, expected, "{backend} differs from {first}");
    }
}
