//! What `pond connect` decided before starting ssh: the forward table, how each
//! member is reached, where the `hosts` and `env` files go, and the one `ssh -N
//! -L …` command per member that carries that member's forwards.

use std::path::PathBuf;

use crabbox_ssh::Target;

use crate::{Forward, PondError};

/// One member with forwards and how to reach it.
#[derive(Debug, Clone)]
pub struct Reachable {
    pub lease_id: String,
    pub target: Target,
}

/// The planned mesh of one pond.
#[derive(Debug, Clone)]
pub struct MeshPlan {
    pub pond: String,
    pub forwards: Vec<Forward>,
    pub reachable: Vec<Reachable>,
    pub hosts_path: PathBuf,
    pub env_path: PathBuf,
    /// `~/.crabbox/pond/<pond>`, which also holds `daemon.json`.
    pub dir: PathBuf,
}

/// One member's ssh: a label for messages, its argv (without the program) and
/// the first forward it carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeshCommand {
    pub label: String,
    pub args: Vec<String>,
    pub forward: Forward,
}

impl MeshPlan {
    /// One command per member, in order of first appearance.
    pub fn commands(&self) -> Result<Vec<MeshCommand>, PondError> {
        groups(&self.forwards)
            .into_iter()
            .map(|group| {
                let first = group[0];
                let target = self
                    .reachable
                    .iter()
                    .find(|member| member.lease_id == first.lease_id)
                    .ok_or_else(|| PondError::NoSshTarget {
                        peer: first.peer.clone(),
                    })?;
                Ok(MeshCommand {
                    label: group_label(&group),
                    args: ssh_args(&target.target, &group),
                    forward: first.clone(),
                })
            })
            .collect()
    }

    /// `daemon.json`, the record of `--export` daemons.
    pub fn daemon_state_path(&self) -> PathBuf {
        daemon_state_path(&self.dir)
    }
}

/// `daemon.json` in a pond's directory.
pub fn daemon_state_path(dir: &std::path::Path) -> PathBuf {
    dir.join("daemon.json")
}

/// The `ssh` arguments for one member: multiplexing off, no command, and every
/// forward must bind or ssh exits.
pub fn ssh_args(target: &Target, forwards: &[&Forward]) -> Vec<String> {
    let mut args = Vec::new();
    let mut option = |value: String| {
        args.push("-o".to_string());
        args.push(value);
    };
    for value in [
        "ForwardAgent=no",
        "ForwardX11=no",
        "ForwardX11Trusted=no",
        "BatchMode=yes",
        "ConnectTimeout=10",
        "ConnectionAttempts=3",
        "ServerAliveInterval=15",
        "ServerAliveCountMax=2",
        "ControlMaster=no",
        "ControlPath=none",
        "ControlPersist=no",
        "ExitOnForwardFailure=yes",
    ] {
        option(value.to_string());
    }
    if let Some(key) = &target.key {
        args.push("-i".into());
        args.push(key.display().to_string());
        args.push("-o".into());
        args.push("IdentitiesOnly=yes".into());
    }
    args.extend(target.trust_args());
    args.push("-p".into());
    args.push(target.port.to_string());
    args.push("-N".into());
    for forward in forwards {
        args.push("-L".into());
        args.push(forward.spec());
    }
    args.push(target.destination());
    args
}

/// Forwards grouped per lease, in order of first appearance.
pub fn groups(forwards: &[Forward]) -> Vec<Vec<&Forward>> {
    let mut order: Vec<&str> = Vec::new();
    for forward in forwards {
        if !order.contains(&forward.lease_id.as_str()) {
            order.push(&forward.lease_id);
        }
    }
    order
        .into_iter()
        .map(|lease| {
            forwards
                .iter()
                .filter(|forward| forward.lease_id == lease)
                .collect()
        })
        .collect()
}

/// `peer:p1,p2` for messages about one group.
pub fn group_label(group: &[&Forward]) -> String {
    let ports: Vec<String> = group
        .iter()
        .map(|forward| forward.remote_port.to_string())
        .collect();
    format!(
        "{}:{}",
        group
            .first()
            .map(|forward| forward.peer.as_str())
            .unwrap_or("-"),
        ports.join(",")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn forward(peer: &str, lease: &str, remote: u16, local: u16) -> Forward {
        Forward {
            peer: peer.into(),
            remote_port: remote,
            local_port: local,
            lease_id: lease.into(),
        }
    }

    fn target() -> Target {
        Target {
            lease_id: "cbx_2".into(),
            user: "root".into(),
            host: "10.213.0.2".into(),
            port: 2222,
            fallback_ports: vec![22],
            key: Some("/keys/id".into()),
            known_hosts: "/keys/known_hosts".into(),
            trust: crabbox_ssh::HostTrust::AcceptNew,
            control_dir: "/ctl".into(),
        }
    }

    #[test]
    fn one_ssh_per_member_with_multiplexing_off() {
        let forwards = vec![
            forward("api", "cbx_2", 80, 51820),
            forward("db", "cbx_1", 5432, 51821),
            forward("api", "cbx_2", 443, 51822),
        ];
        let groups = groups(&forwards);
        assert_eq!(groups.len(), 2);
        assert_eq!(group_label(&groups[0]), "api:80,443");
        assert_eq!(group_label(&groups[1]), "db:5432");
        let args = ssh_args(&target(), &groups[0]);
        let text = args.join(" ");
        for needle in [
            "-o ControlMaster=no",
            "-o ControlPath=none",
            "-o ControlPersist=no",
            "-o ExitOnForwardFailure=yes",
            "-o BatchMode=yes",
            "-i /keys/id -o IdentitiesOnly=yes",
            "-p 2222 -N -L 127.0.0.1:51820:127.0.0.1:80 -L 127.0.0.1:51822:127.0.0.1:443",
        ] {
            assert!(text.contains(needle), "{needle} missing in {text}");
        }
        assert_eq!(args.last().unwrap(), "root@10.213.0.2");
        assert!(!text.contains("/ctl"), "no shared control socket: {text}");
    }

    #[test]
    fn a_member_without_a_target_is_refused() {
        let plan = MeshPlan {
            pond: "alpha".into(),
            forwards: vec![
                forward("api", "cbx_2", 80, 51820),
                forward("db", "cbx_1", 5432, 51821),
            ],
            reachable: vec![Reachable {
                lease_id: "cbx_2".into(),
                target: target(),
            }],
            hosts_path: "/p/hosts".into(),
            env_path: "/p/env".into(),
            dir: "/p".into(),
        };
        assert!(matches!(
            plan.commands(),
            Err(PondError::NoSshTarget { peer }) if peer == "db"
        ));
        let mut both = plan.clone();
        both.reachable.push(Reachable {
            lease_id: "cbx_1".into(),
            target: target(),
        });
        let commands = both.commands().unwrap();
        assert_eq!(commands.len(), 2);
        assert_eq!(commands[1].label, "db:5432");
        assert_eq!(commands[1].forward.remote_port, 5432);
        assert_eq!(both.daemon_state_path(), PathBuf::from("/p/daemon.json"));
    }
}
