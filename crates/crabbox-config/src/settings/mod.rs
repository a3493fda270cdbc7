//! Typed settings resolved once from the merged configuration, so commands read
//! fields instead of looking keys up by name and repeating their fallbacks.

mod broker;
mod lease;
mod run;
mod ssh;
mod sync;

pub use broker::BrokerSettings;
pub use lease::LeaseDefaults;
pub use run::RunSettings;
pub use ssh::SshSettings;
pub use sync::SyncSettings;

use crate::config::Config;
use crate::error::ConfigError;

/// Everything the CLI acts on, typed. Provider settings are resolved by each
/// provider (`crabbox_providers::ProviderSettings::from_config`), next to the
/// code that uses them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Settings {
    /// `provider`: the provider chosen by a flag, the environment or a file;
    /// `None` leaves the choice to the CLI (`local`, or through a coordinator).
    pub provider: Option<String>,
    pub lease: LeaseDefaults,
    pub sync: SyncSettings,
    pub run: RunSettings,
    pub ssh: SshSettings,
    broker: Option<BrokerSettings>,
}

impl Settings {
    /// Reads every key once. Values were checked against their kinds when the
    /// layers were merged; what is left here are the fallbacks of unset keys.
    pub fn resolve(config: &Config) -> Result<Settings, ConfigError> {
        Ok(Settings {
            provider: config.str("provider").map(str::to_string),
            lease: LeaseDefaults::resolve(config),
            sync: SyncSettings::resolve(config),
            run: RunSettings::resolve(config),
            ssh: SshSettings::resolve(config),
            broker: BrokerSettings::resolve(config),
        })
    }

    /// The coordinator that brokers leases, when `broker.url` is set (to
    /// something other than blanks). The one answer to "is a coordinator
    /// configured?".
    pub fn coordinator(&self) -> Option<&BrokerSettings> {
        self.broker.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::time::Duration;

    use super::*;
    use crate::{load, FlagValue, LoadOptions};

    fn settings(env: &[(&str, &str)], flags: Vec<FlagValue>) -> Settings {
        let options = LoadOptions {
            env: env
                .iter()
                .map(|(name, value)| (name.to_string(), value.to_string()))
                .collect::<BTreeMap<_, _>>(),
            flags,
            ..LoadOptions::default()
        };
        load(&options).unwrap().config.settings().clone()
    }

    #[test]
    fn compiled_defaults_fill_every_section() {
        let settings = settings(&[], Vec::new());
        assert_eq!(settings.provider, None);
        assert_eq!(settings.lease.class, "beast");
        assert_eq!(settings.lease.profile, "default");
        assert_eq!(settings.lease.pond, "");
        assert_eq!(settings.lease.work_root, "/work/crabbox");
        assert_eq!(settings.lease.ttl, Duration::from_secs(90 * 60));
        assert_eq!(settings.lease.idle_timeout, Duration::from_secs(30 * 60));
        assert!(settings.sync.delete && settings.sync.git_seed && settings.sync.fingerprint);
        assert!(!settings.sync.checksum && !settings.sync.allow_large);
        assert_eq!(settings.sync.timeout, Duration::from_secs(15 * 60));
        assert_eq!(settings.sync.warn_files, Some(50_000));
        assert_eq!(settings.sync.fail_bytes, Some(21_474_836_480));
        assert!(settings.run.login_shell);
        assert_eq!(settings.run.env_allow, ["CI", "NODE_OPTIONS"]);
        assert_eq!(settings.ssh.user.as_deref(), Some("crabbox"));
        assert_eq!(settings.ssh.port.as_deref(), Some("2222"));
        assert_eq!(settings.ssh.fallback_ports, Some(vec!["22".to_string()]));
        assert_eq!(settings.ssh.key, None);
        assert_eq!(settings.coordinator(), None);
    }

    #[test]
    fn environment_and_flags_reach_the_typed_fields() {
        let settings = settings(
            &[
                ("CRABBOX_DEFAULT_CLASS", "standard"),
                ("CRABBOX_TTL", "2h"),
                ("CRABBOX_SYNC_DELETE", "false"),
                ("CRABBOX_SYNC_WARN_FILES", "-1"),
                ("CRABBOX_RUN_LOGIN_SHELL", "off"),
                ("CRABBOX_ENV_ALLOW", "none"),
                ("CRABBOX_SSH_FALLBACK_PORTS", "none"),
                ("CRABBOX_WORK_ROOT", "/srv/work"),
            ],
            vec![FlagValue {
                key: "provider",
                flag: "--provider".into(),
                value: "ssh".into(),
            }],
        );
        assert_eq!(settings.provider.as_deref(), Some("ssh"));
        assert_eq!(settings.lease.class, "standard");
        assert_eq!(settings.lease.ttl, Duration::from_secs(7200));
        assert_eq!(settings.lease.work_root, "/srv/work");
        assert!(!settings.sync.delete);
        // A negative limit falls back to the sync crate's own default.
        assert_eq!(settings.sync.warn_files, None);
        assert!(!settings.run.login_shell);
        assert!(settings.run.env_allow.is_empty());
        assert_eq!(settings.ssh.fallback_ports, Some(Vec::new()));
    }

    #[test]
    fn a_coordinator_needs_a_url_and_keeps_its_tokens_secret() {
        let configured = settings(
            &[
                ("CRABBOX_COORDINATOR", "http://127.0.0.1:8787"),
                ("CRABBOX_COORDINATOR_TOKEN", "hunter2"),
                ("CRABBOX_ADMIN_TOKEN", "  "),
            ],
            Vec::new(),
        );
        let broker = configured.coordinator().expect("a coordinator");
        assert_eq!(broker.url, "http://127.0.0.1:8787");
        assert_eq!(
            broker.token.as_ref().map(|token| token.expose()),
            Some("hunter2")
        );
        assert_eq!(broker.admin_token, None);
        assert!(!format!("{configured:?}").contains("hunter2"));

        let tokens_only = settings(&[("CRABBOX_COORDINATOR_TOKEN", "t")], Vec::new());
        assert_eq!(tokens_only.coordinator(), None);
    }
}
