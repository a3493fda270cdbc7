//! Ending the processes that belong to one local lease.
//!
//! sshd puts every session in its own session and process group, so killing
//! the listener's group is not enough: a lease's processes are the descendants
//! of its sshd listener and anything whose command line or working directory
//! points into the lease directory (which catches sessions whose listener
//! already died).

use std::path::Path;

use crabbox_core::process::{family_of, kill_all_until_gone, kill_all_until_gone_async};

/// Kills every process of the lease with SIGKILL and waits briefly until they
/// are gone. `root` is the recorded sshd pid, trusted only while it still names
/// the lease directory.
pub fn kill_lease_processes(root: Option<i32>, lease_dir: &Path) {
    kill_all_until_gone(|| family_of(root, lease_dir));
}

/// [`kill_lease_processes`] for async code.
pub async fn kill_lease_processes_async(root: Option<i32>, lease_dir: &Path) {
    kill_all_until_gone_async(|| family_of(root, lease_dir)).await;
}
