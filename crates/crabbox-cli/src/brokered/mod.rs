//! Brokered leases: a `Provider` whose machines the coordinator creates, tracks and
//! deletes. The data plane (SSH, sync, the command) still runs straight from this
//! machine to the lease.

mod mapping;

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use crabbox_client::{Client, ErrorClass, LeaseFilter};
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

    /// Waits while the coordinator still provisions the machine.
    async fn until_active(
        &self,
        mut record: crabbox_proto::wire::Lease,
    ) -> Result<Lease, ProviderError> {
        let deadline = Instant::now() + PROVISIONING_WAIT;
        while record.state == crabbox_proto::wire::LeaseState::Provisioning {
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
            lease_id: request.lease_id.clone(),
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
            result = self.client.create_lease(&body) => result,
            _ = self.interrupted() => {
                return Err(self.cancel_create(&request.lease_id, &attempt).await);
            }
        };
        let record = created.map_err(|error| provider_error(error, &request.lease_id))?;
        tokio::select! {
            result = self.until_active(record) => result,
            _ = self.interrupted() => Err(self.cancel_create(&request.lease_id, &attempt).await),
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
