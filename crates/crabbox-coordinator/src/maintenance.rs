//! Maintenance: recover creates whose coordinator died, expire due leases, delete
//! their machines outside transactions under cleanup claims (only machines this
//! replica's provider can see), retry failed deletes and prune old runs. One replica at a time runs a pass (a store lock); the loop
//! sleeps until the next deadline with a periodic backstop.

use std::time::Duration;

use crabbox_proto::wire::LeaseStatus;
use crabbox_proto::Timestamp;
use crabbox_store::{LeaseFilter, StoredLease};
use tokio::sync::watch;

use crate::leases::cleanup;
use crate::state::Coordinator;

/// Leases handled per batch; a full batch runs another immediately.
const BATCH: i64 = 16;
/// A create running longer than this is considered stuck.
const STUCK_CREATE_SECS: i64 = 10 * 60;
const PASS_LOCK: &str = "maintenance";

/// The pass lock lapses as fast as a dead replica's liveness mark, so a replica
/// killed mid-pass blocks maintenance only briefly; a live pass renews it.
fn pass_lock_ttl(coordinator: &Coordinator) -> i64 {
    coordinator.settings().instance_ttl_ms.max(1_000) * 2
}

/// Takes or renews the pass lock for `holder` (one holder per pass, so two
/// passes of the same replica exclude each other too).
async fn renew_pass_lock(coordinator: &Coordinator, holder: &str) -> bool {
    coordinator
        .store()
        .try_lock(
            PASS_LOCK,
            holder,
            coordinator.now(),
            pass_lock_ttl(coordinator),
        )
        .await
        .unwrap_or(false)
}

