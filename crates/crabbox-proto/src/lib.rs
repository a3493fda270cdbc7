//! Wire-level vocabulary shared by the CLI, the coordinator and its clients: exit
//! codes, failure classes, timestamps and the coordinator's JSON bodies.

mod error_class;
mod exit;
pub mod time;
pub mod wire;

pub use error_class::{ErrorClass, Signal};
pub use exit::ExitCode;
pub use wire::Timestamp;
