//! Whether a local lease's machine really exists: its directory under the
//! replica's state and a live sshd started from it.

use std::path::{Path, PathBuf};

/// The lease directory the local provider of the replica rooted at `state` keeps.
pub fn lease_dir(state: &Path, id: &str) -> PathBuf {
    state.join("local").join(id)
}

/// Whether any process (not a zombie) runs with the lease's `sshd_config`.
pub fn sshd_running(state: &Path, id: &str) -> bool {
    let marker = lease_dir(state, id).join("sshd_config");
    let marker = marker.to_string_lossy();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return false;
    };
    entries.flatten().any(|entry| {
        std::fs::read(entry.path().join("cmdline"))
            .map(|bytes| String::from_utf8_lossy(&bytes).contains(marker.as_ref()))
            .unwrap_or(false)
    })
}

/// The machine exists: its directory or its sshd.
pub fn machine_exists(state: &Path, id: &str) -> bool {
    lease_dir(state, id).exists() || sshd_running(state, id)
}
