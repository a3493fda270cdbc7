//! Finding and ending the processes that belong to one local lease.
//!
//! sshd puts every session in its own session and process group, so a lease's
//! processes are found by walking `/proc`: descendants of the lease's sshd
//! listener, and anything whose command line or working directory points into the
//! lease directory (which catches sessions whose listener already died).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use rustix::process::{kill_process, Pid, Signal};

struct ProcessInfo {
    parent: i32,
    command_line: String,
    working_dir: Option<std::path::PathBuf>,
}

fn snapshot() -> BTreeMap<i32, ProcessInfo> {
    let mut processes = BTreeMap::new();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return processes;
    };
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<i32>().ok())
        else {
            continue;
        };
        let dir = entry.path();
        let Ok(stat) = std::fs::read_to_string(dir.join("stat")) else {
            continue;
        };
        // The command name may contain spaces and parentheses; fields resume after
        // the last ')'.
        let parent = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1))
            .and_then(|field| field.parse().ok())
            .unwrap_or(0);
        let command_line = std::fs::read(dir.join("cmdline"))
            .map(|bytes| String::from_utf8_lossy(&bytes).replace('\0', " "))
            .unwrap_or_default();
        let working_dir = std::fs::read_link(dir.join("cwd")).ok();
        processes.insert(
            pid,
            ProcessInfo {
                parent,
                command_line,
                working_dir,
            },
        );
    }
    processes
}

/// The pids that belong to the lease: `root` (when given) with its descendants, and
/// processes referring to `lease_dir`, with theirs.
///
/// A recorded `root` pid counts only while its command line still names the
/// lease directory: after a reboot or a crash the number may belong to a
/// stranger, who must never be signalled.
pub fn lease_processes(root: Option<i32>, lease_dir: &Path) -> BTreeSet<i32> {
    let processes = snapshot();
    let own = std::process::id() as i32;
    let marker = lease_dir.display().to_string();
    let root = root.filter(|pid| is_alive_with(*pid, &marker));
    let mut members: BTreeSet<i32> = processes
        .iter()
        .filter(|(pid, info)| {
            **pid != own
                && (Some(**pid) == root
                    || info.command_line.contains(&marker)
                    || info
                        .working_dir
                        .as_deref()
                        .is_some_and(|cwd| cwd.starts_with(lease_dir)))
        })
        .map(|(pid, _)| *pid)
        .collect();
    loop {
        let before = members.len();
        for (pid, info) in &processes {
            if *pid != own && members.contains(&info.parent) {
                members.insert(*pid);
            }
        }
        if members.len() == before {
            return members;
        }
    }
}

/// True when `pid` is alive and its command line mentions `marker`.
pub fn is_alive_with(pid: i32, marker: &str) -> bool {
    if pid <= 0 {
        return false;
    }
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|bytes| String::from_utf8_lossy(&bytes).contains(marker))
        .unwrap_or(false)
}

/// Kills every process of the lease with SIGKILL (uncatchable, so nothing lingers)
/// and waits briefly until they are gone.
pub fn kill_lease_processes(root: Option<i32>, lease_dir: &Path) {
    for _ in 0..3 {
        let members = lease_processes(root, lease_dir);
        if members.is_empty() {
            return;
        }
        for pid in &members {
            if let Some(pid) = Pid::from_raw(*pid) {
                let _ = kill_process(pid, Signal::KILL);
            }
        }
        for _ in 0..50 {
            if members
                .iter()
                .all(|pid| !Path::new(&format!("/proc/{pid}")).exists() || is_zombie(*pid))
            {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }
}

fn is_zombie(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            stat.rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().next().map(|s| s == "Z"))
        })
        .unwrap_or(true)
}
