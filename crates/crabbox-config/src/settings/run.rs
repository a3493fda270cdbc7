//! How the remote command runs: login shell and the forwarded environment.

use crate::config::Config;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunSettings {
    /// `run.loginShell`: run the command in the user's login shell, whose
    /// profile sets PATH.
    pub login_shell: bool,
    /// `env.allow`: local variables forwarded to the command (names and
    /// `PREFIX_*` patterns).
    pub env_allow: Vec<String>,
}

impl RunSettings {
    pub(super) fn resolve(config: &Config) -> RunSettings {
        RunSettings {
            login_shell: config.bool("run.loginShell"),
            env_allow: config.list("env.allow"),
        }
    }
}
