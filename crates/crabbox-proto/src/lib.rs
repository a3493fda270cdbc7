//! Wire-level vocabulary shared by the CLI, the coordinator and its clients.

mod exit;

pub use exit::ExitCode;
