//! `local.*`: how the local provider isolates and homes its leases.

use std::path::{Path, PathBuf};

use crabbox_config::Config;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LocalSettings {
    /// `local.netns`: local leases get their own network namespace (root only).
    pub netns: bool,
    /// `local.home`: the HOME of a local lease's sessions, instead of the
    /// account's own (whose shell profile then is not read).
    pub home: Option<PathBuf>,
}

impl LocalSettings {
    /// `local.*` from the effective config; `~/` means `home`.
    pub fn from_config(config: &Config, home: &Path) -> LocalSettings {
        LocalSettings {
            netns: config.bool("local.netns"),
            home: config
                .str("local.home")
                .map(|path| crate::settings::expand_home(Path::new(path), home)),
        }
    }
}
