//! Lease API conformance on every configured database: create on the real local
//! provider, lookups, visibility, heartbeat, release and the machine's end.

mod common;

use common::*;
use serde_json::json;

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
