//! Run API conformance on every configured database: create, events with dense
//! sequence numbers and derived phases, paging, finish with the retained log,
//! visibility, and concurrent appends through two replicas.

use serde_json::json;

use crate::common::*;

async fn runs_round_trip(backend: &str) {
    let dir = temp_dir();
    let url = database_url(backend, dir.path()).await;
    let server = Running::start_default(&url, dir.path()).await;
    let alice = server.api(&user_token("alice", "acme"));

    let (status, body) = alice
        .post(
            "/v1/runs",
            json!({"command": ["cargo", "test"], "label": "  nightly \n build "}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let run = body["run"]["id"].as_str().unwrap().to_string();
    assert!(run.starts_with("run_"));
    assert_eq!(body["run"]["state"], "running");
    assert_eq!(body["run"]["label"], "nightly build");

    for (kind, data) in [
        ("sync.started", ""),
        ("stdout", "hello\n"),
        ("stderr", "warn\n"),
    ] {
        let (status, body) = alice.post(&format!("/v1/runs/{run}/events"), json!({"type": kind, "stream": if kind.len() == 6 { kind } else { "" }, "data": data})).await;
        assert_eq!(status, 201, "{body}");
    }
    let (_, body) = alice.get(&format!("/v1/runs/{run}")).await;
    assert_eq!(body["run"]["phase"], "command");

    let (_, body) = alice
        .get(&format!("/v1/runs/{run}/events?after=1&limit=2"))
        .await;
    let seqs: Vec<i64> = body["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|event| event["seq"].as_i64().unwrap())
        .collect();
    assert_eq!(seqs, vec![2, 3]);
    assert_eq!(body["events"][1]["data"], "hello\n");
    assert_eq!(body["events"][1]["runID"], run.as_str());

    // A log larger than the 8 MiB retention keeps the tail.
    let mut log = "x".repeat(9 << 20);
    log.push_str("the end\n");
    let chunks: Vec<String> = log
        .as_bytes()
        .chunks(1 << 20)
        .map(|chunk| String::from_utf8(chunk.to_vec()).unwrap())
        .collect();
    let (status, body) = alice
        .post(
            &format!("/v1/runs/{run}/finish"),
            json!({"exitCode": 3, "logChunks": chunks, "syncMs": 12}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["run"]["state"], "failed");
    assert_eq!(body["run"]["exitCode"], 3);
    assert_eq!(body["run"]["logBytes"], 8 << 20);
    assert_eq!(body["run"]["logTruncated"], true);
    let (status, text) = alice
        .raw("GET", &format!("/v1/runs/{run}/logs"), None)
        .await;
    assert_eq!((status, text.len()), (200, 8 << 20));
    assert!(text.ends_with(b"the end\n"));
    let (_, body) = alice.get(&format!("/v1/runs/{run}/events?after=4")).await;
    assert_eq!(body["events"][0]["type"], "command.finished");
    assert_eq!(body["events"][0]["exitCode"], 3);

    let (_, listed) = alice.get("/v1/runs").await;
    assert_eq!(listed["runs"][0]["id"], run.as_str());
    let bob = server.api(&user_token("bob", "acme"));
    let (_, listed) = bob.get("/v1/runs").await;
    assert!(listed["runs"].as_array().unwrap().is_empty());
    for path in [
        format!("/v1/runs/{run}"),
        format!("/v1/runs/{run}/events"),
        format!("/v1/runs/{run}/logs"),
    ] {
        assert_eq!(bob.get(&path).await.0, 404, "{path}");
    }
    let (status, _) = bob
        .post(&format!("/v1/runs/{run}/events"), json!({"type": "stdout"}))
        .await;
    assert_eq!(status, 404);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_on_every_backend() {
    for backend in backends() {
        runs_round_trip(backend).await;
    }
}

/// Two coordinators on one database append to one run at once: every sequence
/// number is assigned exactly once.
async fn concurrent_appends_across_replicas(backend: &str) {
    let dir = temp_dir();
    let url = database_url(backend, dir.path()).await;
    let first = Running::start_default(&url, dir.path()).await;
    let second = Running::start_default(&url, dir.path()).await;
    let token = user_token("alice", "acme");
    let (_, body) = first
        .api(&token)
        .post("/v1/runs", json!({"command": ["true"]}))
        .await;
    let run = body["run"]["id"].as_str().unwrap().to_string();
    let mut writers = Vec::new();
    for writer in 0..8 {
        let api = if writer % 2 == 0 {
            first.api(&token)
        } else {
            second.api(&token)
        };
        let run = run.clone();
        writers.push(tokio::spawn(async move {
            for index in 0..25 {
                let (status, body) = api
                    .post(
                        &format!("/v1/runs/{run}/events"),
                        json!({"type": "stdout", "data": format!("{writer}:{index}")}),
                    )
                    .await;
                assert_eq!(status, 201, "{body}");
            }
        }));
    }
    for writer in writers {
        writer.await.unwrap();
    }
    let api = first.api(&token);
    let mut seqs = Vec::new();
    let mut after = 0;
    loop {
        let (_, body) = api
            .get(&format!("/v1/runs/{run}/events?after={after}&limit=64"))
            .await;
        let page = body["events"].as_array().unwrap().clone();
        if page.is_empty() {
            break;
        }
        after = page.last().unwrap()["seq"].as_i64().unwrap();
        seqs.extend(page.iter().map(|event| event["seq"].as_i64().unwrap()));
    }
    assert_eq!(seqs, (1..=201).collect::<Vec<_>>(), "{backend}");
    first.stop().await;
    second.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_appends_on_every_backend() {
    for backend in backends() {
        concurrent_appends_across_replicas(backend).await;
    }
}
