//! Deleting a lease's machine: claim the delete inside a transaction, call the
//! provider outside any transaction, then record the outcome only if the claim
//! is still ours. Used by release, late creates, admin deletes and maintenance.
//! A replica claims only machines its provider can see (the inventory scope
//! recorded at create); others leave the owed delete to the replica that can.

use crabbox_proto::wire::LeaseStatus;
use crabbox_proto::Timestamp;
use crabbox_store::{StoredLease, Update};

use crate::state::Coordinator;

/// Wait before retrying a failed delete.
pub const RETRY_SECS: i64 = 5 * 60;

/// How long a delete claim lasts. The deleting replica renews it while the
/// provider works, so it lapses only when that replica died: as fast as its
/// liveness mark.
pub fn claim_ttl_ms(coordinator: &Coordinator) -> i64 {
    coordinator.settings().instance_ttl_ms.max(1_000) * 2
}

/// What this replica's provider for one lease can act on.
pub struct Reach {
    /// `None` when this replica does not run the provider at all.
    scope: Option<Option<String>>,
    claim_ttl_ms: i64,
}

impl Reach {
    /// Reads the provider's inventory scope (outside any transaction: it may
    /// touch the file system).
    pub fn of(coordinator: &Coordinator, provider: &str) -> Reach {
        Reach {
            scope: coordinator
                .providers()
                .get(provider)
                .map(|provider| provider.inventory_scope()),
            claim_ttl_ms: claim_ttl_ms(coordinator),
        }
    }

    /// Whether this replica can see, and so delete, the lease's machine.
    pub fn covers(&self, record: &StoredLease) -> bool {
        let recorded = &record.private.inventory_scope;
        match &self.scope {
            None => false,
            Some(_) if recorded.is_empty() => true,
            Some(scope) => scope.as_deref() == Some(recorded.as_str()),
        }
    }
}

/// Marks the machine as owed a delete (kept in the record until it succeeds).
pub fn owe_delete(record: &mut StoredLease, now: Timestamp) {
    record.private.cleanup_pending = true;
    record.lease.cleanup_pending = true;
    record.private.cleanup_retry_at = None;
    record.lease.updated_at = now;
}

/// Inside a transaction: takes the delete claim when one is owed, this replica
/// can reach the machine, no live claim holds it and no retry is waiting.
/// Returns the claim token.
pub fn claim(record: &mut StoredLease, now: Timestamp, reach: &Reach) -> Option<Timestamp> {
    if !record.private.cleanup_pending || !reach.covers(record) {
        return None;
    }
    let private = &mut record.private;
    let held = private.cleanup_claim.is_some()
        && private
            .cleanup_claim_expires_at
            .is_some_and(|until| until > now);
    let waiting = private.cleanup_retry_at.is_some_and(|retry| retry > now);
    if held || waiting {
        return None;
    }
    private.cleanup_claim = Some(now);
    private.cleanup_claim_expires_at = Some(Timestamp(now.millis() + reach.claim_ttl_ms));
    Some(now)
}

/// Outside transactions: deletes the machine of `lease_id` under `token`, then
/// records success (`expired` for a lease that was still live) or schedules a
/// retry. Returns the provider error text on failure.
pub async fn delete_claimed(
    coordinator: &Coordinator,
    lease_id: &str,
    provider: &str,
    token: Timestamp,
) -> Result<(), String> {
    let deleting = async {
        match coordinator.providers().get(provider) {
            Some(provider) => provider
                .release(lease_id)
                .await
                .map(|_| ())
                .map_err(|error| super::redact(&error.to_string())),
            None => Err(format!(
                "provider {provider} is not configured on this coordinator"
            )),
        }
    };
    let outcome = tokio::select! {
        outcome = deleting => outcome,
        never = keep_claim(coordinator, lease_id, token) => match never {},
    };
    coordinator.crash_point("after-machine-delete");
    let now = coordinator.now();
    let recorded = coordinator
        .store()
        .update_lease(lease_id, |record| {
            if record.private.cleanup_claim != Some(token) {
                // Another replica took over a stale claim; its outcome wins.
                return Ok::<_, ()>(());
            }
            let private = &mut record.private;
            private.cleanup_claim = None;
            private.cleanup_claim_expires_at = None;
            match &outcome {
                Ok(()) => {
                    private.cleanup_pending = false;
                    record.lease.cleanup_pending = false;
                    private.cleanup_retry_at = None;
                    record.lease.cleanup_error.clear();
                    if record.lease.state.is_live() {
                        record.lease.state = LeaseStatus::Expired;
                    }
                    record.lease.ended_at.get_or_insert(now);
                }
                Err(error) => {
                    private.cleanup_retry_at = Some(now.plus_seconds(RETRY_SECS));
                    record.lease.cleanup_attempts += 1;
                    record.lease.cleanup_error = error.clone();
                }
            }
            record.lease.updated_at = now;
            Ok(())
        })
        .await;
    if let Err(Update::Store(error)) = recorded {
        tracing::error!("coordinator: recording the delete of {lease_id}: {error}");
    }
    outcome
}

/// Renews the claim `token` on `lease_id` until dropped; stops renewing (and
/// waits forever) once the claim is no longer ours.
async fn keep_claim(
    coordinator: &Coordinator,
    lease_id: &str,
    token: Timestamp,
) -> std::convert::Infallible {
    let ttl = claim_ttl_ms(coordinator);
    loop {
        tokio::time::sleep(std::time::Duration::from_millis((ttl / 3) as u64)).await;
        let until = Timestamp(coordinator.now().millis() + ttl);
        let renewed = coordinator
            .store()
            .update_lease(lease_id, |record| {
                if record.private.cleanup_claim != Some(token) {
                    return Err(());
                }
                record.private.cleanup_claim_expires_at = Some(until);
                Ok(())
            })
            .await;
        // A passing database error is retried at the next renewal.
        if matches!(renewed, Err(Update::Rejected(()) | Update::NotFound)) {
            return std::future::pending().await;
        }
    }
}
