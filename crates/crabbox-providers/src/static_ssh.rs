//! The `ssh` provider (aliases `static`, `static-ssh`): an existing host reached over
//! SSH. Nothing is provisioned or deleted; releasing only drops the local claim.

use async_trait::async_trait;
use crabbox_config::Config;
use crabbox_core::{normalize_slug, now_unix};

use crate::{
    Doctor, DoctorCheck, Feature, Lease, LeaseState, Provider, ProviderError, ProviderKind,
    ProviderSettings, ProviderSpec, Released,
};

pub static STATIC_SPEC: ProviderSpec = ProviderSpec {
    name: "ssh",
    aliases: &["static", "static-ssh"],
    kind: ProviderKind::SshLease,
    features: &[Feature::Ssh, Feature::CrabboxSync],
    targets: &["linux", "macos"],
    coordinator: false,
    description: "an existing host over SSH; never provisioned, release drops the claim",
};

/// `static.*`: the host the `ssh` provider reaches. Values are checked when a
/// lease is described, so a bad one only matters to commands that use the host.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StaticSettings {
    pub id: Option<String>,
    pub name: Option<String>,
    pub host: Option<String>,
    pub user: Option<String>,
    pub port: Option<String>,
    pub work_root: Option<String>,
}

impl StaticSettings {
    pub fn from_config(config: &Config) -> StaticSettings {
        let text = |key: &str| config.str(key).map(str::to_string);
        StaticSettings {
            id: text("static.id"),
            name: text("static.name"),
            host: text("static.host"),
            user: text("static.user"),
            port: text("static.port"),
            work_root: text("static.workRoot"),
        }
    }
}

/// Idle timeout reported for static leases: the host is not ours to expire.
const STATIC_IDLE_SECS: i64 = 30 * 60;

pub struct StaticProvider {
    settings: ProviderSettings,
}

fn parse_port(text: &str, what: &str) -> Result<u16, ProviderError> {
    text.trim()
        .parse::<u16>()
        .ok()
        .filter(|port| *port > 0)
        .ok_or_else(|| ProviderError::Invalid {
            message: format!("invalid {what} {text:?}: expected a port number 1-65535"),
        })
}

impl StaticProvider {
    pub fn new(settings: &ProviderSettings) -> StaticProvider {
        StaticProvider {
            settings: settings.clone(),
        }
    }

    /// The lease described by configuration.
    fn lease(&self) -> Result<Lease, ProviderError> {
        let config = &self.settings.static_host;
        let host = config
            .host
            .as_deref()
            .map(str::trim)
            .filter(|host| !host.is_empty())
            .ok_or_else(|| ProviderError::Invalid {
                message: "provider ssh needs a host".into(),
            })?;
        let slug = normalize_slug(config.name.as_deref().unwrap_or(host));
        let id = match config.id.as_deref().map(str::trim) {
            Some(id) if !id.is_empty() => id.to_string(),
            _ => format!("static_{slug}"),
        };
        let ssh = &self.settings.ssh;
        let user = config
            .user
            .clone()
            .or_else(|| ssh.user.clone())
            .unwrap_or_else(|| "crabbox".into());
        let port = match config.port.as_deref().or(ssh.port.as_deref()) {
            Some(port) => parse_port(port, "ssh port")?,
            None => 2222,
        };
        let fallback_ports = match &ssh.fallback_ports {
            None => vec![22],
            Some(list) => list
                .iter()
                .map(|port| parse_port(port, "fallback port"))
                .collect::<Result<_, _>>()?,
        };
        let now = now_unix();
        let mut labels = std::collections::BTreeMap::new();
        for (key, value) in [
            ("crabbox", "true"),
            ("provider", "ssh"),
            ("lease", id.as_str()),
            ("slug", slug.as_str()),
            ("keep", "true"),
            ("host", host),
        ] {
            labels.insert(key.to_string(), value.to_string());
        }
        Ok(Lease {
            name: format!("crabbox-{slug}"),
            server_id: id.clone(),
            id,
            slug,
            provider: "ssh".into(),
            state: LeaseState::Ready,
            server_type: "ssh".into(),
            host: host.to_string(),
            user,
            port,
            fallback_ports,
            work_root: config
                .work_root
                .clone()
                .unwrap_or_else(|| self.settings.work_root.clone()),
            host_key: None,
            ssh_key: Some(
                ssh.key
                    .clone()
                    .unwrap_or_else(|| self.settings.paths.home.join(".ssh").join("id_ed25519")),
            ),
            created_at: now,
            last_touched_at: now,
            idle_timeout_secs: STATIC_IDLE_SECS,
            ttl_secs: i64::MAX / 4,
            keep: true,
            pond: String::new(),
            labels,
        })
    }

    fn matching(&self, lease_id: &str) -> Result<Lease, ProviderError> {
        let lease = self.lease()?;
        let wanted = normalize_slug(lease_id);
        if lease.id == lease_id
            || lease.name == lease_id
            || lease.host == lease_id
            || (!wanted.is_empty() && lease.slug == wanted)
        {
            Ok(lease)
        } else {
            Err(ProviderError::NotFound {
                lease: lease_id.to_string(),
                provider: "ssh".into(),
                hint: Some(format!(
                    "the configured static host is {} (lease {}); set static.host or --static-host",
                    lease.host, lease.id
                )),
            })
        }
    }
}

