//! One module per command, mirroring the command tree (`pond`, `history`,
//! `account`, `access` and `status` hold a group each); each exposes
//! `async fn <command>(app, args)`.

pub mod access;
pub mod account;
pub mod attach;
pub mod claims;
pub mod cleanup;
pub mod config;
pub mod coordinator;
pub mod doctor;
pub mod heartbeat;
pub mod history;
pub mod pond;
pub mod providers;
pub mod run;
pub mod status;
pub mod stop;
pub mod sync_plan;
pub mod warmup;
