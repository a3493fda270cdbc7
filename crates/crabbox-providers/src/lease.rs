//! The provider-neutral view of one lease.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Lifecycle states a direct lease reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LeaseState {
    Leased,
    Ready,
    Running,
    Released,
    Expired,
    /// Stopped but kept (a paused devbox): `run --id` resumes it.
    Paused,
}

impl LeaseState {
    pub fn as_str(self) -> &'static str {
        match self {
            LeaseState::Leased => "leased",
            LeaseState::Ready => "ready",
            LeaseState::Running => "running",
            LeaseState::Released => "released",
            LeaseState::Expired => "expired",
            LeaseState::Paused => "paused",
        }
    }
}

/// One lease as a provider sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub id: String,
    pub slug: String,
    pub provider: String,
    pub state: LeaseState,
    /// Provider's identifier of the machine (for local: the sshd pid).
    pub server_id: String,
    /// Provider resource name, `crabbox-<slug>-<hash>`.
    pub name: String,
    pub server_type: String,
    pub host: String,
    pub user: String,
    pub port: u16,
    pub fallback_ports: Vec<u16>,
    pub work_root: String,
    /// `<type> <base64>` when the provider knows the host key.
    pub host_key: Option<String>,
    /// A configured client key; `None` means the per-lease key.
    pub ssh_key: Option<std::path::PathBuf>,
    pub created_at: i64,
    pub last_touched_at: i64,
    pub idle_timeout_secs: i64,
    pub ttl_secs: i64,
    pub keep: bool,
    pub pond: String,
    pub labels: BTreeMap<String, String>,
}

impl Lease {
    /// `min(created + ttl, touched + idle)`.
    pub fn expires_at(&self) -> i64 {
        (self.created_at + self.ttl_secs).min(self.last_touched_at + self.idle_timeout_secs)
    }

    pub fn is_expired(&self, now: i64) -> bool {
        now >= self.expires_at()
    }
}