#[async_trait]
impl Provider for StaticProvider {
    fn spec(&self) -> &'static ProviderSpec {
        &STATIC_SPEC
    }

    fn uses_lease_keys(&self) -> bool {
        false
    }

    /// The configured host; a pond and exposed ports only travel in the labels
    /// (the claim keeps them, the host knows nothing of them).
    async fn acquire(&self, request: &crate::AcquireRequest) -> Result<Lease, ProviderError> {
        let mut lease = self.lease()?;
        if !request.pond.is_empty() {
            lease.pond = request.pond.clone();
            lease.labels.insert("pond".into(), request.pond.clone());
        }
        if !request.exposed_ports.is_empty() {
            let ports: Vec<String> = request.exposed_ports.iter().map(u16::to_string).collect();
            lease
                .labels
                .insert("crabbox_exposed_ports".into(), ports.join("-"));
        }
        Ok(lease)
    }

    async fn resolve(&self, lease_id: &str) -> Result<Lease, ProviderError> {
        self.matching(lease_id)
    }

    async fn touch(
        &self,
        lease_id: &str,
        _state: Option<LeaseState>,
        _idle_timeout_secs: Option<i64>,
    ) -> Result<Lease, ProviderError> {
        self.matching(lease_id)
    }

    async fn release(&self, _lease_id: &str) -> Result<Released, ProviderError> {
        Ok(Released::ClaimOnly)
    }

    async fn list(&self) -> Result<Vec<Lease>, ProviderError> {
        match self.lease() {
            Ok(lease) => Ok(vec![lease]),
            Err(ProviderError::Invalid { .. }) => Ok(Vec::new()),
            Err(error) => Err(error),
        }
    }

    fn ready_check(&self, _lease: &Lease) -> Option<String> {
        Some(
            "git --version >/dev/null && rsync --version >/dev/null && tar --version >/dev/null"
                .into(),
        )
    }

    fn doctor(&self) -> Option<&dyn Doctor> {
        Some(self)
    }
}

impl Doctor for StaticProvider {
    fn checks(&self) -> Vec<DoctorCheck> {
        vec![match self.lease() {
            Ok(lease) => DoctorCheck {
                status: "ok",
                check: "provider".into(),
                message: format!(
                    "target=linux host={} port={} user={} api=static_config mutation=false runtime=unchecked",
                    lease.host, lease.port, lease.user
                ),
                hint: None,
            },
            Err(error) => DoctorCheck {
                status: "failed",
                check: "provider".into(),
                message: error.to_string(),
                hint: Some("set static.host in config, CRABBOX_STATIC_HOST or --static-host".into()),
            },
        }]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn provider(configure: impl FnOnce(&mut ProviderSettings)) -> StaticProvider {
        let mut settings =
            ProviderSettings::new(crabbox_core::Paths::from_lookup(|name| match name {
                "HOME" => Some("/home/me".into()),
                _ => None,
            }));
        configure(&mut settings);
        StaticProvider::new(&settings)
    }

    #[test]
    fn lease_is_synthesized_from_config_with_defaults() {
        let lease = provider(|s| s.static_host.host = Some("Build-Box.example".into()))
            .lease()
            .unwrap();
        assert_eq!(lease.id, "static_build-box-example");
        assert_eq!(lease.slug, "build-box-example");
        assert_eq!(lease.user, "crabbox");
        assert_eq!(lease.port, 2222);
        assert_eq!(lease.fallback_ports, vec![22]);
        assert_eq!(
            lease.ssh_key.unwrap().display().to_string(),
            "/home/me/.ssh/id_ed25519"
        );
    }

    #[test]
    fn static_values_beat_ssh_values_and_fallbacks_can_be_disabled() {
        let lease = provider(|s| {
            s.static_host.host = Some("h".into());
            s.static_host.port = Some("2200".into());
            s.ssh.port = Some("2300".into());
            s.ssh.user = Some("ops".into());
            s.ssh.fallback_ports = Some(vec![]);
        })
        .lease()
        .unwrap();
        assert_eq!(lease.port, 2200);
        assert_eq!(lease.user, "ops");
        assert!(lease.fallback_ports.is_empty());
    }

    #[test]
    fn missing_host_and_bad_ports_are_invalid() {
        assert!(matches!(
            provider(|_| {}).lease(),
            Err(ProviderError::Invalid { .. })
        ));
        let bad = provider(|s| {
            s.static_host.host = Some("h".into());
            s.static_host.port = Some("ssh".into());
        });
        assert!(matches!(bad.lease(), Err(ProviderError::Invalid { .. })));
    }

    #[test]
    fn resolves_by_id_slug_name_or_host_only() {
        let provider = provider(|s| {
            s.static_host.host = Some("10.0.0.5".into());
            s.static_host.name = Some("GPU box".into());
        });
        for value in ["static_gpu-box", "gpu-box", "crabbox-gpu-box", "10.0.0.5"] {
            assert!(provider.matching(value).is_ok(), "{value}");
        }
        assert!(matches!(
            provider.matching("other"),
            Err(ProviderError::NotFound { .. })
        ));
    }
}
