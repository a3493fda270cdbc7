//! The lease half of the wire contract with the Go CLI and the Node
//! coordinator: registrations validated and defaulted as Node does, lease
//! bodies whose every field has the JSON type the Go structs declare, the Go
//! CLI's create body (with its `null` slices) accepted, strict expectedProvider.

use crabbox_proto::wire::go_types;
use serde_json::{json, Value};

use crate::common::*;

fn go_mismatches(lease: &Value) -> Vec<String> {
    go_types::mismatches(lease, go_types::LEASE)
}

async fn registrations(backend: &str) {
    let dir = temp_dir();
    let database = database_url(backend, dir.path()).await;
    let server = Running::start_default(&database, dir.path()).await;
    let alice = server.api(&user_token("alice", "acme"));
    let register = |id: &'static str, body: Value| {
        let alice = &alice;
        async move {
            alice
                .call("PUT", &format!("/v1/leases/{id}/registration"), Some(body))
                .await
        }
    };

    // Refusals, with the Node coordinator's codes.
    for (body, code) in [
        (
            json!({"provider": "bad provider", "target": "linux", "host": "10.0.0.1"}),
            "invalid_provider",
        ),
        (
            json!({"provider": "ssh", "host": "10.0.0.1"}),
            "invalid_target",
        ),
        (
            json!({"provider": "ssh", "target": "plan9", "host": "10.0.0.1"}),
            "invalid_target",
        ),
        (
            json!({"provider": "ssh", "target": "linux"}),
            "host_required",
        ),
        (
            json!({"provider": "ssh", "target": "linux", "host": "bad host;rm"}),
            "host_required",
        ),
    ] {
        let (status, answer) = register("cbx_00000000a0a0", body.clone()).await;
        assert_eq!(
            (status, answer["error"].as_str()),
            (400, Some(code)),
            "{body}: {answer}"
        );
    }
    let (status, _) = alice.get("/v1/leases/cbx_00000000a0a0").await;
    assert_eq!(status, 404, "nothing half-stored");

    // A minimal registration gets Node's defaults.
    let (status, answer) = register(
        "cbx_00000000a0a1",
        json!({"provider": "ssh", "target": "linux", "host": "10.0.0.1", "sshPort": "99999"}),
    )
    .await;
    assert_eq!(status, 201, "{answer}");
    let lease = &answer["lease"];
    assert!(
        go_mismatches(lease).is_empty(),
        "{:?}",
        go_mismatches(lease)
    );
    assert_eq!(lease["serverID"], 0);
    assert_eq!(lease["sshUser"], "crabbox");
    assert_eq!(
        lease["sshPort"], "22",
        "an invalid port falls back to the default"
    );
    assert_eq!(lease["workRoot"], "/workspaces/crabbox");
    assert_eq!(lease["class"], "registered");
    assert_eq!(lease["serverType"], "registered");
    assert_eq!(lease["profile"], "default");
    assert_eq!(lease["ttlSeconds"], 86_400);
    assert_eq!(lease["idleTimeoutSeconds"], 86_400);
    assert_eq!(lease["serverName"], lease["slug"]);
    assert!(lease["registeredAt"].is_string());

    // A full registration keeps and returns everything the Go CLI sends.
    let full = json!({
        "provider": "ssh", "target": "windows", "windowsMode": "wsl2", "host": "box.internal",
        "slug": "build-box", "cloudID": "i-42", "serverID": 4242, "serverName": "builder",
        "serverType": "cx42", "class": "fast", "profile": "ci", "sshUser": "runner",
        "sshPort": "2222", "sshFallbackPorts": ["22", "70000", "2200", "22"],
        "workRoot": "/srv/work", "desktop": true, "desktopEnv": "xfce", "browser": true,
        "code": true, "pond": "db", "exposedPorts": ["8080", 9090, "0"], "ttlSeconds": 3600,
        "idleTimeoutSeconds": 600
    });
    let (status, answer) = register("cbx_00000000a0a2", full).await;
    assert_eq!(status, 201, "{answer}");
    let lease = &answer["lease"];
    assert!(
        go_mismatches(lease).is_empty(),
        "{:?}",
        go_mismatches(lease)
    );
    for (field, expected) in [
        ("serverID", json!(4242)),
        ("serverName", json!("builder")),
        ("class", json!("fast")),
        ("profile", json!("ci")),
        ("windowsMode", json!("wsl2")),
        ("desktop", json!(true)),
        ("desktopEnv", json!("xfce")),
        ("browser", json!(true)),
        ("code", json!(true)),
        ("sshFallbackPorts", json!(["22", "2200"])),
        ("exposedPorts", json!(["8080", "9090"])),
        ("ttlSeconds", json!(3600)),
        ("slug", json!("build-box")),
    ] {
        assert_eq!(lease[field], expected, "{field}: {lease}");
    }
    let registered_at = lease["registeredAt"].clone();

    // A refresh keeps the slug and registeredAt and answers 200.
    let (status, answer) = register(
        "cbx_00000000a0a2",
        json!({"provider": "ssh", "target": "linux", "host": "box.internal", "slug": "other"}),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["lease"]["slug"], "build-box");
    assert_eq!(answer["lease"]["registeredAt"], registered_at);
    // ...but not a provider change.
    let (status, answer) = register(
        "cbx_00000000a0a2",
        json!({"provider": "hetzner", "target": "linux", "host": "box.internal"}),
    )
    .await;
    assert_eq!(
        (status, answer["error"].as_str()),
        (409, Some("provider_conflict"))
    );

    // An admin acting as another owner is another identity: no overwrite.
    let admin_as_bob = server.api(ADMIN).with_identity("bob", "acme");
    let (status, answer) = admin_as_bob
        .call(
            "PUT",
            "/v1/leases/cbx_00000000a0a2/registration",
            Some(json!({"provider": "ssh", "target": "linux", "host": "evil.example"})),
        )
        .await;
    assert_eq!(
        (status, answer["error"].as_str()),
        (409, Some("lease_id_conflict")),
        "{answer}"
    );
    let (_, answer) = alice.get("/v1/leases/cbx_00000000a0a2").await;
    assert_eq!(answer["lease"]["host"], "box.internal", "unchanged");

    // expectedProvider must be exactly a normalized provider name.
    for bad in ["", "Ssh", "bad provider!", " ssh"] {
        let (status, answer) = alice
            .post(
                "/v1/leases/cbx_00000000a0a2/heartbeat",
                json!({"expectedProvider": bad}),
            )
            .await;
        assert_eq!(
            (status, answer["error"].as_str()),
            (400, Some("invalid_expected_provider")),
            "{bad:?}: {answer}"
        );
    }
    let (status, answer) = alice
        .post(
            "/v1/leases/cbx_00000000a0a2/heartbeat",
            json!({"expectedProvider": "ssh"}),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registrations_follow_the_node_coordinator() {
    for backend in backends() {
        registrations(backend).await;
    }
}

/// The body `crabbox warmup` of the Go CLI sends (`internal/cli/coordinator.go`),
/// with Go's `null` for its empty slices.
fn go_create_body(key: &str) -> Value {
    json!({
        "leaseID": "cbx_00000000b0b1", "slug": "", "profile": "default", "provider": "local", "target": "linux",
        "windowsMode": "", "desktop": false, "desktopEnv": "", "browser": false, "code": false,
        "tailscale": false, "tailscaleTags": null, "tailscaleHostname": "", "tailscaleExitNode": "",
        "tailscaleExitNodeAllowLanAccess": false, "class": "beast", "serverType": "",
        "serverTypeExplicit": false, "hostId": "", "hostID": "", "location": "", "image": "",
        "awsRegion": "", "awsAMI": "", "awsRootGB": 0, "awsSSHCIDRs": null, "sshUser": "crabbox",
        "sshPort": "2222", "sshFallbackPorts": null, "providerKey": "", "workRoot": "/work/crabbox",
        "ttlSeconds": 600, "idleTimeoutSeconds": 300, "keep": false, "sshPublicKey": key,
        "pond": "", "exposedPorts": null, "createAttemptID": "cat_0123456789abcdef0123456789abcdef",
        "architecture": "amd64"
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_go_clis_create_body_is_accepted_and_answered_in_go_types() {
    let dir = temp_dir();
    let server =
        Running::start_default(&database_url("sqlite", dir.path()).await, dir.path()).await;
    let alice = server.api(&user_token("alice", "acme"));
    let (status, answer) = alice
        .post("/v1/leases", go_create_body(&public_key(dir.path())))
        .await;
    assert_eq!(status, 201, "{answer}");
    let lease = &answer["lease"];
    assert!(
        go_mismatches(lease).is_empty(),
        "{:?}",
        go_mismatches(lease)
    );
    assert!(lease["serverID"].is_number(), "{lease}");
    let id = lease["id"].as_str().unwrap().to_string();
    let (_, listed) = alice.get("/v1/leases").await;
    for lease in listed["leases"].as_array().unwrap() {
        assert!(
            go_mismatches(lease).is_empty(),
            "{:?}",
            go_mismatches(lease)
        );
    }
    let (status, released) = alice
        .post(&format!("/v1/leases/{id}/release"), json!({"delete": true}))
        .await;
    assert_eq!(status, 200, "{released}");
    assert!(go_mismatches(&released["lease"]).is_empty());
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heartbeat_telemetry_is_stored_on_the_lease() {
    let dir = temp_dir();
    let server =
        Running::start_default(&database_url("sqlite", dir.path()).await, dir.path()).await;
    let alice = server.api(&user_token("alice", "acme"));
    let (status, _) = alice
        .call(
            "PUT",
            "/v1/leases/cbx_00000000c0c1/registration",
            Some(json!({"provider": "ssh", "target": "linux", "host": "10.0.0.9"})),
        )
        .await;
    assert_eq!(status, 201);
    for (captured, load) in [
        ("2026-12-04T10:00:00.000Z", 0.5),
        ("2026-12-04T10:01:00.000Z", 1.5),
        ("2026-12-04T10:01:00.000Z", 2.5),
    ] {
        let (status, answer) = alice
            .post(
                "/v1/leases/cbx_00000000c0c1/heartbeat",
                json!({"telemetry": {"capturedAt": captured, "load1": load, "cpuCount": 4, "memoryPercent": 250}}),
            )
            .await;
        assert_eq!(status, 200, "{answer}");
    }
    // Unusable telemetry is dropped; the heartbeat still succeeds.
    let (status, _) = alice
        .post(
            "/v1/leases/cbx_00000000c0c1/heartbeat",
            json!({"telemetry": {"capturedAt": "2026-12-04T10:02:00.000Z", "load1": -1}}),
        )
        .await;
    assert_eq!(status, 200);
    let (_, answer) = alice.get("/v1/leases/cbx_00000000c0c1").await;
    let lease = &answer["lease"];
    assert!(
        go_mismatches(lease).is_empty(),
        "{:?}",
        go_mismatches(lease)
    );
    assert_eq!(lease["telemetry"]["load1"], 2.5, "{lease}");
    assert_eq!(
        lease["telemetry"]["memoryPercent"], 100.0,
        "capped as Node caps it"
    );
    let history = lease["telemetryHistory"].as_array().unwrap();
    assert_eq!(history.len(), 2, "one sample per capture time: {lease}");
    server.stop().await;
}
