//! Defaults for new leases: class, profile, pond, target, work root, lifetimes.

use std::time::Duration;

use crate::config::Config;

/// What a new lease asks its provider for, before flags of the create command
/// that are not config keys (`--keep`, `--slug`, `--expose`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LeaseDefaults {
    /// `profile`.
    pub profile: String,
    /// `class`: the machine size asked for.
    pub class: String,
    /// `pond` as written; empty for none. The CLI validates it before leasing.
    pub pond: String,
    /// `target`: `linux`, `macos` or `windows`.
    pub target: String,
    pub architecture: Option<String>,
    pub os: Option<String>,
    /// `serverType`: a provider's own machine type, overriding the class.
    pub server_type: Option<String>,
    /// `network`: `auto`, `tailscale` or `public`.
    pub network: String,
    /// `workRoot`: where synced checkouts live on the runner, unless the
    /// provider reports its own.
    pub work_root: String,
    /// `ttl`: the longest a lease lives.
    pub ttl: Duration,
    /// `idleTimeout`: how long a lease lives without use.
    pub idle_timeout: Duration,
}

impl LeaseDefaults {
    pub(super) fn resolve(config: &Config) -> LeaseDefaults {
        let text = |key: &str, fallback: &str| config.str(key).unwrap_or(fallback).to_string();
        let optional = |key: &str| config.str(key).map(str::to_string);
        LeaseDefaults {
            profile: text("profile", "default"),
            class: text("class", "beast"),
            pond: text("pond", ""),
            target: text("target", "linux"),
            architecture: optional("architecture"),
            os: optional("os"),
            server_type: optional("serverType"),
            network: text("network", "auto"),
            work_root: text("workRoot", "/work/crabbox"),
            ttl: config
                .duration("ttl")
                .unwrap_or(Duration::from_secs(90 * 60)),
            idle_timeout: config
                .duration("idleTimeout")
                .unwrap_or(Duration::from_secs(30 * 60)),
        }
    }
}
