//! Local run history for the `crabbox` CLI: every run's command, lease, timings,
//! exit code, ordered events and the tail of its output, kept in one SQLite file
//! under the state directory so `history`, `logs` and `events` work without a
//! coordinator.

mod error;
mod output;
mod queries;
mod render;
mod schema;
mod store;

pub use error::HistoryError;
pub use output::{OutputLog, DEFAULT_LOG_LIMIT};
pub use queries::{EventRecord, RunFilter, RunRecord};
pub use render::{event_line, history_line};
pub use store::{Finish, History, NewEvent, NewRun, ABANDON_AFTER_SECONDS};
