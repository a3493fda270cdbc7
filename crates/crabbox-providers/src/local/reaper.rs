//! The local provider's expiry sweep: removes expired leases, lease
//! directories an acquire left half-made, and network namespaces whose lease
//! directory is gone.

use std::path::Path;

use super::netns;
use super::record::LocalRecord;
use super::sshd::{self, LeaseFiles};
use super::{LocalProvider, INCOMPLETE_GRACE_SECS};
use crate::{CleanupDecision, ProviderError, Reaper};

impl Reaper for LocalProvider {
    fn reap(&self, now: i64, dry_run: bool) -> Result<Vec<CleanupDecision>, ProviderError> {
        let mut decisions = Vec::new();
        for dir in self.lease_dirs() {
            let name = dir_name(&dir);
            let files = LeaseFiles::new(dir.clone());
            let decision = match LocalRecord::read(&files.record()) {
                Ok(record) => {
                    let lease = record.to_lease();
                    CleanupDecision {
                        lease_id: record.lease_id.clone(),
                        name: lease.name.clone(),
                        delete: lease.is_expired(now),
                        reason: if lease.is_expired(now) {
                            "expired".into()
                        } else {
                            format!("active expires_at={}", lease.expires_at())
                        },
                    }
                }
                Err(_) => {
                    let age = modified_age(&dir, now);
                    CleanupDecision {
                        lease_id: name.clone(),
                        name: name.clone(),
                        delete: age >= INCOMPLETE_GRACE_SECS,
                        reason: "incomplete lease directory".into(),
                    }
                }
            };
            if decision.delete && !dry_run {
                self.delete(&files, sshd::read_pid(&files))?;
            }
            decisions.push(decision);
        }
        if rustix::process::geteuid().is_root() {
            for plan in netns::orphans(&self.root) {
                if !dry_run {
                    netns::remove(&plan);
                }
                decisions.push(CleanupDecision {
                    lease_id: plan.name.replacen("cbx-", "cbx_", 1),
                    name: plan.name.clone(),
                    delete: true,
                    reason: "network namespace of a lease that is gone".into(),
                });
            }
        }
        Ok(decisions)
    }
}

fn dir_name(dir: &Path) -> String {
    dir.file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn modified_age(dir: &Path, now: i64) -> i64 {
    std::fs::metadata(dir)
        .and_then(|meta| meta.modified())
        .ok()
        .and_then(|time| time.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|since| now - since.as_secs() as i64)
        .unwrap_or(0)
}
