//! The provider trait, its requests and errors, and the optional capabilities.

use async_trait::async_trait;
use crabbox_core::ErrorClass;
use crabbox_core::LeaseId;

use crate::{Lease, LeaseState, ProviderSpec};

/// What the CLI asks for when it creates a lease.
#[derive(Debug, Clone)]
pub struct AcquireRequest {
    /// Minted by the CLI or the coordinator; created leases always have the
    /// canonical form.
    pub lease_id: LeaseId,
    pub slug: String,
    /// The per-lease client public key (`ssh-ed25519 AAAA… comment`).
    pub public_key: String,
    pub ttl_secs: i64,
    pub idle_timeout_secs: i64,
    pub keep: bool,
    pub class: String,
    pub profile: String,
    pub pond: String,
    /// Sorted, distinct ports pond peers may reach (`--expose`).
    pub exposed_ports: Vec<u16>,
}

/// Outcome of a release.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Released {
    /// The machine was stopped and its resources removed.
    Deleted,
    /// Nothing was there any more.
    AlreadyGone,
    /// The machine is not ours to delete; only local state was dropped.
    ClaimOnly,
    /// The machine was paused and kept; `run --id` resumes it.
    Paused,
}

/// Provider failures, each with a stable class the CLI maps to an exit code.
#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    #[error("lease {lease} not found (provider {provider})")]
    NotFound {
        lease: String,
        provider: String,
        hint: Option<String>,
    },
    #[error("lease {lease} has expired")]
    Expired { lease: String },
    /// A missing tool or other local prerequisite.
    #[error("{message}")]
    Prerequisite { message: String, hint: String },
    #[error("{message}")]
    Failed { message: String },
    /// Configuration the provider cannot use.
    #[error("{message}")]
    Invalid { message: String },
    /// The resource exists but is not (or no longer) ours to use.
    #[error("{message}")]
    Conflict { message: String, hint: String },
    /// The machine never became usable (error state, timeout).
    #[error("{message}")]
    NotReady { message: String, hint: String },
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
}

impl ProviderError {
    pub fn io(context: impl Into<String>, source: std::io::Error) -> ProviderError {
        ProviderError::Io {
            context: context.into(),
            source,
        }
    }

    /// What kind of failure this is; the CLI maps it to an exit code.
    pub fn class(&self) -> ErrorClass {
        match self {
            ProviderError::NotFound { .. } => ErrorClass::NotFound,
            ProviderError::Expired { .. } | ProviderError::Conflict { .. } => ErrorClass::Conflict,
            ProviderError::NotReady { .. } => ErrorClass::NotReady,
            ProviderError::Prerequisite { .. } => ErrorClass::Prerequisite,
            ProviderError::Invalid { .. } => ErrorClass::Usage,
            ProviderError::Failed { .. } | ProviderError::Io { .. } => ErrorClass::Failed,
        }
    }

    pub fn hint(&self) -> Option<String> {
        match self {
            ProviderError::NotFound { hint, .. } => hint.clone(),
            ProviderError::Prerequisite { hint, .. }
            | ProviderError::Conflict { hint, .. }
            | ProviderError::NotReady { hint, .. } => Some(hint.clone()),
            ProviderError::Expired { .. } => {
                Some("start a new lease with `crabbox warmup`".to_string())
            }
            _ => None,
        }
    }
}

impl From<crabbox_ssh::MissingTool> for ProviderError {
    fn from(missing: crabbox_ssh::MissingTool) -> ProviderError {
        ProviderError::Prerequisite {
            hint: missing.hint(),
            message: missing.to_string(),
        }
    }
}

impl From<crabbox_ssh::SshError> for ProviderError {
    fn from(error: crabbox_ssh::SshError) -> ProviderError {
        match error {
            crabbox_ssh::SshError::MissingTool(missing) => missing.into(),
            other => ProviderError::Failed {
                message: other.to_string(),
            },
        }
    }
}

/// One doctor check result.
#[derive(Debug, Clone)]
pub struct DoctorCheck {
    /// `ok`, `warning`, `failed`, `missing` or `skip`.
    pub status: &'static str,
    pub check: String,
    pub message: String,
    pub hint: Option<String>,
}

/// Read-only readiness checks of a provider.
pub trait Doctor {
    fn checks(&self) -> Vec<DoctorCheck>;
}

/// A decision the cleanup sweep made about one lease.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CleanupDecision {
    pub lease_id: String,
    pub name: String,
    pub delete: bool,
    pub reason: String,
}

/// Providers whose expired leases the CLI can sweep.
pub trait Reaper {
    /// Deletes (or with `dry_run` only reports) expired leases.
    fn reap(&self, now: i64, dry_run: bool) -> Result<Vec<CleanupDecision>, ProviderError>;
}

/// The required surface of every provider.
#[async_trait]
pub trait Provider: Send + Sync {
    fn spec(&self) -> &'static ProviderSpec;

    /// Whether leases use a generated per-lease key pair (providers that reach
    /// existing hosts use the configured key instead).
    fn uses_lease_keys(&self) -> bool {
        true
    }

    /// Creates a machine for the request and returns it once its SSH endpoint exists
    /// (readiness is the caller's job).
    async fn acquire(&self, request: &AcquireRequest) -> Result<Lease, ProviderError>;

    /// Looks an existing lease up by its canonical ID.
    async fn resolve(&self, lease_id: &str) -> Result<Lease, ProviderError>;

    /// The environment this provider's leases live in under the current settings
    /// (cluster, context, namespace, route), recorded in claims so a lookup under
    /// other settings never mistakes "not here" for "gone". `None`: one global scope.
    fn scope(&self) -> Option<String> {
        None
    }

    /// Looks a lease up without changing anything (no resume, no key fetch): what
    /// `status` and `inspect` use. Providers whose `resolve` has side effects
    /// override it.
    async fn inspect(&self, lease_id: &str) -> Result<Lease, ProviderError> {
        self.resolve(lease_id).await
    }

    /// Resets the idle clock, optionally records a state and a new idle timeout.
    async fn touch(
        &self,
        lease_id: &str,
        state: Option<LeaseState>,
        idle_timeout_secs: Option<i64>,
    ) -> Result<Lease, ProviderError>;

    /// Ends a lease.
    async fn release(&self, lease_id: &str) -> Result<Released, ProviderError>;

    /// Every lease this provider knows about.
    async fn list(&self) -> Result<Vec<Lease>, ProviderError>;

    /// Which inventory this provider's machines live in, when only some
    /// processes can see it: `None` means every process with the provider's
    /// settings sees the same machines (a cloud API); `Some(scope)` names an
    /// inventory only processes reporting the same scope can list and delete
    /// from (the local provider's lease directory on one host). A release that
    /// reports `AlreadyGone` proves absence only within this scope.
    fn inventory_scope(&self) -> Option<String> {
        None
    }

    /// Remote command proving the machine is usable, run after `true` succeeds.
    fn ready_check(&self, _lease: &Lease) -> Option<String> {
        None
    }

    fn doctor(&self) -> Option<&dyn Doctor> {
        None
    }

    fn reaper(&self) -> Option<&dyn Reaper> {
        None
    }
}
