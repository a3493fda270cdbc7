//! Brokered leases: a `Provider` whose machines the coordinator creates, tracks and
//! deletes. The data plane (SSH, sync, the command) still runs straight from this
//! machine to the lease.

mod mapping;

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use crabbox_client::{Client, ClientError, ErrorClass, LeaseFilter};
use crabbox_proto::wire::{CreateLeaseRequest, HeartbeatRequest, ReleaseRequest};
use crabbox_providers::{
    AcquireRequest, Lease, LeaseState, Provider, ProviderError, ProviderSpec, Released,
};

use crate::cancel::Cancel;

pub use mapping::{client_error, lease_from_wire};
use mapping::{ended, provider_error};

/// How long a lease may stay `provisioning` after the create call returned.
const PROVISIONING_WAIT: Duration = Duration::from_secs(600);
const PROVISIONING_POLL: Duration = Duration::from_secs(2);
/// Best-effort calls made while the user waits to exit.
const CANCEL_CREATE_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a create whose answer was lost is replayed (same body, same
/// attempt ID) before it is canceled, and the waits between replays.
const REPLAY_WINDOW: Duration = Duration::from_secs(60);
const REPLAY_FIRST_WAIT: Duration = Duration::from_millis(250);
const REPLAY_LONGEST_WAIT: Duration = Duration::from_secs(5);

/// Where a claim records the coordinator that brokers its lease.
pub const CLAIM_COORDINATOR_KEY: &str = "coordinatorURL";

/// A brokerable provider reached through the coordinator.
pub struct BrokeredProvider {
    client: Client,
    /// The provider the coordinator runs; supplies the spec and the ready check.
    inner: Arc<dyn Provider>,
    cancel: Option<Cancel>,
}

impl BrokeredProvider {
    pub fn new(client: Client, inner: Arc<dyn Provider>, cancel: Option<Cancel>) -> Self {
        BrokeredProvider {
            client,
            inner,
            cancel,
        }
    }

    fn name(&self) -> &'static str {
        self.inner.spec().name
    }

    /// `cat_` + 32 hex: the create attempt's idempotency token.
    fn create_attempt_id() -> String {
        let mut bytes = [0u8; 16];
        getrandom::fill(&mut bytes).expect("operating system random number generator failed");
        let hex: String = bytes.iter().map(|byte| format!("{byte:02x}")).collect();
        format!("cat_{hex}")
    }

    async fn interrupted(&self) {
        match &self.cancel {
            Some(cancel) => {
                cancel.cancelled().await;
            }
            None => std::future::pending::<()>().await,
        }
    }

    /// Abandons a create the user interrupted; the coordinator tombstones the
    /// attempt even if its create has not arrived yet.
    async fn cancel_create(&self, lease_id: &str, attempt: &str) -> ProviderError {
        let canceled = tokio::time::timeout(
            CANCEL_CREATE_TIMEOUT,
            self.client.cancel_create(lease_id, attempt),
        )
        .await;
        let outcome = match canceled {
            Ok(Ok(_)) => "the coordinator canceled the create",
            _ => "canceling the create failed; the coordinator's expiry will end the lease",
        };
        ProviderError::Failed {
            message: format!("interrupted while leasing {lease_id}; {outcome}"),
        }
    }

    /// Sends the create, replaying it while its answer is lost (a dropped
    /// connection, a timeout, a 5xx other than the provider's own failure). The
    /// coordinator answers a replay of an attempt it already reserved with that
    /// lease, so a replay never makes a second machine.
    async fn create_replaying(
        &self,
        body: &CreateLeaseRequest,
    ) -> Result<crabbox_proto::wire::LeaseRecord, ClientError> {
        let deadline = Instant::now() + REPLAY_WINDOW;
        let mut wait = REPLAY_FIRST_WAIT;
        loop {
            match self.client.create_lease(body).await {
                Err(error) if answer_lost(&error) && Instant::now() + wait < deadline => {
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(REPLAY_LONGEST_WAIT);
                }
                outcome => return outcome,
            }
        }
    }

    /// Waits while the coordinator still provisions the machine.
    async fn until_active(
        &self,
        mut record: crabbox_proto::wire::LeaseRecord,
    ) -> Result<Lease, ProviderError> {
        let deadline = Instant::now() + PROVISIONING_WAIT;
        while record.state == crabbox_proto::wire::LeaseStatus::Provisioning {
            if Instant::now() >= deadline {
                return Err(ProviderError::Failed {
                    message: format!(
                        "lease {} is still provisioning after {}s",
                        record.id,
                        PROVISIONING_WAIT.as_secs()
                    ),
                });
            }
            tokio::time::sleep(PROVISIONING_POLL).await;
            record = self
                .client
                .get_lease(&record.id)
                .await
                .map_err(|error| provider_error(error, &record.id))?;
        }
        if !record.state.is_live() {
            return Err(ended(&record));
        }
        lease_from_wire(&record)
    }
}

