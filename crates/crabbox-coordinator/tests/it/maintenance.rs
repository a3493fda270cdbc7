//! Maintenance with an injected clock: due leases end before their machine is
//! deleted and show the owed delete until it succeeds, failed deletes retry after
//! five minutes, heartbeats never revive
//! an expired lease, old runs are pruned, and a create whose coordinator died
//! between reserve and finalize is recovered with no machine left behind.

use std::future::pending;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use crabbox_coordinator::{maintenance, ManualClock, Providers, SystemClock};
use crabbox_proto::Timestamp;
use crabbox_providers::{
    AcquireRequest, Lease, LeaseState, Provider, ProviderError, ProviderSpec, Released,
};
use serde_json::json;

use crate::common::*;

/// The real local provider, with a scripted twist.
struct Scripted {
    inner: Arc<dyn Provider>,
    /// Releases that fail before the real one runs.
    failing_releases: AtomicUsize,
    /// Acquire creates the machine and then never returns (a coordinator that
    /// dies mid-create).
    hang_after_acquire: bool,
    /// Every release call, shared by the replicas of one test.
    releases: Arc<AtomicUsize>,
}

#[async_trait]
impl Provider for Scripted {
    fn spec(&self) -> &'static ProviderSpec {
        self.inner.spec()
    }
    async fn acquire(&self, request: &AcquireRequest) -> Result<Lease, ProviderError> {
        let machine = self.inner.acquire(request).await?;
        if self.hang_after_acquire {
            pending::<()>().await;
        }
        Ok(machine)
    }
    async fn resolve(&self, lease_id: &str) -> Result<Lease, ProviderError> {
        self.inner.resolve(lease_id).await
    }
    async fn touch(
        &self,
        lease_id: &str,
        state: Option<LeaseState>,
        idle: Option<i64>,
    ) -> Result<Lease, ProviderError> {
        self.inner.touch(lease_id, state, idle).await
    }
    async fn release(&self, lease_id: &str) -> Result<Released, ProviderError> {
        self.releases.fetch_add(1, Ordering::SeqCst);
        let remaining = self.failing_releases.load(Ordering::SeqCst);
        if remaining > 0 {
            self.failing_releases.store(remaining - 1, Ordering::SeqCst);
            return Err(ProviderError::Failed {
                message: "simulated API outage\nsecret detail".into(),
            });
        }
        self.inner.release(lease_id).await
    }
    async fn list(&self) -> Result<Vec<Lease>, ProviderError> {
        self.inner.list().await
    }
    fn inventory_scope(&self) -> Option<String> {
        self.inner.inventory_scope()
    }
}

fn scripted(
    state: &std::path::Path,
    failing_releases: usize,
    hang_after_acquire: bool,
) -> Providers {
    counted(state, failing_releases, hang_after_acquire, Arc::default())
}

