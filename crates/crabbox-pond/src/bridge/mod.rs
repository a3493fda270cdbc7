//! URL bridge adapters of a pond: providers that publish a public HTTPS URL per
//! sandbox and port (Islo shares, E2B previews, Railway deployments), behind
//! one [`BridgeAdapter`] interface, plus the catalog of which providers
//! declare which pond transport.

mod catalog;
mod e2b;
pub(crate) mod http;
mod islo;
mod probe;
mod railway;
mod resolve;

use std::time::Duration;

use async_trait::async_trait;
use crabbox_proto::ErrorClass;

pub use catalog::{adapter_for, declaration, declarations, none_note, Declaration};
pub use e2b::E2bAdapter;
pub use islo::IsloAdapter;
pub use probe::{probe_targets, ProbeResult, PROBE_TIMEOUT};
pub use railway::RailwayAdapter;
pub use resolve::{resolve_pond, AdapterLoader, ResolveError, ShareRequest};

pub use crate::PeerTarget;

/// A tailnet address a provider confirmed for a lease.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TailnetPeer {
    pub ipv4: String,
    pub fqdn: String,
}

/// One provider's URL plane. The plane is HTTP(S) only: raw TCP/UDP between
/// members needs the tailnet or the SSH mesh.
#[async_trait]
pub trait BridgeAdapter: Send + Sync {
    /// Canonical provider name.
    fn provider(&self) -> &'static str;

    /// A URL for `port` of the lease, reusing an existing one where the vendor
    /// keeps them (idempotent per lease and port). `ttl` zero means the
    /// vendor default; adapters without expiring URLs ignore it.
    async fn publish(
        &self,
        lease_id: &str,
        port: u16,
        ttl: Duration,
    ) -> Result<PeerTarget, BridgeError>;

    /// URLs already published for the lease; never creates anything.
    async fn list(&self, lease_id: &str) -> Result<Vec<PeerTarget>, BridgeError>;

    /// Re-checks the lease's tailnet address with the provider. Adapters that
    /// cannot answer return [`BridgeError::NotImplemented`].
    async fn validate_tailnet(&self, _lease_id: &str) -> Result<TailnetPeer, BridgeError> {
        Err(BridgeError::NotImplemented {
            provider: self.provider(),
        })
    }
}

/// A bridge failure. `NotImplemented` is the "unsupported" state of a peer
/// row, not a command error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BridgeError {
    #[error("bridge adapter for provider {provider} reports unsupported")]
    NotImplemented { provider: &'static str },
    #[error("{provider} bridge: port {port} is out of range 1-65535")]
    InvalidPort { provider: &'static str, port: u32 },
    #[error("{provider} bridge: lease {lease:?} {reason}")]
    InvalidLease {
        provider: &'static str,
        lease: String,
        reason: &'static str,
    },
    #[error("provider={provider} requires {name}")]
    MissingSetting {
        provider: &'static str,
        name: &'static str,
    },
    #[error("{provider} bridge: {setting} is not a valid URL: {reason}")]
    InvalidSetting {
        provider: &'static str,
        setting: &'static str,
        reason: String,
    },
    #[error("{provider} bridge: {what} was not found")]
    NotFound {
        provider: &'static str,
        what: String,
    },
    #[error("{provider} sandbox {lease:?} is not claimed by Crabbox")]
    NotOwned {
        provider: &'static str,
        lease: String,
    },
    #[error("railway bridge: deployment for {lease:?} is not ready (status={status})")]
    NotReady { lease: String, status: String },
    #[error("{provider} {action} failed: {detail}")]
    Api {
        provider: &'static str,
        action: &'static str,
        status: u16,
        detail: String,
    },
    #[error("{provider} {action} failed: {detail}")]
    Transport {
        provider: &'static str,
        action: &'static str,
        detail: String,
    },
    /// The provider says the lease is not on the tailnet (clear the claim's
    /// tailnet fields).
    #[error("tailnet peer unavailable: {0}")]
    TailnetPeerUnavailable(String),
    /// The provider could not tell right now (keep the claim as it is).
    #[error("tailnet validation unavailable: {0}")]
    TailnetValidationUnavailable(String),
}

impl BridgeError {
    /// What kind of failure this is; the CLI maps it to an exit code.
    pub fn class(&self) -> ErrorClass {
        match self {
            BridgeError::InvalidPort { .. }
            | BridgeError::InvalidLease { .. }
            | BridgeError::InvalidSetting { .. } => ErrorClass::Usage,
            BridgeError::MissingSetting { .. } => ErrorClass::Prerequisite,
            BridgeError::Api {
                status: 401 | 403, ..
            } => ErrorClass::Auth,
            BridgeError::NotFound { .. } => ErrorClass::NotFound,
            // A deployment still building is a state of the lease, like one that
            // is not ours; waiting for SSH readiness is a different failure.
            BridgeError::NotOwned { .. } | BridgeError::NotReady { .. } => ErrorClass::Conflict,
            BridgeError::Transport { .. } => ErrorClass::Unavailable,
            _ => ErrorClass::Failed,
        }
    }

    pub fn hint(&self) -> String {
        match self {
            BridgeError::MissingSetting { name, .. } => format!("export {name} and retry"),
            BridgeError::Api {
                status: 401 | 403,
                provider,
                ..
            } => {
                format!("the {provider} API refused the credential; check its API key")
            }
            BridgeError::NotReady { .. } => {
                "wait for the Railway deployment to finish, then retry".into()
            }
            BridgeError::InvalidPort { .. } => "use --share-port between 1 and 65535".into(),
            BridgeError::NotFound { .. } | BridgeError::NotOwned { .. } => {
                "check `crabbox pond peers` for the lease IDs of this pond".into()
            }
            _ => "retry; if it persists, check the provider's status page".into(),
        }
    }
}

/// Rejects port 0 (the only out-of-range `u16`).
pub(crate) fn check_port(provider: &'static str, port: u16) -> Result<(), BridgeError> {
    if port == 0 {
        return Err(BridgeError::InvalidPort { provider, port: 0 });
    }
    Ok(())
}
