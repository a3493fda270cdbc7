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
    orphans_in(Path::new(REGISTRY_DIR), root)
}

/// The temporary file of a write killed half-way (`.<name>.<pid>.<n>.tmp`) is
/// not an entry: the namespace is only created after the rename. It is removed
/// once its writer is gone, so it is not "reaped" again on every sweep.
fn orphans_in(dir: &Path, root: &Path) -> Vec<NetnsLease> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|file| {
            let name = file.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') {
                if writer_gone(&name) {
                    let _ = std::fs::remove_file(file.path());
                }
                return None;
            }
            let entry: Entry = serde_json::from_slice(&std::fs::read(file.path()).ok()?).ok()?;
            (entry.lease_dir.starts_with(root) && !entry.lease_dir.exists()).then_some(entry.plan)
        })
        .collect()
}

fn writer_gone(temporary: &str) -> bool {
    let mut parts = temporary.rsplitn(4, '.');
    let (_tmp, _counter) = (parts.next(), parts.next());
    parts
        .next()
        .and_then(|pid| pid.parse::<u32>().ok())
        .is_some_and(|pid| !Path::new("/proc").join(pid.to_string()).exists())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn half_written_entries_are_skipped_and_removed_once_their_writer_is_gone() {
        let dir = tempfile::tempdir().unwrap();
        let plan = NetnsLease::plan("cbx_0123456789ab", 7);
        let entry = Entry {
            lease_dir: dir.path().join("gone"),
            plan: plan.clone(),
        };
        let text = serde_json::to_vec(&entry).unwrap();
        std::fs::write(dir.path().join(&plan.name), &text).unwrap();
        // No pid reaches 2^22 + 1 (the kernel's maximum is 2^22).
        let dead = dir.path().join(format!(".{}.4194305.0.tmp", plan.name));
        let alive = dir
            .path()
            .join(format!(".{}.{}.0.tmp", plan.name, std::process::id()));
        std::fs::write(&dead, &text).unwrap();
        std::fs::write(&alive, &text).unwrap();
        assert_eq!(orphans_in(dir.path(), dir.path()), vec![plan.clone()]);
        // Another state directory's entries are not this one's to sweep.
        assert!(orphans_in(dir.path(), &dir.path().join("elsewhere")).is_empty());
        assert!(!dead.exists(), "a dead writer's temporary file is removed");
        assert!(alive.exists(), "a live writer's temporary file stays");
    }
}
