//! The SSH data plane: system OpenSSH driven as child processes, one multiplexing
//! master per lease, readiness with a pinned port, and command streaming.

mod connection;
mod keys;
mod readiness;
mod remote_command;
mod target;
mod tools;

use std::path::PathBuf;
use std::time::Duration;

use crabbox_core::ErrorClass;

pub use connection::{
    control_dir_for, Captured, Connection, OutputSink, Stdin, Stream, StreamOutcome,
    CONTROL_PERSIST,
};
pub use keys::{ensure_key, ensure_key_named, KeyPair};
pub use readiness::{wait_ready, PortState, Readiness, ReadinessEvent};
pub use remote_command::{is_env_name, kill_command, needs_shell, shell_quote, RemoteCommand};
pub use target::{host_key_alias, write_pinned_known_hosts, Budget, HostTrust, Target};
pub use tools::{find_tool, package_for, MissingTool};

/// Failures of the SSH layer.
#[derive(Debug, thiserror::Error)]
pub enum SshError {
    #[error(transparent)]
    MissingTool(#[from] MissingTool),
    #[error("could not start {program}: {source}")]
    Spawn {
        program: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{program} failed: {message}")]
    Command { program: String, message: String },
    #[error("unsafe ssh control directory {path}: {reason}")]
    UnsafeControlDir { path: PathBuf, reason: String },
    #[error("timed out waiting for SSH on {destination} after {waited:?} (ports {ports}){}", detail_suffix(.detail))]
    NotReady {
        destination: String,
        ports: String,
        detail: String,
        waited: Duration,
    },
}

impl SshError {
    /// What kind of failure this is; the CLI maps it to an exit code.
    pub fn class(&self) -> ErrorClass {
        match self {
            SshError::MissingTool(missing) => missing.class(),
            SshError::NotReady { .. } => ErrorClass::NotReady,
            _ => ErrorClass::Remote,
        }
    }
}

fn detail_suffix(detail: &str) -> String {
    if detail.is_empty() {
        String::new()
    } else {
        format!(": {detail}")
    }
}
