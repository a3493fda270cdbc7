//! One module per command group; each exposes `async fn <command>(app, args)`.

pub mod access;
pub mod account;
pub mod attach;
pub mod cleanup;
pub mod coordinator;
pub mod doctor;
pub mod history;
pub mod info;
pub mod pond;
pub mod run;
pub mod status;
pub mod stop;
pub mod warmup;
