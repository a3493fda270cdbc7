//! The coordinator's integration tests, one binary, each suite on SQLite and on
//! PostgreSQL when `CRABBOX_TEST_POSTGRES_URL` is set.
//! One binary per crate keeps link time down: add a suite as a module here, not
//! as a new `tests/*.rs` file.

mod common;

mod bad_input;
mod caps;
mod connections;
mod control;
mod deletion;
mod leases;
mod maintenance;
mod nul_bytes;
mod outage;
mod run_wire;
mod runs;
mod slugs;
mod wire_leases;
