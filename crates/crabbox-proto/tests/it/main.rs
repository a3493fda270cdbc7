//! Wire-format golden tests, one binary.
//! One binary per crate keeps link time down: add a suite as a module here, not
//! as a new `tests/*.rs` file.

mod golden_leases;
mod golden_runs;