fn counted(
    state: &std::path::Path,
    failing_releases: usize,
    hang_after_acquire: bool,
    releases: Arc<AtomicUsize>,
) -> Providers {
    let local = local_providers(state).get("local").unwrap().clone();
    let mut providers = Providers::default();
    providers.insert(
        "local",
        Arc::new(Scripted {
            inner: local,
            failing_releases: AtomicUsize::new(failing_releases),
            hang_after_acquire,
            releases,
        }),
    );
    providers
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expiry_deletes_the_machine_and_retries_failed_deletes() {
    let dir = temp_dir();
    let url = database_url("sqlite", dir.path()).await;
    let clock = ManualClock::at(Timestamp::now());
    let server = Running::start(
        &url,
        settings(),
        scripted(dir.path(), 1, false),
        Arc::new(clock.clone()),
    )
    .await;
    let alice = server.api(&user_token("alice", "acme"));
    let (status, body) = alice.post("/v1/leases", json!({"sshPublicKey": public_key(dir.path()), "ttlSeconds": 3600, "idleTimeoutSeconds": 300})).await;
    assert_eq!(status, 201, "{body}");
    let id = body["lease"]["id"].as_str().unwrap().to_string();
    let (_, run) = alice
        .post("/v1/runs", json!({"leaseID": id, "command": ["true"]}))
        .await;
    let run = run["run"]["id"].as_str().unwrap().to_string();
    alice
        .post(&format!("/v1/runs/{run}/finish"), json!({"exitCode": 0}))
        .await;

    clock.advance_seconds(301);
    let (status, body) = alice
        .post(&format!("/v1/leases/{id}/heartbeat"), json!({}))
        .await;
    // Refused either as expired or, if maintenance already started, as being cleaned up.
    assert_eq!(status, 409, "a heartbeat never revives: {body}");
    assert!(
        matches!(
            body["error"].as_str(),
            Some("lease_expired" | "cleanup_in_progress")
        ),
        "{body}"
    );

    settle(&server.coordinator).await;
    let (_, body) = alice.get(&format!("/v1/leases/{id}")).await;
    assert_eq!(
        body["lease"]["state"], "expired",
        "ended before the delete, never active again"
    );
    assert_eq!(
        body["lease"]["cleanupPending"], true,
        "the failed delete stays visible"
    );
    assert_eq!(body["lease"]["cleanupAttempts"], 1);
    assert_eq!(
        body["lease"]["cleanupError"], "simulated API outage",
        "first line only"
    );
    assert_eq!(local_lease_dirs(dir.path()).len(), 1);

    clock.advance_seconds(60);
    settle(&server.coordinator).await;
    assert_eq!(
        local_lease_dirs(dir.path()).len(),
        1,
        "no retry before five minutes"
    );

    clock.advance_seconds(241);
    settle(&server.coordinator).await;
    let (_, body) = alice.get(&format!("/v1/leases/{id}")).await;
    assert_eq!(body["lease"]["state"], "expired");
    assert!(body["lease"].get("cleanupError").is_none());
    assert!(body["lease"].get("cleanupPending").is_none(), "{body}");
    assert!(
        local_lease_dirs(dir.path()).is_empty(),
        "the machine is gone"
    );

    clock.advance_seconds(31 * 86_400);
    settle(&server.coordinator).await;
    assert_eq!(
        alice.get(&format!("/v1/runs/{run}")).await.0,
        404,
        "runs past retention are pruned"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_interrupted_by_a_crash_is_recovered_after_restart() {
    for backend in backends() {
        let dir = temp_dir();
        let url = database_url(backend, dir.path()).await;
        let state = dir.path().to_path_buf();
        let key = public_key(dir.path());
        let (address_tx, address_rx) = std::sync::mpsc::channel();
        let (kill_tx, kill_rx) = std::sync::mpsc::channel::<()>();
        let crashed_url = url.to_string();
        // The first coordinator lives in its own runtime so it can be killed whole.
        let first = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .unwrap();
            let server = runtime.block_on(Running::start(
                &crashed_url,
                settings(),
                scripted(&state, 0, true),
                Arc::new(SystemClock),
            ));
            address_tx
                .send(server.api(&user_token("alice", "acme")))
                .unwrap();
            kill_rx.recv().unwrap();
            runtime.shutdown_background();
        });
        let alice = address_rx.recv().unwrap();
        let creating = alice.clone();
        let create = tokio::spawn(async move {
            creating
                .post("/v1/leases", json!({"sshPublicKey": key}))
                .await
        });
        let mut id = String::new();
        for _ in 0..200 {
            let (_, listed) = alice.get("/v1/leases").await;
            if let Some(lease) = listed["leases"]
                .as_array()
                .and_then(|leases| leases.first())
            {
                if !local_lease_dirs(dir.path()).is_empty() {
                    assert_eq!(lease["state"], "provisioning");
                    id = lease["id"].as_str().unwrap().to_string();
                    break;
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(!id.is_empty(), "the create reached the provider");
        kill_tx.send(()).unwrap();
        first.join().unwrap();
        assert!(create.await.unwrap_or_default().0 != 201);

        let second = Running::start_default(&url, dir.path()).await;
        let alice = second.api(&user_token("alice", "acme"));
        let mut recovered = false;
        for _ in 0..100 {
            settle(&second.coordinator).await;
            let (_, body) = alice.get(&format!("/v1/leases/{id}")).await;
            if body["lease"]["state"] == "failed" && local_lease_dirs(dir.path()).is_empty() {
                recovered = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(
            recovered,
            "{backend}: the lease is failed and its machine deleted"
        );
        second.stop().await;
    }
}

/// Two replicas running maintenance at the same moment delete each due machine
/// exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_passes_on_two_replicas_delete_each_machine_once() {
    for backend in backends() {
        let dir = temp_dir();
        let url = database_url(backend, dir.path()).await;
        let clock = ManualClock::at(Timestamp::now());
        let releases = Arc::new(AtomicUsize::new(0));
        let first = Running::start(
            &url,
            settings(),
            counted(dir.path(), 0, false, releases.clone()),
            Arc::new(clock.clone()),
        )
        .await;
        let second = Running::start(
            &url,
            settings(),
            counted(dir.path(), 0, false, releases.clone()),
            Arc::new(clock.clone()),
        )
        .await;
        let alice = first.api(&user_token("alice", "acme"));
        let key = public_key(dir.path());
        let mut ids = Vec::new();
        for _ in 0..4 {
            let (status, body) = alice
                .post(
                    "/v1/leases",
                    json!({"sshPublicKey": key, "idleTimeoutSeconds": 60}),
                )
                .await;
            assert_eq!(status, 201, "{body}");
            ids.push(body["lease"]["id"].as_str().unwrap().to_string());
        }
        clock.advance_seconds(61);
        for _ in 0..5 {
            tokio::join!(
                maintenance::pass(&first.coordinator),
                maintenance::pass(&second.coordinator)
            );
        }
        settle(&first.coordinator).await;
        settle(&second.coordinator).await;
        for id in &ids {
            let (_, body) = alice.get(&format!("/v1/leases/{id}")).await;
            assert_eq!(body["lease"]["state"], "expired", "{backend} {id}");
        }
        assert_eq!(
            releases.load(Ordering::SeqCst),
            4,
            "{backend}: one delete per machine"
        );
        assert!(local_lease_dirs(dir.path()).is_empty());
        first.stop().await;
        second.stop().await;
    }
}
