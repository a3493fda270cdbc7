//! This replica's liveness mark: a lock row renewed by its own task every third
//! of its TTL, so long maintenance passes or provider calls never let it lapse
//! while the process lives. Other replicas read a lapsed mark as "this replica
//! died" and recover the creates it started.

use std::time::Duration;

use tokio::sync::watch;

use crate::state::Coordinator;

pub fn lock_name(instance: &str) -> String {
    format!("instance:{instance}")
}

/// Takes or renews the mark; false when the database could not be reached.
pub async fn renew(coordinator: &Coordinator) -> bool {
    coordinator
        .store()
        .try_lock(
            &lock_name(coordinator.instance()),
            coordinator.instance(),
            coordinator.now(),
            coordinator.settings().instance_ttl_ms,
        )
        .await
        .unwrap_or(false)
}

/// Renews the mark until `shutdown` turns true, then drops it.
pub async fn run(coordinator: Coordinator, mut shutdown: watch::Receiver<bool>) {
    let every = Duration::from_millis((coordinator.settings().instance_ttl_ms / 3).max(50) as u64);
    loop {
        renew(&coordinator).await;
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = shutdown.changed() => {}
        }
        if *shutdown.borrow() {
            let _ = coordinator
                .store()
                .unlock(&lock_name(coordinator.instance()), coordinator.instance())
                .await;
            return;
        }
    }
}
