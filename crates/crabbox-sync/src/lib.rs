//! Getting the local checkout onto the runner: repository discovery, the git
//! manifest and the rsync transfer over the lease's SSH master.

mod manifest;
mod repo;
mod transfer;

pub use manifest::{build_manifest, Manifest, BUILTIN_EXCLUDES};
pub use repo::{discover_repo, Repo};
pub use transfer::{rsync_shell, send, TransferStats};

/// Sync failures; the CLI maps all of them to exit 6.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("{root} is not a git repository")]
    NotARepository { root: String },
    #[error("git {args} failed: {message}")]
    Git { args: String, message: String },
    #[error("rsync failed with exit code {code}: {message}")]
    Rsync { code: i32, message: String },
    #[error(transparent)]
    Ssh(#[from] crabbox_ssh::SshError),
    #[error(transparent)]
    MissingTool(#[from] crabbox_ssh::MissingTool),
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
}

impl SyncError {
    pub fn hint(&self) -> Option<String> {
        match self {
            SyncError::NotARepository { .. } => {
                Some("run `git init` in the project, or pass --no-sync".into())
            }
            SyncError::MissingTool(missing) => Some(missing.hint()),
            SyncError::Ssh(crabbox_ssh::SshError::MissingTool(missing)) => Some(missing.hint()),
            _ => None,
        }
    }
}
