//! The coordinator client's integration tests, one binary.
//! One binary per crate keeps link time down: add a suite as a module here, not
//! as a new `tests/*.rs` file.

mod api;
