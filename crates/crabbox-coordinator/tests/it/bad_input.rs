//! Bad input never yields a 500 or a panic: malformed and oversized bodies, bad
//! tokens, ambiguous slugs, and a bounded fuzz of every JSON endpoint with
//! arbitrary bytes and mutated valid bodies.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::common::*;

/// A stable `{"error": code, ...}` body.
fn error_code(bytes: &[u8]) -> String {
    let body: Value = serde_json::from_slice(bytes)
        .unwrap_or_else(|_| panic!("error body is JSON: {}", String::from_utf8_lossy(bytes)));
    body["error"].as_str().expect("error code").to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_oversized_and_unauthorized_requests() {
    let dir = temp_dir();
    let server =
        Running::start_default(&database_url("sqlite", dir.path()).await, dir.path()).await;
    let alice = server.api(&user_token("alice", "acme"));

    let (status, body) = alice
        .raw("POST", "/v1/leases", Some(b"{\"sshPublicKey\": ".to_vec()))
        .await;
    assert_eq!((status, error_code(&body).as_str()), (400, "invalid_json"));
    let (status, body) = alice
        .raw(
            "POST",
            "/v1/leases",
            Some(br#"{"ttlSeconds": "forever"}"#.to_vec()),
        )
        .await;
    assert_eq!((status, error_code(&body).as_str()), (400, "invalid_json"));
    let huge = format!("{{\"label\": \"{}\"}}", "x".repeat(17 << 20));
    let (status, body) = alice.raw("POST", "/v1/runs", Some(huge.into_bytes())).await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (413, "request_too_large")
    );

    for token in ["", "wrong", "cbxu_forged.signature"] {
        let (status, body) = server.api(token).raw("GET", "/v1/leases", None).await;
        assert_eq!(
            (status, error_code(&body).as_str()),
            (401, "unauthorized"),
            "{token:?}"
        );
    }
    let (status, body) = server.api("").raw("GET", "/v1/health", None).await;
    assert_eq!(status, 200, "health needs no token");
    assert_eq!(
        serde_json::from_slice::<Value>(&body).unwrap()["service"],
        "crabbox-coordinator"
    );
    let (status, body) = alice.raw("GET", "/v1/nope", None).await;
    assert_eq!((status, error_code(&body).as_str()), (404, "not_found"));
    let (status, body) = alice.raw("DELETE", "/v1/leases", None).await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (405, "method_not_allowed")
    );
    let (status, body) = alice
        .raw("GET", "/v1/leases?limit=abc&state=active", None)
        .await;
    assert_eq!(
        status,
        200,
        "invalid limits fall back to the default: {}",
        String::from_utf8_lossy(&body)
    );
    let (status, body) = alice.raw("GET", "/v1/leases?state=zombie", None).await;
    assert_eq!((status, error_code(&body).as_str()), (400, "invalid_state"));

    // Two live leases with one slug (only rows from before slugs were unique
    // can be like that; a second registration gets a suffixed slug): looking
    // the slug up is ambiguous.
    for id in ["cbx_0000000000a1", "cbx_0000000000a2"] {
        let (status, body) = alice
            .call(
                "PUT",
                &format!("/v1/leases/{id}/registration"),
                Some(json!({"provider": "ssh", "target": "linux", "slug": "twin-krill", "host": "10.0.0.1"})),
            )
            .await;
        assert_eq!(status, 201, "{body}");
    }
    server
        .coordinator
        .store()
        .update_lease("cbx_0000000000a2", |record| {
            assert_ne!(record.lease.slug, "twin-krill");
            record.lease.slug = "twin-krill".into();
            Ok::<_, ()>(())
        })
        .await
        .unwrap();
    let (status, body) = alice.get("/v1/leases/twin-krill").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (409, Some("ambiguous_slug"))
    );
    let (status, body) = alice
        .call(
            "PUT",
            "/v1/leases/cbx_0000000000a1/registration",
            Some(json!({"provider": "ssh", "target": "linux", "host": "10.0.0.2"})),
        )
        .await;
    assert_eq!(
        (status, body["lease"]["host"].as_str()),
        (200, Some("10.0.0.2")),
        "re-registration refreshes"
    );
    server.stop().await;
}

/// xorshift64*: deterministic, dependency-free noise.
struct Noise(u64);

