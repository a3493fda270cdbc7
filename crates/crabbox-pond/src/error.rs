//! Typed failures of pond names, ports, mesh planning and daemon state.

use crabbox_proto::ErrorClass;

/// Everything the pond library can refuse; the CLI maps each class to an exit code.
#[derive(Debug, thiserror::Error)]
pub enum PondError {
    #[error("invalid pond name {raw:?}: must contain at least one letter or digit")]
    NameEmpty { raw: String },
    #[error("invalid pond name {raw:?}: {length} characters after normalization, at most {max}")]
    NameTooLong {
        raw: String,
        length: usize,
        max: usize,
    },
    #[error("invalid --expose value {value:?}: ports must be numbers from 1 to 65535")]
    InvalidPort { value: String },
    #[error("too many --expose ports: {count} distinct, at most {max}")]
    TooManyPorts { count: usize, max: usize },
    #[error("no free loopback ports between {first} and {last} on 127.0.0.1")]
    PortsExhausted { first: u16, last: u16 },
    #[error("no SSH target resolved for pond peer {peer:?}")]
    NoSshTarget { peer: String },
    #[error("corrupt pond daemon state {path}: {detail}")]
    CorruptDaemonState { path: String, detail: String },
}

impl PondError {
    /// What kind of failure this is; the CLI maps it to an exit code.
    pub fn class(&self) -> ErrorClass {
        match self {
            PondError::PortsExhausted { .. } => ErrorClass::Remote,
            _ => ErrorClass::Usage,
        }
    }

    /// What to do next.
    pub fn hint(&self) -> String {
        match self {
            PondError::NameEmpty { .. } | PondError::NameTooLong { .. } => {
                "use letters, digits and dashes, e.g. --pond checkout-test".into()
            }
            PondError::InvalidPort { .. } | PondError::TooManyPorts { .. } => {
                "pass up to 10 ports, e.g. --expose 8080 --expose 5432,6379".into()
            }
            PondError::PortsExhausted { .. } => {
                "stop other pond meshes with `crabbox pond disconnect NAME`".into()
            }
            PondError::NoSshTarget { .. } => {
                "check the member with `crabbox status --id <slug>`".into()
            }
            PondError::CorruptDaemonState { path, .. } => {
                format!("inspect and remove {path} by hand; no process was signalled")
            }
        }
    }
}
