//! The Crabbox run engine, without argument parsing: the per-invocation context,
//! leases (resolve, obtain, claim, connect, release and their files on this
//! machine), coordinator-brokered providers, the typed run event stream with its
//! reporters, and the run itself. `crabbox-cli` turns flags into these calls.

pub mod brokered;
pub mod cancel;
pub mod context;
pub mod engine;
pub mod error;
pub mod exit;
pub mod forward_env;
pub mod leases;
pub mod printer;
pub mod run;
pub mod warmup;
