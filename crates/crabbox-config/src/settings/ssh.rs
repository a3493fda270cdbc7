//! `ssh.*`: how providers that reach existing hosts log in to them.

use std::path::PathBuf;

use crate::config::Config;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SshSettings {
    pub user: Option<String>,
    /// Checked as a port by the provider that uses it.
    pub port: Option<String>,
    /// `None` means the default (`22`); an empty list disables fallbacks.
    pub fallback_ports: Option<Vec<String>>,
    /// A private key file. Resolved from config it is as written; providers
    /// get it with a leading `~/` expanded.
    pub key: Option<PathBuf>,
}

impl SshSettings {
    pub(super) fn resolve(config: &Config) -> SshSettings {
        let text = |key: &str| config.str(key).map(str::to_string);
        SshSettings {
            user: text("ssh.user"),
            port: text("ssh.port"),
            fallback_ports: config
                .get("ssh.fallbackPorts")
                .map(|_| config.list("ssh.fallbackPorts")),
            key: text("ssh.key").map(PathBuf::from),
        }
    }
}
