//! The brokered create: reserve under a transaction (caps, slug), call the
//! provider outside any transaction, then finalize after re-validating. A
//! release or cancel that lands meanwhile wins and the late machine is deleted.

use axum::http::StatusCode;
use crabbox_core::{allocate_slug, LeaseId};
use crabbox_proto::wire::{CreateLeaseRequest, LeaseStatus};
use crabbox_providers::{AcquireRequest, Lease as Machine};
use crabbox_store::{Reserve, StoredLease, Update};

use super::request::{lease_record, IdSource};
use super::{cleanup, redact};
use crate::auth::Principal;
use crate::caps;
use crate::error::{ApiError, ApiResult};
use crate::settings::LOCAL_DEV;
use crate::state::Coordinator;

/// What a create answers: the status (201 new, 200/202 replay) and the lease.
pub struct Created {
    pub status: StatusCode,
    pub record: StoredLease,
}

fn unsupported_provider(coordinator: &Coordinator, name: &str) -> ApiError {
    match crabbox_providers::canonical_name(name) {
        Ok("local") if !coordinator.settings().local_dev => local_refused(),
        Ok(canonical) => {
            let configured: Vec<&str> = coordinator.providers().names().collect();
            ApiError::provider_not_configured(
                canonical,
                vec!["CRABBOX_PROVIDERS".into()],
                format!(
                    "provider {canonical} is not configured on this coordinator (configured: {})",
                    configured.join(", ")
                ),
            )
        }
        Err(_) => ApiError::bad_request("invalid_provider", format!("unknown provider {name:?}")),
    }
}

/// Brokered `local` leases run as the coordinator's own user, so they are only
/// served by a coordinator started for single-user development.
fn local_refused() -> ApiError {
    ApiError::provider_not_configured(
        "local",
        vec![LOCAL_DEV.into()],
        format!("this coordinator does not broker local leases: they run as its own user and could read its tokens; set {LOCAL_DEV}=1 only on a single-user development coordinator"),
    )
}

pub async fn create(
    coordinator: &Coordinator,
    principal: &Principal,
    request: &CreateLeaseRequest,
    id_source: IdSource<'_>,
) -> ApiResult<Created> {
    let fixed = matches!(id_source, IdSource::Path(_));
    let name = if request.provider.trim().is_empty() {
        coordinator.settings().default_provider.clone()
    } else {
        request.provider.trim().to_lowercase()
    };
    let provider = coordinator
        .providers()
        .get(&name)
        .cloned()
        .ok_or_else(|| unsupported_provider(coordinator, &name))?;
    if provider.spec().name == "local" && !coordinator.settings().local_dev {
        return Err(local_refused());
    }
    let now = coordinator.now();
    let mut record = lease_record(
        principal,
        request,
        id_source,
        provider.spec().name,
        provider.uses_lease_keys(),
        now,
    )?;
    if record.lease.server_type.is_empty() {
        record.lease.server_type = provider.spec().name.to_string();
    }
    let rate = caps::hourly_rate(
        coordinator.settings(),
        &record.lease.provider,
        &record.lease.server_type,
    );
    // Stamped at reserve, so a replica that dies before the provider call is
    // recovered too, and only replicas that see this inventory delete the machine.
    record.private.provisioning_instance = coordinator.instance().to_string();
    record.private.inventory_scope = provider.inventory_scope().unwrap_or_default();
    record.lease.estimated_hourly_usd = rate;
    record.lease.max_estimated_usd = caps::max_estimated_usd(record.lease.ttl_seconds, rate);

    let requested_slug = (!request.slug.is_empty()).then(|| request.slug.clone());
    let settings = coordinator.settings();
    let reserved = coordinator
        .store()
        .reserve_lease(record, now, caps::month_start(now), |admission, record| {
            if admission.attempt_canceled {
                return Err(ApiError::conflict(
                    "create_canceled",
                    "this create attempt was canceled",
                ));
            }
            let lease = &record.lease;
            caps::admit(
                &settings.caps,
                admission,
                &lease.owner,
                &lease.org,
                lease.max_estimated_usd,
            )?;
            record.lease.slug =
                allocate_slug(&record.lease.id, requested_slug.as_deref(), |slug| {
                    admission.taken_slugs.contains(slug)
                })
                .map_err(|error| ApiError::conflict("slug_unavailable", error.to_string()))?;
            Ok(())
        })
        .await;
    let reserved = match reserved {
        Ok(record) => record,
        Err(Reserve::Conflict(existing)) => return replay(principal, request, existing, fixed),
        Err(Reserve::Rejected(error)) => return Err(error),
        Err(Reserve::Store(error)) => return Err(error.into()),
    };
    coordinator.crash_point("after-reserve");
    // No maintenance wake-up here: a new lease's deadline lies ahead, and the
    // loop re-reads deadlines on its own.
    provision(coordinator, reserved, &*provider).await
}

/// A create for an ID that exists: the same attempt (or the same fixed-ID intent)
/// by the same owner replays; anything else conflicts.
fn replay(
    principal: &Principal,
    request: &CreateLeaseRequest,
    existing: StoredLease,
    fixed: bool,
) -> ApiResult<Created> {
    let same_owner = existing.lease.owner == principal.owner && existing.lease.org == principal.org;
    let same_attempt = if fixed {
        existing.private.intent_hash == super::request::intent_hash(request)
    } else {
        !request.create_attempt_id.is_empty()
            && existing.private.create_attempt_id == request.create_attempt_id
    };
    if !(same_owner && same_attempt) {
        return Err(ApiError::conflict(
            "lease_id_conflict",
            format!("lease {} already exists", existing.lease.id),
        ));
    }
    match existing.lease.state {
        LeaseStatus::Active => Ok(Created {
            status: StatusCode::OK,
            record: existing,
        }),
        LeaseStatus::Provisioning if fixed => Ok(Created {
            status: StatusCode::ACCEPTED,
            record: existing,
        }),
        LeaseStatus::Provisioning => Ok(Created {
            status: StatusCode::OK,
            record: existing,
        }),
        _ if fixed => Err(ApiError::conflict(
            "lease_id_conflict",
            format!("lease {} has ended", existing.lease.id),
        )),
        _ => Err(ApiError::conflict(
            "lease_state_changed",
            format!("lease {} has ended", existing.lease.id),
        )),
    }
}

