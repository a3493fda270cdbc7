//! A lease a command holds, and the one way `run` and `warmup` obtain it: an
//! existing lease found by ID or slug, or a new one from the selected provider.

use std::sync::Arc;

use crabbox_client::Client;
use crabbox_config::Config;
use crabbox_core::Claim;
use crabbox_proto::ErrorClass;
use crabbox_providers::{Lease, LeaseState, Provider, ProviderError, Released};
use crabbox_ssh::{Connection, ReadinessEvent};

use super::home::LeaseHome;
use super::{acquire, LeaseSettings};
use crate::cancel::Cancel;
use crate::context::{App, Selected};
use crate::error::{CliError, CliResult};

/// A lease with the provider that owns it, the coordinator that brokers it (if
/// any) and its files on this machine.
pub struct LeaseHandle {
    pub lease: Lease,
    pub provider: Arc<dyn Provider>,
    pub coordinator: Option<Client>,
    /// Whether this command created the lease (it then releases it by default).
    pub created: bool,
    pub home: LeaseHome,
}

impl LeaseHandle {
    pub fn new(
        app: &App,
        lease: Lease,
        provider: Arc<dyn Provider>,
        coordinator: Option<Client>,
        created: bool,
    ) -> LeaseHandle {
        LeaseHandle {
            home: LeaseHome::new(&app.paths, &lease.id),
            lease,
            provider,
            coordinator,
            created,
        }
    }

    /// The same lease as the provider reports it now.
    pub fn with_lease(mut self, lease: Lease) -> LeaseHandle {
        self.lease = lease;
        self
    }

    fn coordinator_url(&self) -> Option<&str> {
        self.coordinator.as_ref().map(|client| client.base_url())
    }

    /// Binds the lease to the checkout at `repo_root` (or refreshes the binding).
    pub fn claim(&self, app: &App, repo_root: &str, reclaim: bool) -> CliResult<Claim> {
        super::claim(
            app,
            &self.lease,
            repo_root,
            reclaim,
            self.coordinator_url(),
            self.provider.scope(),
        )
    }

    /// Waits for SSH readiness, reporting each failed round.
    pub async fn connect(
        &self,
        app: &App,
        on_progress: &mut dyn FnMut(&ReadinessEvent),
    ) -> CliResult<Connection> {
        super::connect_reporting(app, self.provider.as_ref(), &self.lease, on_progress).await
    }

    /// Moves the provider's idle clock and state.
    pub async fn touch(&self, state: LeaseState) -> Result<Lease, ProviderError> {
        self.provider.touch(&self.lease.id, Some(state), None).await
    }

    /// Releases the lease and forgets its local state.
    pub async fn release(&self, app: &App) -> CliResult<Released> {
        super::release(app, self.provider.as_ref(), &self.lease).await
    }
}

/// Where a command's lease comes from.
pub enum LeaseSource {
    /// `--id`: a lease that already exists.
    Existing(Box<LeaseHandle>),
    /// A provider that will create one.
    New(Selected),
}

impl LeaseSource {
    /// Resolves `id` when given, else selects the provider (announcing the
    /// compiled default).
    pub async fn locate(app: &App, config: &Config, id: Option<&str>) -> CliResult<LeaseSource> {
        Ok(match id {
            Some(value) => {
                LeaseSource::Existing(Box::new(super::resolve(app, config, value).await?))
            }
            None => LeaseSource::New(app.provider(config, true)?),
        })
    }

    pub fn provider_name(&self) -> &str {
        match self {
            LeaseSource::Existing(handle) => &handle.lease.provider,
            LeaseSource::New(selected) => selected.provider.spec().name,
        }
    }

    pub fn coordinator(&self) -> Option<&Client> {
        match self {
            LeaseSource::Existing(handle) => handle.coordinator.as_ref(),
            LeaseSource::New(selected) => selected.coordinator.as_ref(),
        }
    }

    pub fn existing(&self) -> Option<&Lease> {
        match self {
            LeaseSource::Existing(handle) => Some(&handle.lease),
            LeaseSource::New(_) => None,
        }
    }

    /// The lease: the existing one, or a new one created with `settings` after
    /// expired leases of the provider are reaped.
    pub async fn obtain(
        self,
        app: &App,
        config: &Config,
        settings: &mut LeaseSettings,
    ) -> CliResult<LeaseHandle> {
        match self {
            LeaseSource::Existing(handle) => Ok(*handle),
            LeaseSource::New(selected) => {
                app.reap_expired(selected.provider.as_ref());
                settings.coordinator = selected
                    .coordinator
                    .as_ref()
                    .map(|client| client.base_url().to_string());
                let lease = acquire(app, config, &selected.provider, settings).await?;
                Ok(LeaseHandle::new(
                    app,
                    lease,
                    selected.provider,
                    selected.coordinator,
                    true,
                ))
            }
        }
    }
}

/// After a signal, the failure it caused is reported as the interruption.
pub fn interrupted_or(cancel: &Cancel, error: CliError) -> CliError {
    match cancel.reason() {
        Some(signal) => {
            let class = ErrorClass::Interrupted(signal);
            let message = if error.class == class {
                error.message
            } else {
                format!("interrupted: {}", error.message)
            };
            CliError::of(class, message)
        }
        None => error,
    }
}
