//! Lease changes after create: heartbeat, release, cancel-create.

use crabbox_proto::wire::{HeartbeatRequest, LeaseRecord, LeaseStatus, ReleaseRequest};
use crabbox_store::StoredLease;

use super::access::{check_expected_provider, find_visible};
use super::cleanup;
use super::request::MAX_LIFETIME_SECS;
use crate::auth::Principal;
use crate::error::{updated, ApiError, ApiResult};
use crate::state::Coordinator;

/// Why a heartbeat is refused, checked in the reference order; `None` allows it.
pub fn heartbeat_refusal(record: &StoredLease, now: crabbox_proto::Timestamp) -> Option<ApiError> {
    if record.private.cleanup_claim.is_some() {
        return Some(ApiError::conflict(
            "cleanup_in_progress",
            "the lease's machine is being deleted",
        ));
    }
    if !record.lease.state.is_live() {
        return Some(ApiError::conflict(
            "lease_ended",
            format!(
                "lease {} is {}",
                record.lease.id,
                record.lease.state.as_str()
            ),
        ));
    }
    if record.lease.expires_at <= now {
        return Some(ApiError::conflict(
            "lease_expired",
            format!(
                "lease {} expired at {}",
                record.lease.id, record.lease.expires_at
            ),
        ));
    }
    None
}

/// Refreshes the idle deadline; never revives a lease past its deadline.
pub async fn heartbeat(
    coordinator: &Coordinator,
    principal: &Principal,
    value: &str,
    request: &HeartbeatRequest,
) -> ApiResult<LeaseRecord> {
    let found = find_visible(coordinator, principal, value).await?;
    check_expected_provider(&found, request.expected_provider.as_deref())?;
    let now = coordinator.now();
    // Stored as the Node coordinator does: sanitized, and dropped when nothing
    // usable is left (a heartbeat never fails over its telemetry).
    let telemetry = request
        .telemetry
        .clone()
        .and_then(|value| serde_json::from_value(value).ok())
        .and_then(|sample| crate::runs::telemetry::sanitize_sample(sample, now));
    let lease = updated(
        coordinator
            .store()
            .update_lease(&found.lease.id, |record| {
                if let Some(refusal) = heartbeat_refusal(record, now) {
                    return Err(refusal);
                }
                if let Some(sample) = &telemetry {
                    record.lease.telemetry = Some(sample.clone());
                    let mut history = std::mem::take(&mut record.lease.telemetry_history);
                    history.push(sample.clone());
                    record.lease.telemetry_history =
                        crate::runs::telemetry::bounded_samples(history);
                }
                if let Some(idle) = request.idle_timeout_seconds.filter(|idle| *idle > 0) {
                    record.lease.idle_timeout_seconds = idle.min(MAX_LIFETIME_SECS);
                }
                record.lease.last_touched_at = now;
                record.lease.updated_at = now;
                record.lease.expires_at = record.lease.compute_expires_at();
                record.private.cleanup_retry_at = None;
                Ok(record.lease.clone())
            })
            .await,
        "lease",
    )?;
    Ok(lease)
}

/// Ends a lease. With delete (the default unless the lease was kept) the machine
/// is deleted before this returns when possible, else by maintenance.
pub async fn release(
    coordinator: &Coordinator,
    principal: &Principal,
    value: &str,
    request: &ReleaseRequest,
) -> ApiResult<LeaseRecord> {
    let found = find_visible(coordinator, principal, value).await?;
    check_expected_provider(&found, request.expected_provider.as_deref())?;
    let delete = request.delete.unwrap_or(!found.lease.keep);
    let now = coordinator.now();
    let reach = cleanup::Reach::of(coordinator, &found.lease.provider);
    let (lease, claim) = updated(
        coordinator
            .store()
            .update_lease(&found.lease.id, |record| {
                if !record.lease.state.is_live() {
                    if !delete && record.private.cleanup_claim.is_some() {
                        return Err(ApiError::conflict(
                            "cleanup_in_progress",
                            "the lease's machine is already being deleted",
                        ));
                    }
                    return Ok((record.lease.clone(), None));
                }
                let machine_exists = record.lease.state == LeaseStatus::Active;
                record.lease.state = LeaseStatus::Released;
                record.lease.released_at = Some(now);
                record.lease.ended_at = Some(now);
                record.lease.updated_at = now;
                let managed = record.lease.lifecycle != "registered";
                record.lease.release_deletes_server = delete && managed;
                let mut claim = None;
                if delete && managed {
                    cleanup::owe_delete(record, now);
                    // A machine still being created is deleted by its finalize; one
                    // this replica cannot reach by the replica that can.
                    if machine_exists {
                        claim = cleanup::claim(record, now, &reach);
                    }
                }
                Ok((record.lease.clone(), claim))
            })
            .await,
        "lease",
    )?;
    if let Some(token) = claim {
        if let Err(error) =
            cleanup::delete_claimed(coordinator, &lease.id, &lease.provider, token).await
        {
            tracing::warn!(
                "coordinator: deleting the machine of {}: {error} (maintenance retries)",
                lease.id
            );
        }
        return Ok(coordinator
            .store()
            .get_lease(&lease.id)
            .await?
            .map(|record| record.lease)
            .unwrap_or(lease));
    }
    coordinator.wake_maintenance();
    Ok(lease)
}

/// Writes a cancel tombstone for (lease, attempt) and releases a lease that
/// attempt already reserved. Returns the released lease, if any.
pub async fn cancel_create(
    coordinator: &Coordinator,
    principal: &Principal,
    lease_id: &str,
    token: &str,
) -> ApiResult<Option<LeaseRecord>> {
    if !token.starts_with("cat_") || token.len() != 36 {
        return Err(ApiError::bad_request(
            "invalid_create_attempt_id",
            "createAttemptID must be cat_ followed by 32 hex digits",
        ));
    }
    let now = coordinator.now();
    let (owner, org) = coordinator
        .store()
        .cancel_attempt(lease_id, token, &principal.owner, &principal.org, now)
        .await?;
    if !principal.owns(&owner, &org) {
        return Err(ApiError::not_found("create attempt"));
    }
    let record = coordinator.store().get_lease(lease_id).await?;
    let Some(record) = record.filter(|record| record.private.create_attempt_id == token) else {
        return Ok(None);
    };
    if !principal.owns(&record.lease.owner, &record.lease.org) {
        return Err(ApiError::not_found("create attempt"));
    }
    release(
        coordinator,
        principal,
        lease_id,
        &ReleaseRequest {
            delete: Some(true),
            expected_provider: None,
        },
    )
    .await
    .map(Some)
}
