//! `sealosDevbox.*` settings, their validation, the SSH route they select and
//! the provider scope they define.

use std::path::{Path, PathBuf};

use crabbox_config::Config;
use sha2::{Digest, Sha256};

use crate::ProviderError;

/// `sealosDevbox.*` as the CLI resolved them (flags, env, files, defaults).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealosSettings {
    pub kubeconfig: Option<PathBuf>,
    pub context: Option<String>,
    pub namespace: String,
    pub image: Option<String>,
    pub template_id: Option<String>,
    pub cpu: String,
    pub memory: String,
    pub storage_limit: String,
    pub network: String,
    pub ssh_gateway_host: Option<String>,
    pub ssh_gateway_port: String,
    pub ssh_user: String,
    pub work_root: String,
    pub node_host: Option<String>,
    pub delete_on_release: bool,
}

impl Default for SealosSettings {
    fn default() -> SealosSettings {
        SealosSettings {
            kubeconfig: None,
            context: None,
            namespace: "default".into(),
            image: None,
            template_id: None,
            cpu: "2".into(),
            memory: "4Gi".into(),
            storage_limit: "20Gi".into(),
            network: "SSHGate".into(),
            ssh_gateway_host: None,
            ssh_gateway_port: "2233".into(),
            ssh_user: "devbox".into(),
            work_root: "/home/devbox/project".into(),
            node_host: None,
            delete_on_release: false,
        }
    }
}

impl SealosSettings {
    /// `sealosDevbox.*` from the effective config (flags, env, files,
    /// defaults); blank optional values count as unset and `~/` means `home`.
    pub fn from_config(config: &Config, home: &Path) -> SealosSettings {
        let defaults = SealosSettings::default();
        let text = |key: &str, fallback: &str| config.str(key).unwrap_or(fallback).to_string();
        let optional = |key: &str| {
            config
                .str(key)
                .map(str::trim)
                .filter(|value| !value.is_empty())
                .map(str::to_string)
        };
        SealosSettings {
            kubeconfig: optional("sealosDevbox.kubeconfig")
                .map(|path| crate::settings::expand_home(Path::new(&path), home)),
            context: optional("sealosDevbox.context"),
            namespace: text("sealosDevbox.namespace", &defaults.namespace),
            image: optional("sealosDevbox.image"),
            template_id: optional("sealosDevbox.templateID"),
            cpu: text("sealosDevbox.cpu", &defaults.cpu),
            memory: text("sealosDevbox.memory", &defaults.memory),
            storage_limit: text("sealosDevbox.storageLimit", &defaults.storage_limit),
            network: text("sealosDevbox.network", &defaults.network),
            ssh_gateway_host: optional("sealosDevbox.sshGatewayHost"),
            ssh_gateway_port: text("sealosDevbox.sshGatewayPort", &defaults.ssh_gateway_port),
            ssh_user: text("sealosDevbox.sshUser", &defaults.ssh_user),
            work_root: text("sealosDevbox.workRoot", &defaults.work_root),
            node_host: optional("sealosDevbox.nodeHost"),
            delete_on_release: config.bool("sealosDevbox.deleteOnRelease"),
        }
    }
}

/// Where SSH goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// Sealos' SSH gateway, which routes by public key.
    Gateway { host: String, port: u16 },
    /// A node host plus the devbox's published NodePort.
    Node { host: String },
}

impl Route {
    pub fn network(&self) -> &'static str {
        match self {
            Route::Gateway { .. } => "SSHGate",
            Route::Node { .. } => "NodePort",
        }
    }
}

fn invalid(message: impl Into<String>) -> ProviderError {
    ProviderError::Invalid {
        message: message.into(),
    }
}

/// `SSHGate` / `NodePort`, accepting case and `-`/`_` variants; `Tailnet` is refused.
pub fn parse_network(text: &str) -> Result<&'static str, ProviderError> {
    match text
        .trim()
        .to_ascii_lowercase()
        .replace(['-', '_'], "")
        .as_str()
    {
        "sshgate" => Ok("SSHGate"),
        "nodeport" => Ok("NodePort"),
        "tailnet" => Err(invalid(
            "sealosDevbox.network Tailnet is not supported; use SSHGate or NodePort",
        )),
        _ => Err(invalid(format!(
            "sealosDevbox.network {text:?} is not SSHGate or NodePort"
        ))),
    }
}

const FORBIDDEN_ROOTS: [&str; 16] = [
    "/", "/bin", "/dev", "/etc", "/home", "/lib", "/lib64", "/opt", "/proc", "/root", "/sbin",
    "/sys", "/tmp", "/usr", "/var", "",
];

fn present(value: &Option<String>) -> Option<&str> {
    value
        .as_deref()
        .map(str::trim)
        .filter(|value| !value.is_empty())
}

