//! The test world: an isolated home and state directory per test, git checkouts to
//! sync, a runner for the real `crabbox` binary, and probes for the processes a
//! lease leaves (or must not leave) behind.

pub mod fakes;
mod sandbox;
mod sshd;

pub use sandbox::{Output, Sandbox};
pub use sshd::{free_port, SshdFixture};

/// True when the tests run as root (network namespaces, `/run/sshd`).
pub fn is_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|output| output.stdout == b"0\n")
}

/// True when a process whose command line contains `needle` is running
/// (zombies excluded).
pub fn process_running(needle: &str) -> bool {
    !matching_processes(needle).is_empty()
}

/// Pids of live processes whose command line contains `needle`, excluding the
/// calling process.
pub fn matching_processes(needle: &str) -> Vec<u32> {
    crabbox_core::process::matching_processes(needle)
        .into_iter()
        .map(|pid| pid as u32)
        .collect()
}

/// Polls `condition` for up to `seconds`; true as soon as it holds.
pub fn eventually(seconds: u64, condition: impl FnMut() -> bool) -> bool {
    // Conditions here often start a `crabbox` process per check; every 50 ms keeps
    // that from crowding out the command under test on a loaded machine.
    crabbox_core::process::wait_until_every(
        std::time::Duration::from_secs(seconds),
        std::time::Duration::from_millis(50),
        condition,
    )
}