impl Noise {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn bytes(&mut self, seed_body: &[u8]) -> Vec<u8> {
        match self.next() % 4 {
            0 => (0..self.next() % 256).map(|_| self.next() as u8).collect(),
            1 => {
                let mut body = seed_body.to_vec();
                for _ in 0..1 + self.next() % 4 {
                    if !body.is_empty() {
                        let at = (self.next() as usize) % body.len();
                        body[at] = self.next() as u8;
                    }
                }
                body
            }
            2 => {
                let cut = (self.next() as usize) % (seed_body.len() + 1);
                seed_body[..cut].to_vec()
            }
            _ => {
                let values = [
                    "null",
                    "-1",
                    "1e999",
                    "\"\"",
                    "[]",
                    "{}",
                    "true",
                    "\"\\u0000\"",
                    "99999999999999999999",
                ];
                let value = values[(self.next() as usize) % values.len()];
                let keys = [
                    "leaseID",
                    "ttlSeconds",
                    "exitCode",
                    "logChunks",
                    "type",
                    "delete",
                    "sshPort",
                    "exposedPorts",
                    "command",
                    "createAttemptID",
                    "after",
                ];
                let key = keys[(self.next() as usize) % keys.len()];
                format!("{{\"{key}\": {value}}}").into_bytes()
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fuzzing_every_json_endpoint_never_breaks_the_server() {
    let dir = temp_dir();
    let server =
        Running::start_default(&database_url("sqlite", dir.path()).await, dir.path()).await;
    let alice = server.api(&user_token("alice", "acme"));
    let (_, run) = alice.post("/v1/runs", json!({"command": ["true"]})).await;
    let run = run["run"]["id"].as_str().unwrap().to_string();
    let (_, lease) = alice
        .call(
            "PUT",
            "/v1/leases/cbx_0000000000f1/registration",
            Some(json!({"provider": "ssh", "target": "linux", "host": "10.0.0.3"})),
        )
        .await;
    let lease = lease["lease"]["id"].as_str().unwrap().to_string();
    let endpoints: Vec<(&str, String, Value)> = vec![
        (
            "POST",
            "/v1/leases".into(),
            json!({"provider": "nope", "ttlSeconds": 60}),
        ),
        (
            "PUT",
            "/v1/leases/cbx_0000000000f2".into(),
            json!({"provider": "nope"}),
        ),
        (
            "POST",
            format!("/v1/leases/{lease}/heartbeat"),
            json!({"idleTimeoutSeconds": 60}),
        ),
        (
            "POST",
            format!("/v1/leases/{lease}/cancel-create"),
            json!({"createAttemptID": "cat_0"}),
        ),
        (
            "PUT",
            format!("/v1/leases/{lease}/registration"),
            json!({"provider": "ssh", "target": "linux", "host": "10.0.0.4", "sshPort": 22}),
        ),
        (
            "POST",
            "/v1/runs".into(),
            json!({"command": ["a"], "leaseID": lease}),
        ),
        (
            "POST",
            format!("/v1/runs/{run}/events"),
            json!({"type": "stdout", "data": "x", "exitCode": 1}),
        ),
        (
            "POST",
            format!("/v1/runs/{run}/finish"),
            json!({"exitCode": 0, "log": "ok", "results": {"files": []}}),
        ),
        (
            "POST",
            format!("/v1/leases/{lease}/release"),
            json!({"delete": false}),
        ),
    ];
    let mut noise = Noise(0x9e37_79b9_7f4a_7c15);
    let deadline = Instant::now() + Duration::from_secs(8);
    let mut requests = 0;
    while Instant::now() < deadline {
        for (method, path, seed) in &endpoints {
            let body = noise.bytes(&serde_json::to_vec(seed).unwrap());
            let (status, bytes) = alice.raw(method, path, Some(body.clone())).await;
            assert!(
                status < 500,
                "{method} {path} {:?} -> {status} {}",
                String::from_utf8_lossy(&body),
                String::from_utf8_lossy(&bytes)
            );
            if status >= 400 {
                assert!(!error_code(&bytes).is_empty());
            }
            requests += 1;
        }
    }
    assert!(requests > 100, "the fuzz ran ({requests} requests)");
    let (status, _) = alice.get("/v1/whoami").await;
    assert_eq!(status, 200, "still serving");
    server.stop().await;
}
