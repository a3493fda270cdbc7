//! Recorded processes: a pid together with its kernel start time, so a pid
//! written down earlier is only ever signalled (or believed alive) while it
//! still names the same process, never a stranger that reused the number.

use serde::{Deserialize, Serialize};

/// A process as recorded when it was started (or when it recorded itself).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProcessMark {
    pub pid: i32,
    /// Field 22 of `/proc/<pid>/stat`: clock ticks after boot.
    pub start_ticks: u64,
}

impl ProcessMark {
    /// This process.
    pub fn current() -> ProcessMark {
        let pid = std::process::id() as i32;
        ProcessMark {
            pid,
            start_ticks: start_ticks(pid).unwrap_or(0),
        }
    }

    /// The process that has `pid` right now, if any.
    pub fn of(pid: i32) -> Option<ProcessMark> {
        Some(ProcessMark {
            pid,
            start_ticks: start_ticks(pid)?,
        })
    }

    /// Whether the recorded process still runs (a zombie does not count).
    pub fn is_alive(&self) -> bool {
        self.pid > 0
            && self.start_ticks != 0
            && stat_fields(self.pid).is_some_and(|fields| {
                fields.first().map(String::as_str) != Some("Z")
                    && fields.get(19).and_then(|field| field.parse().ok()) == Some(self.start_ticks)
            })
    }

    /// Sends `signal` only when the pid still names the recorded process.
    /// Returns whether it was sent.
    pub fn signal(&self, signal: rustix::process::Signal) -> bool {
        if !self.is_alive() {
            return false;
        }
        rustix::process::Pid::from_raw(self.pid)
            .is_some_and(|pid| rustix::process::kill_process(pid, signal).is_ok())
    }
}

/// The fields of `/proc/<pid>/stat` after the command name (state first).
fn stat_fields(pid: i32) -> Option<Vec<String>> {
    if pid <= 0 {
        return None;
    }
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces and parentheses; fields resume after the last ')'.
    let (_, rest) = stat.rsplit_once(')')?;
    Some(rest.split_whitespace().map(str::to_string).collect())
}

/// The start time of `pid` in clock ticks after boot.
pub fn start_ticks(pid: i32) -> Option<u64> {
    stat_fields(pid)?.get(19)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_recorded_process_is_told_apart_from_a_reused_pid() {
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        let mark = ProcessMark::of(child.id() as i32).unwrap();
        assert!(mark.is_alive());
        // Same pid, another start time: what a recycled pid looks like.
        let stranger = ProcessMark {
            start_ticks: mark.start_ticks + 1,
            ..mark
        };
        assert!(!stranger.is_alive());
        assert!(!stranger.signal(rustix::process::Signal::KILL));
        assert!(child.try_wait().unwrap().is_none(), "the process survived");
        assert!(mark.signal(rustix::process::Signal::KILL));
        child.wait().unwrap();
        assert!(!mark.is_alive());
        assert!(ProcessMark::current().is_alive());
    }
}
