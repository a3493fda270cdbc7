//! The admin's forced delete (`POST /v1/admin/leases/{id}/delete`): removes a
//! lease's machine whatever its release said, e.g. one released with
//! `delete:false`, and hands it to the replica that can reach the machine.

use axum::http::StatusCode;
use crabbox_proto::wire::{LeaseRecord, LeaseStatus};

use super::access::find_visible;
use super::cleanup::{self, Reach};
use crate::auth::Principal;
use crate::error::{updated, ApiError, ApiResult};
use crate::state::Coordinator;

/// 200 with the lease once its machine is deleted here; 202 when another
/// replica must delete it (the lease shows `cleanupPending` until then).
pub async fn force_delete(
    coordinator: &Coordinator,
    principal: &Principal,
    value: &str,
) -> ApiResult<(StatusCode, LeaseRecord)> {
    if !principal.admin {
        return Err(ApiError::forbidden("admin token required"));
    }
    let found = find_visible(coordinator, principal, value).await?;
    let reach = Reach::of(coordinator, &found.lease.provider);
    let now = coordinator.now();
    let (lease, claim) = updated(
        coordinator
            .store()
            .update_lease(&found.lease.id, |record| {
                if record.lease.lifecycle == "registered" {
                    return Err(ApiError::conflict(
                        "registered_lease",
                        "a registered lease's machine is not managed by the coordinator",
                    ));
                }
                let private = &record.private;
                if private.cleanup_claim.is_some()
                    && private
                        .cleanup_claim_expires_at
                        .is_some_and(|until| until > now)
                {
                    return Err(ApiError::conflict(
                        "cleanup_in_progress",
                        "the lease's machine is being deleted right now",
                    ));
                }
                let creating = record.lease.state == LeaseStatus::Provisioning;
                let lease = &mut record.lease;
                if lease.state.is_live() {
                    lease.state = LeaseStatus::Released;
                    lease.released_at = Some(now);
                    lease.ended_at = Some(now);
                }
                lease.keep = false;
                lease.release_deletes_server = true;
                // A stale claim is taken over; a waiting retry is not waited for.
                record.private.cleanup_claim = None;
                cleanup::owe_delete(record, now);
                // A machine still being created is deleted by its finalize.
                let claim = if creating {
                    None
                } else {
                    cleanup::claim(record, now, &reach)
                };
                Ok((record.lease.clone(), claim))
            })
            .await,
        "lease",
    )?;
    let Some(token) = claim else {
        coordinator.wake_maintenance();
        return Ok((StatusCode::ACCEPTED, lease));
    };
    if let Err(error) =
        cleanup::delete_claimed(coordinator, &lease.id, &lease.provider, token).await
    {
        return Err(ApiError::new(
            StatusCode::BAD_GATEWAY,
            "provider_error",
            format!(
                "deleting the machine of {} failed: {error}; maintenance retries",
                lease.id
            ),
        ));
    }
    let deleted = coordinator.store().get_lease(&lease.id).await?;
    Ok((
        StatusCode::OK,
        deleted.map(|record| record.lease).unwrap_or(lease),
    ))
}
