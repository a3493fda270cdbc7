//! Deleting machines across replicas: each replica has its own `local` state
//! directory, so only the replica that created a machine can see and delete it.
//! A release through another replica hands the delete over, the lease shows the
//! owed delete until the machine is really gone, and an admin can force the
//! delete of a lease released with `delete:false`.

use std::path::Path;
use std::time::Duration;

use serde_json::{json, Value};

use crate::common::machines::{lease_dir, machine_exists, sshd_running};
use crate::common::*;

async fn create(api: &Api, dir: &Path) -> String {
    let (status, body) = api
        .post("/v1/leases", json!({"sshPublicKey": public_key(dir)}))
        .await;
    assert_eq!(status, 201, "{body}");
    body["lease"]["id"].as_str().unwrap().to_string()
}

fn pending(lease: &Value) -> bool {
    lease["cleanupPending"] == true
}

/// Runs maintenance on both replicas until the lease no longer owes a delete,
/// checking on every read that a lease reported clean has no machine left.
async fn until_deleted(replicas: [&Running; 2], api: &Api, state: &Path, id: &str) -> Value {
    for _ in 0..150 {
        for replica in replicas {
            settle(&replica.coordinator).await;
        }
        let (status, body) = api.get(&format!("/v1/leases/{id}")).await;
        assert_eq!(status, 200, "{body}");
        if !pending(&body["lease"]) {
            assert!(
                !machine_exists(state, id),
                "the lease reports no owed delete while its machine exists: {body}"
            );
            return body["lease"].clone();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the machine of {id} was never deleted");
}

async fn release_through_another_replica(backend: &str) {
    let (dir_a, dir_b) = (temp_dir(), temp_dir());
    let url = database_url(backend, dir_a.path()).await;
    let a = Running::start_default(&url, dir_a.path()).await;
    let b = Running::start_default(&url, dir_b.path()).await;
    let through_a = a.api(&user_token("alice", "acme"));
    let through_b = b.api(&user_token("alice", "acme"));

    let id = create(&through_b, dir_b.path()).await;
    assert!(
        sshd_running(dir_b.path(), &id),
        "{backend}: B made the machine"
    );
    assert!(local_lease_dirs(dir_a.path()).is_empty());

    let (status, body) = through_a
        .post(&format!("/v1/leases/{id}/release"), json!({"delete": true}))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["lease"]["state"], "released");
    assert!(
        pending(&body["lease"]),
        "{backend}: A cannot see B's machine, so the delete is still owed: {body}"
    );
    // A's maintenance alone never reports it deleted.
    settle(&a.coordinator).await;
    let (_, body) = through_a.get(&format!("/v1/leases/{id}")).await;
    assert!(
        pending(&body["lease"]) || !machine_exists(dir_b.path(), &id),
        "{backend}: {body}"
    );

    let lease = until_deleted([&a, &b], &through_a, dir_b.path(), &id).await;
    assert_eq!(lease["state"], "released");
    assert_eq!(lease["releaseDeletesServer"], true);
    assert!(!lease_dir(dir_b.path(), &id).exists());

    // The admin's forced delete through A of a machine only B can reach is
    // handed over too (202), and done by B.
    let kept = create(&through_b, dir_b.path()).await;
    let (status, body) = through_b
        .post(
            &format!("/v1/leases/{kept}/release"),
            json!({"delete": false}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(!pending(&body["lease"]), "{body}");
    assert!(sshd_running(dir_b.path(), &kept), "delete:false keeps it");
    let (status, body) = a
        .api(ADMIN)
        .post(&format!("/v1/admin/leases/{kept}/delete"), json!({}))
        .await;
    assert_eq!(status, 202, "{backend}: {body}");
    assert!(pending(&body["lease"]), "{body}");
    until_deleted([&a, &b], &through_a, dir_b.path(), &kept).await;
    assert!(local_lease_dirs(dir_b.path()).is_empty());
    a.stop().await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_release_through_another_replica_deletes_the_machine_where_it_lives() {
    for backend in backends() {
        release_through_another_replica(backend).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_delete_removes_a_machine_released_without_delete() {
    let dir = temp_dir();
    let url = database_url("sqlite", dir.path()).await;
    let server = Running::start_default(&url, dir.path()).await;
    let alice = server.api(&user_token("alice", "acme"));
    let id = create(&alice, dir.path()).await;
    let (status, body) = alice
        .post(
            &format!("/v1/leases/{id}/release"),
            json!({"delete": false}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body["lease"].get("releaseDeletesServer").is_none(),
        "{body}"
    );
    assert!(sshd_running(dir.path(), &id));

    let path = format!("/v1/admin/leases/{id}/delete");
    let (status, body) = alice.post(&path, json!({})).await;
    assert_eq!((status, body["error"].as_str()), (403, Some("forbidden")));
    assert!(
        sshd_running(dir.path(), &id),
        "a refused delete changes nothing"
    );

    let admin = server.api(ADMIN);
    let (status, body) = admin.post(&path, json!({})).await;
    assert_eq!(status, 200, "{body}");
    let lease = &body["lease"];
    assert_eq!(lease["state"], "released");
    assert_eq!(lease["releaseDeletesServer"], true);
    assert_eq!(lease["keep"], false);
    assert!(!pending(lease), "{body}");
    assert!(!machine_exists(dir.path(), &id), "the machine is gone");

    let (status, body) = admin.post(&path, json!({})).await;
    assert_eq!(status, 200, "repeating it is harmless: {body}");
    let (status, _) = admin
        .post("/v1/admin/leases/cbx_000000000000/delete", json!({}))
        .await;
    assert_eq!(status, 404);
    server.stop().await;
}
