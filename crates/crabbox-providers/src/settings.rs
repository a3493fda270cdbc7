//! What providers need from configuration, filled in by the CLI so providers do not
//! depend on the config layering.

use std::path::PathBuf;

use crabbox_core::Paths;

/// SSH endpoint settings shared by providers that reach existing hosts.
#[derive(Debug, Clone, Default)]
pub struct SshSettings {
    pub user: Option<String>,
    pub port: Option<String>,
    /// `None` means the default (`22`); an empty list disables fallbacks.
    pub fallback_ports: Option<Vec<String>>,
    pub key: Option<PathBuf>,
}

/// `static.*` settings of the `ssh` provider.
#[derive(Debug, Clone, Default)]
pub struct StaticSettings {
    pub id: Option<String>,
    pub name: Option<String>,
    pub host: Option<String>,
    pub user: Option<String>,
    pub port: Option<String>,
    pub work_root: Option<String>,
}

/// Everything a provider may read when it is created.
#[derive(Debug, Clone)]
pub struct ProviderSettings {
    pub paths: Paths,
    pub work_root: String,
    pub ssh: SshSettings,
    pub static_host: StaticSettings,
    /// `local.netns`: local leases get their own network namespace (root only).
    pub local_netns: bool,
    /// `local.home`: the HOME of a local lease's sessions, instead of the
    /// account's own (whose shell profile then is not read).
    pub local_home: Option<PathBuf>,
    /// `sealosDevbox.*`.
    pub sealos: crate::sealos::SealosSettings,
}

impl ProviderSettings {
    pub fn new(paths: Paths) -> ProviderSettings {
        ProviderSettings {
            paths,
            work_root: "/work/crabbox".into(),
            ssh: SshSettings::default(),
            static_host: StaticSettings::default(),
            local_netns: false,
            local_home: None,
            sealos: crate::sealos::SealosSettings::default(),
        }
    }
}