#[async_trait]
impl Provider for BrokeredProvider {
    fn spec(&self) -> &'static ProviderSpec {
        self.inner.spec()
    }

    async fn acquire(&self, request: &AcquireRequest) -> Result<Lease, ProviderError> {
        let attempt = Self::create_attempt_id();
        let body = CreateLeaseRequest {
            lease_id: request.lease_id.to_string(),
            create_attempt_id: attempt.clone(),
            slug: request.slug.clone(),
            provider: self.name().to_string(),
            class: request.class.clone(),
            profile: request.profile.clone(),
            ttl_seconds: request.ttl_secs,
            idle_timeout_seconds: request.idle_timeout_secs,
            keep: request.keep,
            ssh_public_key: request.public_key.clone(),
            pond: request.pond.clone(),
            exposed_ports: request.exposed_ports.clone(),
            ..CreateLeaseRequest::default()
        };
        let created = tokio::select! {
            result = self.create_replaying(&body) => result,
            _ = self.interrupted() => {
                return Err(self.cancel_create(request.lease_id.as_str(), &attempt).await);
            }
        };
        let record = match created {
            Ok(record) => record,
            Err(error) if answer_lost(&error) => {
                // Still no answer: cancel, so a create that lands late leaves nothing.
                let canceled = tokio::time::timeout(
                    CANCEL_CREATE_TIMEOUT,
                    self.client
                        .cancel_create(request.lease_id.as_str(), &attempt),
                )
                .await;
                let outcome = if matches!(canceled, Ok(Ok(_))) {
                    "the create was canceled"
                } else {
                    "canceling it failed too; the coordinator's expiry ends the lease"
                };
                return Err(ProviderError::Failed {
                    message: format!(
                        "creating {} got no answer for {}s ({error}); {outcome}",
                        request.lease_id,
                        REPLAY_WINDOW.as_secs()
                    ),
                });
            }
            Err(error) => return Err(provider_error(error, request.lease_id.as_str())),
        };
        tokio::select! {
            result = self.until_active(record) => result,
            _ = self.interrupted() => Err(self.cancel_create(request.lease_id.as_str(), &attempt).await),
        }
    }

    /// Looks the lease up by ID or slug; an ended lease is an error that proves it
    /// gone, a 404 only says this identity cannot see it.
    async fn resolve(&self, lease_id: &str) -> Result<Lease, ProviderError> {
        let record = self
            .client
            .get_lease(lease_id)
            .await
            .map_err(|error| provider_error(error, lease_id))?;
        if !record.state.is_live() {
            return Err(ended(&record));
        }
        lease_from_wire(&record)
    }

    /// A heartbeat; the coordinator has no running/ready states to record.
    async fn touch(
        &self,
        lease_id: &str,
        _state: Option<LeaseState>,
        idle_timeout_secs: Option<i64>,
    ) -> Result<Lease, ProviderError> {
        let body = HeartbeatRequest {
            idle_timeout_seconds: idle_timeout_secs,
            ..HeartbeatRequest::default()
        };
        let record = self
            .client
            .heartbeat(lease_id, &body)
            .await
            .map_err(|error| provider_error(error, lease_id))?;
        lease_from_wire(&record)
    }

    /// Releases and asks the coordinator to delete the machine.
    async fn release(&self, lease_id: &str) -> Result<Released, ProviderError> {
        let body = ReleaseRequest {
            delete: Some(true),
            ..ReleaseRequest::default()
        };
        match self.client.release_lease(lease_id, &body).await {
            Ok(_) => Ok(Released::Deleted),
            Err(error) if error.class() == ErrorClass::NotFound => Ok(Released::AlreadyGone),
            Err(error) => Err(provider_error(error, lease_id)),
        }
    }

    /// The caller's live leases of this provider.
    async fn list(&self) -> Result<Vec<Lease>, ProviderError> {
        let filter = LeaseFilter {
            provider: Some(self.name().to_string()),
            ..LeaseFilter::default()
        };
        let records = self
            .client
            .list_leases(&filter)
            .await
            .map_err(|error| provider_error(error, ""))?;
        records
            .iter()
            .filter(|record| record.state.is_live())
            .map(lease_from_wire)
            .collect()
    }

    fn ready_check(&self, lease: &Lease) -> Option<String> {
        self.inner.ready_check(lease)
    }
}

/// Whether a create's answer was lost on the way, so replaying it is safe and
/// may still succeed. A provider failure (502 `provider_error`) is an answer.
fn answer_lost(error: &ClientError) -> bool {
    match error {
        ClientError::Transport { .. } => true,
        ClientError::Api { status, code, .. } => {
            *status >= 500 && !(*status == 502 && code == "provider_error")
        }
        _ => false,
    }
}
