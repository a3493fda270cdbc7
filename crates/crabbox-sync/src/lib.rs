//! Getting the local checkout onto the runner: repository discovery, the git
//! manifest and the rsync transfer over the lease's SSH master.

mod archive;
mod engine;
mod guardrails;
mod manifest;
mod plan;
mod repo;
mod rules;
mod state;
mod trailer;
mod transfer;
mod watch;

use std::time::Duration;

use crabbox_core::ErrorClass;

pub use engine::{
    prepare, prune_list, quick_skip, sync, Destination, Prepared, SyncOptions, SyncOutcome,
    SyncProgress, MASS_DELETION_LIMIT,
};
pub use guardrails::{
    candidate_line, evaluate, guardrail_message, DirectorySize, Guardrail, GuardrailStatus, Limits,
};
pub use manifest::{build_manifest, Entry, EntryKind, Manifest};
pub use plan::{plan_json, plan_text};
pub use repo::{discover_repo, Repo};
pub use rules::{never_synced_names, Decision, ExcludeRules, RuleOrigin, IGNORE_FILE};
pub use state::{RemoteState, SyncState, WatchMark};
pub use trailer::{trailer_script, TrailerScanner, TrailerScript, RESYNC_EXIT};
pub use transfer::{rsync_shell, send, TransferStats};
pub use watch::{run_watcher, watch_dir, Watch};

/// Sync failures, all of class `Sync` (a missing rsync included: it stops the sync).
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
    #[error("cannot read {path}: {message}")]
    IgnoreFile { path: String, message: String },
    #[error("invalid {origin} pattern {pattern:?}: {message}")]
    InvalidPattern {
        pattern: String,
        origin: &'static str,
        message: String,
    },
    #[error("cannot sync {path:?}: not a safe relative UTF-8 path")]
    UnsafePath { path: String },
    #[error("sync is too large:\n{report}")]
    TooLarge { report: String },
    #[error("{count} tracked files are deleted locally; refusing to mirror a mass deletion (first: {})", examples.join(", "))]
    MassDeletion { count: usize, examples: Vec<String> },
    #[error("rsync timed out after {}s", after.as_secs())]
    Timeout { after: Duration },
    #[error("remote {step} failed: {message}")]
    Remote { step: String, message: String },
}

impl SyncError {
    /// An I/O failure while doing `context`, for `map_err`.
    pub fn io(context: &'static str) -> impl FnOnce(std::io::Error) -> SyncError {
        move |source| SyncError::Io {
            context: context.into(),
            source,
        }
    }

    pub fn class(&self) -> ErrorClass {
        ErrorClass::Sync
    }

    pub fn hint(&self) -> Option<String> {
        match self {
            SyncError::NotARepository { .. } => {
                Some("run `git init` in the project, or pass --no-sync".into())
            }
            SyncError::MissingTool(missing) => Some(missing.hint()),
            SyncError::IgnoreFile { .. } => {
                Some("fix the permissions of .crabboxignore or remove it".into())
            }
            SyncError::InvalidPattern { .. } => Some(
                "fix the pattern in sync.exclude, sync.include or .crabboxignore (Go filepath.Match syntax)".into(),
            ),
            SyncError::UnsafePath { .. } => {
                Some("rename the file to a UTF-8 name inside the repository, or exclude it in .crabboxignore".into())
            }
            SyncError::Ssh(crabbox_ssh::SshError::MissingTool(missing)) => Some(missing.hint()),
            SyncError::TooLarge { .. } => Some(
                "exclude build output in .crabboxignore or sync.exclude, or pass --force-sync-large"
                    .into(),
            ),
            SyncError::MassDeletion { .. } => Some(
                "restore the files (git checkout -- .), or set CRABBOX_ALLOW_MASS_DELETIONS=1 if the deletion is intended"
                    .into(),
            ),
            SyncError::Timeout { .. } => Some(
                "raise sync.timeout, or retry with --full-resync if the remote copy is stale".into(),
            ),
            _ => None,
        }
    }
}
