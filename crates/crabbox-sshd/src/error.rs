//! Why an sshd could not be started.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum SshdError {
    #[error("sshd is not installed (openssh-server)")]
    NotInstalled,
    #[error("{action}: {source}")]
    Io {
        action: String,
        #[source]
        source: std::io::Error,
    },
    /// The daemon's launcher failed; `reason` is its last diagnostic line.
    #[error("sshd did not start: {reason}")]
    Exited { reason: String },
    #[error("sshd started but wrote no pid file {}", path.display())]
    NoPidFile { path: PathBuf },
    #[error("sshd did not listen on {host}:{port}")]
    NotListening { host: String, port: u16 },
}

impl SshdError {
    pub(crate) fn io(action: impl Into<String>, source: std::io::Error) -> SshdError {
        SshdError::Io {
            action: action.into(),
            source,
        }
    }
}
