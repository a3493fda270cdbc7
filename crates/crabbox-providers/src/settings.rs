//! Everything providers read when they are created, resolved from the config
//! in one place so the CLI and the coordinator build providers the same way.

use std::path::{Path, PathBuf};

use crabbox_config::Config;
pub use crabbox_config::SshSettings;
use crabbox_core::Paths;

use crate::local::LocalSettings;
use crate::sealos::SealosSettings;
use crate::static_ssh::StaticSettings;

/// Everything a provider may read when it is created.
#[derive(Debug, Clone)]
pub struct ProviderSettings {
    pub paths: Paths,
    /// `workRoot`: where providers without their own put synced checkouts.
    pub work_root: String,
    /// `ssh.*`, with a key path's leading `~/` expanded.
    pub ssh: SshSettings,
    /// `static.*`.
    pub static_host: StaticSettings,
    /// `local.*`.
    pub local: LocalSettings,
    /// `sealosDevbox.*`.
    pub sealos: SealosSettings,
}

impl ProviderSettings {
    /// Built-in defaults, for tests and callers without a config.
    pub fn new(paths: Paths) -> ProviderSettings {
        ProviderSettings {
            paths,
            work_root: "/work/crabbox".into(),
            ssh: SshSettings::default(),
            static_host: StaticSettings::default(),
            local: LocalSettings::default(),
            sealos: SealosSettings::default(),
        }
    }

    /// Every provider's settings from the effective config; `~/` in paths
    /// means `paths.home`.
    pub fn from_config(paths: &Paths, config: &Config) -> ProviderSettings {
        let settings = config.settings();
        let home = &paths.home;
        ProviderSettings {
            paths: paths.clone(),
            work_root: settings.lease.work_root.clone(),
            ssh: SshSettings {
                key: settings
                    .ssh
                    .key
                    .as_deref()
                    .map(|key| expand_home(key, home)),
                ..settings.ssh.clone()
            },
            static_host: StaticSettings::from_config(config),
            local: LocalSettings::from_config(config, home),
            sealos: SealosSettings::from_config(config, home),
        }
    }
}

/// `path` with a leading `~/` replaced by `home`.
pub(crate) fn expand_home(path: &Path, home: &Path) -> PathBuf {
    match path.to_str().and_then(|text| text.strip_prefix("~/")) {
        Some(rest) => home.join(rest),
        None => path.to_path_buf(),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    #[test]
    fn config_reaches_every_provider_with_home_expanded() {
        let env: BTreeMap<String, String> = [
            ("CRABBOX_SSH_KEY", "~/.ssh/build"),
            ("CRABBOX_WORK_ROOT", "/srv/work"),
            ("CRABBOX_STATIC_HOST", "build.example"),
            ("CRABBOX_LOCAL_NETNS", "true"),
            ("CRABBOX_LOCAL_HOME", "~/lease-home"),
            ("CRABBOX_SEALOS_DEVBOX_KUBECONFIG", "~/.kube/sealos"),
            ("CRABBOX_SEALOS_DEVBOX_CONTEXT", " ctx "),
            ("CRABBOX_SEALOS_DEVBOX_NAMESPACE", "ns"),
        ]
        .into_iter()
        .map(|(name, value)| (name.to_string(), value.to_string()))
        .collect();
        let options = crabbox_config::LoadOptions {
            env,
            ..crabbox_config::LoadOptions::default()
        };
        let config = crabbox_config::load(&options).unwrap().config;
        let paths = Paths::from_lookup(|name| (name == "HOME").then(|| "/home/me".to_string()));
        let settings = ProviderSettings::from_config(&paths, &config);
        assert_eq!(settings.work_root, "/srv/work");
        assert_eq!(settings.ssh.key, Some(PathBuf::from("/home/me/.ssh/build")));
        assert_eq!(settings.ssh.port.as_deref(), Some("2222"));
        assert_eq!(settings.static_host.host.as_deref(), Some("build.example"));
        assert!(settings.local.netns);
        assert_eq!(
            settings.local.home,
            Some(PathBuf::from("/home/me/lease-home"))
        );
        assert_eq!(
            settings.sealos.kubeconfig,
            Some(PathBuf::from("/home/me/.kube/sealos"))
        );
        assert_eq!(settings.sealos.context.as_deref(), Some("ctx"));
        assert_eq!(settings.sealos.namespace, "ns");
        assert_eq!(settings.sealos.cpu, "2");
        assert!(!settings.sealos.delete_on_release);
    }

    #[test]
    fn paths_outside_home_stay_as_written() {
        let home = Path::new("/home/me");
        assert_eq!(expand_home(Path::new("/k"), home), PathBuf::from("/k"));
        assert_eq!(expand_home(Path::new("~"), home), PathBuf::from("~"));
        assert_eq!(
            expand_home(Path::new("~/k"), home),
            PathBuf::from("/home/me/k")
        );
    }
}
