//! A private OpenSSH server for one host (a local lease, a test fixture, a
//! simulated devbox): its `sshd_config`, starting it as a daemon that outlives
//! the caller or as a foreground child in its own process group, waiting until
//! it accepts connections, and stopping it.

mod config;
mod error;
mod launch;

pub use config::{write_private, SshdConfig};
pub use error::SshdError;
pub use launch::{
    clean_environment, find_sshd, free_port, read_pid, start_daemon, start_foreground, Launch, Sshd,
};
