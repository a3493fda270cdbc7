//! A lease's files on this machine (its key pair, pinned `known_hosts`, sync
//! records and SSH control directory): the only place their paths are built and
//! the only place they are removed.

use std::path::{Path, PathBuf};

use crabbox_core::{ensure_private_dir, Paths};
use crabbox_proto::ErrorClass;
use crabbox_sync::SyncState;

use crate::error::{CliError, CliResult};

#[derive(Debug, Clone)]
pub struct LeaseHome {
    lease_id: String,
    key_dir: PathBuf,
}

impl LeaseHome {
    pub fn new(paths: &Paths, lease_id: &str) -> LeaseHome {
        LeaseHome {
            lease_id: lease_id.to_string(),
            key_dir: paths.lease_key_dir(lease_id),
        }
    }

    /// Holds the lease's key pair, `known_hosts` and sync records.
    pub fn key_dir(&self) -> &Path {
        &self.key_dir
    }

    /// Creates the key directory (private to this user) if needed.
    pub fn ensure(&self) -> CliResult<()> {
        ensure_private_dir(&self.key_dir).map_err(|error| {
            CliError::of(
                ErrorClass::Failed,
                format!("cannot create {}: {error}", self.key_dir.display()),
            )
        })
    }

    /// The per-lease private key (providers that take a configured key use that
    /// one instead).
    pub fn lease_key(&self) -> PathBuf {
        self.key_dir.join("id_ed25519")
    }

    pub fn known_hosts(&self) -> PathBuf {
        self.key_dir.join("known_hosts")
    }

    /// The private ControlMaster directory, created and checked on the way.
    pub fn control_dir(&self) -> Result<PathBuf, crabbox_ssh::SshError> {
        crabbox_ssh::control_dir_for(&self.lease_id)
    }

    /// What was last synced from the checkout named `repo_name`.
    pub fn sync_state(&self, repo_name: &str) -> SyncState {
        SyncState::at(self.key_dir.join(format!("sync-{repo_name}.state")))
    }

    /// Someone may change the synced tree out of band (a shell on the lease): the
    /// next sync of every checkout compares everything.
    pub fn invalidate_syncs(&self) {
        SyncState::invalidate_all(&self.key_dir);
    }

    /// The coordinator chose another ID for the lease: its files follow it.
    pub fn rename_to(self, paths: &Paths, lease_id: &str) -> std::io::Result<LeaseHome> {
        let moved = LeaseHome::new(paths, lease_id);
        std::fs::rename(&self.key_dir, &moved.key_dir)?;
        Ok(moved)
    }

    /// Removes the key directory and the control directory.
    pub fn remove(&self) {
        if !crabbox_core::is_safe_file_stem(&self.lease_id) {
            return;
        }
        let _ = std::fs::remove_dir_all(&self.key_dir);
        if let Ok(dir) = self.control_dir() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}