impl SealosSettings {
    /// Everything except the image (only creating needs it).
    pub fn validate(&self) -> Result<Route, ProviderError> {
        present(&self.context).ok_or_else(|| invalid("sealosDevbox.context is required (set --sealos-devbox-context or CRABBOX_SEALOS_DEVBOX_CONTEXT)"))?;
        if self.namespace.trim().is_empty()
            || self.namespace.contains(char::is_whitespace)
            || self.namespace.contains('/')
        {
            return Err(invalid(format!(
                "sealosDevbox.namespace {:?} is not a namespace name",
                self.namespace
            )));
        }
        if self.ssh_user.trim().is_empty()
            || self.ssh_user.contains(char::is_whitespace)
            || self.ssh_user.contains('@')
        {
            return Err(invalid(format!(
                "sealosDevbox.sshUser {:?} must be a plain user name",
                self.ssh_user
            )));
        }
        let root = self.work_root.trim_end_matches('/');
        if !self.work_root.starts_with('/') || FORBIDDEN_ROOTS.contains(&root) {
            return Err(invalid(format!("sealosDevbox.workRoot {:?} must be an absolute project directory, not a system path", self.work_root)));
        }
        match parse_network(&self.network)? {
            "NodePort" => {
                let host = present(&self.node_host)
                    .ok_or_else(|| invalid("NodePort network needs sealosDevbox.nodeHost"))?;
                Ok(Route::Node {
                    host: host.to_string(),
                })
            }
            _ => {
                let host = present(&self.ssh_gateway_host)
                    .ok_or_else(|| invalid("SSHGate network needs sealosDevbox.sshGatewayHost"))?;
                let port = self
                    .ssh_gateway_port
                    .trim()
                    .parse::<u16>()
                    .ok()
                    .filter(|port| *port > 0)
                    .ok_or_else(|| {
                        invalid(format!(
                            "sealosDevbox.sshGatewayPort {:?} is not a port 1-65535",
                            self.ssh_gateway_port
                        ))
                    })?;
                Ok(Route::Gateway {
                    host: host.to_string(),
                    port,
                })
            }
        }
    }

    pub fn image(&self) -> Result<&str, ProviderError> {
        present(&self.image).ok_or_else(|| {
            invalid("sealosDevbox.image is required to create a devbox (--sealos-devbox-image)")
        })
    }

    /// The raw scope: which cluster, namespace and route leases belong to. Kept
    /// locally only; the cluster sees its hash.
    pub fn raw_scope(&self, route: &Route) -> String {
        let kubeconfig = match &self.kubeconfig {
            Some(path) => path.display().to_string(),
            None => match std::env::var("KUBECONFIG") {
                Ok(value) if !value.is_empty() => value,
                _ => "<default>".into(),
            },
        };
        let context = present(&self.context).unwrap_or("<current>");
        let last = match route {
            Route::Gateway { host, port } => format!("gateway:{host}:{port}"),
            Route::Node { host } => format!("node:{host}"),
        };
        format!(
            "kubeconfig:{kubeconfig}|context:{context}|namespace:{}|network:{}|{last}",
            self.namespace,
            route.network()
        )
    }
}

/// Hex SHA-256 of the raw scope.
pub fn scope_id(raw_scope: &str) -> String {
    Sha256::digest(raw_scope.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node_settings() -> SealosSettings {
        SealosSettings {
            context: Some("ctx".into()),
            network: "node_port".into(),
            node_host: Some("10.0.0.5".into()),
            ..SealosSettings::default()
        }
    }

    #[test]
    fn networks_parse_with_variants_and_tailnet_is_refused() {
        for text in ["SSHGate", "ssh-gate", "SSH_GATE", "sshgate"] {
            assert_eq!(parse_network(text).unwrap(), "SSHGate");
        }
        assert_eq!(parse_network("Node-Port").unwrap(), "NodePort");
        assert!(parse_network("Tailnet")
            .unwrap_err()
            .to_string()
            .contains("Tailnet"));
        assert!(parse_network("bogus").is_err());
    }

    #[test]
    fn validation_requires_context_route_and_sane_paths() {
        assert_eq!(
            node_settings().validate().unwrap(),
            Route::Node {
                host: "10.0.0.5".into()
            }
        );
        let gateway = SealosSettings {
            context: Some("ctx".into()),
            ssh_gateway_host: Some("gw".into()),
            ..SealosSettings::default()
        };
        assert_eq!(
            gateway.validate().unwrap(),
            Route::Gateway {
                host: "gw".into(),
                port: 2233
            }
        );
        let cases = [
            SealosSettings {
                context: None,
                ..node_settings()
            },
            SealosSettings {
                node_host: None,
                ..node_settings()
            },
            SealosSettings {
                ssh_gateway_host: None,
                network: "SSHGate".into(),
                ..node_settings()
            },
            SealosSettings {
                namespace: "a/b".into(),
                ..node_settings()
            },
            SealosSettings {
                ssh_user: "a@b".into(),
                ..node_settings()
            },
            SealosSettings {
                work_root: "/home".into(),
                ..node_settings()
            },
            SealosSettings {
                work_root: "relative".into(),
                ..node_settings()
            },
            SealosSettings {
                network: "SSHGate".into(),
                ssh_gateway_host: Some("gw".into()),
                ssh_gateway_port: "0".into(),
                ..node_settings()
            },
        ];
        for case in cases {
            assert!(case.validate().is_err(), "{case:?} should be invalid");
        }
        assert!(node_settings().image().is_err());
    }

    #[test]
    fn scope_separates_routes_and_hashes_to_64_hex() {
        let settings = SealosSettings {
            kubeconfig: Some("/k".into()),
            ..node_settings()
        };
        let node = settings.raw_scope(&Route::Node { host: "n".into() });
        assert_eq!(
            node,
            "kubeconfig:/k|context:ctx|namespace:default|network:NodePort|node:n"
        );
        let gateway = settings.raw_scope(&Route::Gateway {
            host: "g".into(),
            port: 2233,
        });
        assert!(gateway.ends_with("network:SSHGate|gateway:g:2233"));
        assert_ne!(scope_id(&node), scope_id(&gateway));
        assert_eq!(scope_id(&node).len(), 64);
    }
}
