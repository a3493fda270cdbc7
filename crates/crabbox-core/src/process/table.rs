//! The process table as `/proc` shows it: one snapshot, command lines, and the
//! processes that belong to something (descendants, or anything pointing into
//! one directory).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// One live (or zombie) process.
#[derive(Debug, Clone)]
pub struct ProcessInfo {
    pub parent: i32,
    /// The state letter of `/proc/<pid>/stat` (`Z` for a zombie).
    pub state: String,
    /// Arguments joined with spaces.
    pub command_line: String,
    pub working_dir: Option<PathBuf>,
}

impl ProcessInfo {
    pub fn is_zombie(&self) -> bool {
        self.state == "Z"
    }
}

/// Every process visible in `/proc`, by pid.
pub fn snapshot() -> BTreeMap<i32, ProcessInfo> {
    let mut processes = BTreeMap::new();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return processes;
    };
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|name| name.parse::<i32>().ok())
        else {
            continue;
        };
        let dir = entry.path();
        let Ok(stat) = std::fs::read_to_string(dir.join("stat")) else {
            continue;
        };
        // The command name may contain spaces and parentheses; fields resume after
        // the last ')'.
        let mut fields = stat
            .rsplit_once(')')
            .map(|(_, rest)| rest.split_whitespace())
            .into_iter()
            .flatten();
        let state = fields.next().unwrap_or("Z").to_string();
        let parent = fields
            .next()
            .and_then(|field| field.parse().ok())
            .unwrap_or(0);
        processes.insert(
            pid,
            ProcessInfo {
                parent,
                state,
                command_line: command_line(pid).unwrap_or_default(),
                working_dir: std::fs::read_link(dir.join("cwd")).ok(),
            },
        );
    }
    processes
}

/// The arguments of `pid` joined with spaces, while it runs.
pub fn command_line(pid: i32) -> Option<String> {
    if pid <= 0 {
        return None;
    }
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .ok()
        .map(|bytes| String::from_utf8_lossy(&bytes).replace('\0', " "))
}

/// True when `pid` is alive and its command line mentions `marker`: how a pid
/// recorded without a start time is told apart from a stranger reusing it.
pub fn is_alive_with(pid: i32, marker: &str) -> bool {
    command_line(pid).is_some_and(|line| line.contains(marker))
}

/// True when `pid` is gone or only a zombie waiting to be reaped.
pub fn has_exited(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            stat.rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().next().map(|state| state == "Z"))
        })
        .unwrap_or(true)
}

/// Pids of live processes (zombies excluded) whose command line contains
/// `needle`, without the calling process.
pub fn matching_processes(needle: &str) -> Vec<i32> {
    let own = std::process::id() as i32;
    snapshot()
        .into_iter()
        .filter(|(pid, info)| {
            *pid != own && !info.is_zombie() && info.command_line.contains(needle)
        })
        .map(|(pid, _)| pid)
        .collect()
}

/// The processes that belong to a host living in `dir`: `root` (when given)
/// with its descendants, and processes whose command line or working directory
/// points into `dir`, with theirs. The calling process never counts.
///
/// A `root` counts only while its command line still names `dir`: a number
/// recorded before a reboot or a crash may belong to a stranger by now.
pub fn family_of(root: Option<i32>, dir: &Path) -> BTreeSet<i32> {
    let processes = snapshot();
    let own = std::process::id() as i32;
    let marker = dir.display().to_string();
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
                        .is_some_and(|cwd| cwd.starts_with(dir)))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_child_working_in_a_directory_belongs_to_it() {
        let dir = tempfile::tempdir().unwrap();
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .current_dir(dir.path())
            .spawn()
            .unwrap();
        let pid = child.id() as i32;
        assert!(family_of(None, dir.path()).contains(&pid));
        assert!(command_line(pid).unwrap().starts_with("sleep 30"));
        assert!(!has_exited(pid));
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(has_exited(pid));
        assert!(!family_of(None, dir.path()).contains(&pid));
    }
}
