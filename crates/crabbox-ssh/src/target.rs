//! The SSH endpoint of a lease and the OpenSSH arguments that reach it.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// How the client decides whether to trust the runner's host key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostTrust {
    /// The provider told us the key; anything else is refused.
    Pinned { alias: String, key: String },
    /// Trust on first use, recorded in the per-lease known_hosts file.
    AcceptNew,
}

/// Connection budgets per call class (reference transport §1.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Budget {
    /// Helpers, rsync and the streamed command.
    Default,
    /// Readiness probing.
    Readiness,
}

impl Budget {
    fn connect_timeout(self) -> u32 {
        match self {
            Budget::Default => 10,
            Budget::Readiness => 5,
        }
    }

    fn attempts(self) -> u32 {
        match self {
            Budget::Default => 3,
            Budget::Readiness => 1,
        }
    }
}

/// Everything needed to open SSH to one lease.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub lease_id: String,
    pub user: String,
    pub host: String,
    pub port: u16,
    pub fallback_ports: Vec<u16>,
    pub key: Option<PathBuf>,
    pub known_hosts: PathBuf,
    pub trust: HostTrust,
    /// Private 0700 directory holding this lease's control sockets.
    pub control_dir: PathBuf,
}

impl Target {
    /// The primary port followed by the fallbacks, without duplicates.
    pub fn candidate_ports(&self) -> Vec<u16> {
        let mut ports = vec![self.port];
        for port in &self.fallback_ports {
            if !ports.contains(port) {
                ports.push(*port);
            }
        }
        ports
    }

    pub fn destination(&self) -> String {
        format!("{}@{}", self.user, self.host)
    }

    /// The control socket for this target on `port`. The name hashes everything
    /// that identifies the trust relationship, so a recycled address, a different key
    /// or another pin never reuses a master.
    pub fn control_path(&self, port: u16) -> PathBuf {
        let mut hasher = Sha256::new();
        for part in [
            self.user.as_str(),
            self.host.as_str(),
            &port.to_string(),
            &self
                .key
                .as_deref()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
            &self.known_hosts.display().to_string(),
            match &self.trust {
                HostTrust::Pinned { key, .. } => key.as_str(),
                HostTrust::AcceptNew => "",
            },
        ] {
            hasher.update(part.as_bytes());
            hasher.update([0]);
        }
        let digest = hasher.finalize();
        let name: String = digest[..4].iter().map(|b| format!("{b:02x}")).collect();
        self.control_dir.join(name)
    }

    /// Options shared by every call: identity, keepalives, budgets, port, trust and
    /// the multiplexing settings. Commands never become masters themselves; the
    /// master is started explicitly (see `master`), so a persisting master can never
    /// hold a command's output pipes open.
    pub fn base_args(&self, port: u16, budget: Budget) -> Vec<String> {
        let mut args = Vec::with_capacity(40);
        if let Some(key) = &self.key {
            args.push("-i".into());
            args.push(key.display().to_string());
            push_option(&mut args, "IdentitiesOnly=yes");
        }
        for option in [
            "ForwardAgent=no",
            "ForwardX11=no",
            "ForwardX11Trusted=no",
            "BatchMode=yes",
        ] {
            push_option(&mut args, option);
        }
        push_option(
            &mut args,
            &format!("ConnectTimeout={}", budget.connect_timeout()),
        );
        push_option(
            &mut args,
            &format!("ConnectionAttempts={}", budget.attempts()),
        );
        push_option(&mut args, "ServerAliveInterval=15");
        push_option(&mut args, "ServerAliveCountMax=2");
        args.push("-p".into());
        args.push(port.to_string());
        args.extend(self.trust_args());
        push_option(&mut args, "ControlMaster=no");
        push_option(
            &mut args,
            &format!("ControlPath={}", self.control_path(port).display()),
        );
        args
    }

    /// Host-key options for this target.
    pub fn trust_args(&self) -> Vec<String> {
        let mut args = Vec::new();
        let known_hosts = format!("UserKnownHostsFile={}", self.known_hosts.display());
        match &self.trust {
            HostTrust::Pinned { alias, .. } => {
                for option in [
                    "StrictHostKeyChecking=yes",
                    &known_hosts,
                    "GlobalKnownHostsFile=none",
                    "UpdateHostKeys=no",
                    "CheckHostIP=no",
                    &format!("HostKeyAlias={alias}"),
                ] {
                    push_option(&mut args, option);
                }
            }
            HostTrust::AcceptNew => {
                push_option(&mut args, "StrictHostKeyChecking=accept-new");
                push_option(&mut args, &known_hosts);
            }
        }
        args
    }
}

fn push_option(args: &mut Vec<String>, option: &str) {
    args.push("-o".into());
    args.push(option.into());
}

/// The alias a pinned host key is recorded under in the lease's known_hosts.
pub fn host_key_alias(lease_id: &str) -> String {
    let digest = Sha256::digest(lease_id.as_bytes());
    let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    format!("crabbox-lease-{hex}")
}

/// Writes exactly one known_hosts line for a pinned key, atomically, 0600.
pub fn write_pinned_known_hosts(path: &Path, alias: &str, key: &str) -> std::io::Result<()> {
    let mut fields = key.split_whitespace();
    let (Some(kind), Some(body)) = (fields.next(), fields.next()) else {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "host key must be '<type> <base64>'",
        ));
    };
    crabbox_core::write_private_atomic(path, format!("{alias} {kind} {body}\n").as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target() -> Target {
        Target {
            lease_id: "cbx_0123456789ab".into(),
            user: "me".into(),
            host: "127.0.0.1".into(),
            port: 2222,
            fallback_ports: vec![22, 2222, 22],
            key: Some("/k/id_ed25519".into()),
            known_hosts: "/k/known_hosts".into(),
            trust: HostTrust::AcceptNew,
            control_dir: "/tmp/c".into(),
        }
    }

    #[test]
    fn candidate_ports_keep_order_without_duplicates() {
        assert_eq!(target().candidate_ports(), vec![2222, 22]);
    }

    #[test]
    fn control_path_changes_with_trust_and_port() {
        let plain = target();
        let mut pinned = target();
        pinned.trust = HostTrust::Pinned {
            alias: "a".into(),
            key: "ssh-ed25519 AAAA".into(),
        };
        assert_ne!(plain.control_path(2222), pinned.control_path(2222));
        assert_ne!(plain.control_path(2222), plain.control_path(22));
        assert_eq!(plain.control_path(22), plain.control_path(22));
    }

    #[test]
    fn base_args_never_make_a_master() {
        let args = target().base_args(22, Budget::Readiness).join(" ");
        assert!(args.contains("ControlMaster=no"));
        assert!(args.contains("ConnectTimeout=5"));
        assert!(args.contains("StrictHostKeyChecking=accept-new"));
        assert!(args.contains("-p 22"));
    }

    #[test]
    fn pinned_known_hosts_holds_one_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("known_hosts");
        write_pinned_known_hosts(&path, "alias", "ssh-ed25519 AAAAC3 comment").unwrap();
        write_pinned_known_hosts(&path, "alias", "ssh-ed25519 BBBB").unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "alias ssh-ed25519 BBBB\n"
        );
        assert!(write_pinned_known_hosts(&path, "alias", "garbage").is_err());
    }
}
