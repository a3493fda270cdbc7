//! `daemon.json`: the record of `pond connect --export` ssh daemons, the check
//! that a live process is still the recorded forward, and stopping them.

use serde::{Deserialize, Serialize};

use crate::{Forward, PondError};

/// One daemon: its pid, the command it was started with and its first forward.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DaemonProcess {
    pub pid: i32,
    pub command: String,
    pub forward: Forward,
}

/// The whole file; key order is the JSON order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DaemonState {
    pub pond: String,
    #[serde(rename = "startedAt")]
    pub started_at: String,
    #[serde(default)]
    pub pids: Vec<i32>,
    #[serde(default)]
    pub processes: Vec<DaemonProcess>,
    #[serde(default)]
    pub forwards: Vec<Forward>,
}

impl DaemonState {
    pub fn parse(path: &str, text: &[u8]) -> Result<DaemonState, PondError> {
        serde_json::from_slice(text).map_err(|error| PondError::CorruptDaemonState {
            path: path.to_string(),
            detail: error.to_string(),
        })
    }

    pub fn to_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).expect("daemon state serializes");
        text.push('\n');
        text
    }

    /// Each recorded process with the forward it must still carry; legacy files
    /// without `processes` pair `pids[i]` with `forwards[i]`.
    pub fn entries(&self) -> Vec<(i32, Forward)> {
        if !self.processes.is_empty() {
            return self
                .processes
                .iter()
                .map(|process| (process.pid, process.forward.clone()))
                .collect();
        }
        self.pids
            .iter()
            .zip(self.forwards.iter())
            .map(|(pid, forward)| (*pid, forward.clone()))
            .collect()
    }
}

/// Kills the process group of every recorded daemon whose live command line is
/// still its recorded forward; returns how many were signalled. A pid that now
/// names anything else is left alone.
pub fn stop_daemons(state: &DaemonState) -> usize {
    let mut stopped = 0;
    for (pid, forward) in state.entries() {
        let command_line = crabbox_core::process::command_line(pid).unwrap_or_default();
        if pid > 0 && command_matches(&command_line, &forward) {
            crabbox_core::process::kill_group(pid);
            stopped += 1;
        }
    }
    stopped
}

/// Whether a live command line (NUL- or space-separated) is the recorded forward:
/// an ssh with `-L` and exactly this `127.0.0.1:<local>:127.0.0.1:<remote>`.
pub fn command_matches(command_line: &str, forward: &Forward) -> bool {
    let words: Vec<&str> = command_line
        .split(['\0', ' '])
        .filter(|word| !word.is_empty())
        .collect();
    let Some(program) = words.first() else {
        return false;
    };
    let is_ssh = program
        .rsplit('/')
        .next()
        .is_some_and(|name| name.eq_ignore_ascii_case("ssh"));
    let spec = forward.spec();
    is_ssh
        && words
            .windows(2)
            .any(|pair| pair[0] == "-L" && pair[1] == spec)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn forward() -> Forward {
        Forward {
            peer: "db".into(),
            remote_port: 5432,
            local_port: 51820,
            lease_id: "cbx_1".into(),
        }
    }

    #[test]
    fn only_the_recorded_ssh_forward_matches() {
        let live = [
            "ssh",
            "-N",
            "-o",
            "ExitOnForwardFailure=yes",
            "-L",
            "127.0.0.1:51820:127.0.0.1:5432",
            "root@10.1.0.2",
        ]
        .join("\0");
        assert!(command_matches(&live, &forward()));
        assert!(command_matches(
            "/usr/bin/ssh -N -L 127.0.0.1:51820:127.0.0.1:5432 host",
            &forward()
        ));
        assert!(!command_matches(
            "ssh -N -L 127.0.0.1:51821:127.0.0.1:5432 host",
            &forward()
        ));
        assert!(!command_matches(
            "sleep 127.0.0.1:51820:127.0.0.1:5432 -L",
            &forward()
        ));
        assert!(!command_matches("", &forward()));
    }

    #[test]
    fn state_round_trips_and_legacy_pairs() {
        let state = DaemonState {
            pond: "alpha".into(),
            started_at: "2026-01-01T00:00:00Z".into(),
            pids: vec![42],
            processes: Vec::new(),
            forwards: vec![forward()],
        };
        let parsed = DaemonState::parse("x", state.to_json().as_bytes()).unwrap();
        assert_eq!(parsed, state);
        assert_eq!(parsed.entries(), vec![(42, forward())]);
        assert!(matches!(
            DaemonState::parse("x", b"{not json"),
            Err(PondError::CorruptDaemonState { .. })
        ));
    }
}
