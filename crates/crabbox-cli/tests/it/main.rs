//! The CLI's integration tests, one binary: the real `crabbox` binary in a
//! sandbox, driving sshd, rsync, git, a coordinator and the Kubernetes simulator.
//! One binary per crate keeps link time down: add a suite as a module here, not
//! as a new `tests/*.rs` file.

mod common;
mod sealos_world;
mod snapshotting;

mod account;
mod attach;
mod bad_input;
mod brokered;
mod coordinator_answers;
mod coordinator_serve;
mod core_loop;
mod crash_recovery;
mod create_replay;
mod heartbeats;
mod interrupt;
mod lifecycle;
mod local_dev;
mod node_coordinator;
mod pond;
mod pond_input;
mod pond_mesh;
mod recording;
mod sealos_devbox;
mod sealos_devbox_audit;
mod sealos_devbox_bad_input;
mod signals;
mod snapshots_commands;
mod snapshots_run;
mod static_provider;
mod sync;
mod trust;