fn pass_holder(coordinator: &Coordinator) -> String {
    let mut nonce = [0u8; 4];
    getrandom::fill(&mut nonce).expect("the system random source");
    format!(
        "{}:{:08x}",
        coordinator.instance(),
        u32::from_be_bytes(nonce)
    )
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PassReport {
    pub recovered: usize,
    pub expired: usize,
    pub deleted: usize,
    pub delete_failures: usize,
    pub pruned: u64,
    /// Another replica held the pass lock.
    pub skipped: bool,
    /// Creates of other replicas are in flight: if such a replica dies, the
    /// next pass after its liveness mark lapses recovers them.
    pub awaiting_replicas: bool,
}

/// Whether the replica that stamped a create is gone (its liveness mark lapsed
/// at least one TTL ago).
async fn replica_gone(coordinator: &Coordinator, instance: &str, now: Timestamp) -> bool {
    if instance.is_empty() || instance == coordinator.instance() {
        return false;
    }
    let name = crate::liveness::lock_name(instance);
    // Gone only when the mark lapsed a whole TTL ago: a live replica that was
    // merely slow to renew (a stalled runtime) is not declared dead.
    let lapsed_before = Timestamp(now.millis() - coordinator.settings().instance_ttl_ms);
    match coordinator
        .store()
        .try_lock(&name, coordinator.instance(), lapsed_before, 1)
        .await
    {
        Ok(true) => {
            let _ = coordinator
                .store()
                .unlock(&name, coordinator.instance())
                .await;
            true
        }
        _ => false,
    }
}

/// What a due lease needs, decided inside its transaction: whether it ended
/// now, and the delete claim when this replica should delete its machine.
fn plan(
    record: &mut StoredLease,
    now: Timestamp,
    orphaned: bool,
    reach: &cleanup::Reach,
) -> (bool, Option<Timestamp>) {
    let lease = &mut record.lease;
    let mut ended = false;
    if lease.state.is_live() && lease.lifecycle == "registered" {
        if lease.expires_at <= now {
            lease.state = LeaseStatus::Expired;
            lease.ended_at = Some(now);
            lease.updated_at = now;
            return (true, None);
        }
        return (false, None);
    }
    let started = record.private.provisioning_started_at;
    let stuck = lease.state == LeaseStatus::Provisioning
        && (orphaned
            || started
                .unwrap_or(lease.created_at)
                .plus_seconds(STUCK_CREATE_SECS)
                <= now);
    if stuck {
        lease.state = LeaseStatus::Failed;
        lease.ended_at = Some(now);
        lease.updated_at = now;
        lease.failure_error = "the create did not finish (its coordinator stopped or hung); any machine it made is deleted".into();
        ended = true;
        if started.is_none() {
            // Reserved but never sent to a provider: nothing to delete.
            return (true, None);
        }
        cleanup::owe_delete(record, now);
    } else if lease.state.is_live() && lease.expires_at <= now && !record.private.cleanup_pending {
        ended = true;
        if lease.state == LeaseStatus::Provisioning && started.is_none() {
            lease.state = LeaseStatus::Failed;
            lease.ended_at = Some(now);
            lease.updated_at = now;
            return (true, None);
        }
        // Ended before the delete starts, so a crash between the delete and its
        // record can never leave a lease without a machine showing `active`;
        // `cleanupPending` says the machine is not gone yet.
        lease.state = LeaseStatus::Expired;
        lease.ended_at = Some(now);
        cleanup::owe_delete(record, now);
    }
    (ended, cleanup::claim(record, now, reach))
}

async fn handle(
    coordinator: &Coordinator,
    seen: &StoredLease,
    orphaned: bool,
    report: &mut PassReport,
) {
    let id = seen.lease.id.as_str();
    let reach = cleanup::Reach::of(coordinator, &seen.lease.provider);
    if !seen.lease.state.is_live() && !reach.covers(seen) {
        // Only the delete is left, and another replica must do it.
        return;
    }
    let now = coordinator.now();
    let planned = coordinator
        .store()
        .update_lease(id, |record| {
            Ok::<_, ()>((
                plan(record, now, orphaned, &reach),
                record.lease.provider.clone(),
            ))
        })
        .await;
    let Ok(((ended, claim), provider)) = planned else {
        return;
    };
    report.expired += usize::from(ended);
    report.recovered += usize::from(orphaned);
    if let Some(token) = claim {
        match cleanup::delete_claimed(coordinator, id, &provider, token).await {
            Ok(()) => report.deleted += 1,
            Err(error) => {
                report.delete_failures += 1;
                tracing::warn!(
                    "coordinator: deleting the machine of {id} failed: {error} (retry in {} s)",
                    cleanup::RETRY_SECS
                );
            }
        }
    }
}

/// Creates stamped by a replica that is gone, and whether creates of other,
/// live replicas are in flight.
async fn orphaned_creates(coordinator: &Coordinator, now: Timestamp) -> (Vec<StoredLease>, bool) {
    let filter = LeaseFilter {
        state: Some(LeaseStatus::Provisioning),
        limit: 500,
        ..LeaseFilter::default()
    };
    let Ok(provisioning) = coordinator.store().list_leases(&filter).await else {
        return (Vec::new(), false);
    };
    let mut awaiting = false;
    // One liveness probe per replica, however many creates it stamped.
    let mut gone: std::collections::HashMap<String, bool> = std::collections::HashMap::new();
    let mut orphans = Vec::new();
    for record in provisioning {
        let instance = &record.private.provisioning_instance;
        let is_gone = match gone.get(instance) {
            Some(known) => *known,
            None => {
                let probed = replica_gone(coordinator, instance, now).await;
                gone.insert(instance.clone(), probed);
                probed
            }
        };
        if is_gone {
            orphans.push(record);
        } else if instance != coordinator.instance() {
            awaiting = true;
        }
    }
    (orphans, awaiting)
}

/// One maintenance pass, if no other replica is running one.
pub async fn pass(coordinator: &Coordinator) -> PassReport {
    let mut report = PassReport::default();
    let store = coordinator.store();
    let now = coordinator.now();
    let holder = pass_holder(coordinator);
    if !renew_pass_lock(coordinator, &holder).await {
        report.skipped = true;
        return report;
    }
    let (orphans, awaiting) = orphaned_creates(coordinator, now).await;
    report.awaiting_replicas = awaiting;
    for record in orphans {
        handle(coordinator, &record, true, &mut report).await;
    }
    loop {
        let due = match store.due_leases(coordinator.now(), BATCH).await {
            Ok(due) => due,
            Err(error) => {
                tracing::error!("coordinator: maintenance could not read due leases: {error}");
                break;
            }
        };
        let full = due.len() as i64 == BATCH;
        let before = report.clone();
        for record in due {
            handle(coordinator, &record, false, &mut report).await;
        }
        if !renew_pass_lock(coordinator, &holder).await {
            // Our lock lapsed and another replica took over.
            return report;
        }
        // Stop when the batch was partial or made no progress (claims held elsewhere).
        if !full || report == before {
            break;
        }
    }
    let retention = coordinator.settings().run_retention_days;
    let cutoff = Timestamp(coordinator.now().millis() - retention * 86_400_000);
    loop {
        match store.prune_runs(cutoff, BATCH).await {
            Ok(pruned) => {
                report.pruned += pruned;
                if pruned < BATCH as u64 {
                    break;
                }
            }
            Err(error) => {
                tracing::error!("coordinator: pruning runs failed: {error}");
                break;
            }
        }
    }
    let _ = store.unlock(PASS_LOCK, &holder).await;
    report
}

/// When to run another pass regardless of lease deadlines: soon after one that
/// another replica's lock kept from running (that replica may have died holding
/// it), and once a dead replica's liveness would have lapsed while other
/// replicas' creates are in flight.
fn recheck_after(
    report: &PassReport,
    at: Timestamp,
    settings: &crate::Settings,
    heartbeat_ms: i64,
) -> Option<Timestamp> {
    if report.skipped {
        return Some(Timestamp(at.millis() + heartbeat_ms));
    }
    report
        .awaiting_replicas
        .then(|| Timestamp(at.millis() + settings.instance_ttl_ms))
}

/// Runs passes at each deadline (or when woken) and stops when `shutdown`
/// turns true. (The liveness mark has its own task, `crate::liveness`.)
pub async fn run_loop(coordinator: Coordinator, mut shutdown: watch::Receiver<bool>) {
    let settings = coordinator.settings().clone();
    let heartbeat_ms = (settings.instance_ttl_ms / 3).max(100);
    let mut last_pass = Timestamp(i64::MIN);
    // When another replica's creates were in flight: look again once a dead
    // replica's liveness mark would have lapsed.
    let mut recheck: Option<Timestamp> = None;
    loop {
        let now = coordinator.now();
        let next = coordinator.store().next_deadline().await.ok().flatten();
        let backstop_due = last_pass
            .millis()
            .saturating_add(settings.maintenance_backstop_ms)
            <= now.millis();
        let next = match (next, recheck) {
            (Some(next), Some(recheck)) => Some(next.min(recheck)),
            (next, recheck) => next.or(recheck),
        };
        if next.is_some_and(|next| next <= now) || backstop_due {
            let report = pass(&coordinator).await;
            last_pass = coordinator.now();
            recheck = recheck_after(&report, last_pass, &settings, heartbeat_ms);
        }
        let now = coordinator.now();
        let until_deadline = next
            .map(|next| (next.millis() - now.millis()).max(1_000))
            .unwrap_or(i64::MAX);
        let wait = until_deadline
            .min(heartbeat_ms)
            .min(settings.maintenance_backstop_ms)
            .max(50);
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(wait as u64)) => {}
            _ = coordinator.wake_signal().notified() => {
                // Let the change that woke us commit before reading deadlines.
                tokio::time::sleep(Duration::from_millis(20)).await;
                let report = pass(&coordinator).await;
                last_pass = coordinator.now();
                recheck = recheck_after(&report, last_pass, &settings, heartbeat_ms).or(recheck);
            }
            _ = shutdown.changed() => {}
        }
        if *shutdown.borrow() {
            return;
        }
    }
}
