//! The run engine's reporting side: the typed event stream a run or warmup emits,
//! the facts folded from it, and the reporters that turn it into text, history
//! and the coordinator's record.

pub mod event;
pub mod facts;
pub mod readiness;
pub mod reporter;

pub use event::{RunEvent, RunStatus};
pub use readiness::await_ssh;
pub use reporter::{HumanMode, HumanReporter, Reporters, RunPlan};
