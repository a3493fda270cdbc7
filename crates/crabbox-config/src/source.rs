//! The layer a configuration value came from.

use std::fmt;
use std::path::PathBuf;

/// Where a value was set, lowest precedence first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Default,
    UserConfig(PathBuf),
    /// A checkout's `crabbox.yaml`/`.crabbox.yaml`, or `CRABBOX_CONFIG`
    /// pointing inside the repository; untrusted.
    RepoConfig(PathBuf),
    /// The environment variable that supplied the value.
    Environment(String),
    /// The command-line flag that supplied the value, e.g. `--provider`.
    Flag(String),
}

impl Source {
    /// Stable machine-readable name, used in `config show` output.
    pub fn label(&self) -> &'static str {
        match self {
            Source::Default => "compiled_default",
            Source::UserConfig(_) => "user_config",
            Source::RepoConfig(_) => "repo_config",
            Source::Environment(_) => "environment",
            Source::Flag(_) => "flag",
        }
    }

    /// The file, variable or flag behind the layer; `None` for defaults.
    pub fn detail(&self) -> Option<String> {
        match self {
            Source::Default => None,
            Source::UserConfig(path) | Source::RepoConfig(path) => Some(path.display().to_string()),
            Source::Environment(name) | Source::Flag(name) => Some(name.clone()),
        }
    }

    /// Whether the value came from the untrusted repository layer.
    pub fn is_repo(&self) -> bool {
        matches!(self, Source::RepoConfig(_))
    }
}

impl fmt::Display for Source {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Default => formatter.write_str("default"),
            Source::UserConfig(path) => write!(formatter, "user config {}", path.display()),
            Source::RepoConfig(path) => write!(formatter, "repo config {}", path.display()),
            Source::Environment(name) => write!(formatter, "env {name}"),
            Source::Flag(name) => write!(formatter, "flag {name}"),
        }
    }
}
