//! Pond bridge and tailnet integration tests, one binary.
//! One binary per crate keeps link time down: add a suite as a module here, not
//! as a new `tests/*.rs` file.

mod bridge_adapters;
mod bridge_resolve;
mod tailnet_acl;
mod tailnet_doctor;
mod tailnet_hosts;
