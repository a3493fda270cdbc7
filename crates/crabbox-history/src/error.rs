//! The one error type every history operation returns.

use std::io;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    #[error("cannot prepare history database {}: {source}", .path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("history database {}: {source}", .path.display())]
    Database {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error(
        "history database {} has schema version {found}, newer than this crabbox understands ({supported})\nhint: upgrade crabbox, or move the file aside to start a fresh history",
        .path.display()
    )]
    NewerSchema {
        path: PathBuf,
        found: i64,
        supported: i64,
    },
    #[error(
        "history database {} holds unreadable {what} for run {run_id}: {source}\nhint: move the file aside to start a fresh history",
        .path.display()
    )]
    Corrupt {
        path: PathBuf,
        run_id: String,
        what: &'static str,
        #[source]
        source: serde_json::Error,
    },
    #[error("run {run_id} is not in the local history\nhint: run `crabbox history` to list recorded runs")]
    UnknownRun { run_id: String },
    #[error("run {run_id} is already in the local history; each run needs a fresh id")]
    DuplicateRun { run_id: String },
    #[error("invalid final run state {state:?}; use succeeded, failed or canceled")]
    InvalidState { state: String },
}
