//! Lease API conformance on every configured database: create on the real local
//! provider, lookups, visibility, heartbeat, release and the machine's end.

use serde_json::json;

use crate::common::*;

async fn lease_lifecycle(backend: &str) {
    let dir = temp_dir();
    let url = database_url(backend, dir.path()).await;
    let server = Running::start_default(&url, dir.path()).await;
    let alice = server.api(&user_token("alice", "acme"));
    let key = public_key(dir.path());

    let (status, body) = alice
        .post("/v1/leases", json!({"sshPublicKey": key, "ttlSeconds": 600, "idleTimeoutSeconds": 300, "pond": "db", "futureField": 1}))
        .await;
    assert_eq!(status, 201, "{body}");
    let lease = &body["lease"];
    let id = lease["id"].as_str().unwrap().to_string();
    let slug = lease["slug"].as_str().unwrap().to_string();
    assert_eq!(lease["state"], "active");
    assert_eq!(lease["provider"], "local");
    assert_eq!(lease["owner"], "alice");
    assert_eq!(lease["host"], "127.0.0.1");
    assert!(lease["sshPort"].as_str().unwrap().parse::<u16>().is_ok());
    assert!(lease["sshHostKey"].as_str().unwrap().starts_with("ssh-"));
    assert_eq!(local_lease_dirs(dir.path()).len(), 1, "one real machine");

    for value in [&id, &slug] {
        let (status, body) = alice.get(&format!("/v1/leases/{value}")).await;
        assert_eq!(
            (status, body["lease"]["id"].as_str()),
            (200, Some(id.as_str())),
            "{value}"
        );
    }
    // Another owner sees nothing, exactly like a missing lease.
    let bob = server.api(&user_token("bob", "acme"));
    for path in [format!("/v1/leases/{id}"), format!("/v1/leases/{slug}")] {
        let (status, body) = bob.get(&path).await;
        assert_eq!((status, body["error"].as_str()), (404, Some("not_found")));
    }
    let (status, body) = bob
        .post(&format!("/v1/leases/{id}/heartbeat"), json!({}))
        .await;
    assert_eq!((status, body["error"].as_str()), (404, Some("not_found")));
    let shared = server.api(SHARED);
    let (_, listed) = shared.get("/v1/leases").await;
    assert_eq!(
        listed["leases"].as_array().unwrap().len(),
        0,
        "shared-token owner has no leases"
    );
    let (_, listed) = alice.get("/v1/leases?state=active").await;
    assert_eq!(listed["leases"][0]["id"], id.as_str());

    let (status, body) = alice
        .post(
            &format!("/v1/leases/{id}/heartbeat"),
            json!({"idleTimeoutSeconds": 900}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["lease"]["idleTimeoutSeconds"], 900);
    let (status, body) = alice
        .post(
            &format!("/v1/leases/{id}/heartbeat"),
            json!({"expectedProvider": "aws"}),
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (409, Some("provider_identity_mismatch"))
    );

    let (status, body) = alice
        .post(&format!("/v1/leases/{slug}/release"), json!({}))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["lease"]["state"], "released");
    assert!(
        local_lease_dirs(dir.path()).is_empty(),
        "release deletes the machine"
    );
    let (status, body) = alice
        .post(&format!("/v1/leases/{id}/heartbeat"), json!({}))
        .await;
    assert_eq!((status, body["error"].as_str()), (409, Some("lease_ended")));
    let (status, _) = alice
        .post(&format!("/v1/leases/{id}/release"), json!({}))
        .await;
    assert_eq!(status, 200, "release is idempotent");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lease_lifecycle_on_every_backend() {
    for backend in backends() {
        lease_lifecycle(backend).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idempotent_creates_and_cancel() {
    let dir = temp_dir();
    let server =
        Running::start_default(&database_url("sqlite", dir.path()).await, dir.path()).await;
    let alice = server.api(&user_token("alice", "acme"));
    let key = public_key(dir.path());

    // Fixed-ID ensure: the same intent replays, drift conflicts.
    let body = json!({"sshPublicKey": key, "class": "small"});
    let (status, first) = alice
        .call("PUT", "/v1/leases/cbx_00000000c0de", Some(body.clone()))
        .await;
    assert_eq!(status, 201, "{first}");
    let (status, again) = alice
        .call(
            "PUT",
            "/v1/leases/cbx_00000000c0de",
            Some(json!({"sshPublicKey": key, "class": "small", "keep": true})),
        )
        .await;
    assert_eq!(
        (status, &again["lease"]["id"]),
        (200, &first["lease"]["id"]),
        "keep does not change the intent"
    );
    let (status, drift) = alice
        .call(
            "PUT",
            "/v1/leases/cbx_00000000c0de",
            Some(json!({"sshPublicKey": key, "class": "large"})),
        )
        .await;
    assert_eq!(
        (status, drift["error"].as_str()),
        (409, Some("lease_id_conflict"))
    );
    assert_eq!(
        local_lease_dirs(dir.path()).len(),
        1,
        "replays create no second machine"
    );

    // Create attempts: a replay of the same token returns the same lease.
    let token = format!("cat_{}", "ab".repeat(16));
    let attempt =
        json!({"leaseID": "cbx_00000000beef", "createAttemptID": token, "sshPublicKey": key});
    let (status, created) = alice.post("/v1/leases", attempt.clone()).await;
    assert_eq!(status, 201, "{created}");
    let (status, replayed) = alice.post("/v1/leases", attempt).await;
    assert_eq!(
        (status, &replayed["lease"]["id"]),
        (200, &created["lease"]["id"])
    );
    let (status, other) = alice
        .post(
            "/v1/leases",
            json!({"leaseID": "cbx_00000000beef", "sshPublicKey": key}),
        )
        .await;
    assert_eq!(
        (status, other["error"].as_str()),
        (409, Some("lease_id_conflict"))
    );

    // Canceling releases the attempt's lease and deletes its machine.
    let (status, canceled) = alice
        .post(
            "/v1/leases/cbx_00000000beef/cancel-create",
            json!({"createAttemptID": token}),
        )
        .await;
    assert_eq!(status, 200, "{canceled}");
    assert_eq!(canceled["canceledCreate"]["state"], "canceled");
    assert_eq!(canceled["lease"]["state"], "released");
    assert_eq!(local_lease_dirs(dir.path()).len(), 1);

    // A cancel that arrives before its create wins: the create is refused.
    let early = format!("cat_{}", "cd".repeat(16));
    let (status, _) = alice
        .post(
            "/v1/leases/cbx_00000000f00d/cancel-create",
            json!({"createAttemptID": early}),
        )
        .await;
    assert_eq!(status, 200);
    let (status, refused) = alice
        .post(
            "/v1/leases",
            json!({"leaseID": "cbx_00000000f00d", "createAttemptID": early, "sshPublicKey": key}),
        )
        .await;
    assert_eq!(
        (status, refused["error"].as_str()),
        (409, Some("create_canceled"))
    );
    let bob = server.api(&user_token("bob", "acme"));
    let (status, _) = bob
        .post(
            "/v1/leases/cbx_00000000f00d/cancel-create",
            json!({"createAttemptID": early}),
        )
        .await;
    assert_eq!(status, 404, "another owner's attempt is invisible");

    alice
        .post("/v1/leases/cbx_00000000c0de/release", json!({}))
        .await;
    assert!(local_lease_dirs(dir.path()).is_empty());
    server.stop().await;
}

/// Brokered `local` leases run as the coordinator's own user, so without the
/// single-user development setting a create is refused before any machine
/// exists, with the reference's 424 shape.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_is_refused_without_the_development_setting() {
    let dir = temp_dir();
    let url = database_url("sqlite", dir.path()).await;
    let shared_coordinator = crabbox_coordinator::Settings {
        local_dev: false,
        ..settings()
    };
    let server = Running::start(
        &url,
        shared_coordinator,
        local_providers(dir.path()),
        std::sync::Arc::new(crabbox_coordinator::SystemClock),
    )
    .await;
    let alice = server.api(&user_token("alice", "acme"));
    for body in [
        json!({"sshPublicKey": public_key(dir.path()), "provider": "local"}),
        json!({"sshPublicKey": public_key(dir.path()), "provider": "localhost"}),
        json!({"sshPublicKey": public_key(dir.path())}),
    ] {
        let (status, answer) = alice.post("/v1/leases", body).await;
        assert_eq!(status, 424, "{answer}");
        assert_eq!(answer["error"], "provider_not_configured");
        assert_eq!(answer["provider"], "local");
        assert_eq!(answer["missing"], json!(["CRABBOX_COORDINATOR_LOCAL_DEV"]));
        assert!(answer["message"]
            .as_str()
            .unwrap()
            .contains("CRABBOX_COORDINATOR_LOCAL_DEV"));
    }
    assert!(
        local_lease_dirs(dir.path()).is_empty(),
        "no machine was made"
    );
    let (_, listed) = alice.get("/v1/leases").await;
    assert_eq!(listed["leases"], json!([]));
    server.stop().await;
}
