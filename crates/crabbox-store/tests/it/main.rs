//! The store conformance suite, one binary, each case on SQLite and on
//! PostgreSQL when `CRABBOX_TEST_POSTGRES_URL` is set.
//! One binary per crate keeps link time down: add a suite as a module here, not
//! as a new `tests/*.rs` file.

// First, so its `conformance!` macro is in scope for the suites below.
#[macro_use]
mod common;

mod admission;
mod announcements;
mod concurrency;
mod leases;
mod locks;
mod open;
mod runs;
