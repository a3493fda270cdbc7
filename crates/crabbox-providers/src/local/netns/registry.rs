//! The machine-wide record of the network namespaces local leases created:
//! one file per namespace under `/run/crabbox/netns`, naming the lease
//! directory that owns it. Several state directories (users, HOMEs, test
//! sandboxes) share one kernel, so only this record — not a name pattern —
//! says whose namespace a `cbx-…` is and whether its owner is gone.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::NetnsLease;
use crate::ProviderError;

const REGISTRY_DIR: &str = "/run/crabbox/netns";

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Entry {
    lease_dir: PathBuf,
    plan: NetnsLease,
}

fn entry_path(plan: &NetnsLease) -> PathBuf {
    Path::new(REGISTRY_DIR).join(&plan.name)
}

/// Notes that `lease_dir` owns `plan`'s namespace (written before it exists).
pub(super) fn record(plan: &NetnsLease, lease_dir: &Path) -> Result<(), ProviderError> {
    std::fs::create_dir_all(REGISTRY_DIR)
        .map_err(|error| ProviderError::io(format!("create {REGISTRY_DIR}"), error))?;
    let entry = Entry {
        lease_dir: lease_dir.to_path_buf(),
        plan: plan.clone(),
    };
    let text = serde_json::to_vec(&entry).expect("registry entry serializes");
    crabbox_core::write_private_atomic(&entry_path(plan), &text)
        .map_err(|error| ProviderError::io(format!("record {}", plan.name), error))
}

pub(super) fn forget(plan: &NetnsLease) {
    let _ = std::fs::remove_file(entry_path(plan));
}

/// Entries for lease directories under `root` that are gone.
pub(super) fn orphans(root: &Path) -> Vec<NetnsLease> {
    let Ok(entries) = std::fs::read_dir(REGISTRY_DIR) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|file| {
            let entry: Entry = serde_json::from_slice(&std::fs::read(file.path()).ok()?).ok()?;
            (entry.lease_dir.starts_with(root) && !entry.lease_dir.exists()).then_some(entry.plan)
        })
        .collect()
}