async fn provision(
    coordinator: &Coordinator,
    reserved: StoredLease,
    provider: &dyn crabbox_providers::Provider,
) -> ApiResult<Created> {
    let id = reserved.lease.id.clone();
    // Creates are admitted only with canonical IDs (see `request.rs`).
    let lease_id = LeaseId::parse(&id).ok_or_else(|| ApiError::internal("the lease id"))?;
    let instance = coordinator.instance().to_string();
    let started = coordinator
        .store()
        .update_lease(&id, |record| {
            if record.lease.state != LeaseStatus::Provisioning {
                return Err(());
            }
            record.private.provisioning_started_at = Some(coordinator.now());
            record.private.provisioning_instance = instance.clone();
            Ok(record.clone())
        })
        .await;
    let reserved = match started {
        Ok(record) => record,
        Err(Update::Store(error)) => return Err(error.into()),
        Err(_) => {
            return Err(ApiError::conflict(
                "lease_state_changed",
                format!("lease {id} was released before its machine was created"),
            ))
        }
    };
    let request = AcquireRequest {
        lease_id,
        slug: reserved.lease.slug.clone(),
        public_key: reserved.private.ssh_public_key.clone(),
        ttl_secs: reserved.lease.ttl_seconds,
        idle_timeout_secs: reserved.lease.idle_timeout_seconds,
        keep: reserved.lease.keep,
        class: reserved.lease.class.clone(),
        profile: reserved.lease.profile.clone(),
        pond: reserved.lease.pond.clone(),
        exposed_ports: reserved.lease.exposed_ports.clone(),
    };
    match provider.acquire(&request).await {
        Ok(machine) => {
            coordinator.crash_point("after-acquire");
            finalize(coordinator, &id, machine).await
        }
        Err(error) => {
            let message = redact(&error.to_string());
            let now = coordinator.now();
            let _ = coordinator
                .store()
                .update_lease(&id, |record| {
                    if record.lease.state.is_live() {
                        record.lease.state = LeaseStatus::Failed;
                        record.lease.ended_at = Some(now);
                    }
                    record.lease.failure_error = message.clone();
                    // A failed create may still have left something behind.
                    cleanup::owe_delete(record, now);
                    Ok::<_, ()>(())
                })
                .await;
            coordinator.wake_maintenance();
            Err(ApiError::new(
                StatusCode::BAD_GATEWAY,
                "provider_error",
                format!(
                    "provider {} could not create the machine: {message}",
                    provider.spec().name
                ),
            ))
        }
    }
}

fn apply_machine(record: &mut StoredLease, machine: &Machine) {
    let lease = &mut record.lease;
    // The wire's serverID is numeric (0 when the provider's id is not a number);
    // cloudID keeps the provider's id as text either way.
    lease.server_id = machine.server_id.trim().parse().unwrap_or(0);
    lease.cloud_id = machine.server_id.clone();
    lease.server_name = machine.name.clone();
    if !machine.server_type.is_empty() {
        lease.server_type = machine.server_type.clone();
    }
    lease.host = machine.host.clone();
    lease.ssh_user = machine.user.clone();
    lease.ssh_port = machine.port.to_string();
    lease.ssh_fallback_ports = machine.fallback_ports.iter().map(u16::to_string).collect();
    lease.ssh_host_key = machine.host_key.clone().unwrap_or_default();
    lease.work_root = machine.work_root.clone();
    lease.labels = machine.labels.clone();
}

async fn finalize(coordinator: &Coordinator, id: &str, machine: Machine) -> ApiResult<Created> {
    let now = coordinator.now();
    let reach = cleanup::Reach::of(coordinator, &machine.provider);
    let finalized = coordinator
        .store()
        .update_lease(id, |record| {
            apply_machine(record, &machine);
            record.lease.updated_at = now;
            if record.lease.state == LeaseStatus::Provisioning {
                record.lease.state = LeaseStatus::Active;
                return Ok(Ok(record.clone()));
            }
            // Released or canceled while the provider worked: the machine is late.
            cleanup::owe_delete(record, now);
            Ok::<_, ()>(Err(cleanup::claim(record, now, &reach)))
        })
        .await;
    match finalized {
        Ok(Ok(record)) => Ok(Created {
            status: StatusCode::CREATED,
            record,
        }),
        Ok(Err(claim)) => {
            if let Some(token) = claim {
                let _ = cleanup::delete_claimed(coordinator, id, &machine.provider, token).await;
            }
            coordinator.wake_maintenance();
            Err(ApiError::conflict("lease_state_changed", format!("lease {id} was released while its machine was being created; the machine was deleted")))
        }
        Err(Update::Store(error)) => Err(error.into()),
        Err(_) => {
            // The record vanished: never leave the machine running.
            if let Some(provider) = coordinator.providers().get(&machine.provider) {
                let _ = provider.release(id).await;
            }
            Err(ApiError::conflict(
                "lease_state_changed",
                format!("lease {id} disappeared during create"),
            ))
        }
    }
}
