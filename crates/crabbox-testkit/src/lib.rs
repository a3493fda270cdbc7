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
    let own = std::process::id();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut pids = Vec::new();
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        if pid == own {
            continue;
        }
        let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
        let state = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .unwrap_or("Z");
        if state == "Z" {
            continue;
        }
        let command_line = std::fs::read(entry.path().join("cmdline"))
            .map(|bytes| String::from_utf8_lossy(&bytes).replace('\0', " "))
            .unwrap_or_default();
        if command_line.contains(needle) {
            pids.push(pid);
        }
    }
    pids
}

/// Polls `condition` for up to `seconds`; true as soon as it holds.
pub fn eventually(seconds: u64, mut condition: impl FnMut() -> bool) -> bool {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(seconds);
    loop {
        if condition() {
            return true;
        }
        if std::time::Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}
