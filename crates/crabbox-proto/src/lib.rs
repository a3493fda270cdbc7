//! Wire-level vocabulary shared by the CLI, the coordinator and its clients: exit
//! codes, timestamps and the coordinator's JSON bodies.

mod exit;
pub mod time;
pub mod wire;

pub use exit::ExitCode;
pub use wire::Timestamp;
