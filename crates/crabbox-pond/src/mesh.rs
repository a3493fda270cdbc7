//! The SSH-mesh plan: member names, the forward table with loopback ports, and
//! the `hosts` and `env` files an operator sources.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::names::normalize_pond;
use crate::PondError;

/// First loopback port the mesh hands out.
pub const FIRST_LOCAL_PORT: u16 = 51820;
/// Last loopback port (inclusive): 1000 ports in all.
pub const LAST_LOCAL_PORT: u16 = 52819;

/// One SSH-capable pond member with the ports it exposes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeshMember {
    /// Display name (slug, else lease ID), unique after [`disambiguate`].
    pub name: String,
    pub provider: String,
    pub lease_id: String,
    pub ports: Vec<u16>,
}

/// One `ssh -L` forward; key order is the JSON order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Forward {
    pub peer: String,
    #[serde(rename = "remotePort")]
    pub remote_port: u16,
    #[serde(rename = "localPort")]
    pub local_port: u16,
    #[serde(rename = "leaseID")]
    pub lease_id: String,
}

impl Forward {
    /// The `-L` argument, also what `disconnect` looks for in a live command line.
    pub fn spec(&self) -> String {
        format!(
            "127.0.0.1:{}:127.0.0.1:{}",
            self.local_port, self.remote_port
        )
    }

    pub fn env_name(&self) -> String {
        format!("CRABBOX_POND_{}_{}", env_key(&self.peer), self.remote_port)
    }
}

/// Uppercase, everything outside `[A-Z0-9]` becomes `_`, `_` trimmed at the ends;
/// empty becomes `_`.
pub fn env_key(name: &str) -> String {
    let mapped: String = name
        .chars()
        .map(|character| {
            let upper = character.to_ascii_uppercase();
            if upper.is_ascii_uppercase() || upper.is_ascii_digit() {
                upper
            } else {
                '_'
            }
        })
        .collect();
    let trimmed = mapped.trim_matches('_');
    if trimmed.is_empty() {
        "_".into()
    } else {
        trimmed.to_string()
    }
}

fn short_lease(lease_id: &str) -> String {
    let body: Vec<char> = lease_id
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect();
    let body: String = body.iter().collect();
    let body = body
        .strip_prefix("cbx")
        .or_else(|| body.strip_prefix("isb"))
        .unwrap_or(&body);
    let start = body.len().saturating_sub(6);
    body[start..].to_ascii_lowercase()
}

/// Makes member names distinct by their env-safe key, then sorts them by name.
pub fn disambiguate(mut members: Vec<MeshMember>) -> Vec<MeshMember> {
    members.sort_by(|left, right| {
        (&left.name, &left.provider, &left.lease_id).cmp(&(
            &right.name,
            &right.provider,
            &right.lease_id,
        ))
    });
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for member in &members {
        *counts.entry(env_key(&member.name)).or_default() += 1;
    }
    let mut used = BTreeSet::new();
    for member in &mut members {
        let key = env_key(&member.name);
        if counts[&key] > 1 || used.contains(&key) {
            let suffix = if member.provider.is_empty() {
                short_lease(&member.lease_id)
            } else {
                normalize_pond(&member.provider)
            };
            let mut name = format!("{}-{suffix}", normalize_pond(&member.name));
            if used.contains(&env_key(&name)) {
                name = format!("{name}-{}", short_lease(&member.lease_id));
            }
            member.name = name;
        }
        used.insert(env_key(&member.name));
    }
    members.sort_by(|left, right| left.name.cmp(&right.name));
    members
}

/// One forward per (member, port), each with a free loopback port from
/// 51820–52819; `is_free` probes a port.
pub fn plan_forwards(
    members: &[MeshMember],
    mut is_free: impl FnMut(u16) -> bool,
) -> Result<Vec<Forward>, PondError> {
    let mut forwards = Vec::new();
    let mut next = FIRST_LOCAL_PORT;
    for member in members {
        for &remote_port in &member.ports {
            let local_port = loop {
                if next > LAST_LOCAL_PORT || next == 0 {
                    return Err(PondError::PortsExhausted {
                        first: FIRST_LOCAL_PORT,
                        last: LAST_LOCAL_PORT,
                    });
                }
                let candidate = next;
                next = next.wrapping_add(1);
                if is_free(candidate) {
                    break candidate;
                }
            };
            forwards.push(Forward {
                peer: member.name.clone(),
                remote_port,
                local_port,
                lease_id: member.lease_id.clone(),
            });
        }
    }
    Ok(forwards)
}

/// The hosts-file fragment: names only, ports in comments.
pub fn render_hosts(pond: &str, forwards: &[Forward]) -> String {
    let mut text = format!(
        "# crabbox pond {pond}: operator-side names of SSH-mesh forwards\n\
         # each name resolves to 127.0.0.1; use the local port from the comment or the env file\n"
    );
    for forward in forwards {
        text.push_str(&format!(
            "127.0.0.1  {peer}.cbx {peer}-{remote}.cbx  # local=127.0.0.1:{local} remote=:{remote}\n",
            peer = forward.peer,
            remote = forward.remote_port,
            local = forward.local_port
        ));
    }
    text
}

/// `export` lines for every forward.
pub fn export_lines(forwards: &[Forward]) -> Vec<String> {
    forwards
        .iter()
        .map(|forward| {
            format!(
                "export {}=127.0.0.1:{}",
                forward.env_name(),
                forward.local_port
            )
        })
        .collect()
}

/// The env file: one comment line, then the export lines.
pub fn render_env(pond: &str, forwards: &[Forward]) -> String {
    let mut text = format!("# crabbox pond {pond}: source this file for SSH-mesh addresses\n");
    for line in export_lines(forwards) {
        text.push_str(&line);
        text.push('\n');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(name: &str, provider: &str, lease: &str, ports: &[u16]) -> MeshMember {
        MeshMember {
            name: name.into(),
            provider: provider.into(),
            lease_id: lease.into(),
            ports: ports.to_vec(),
        }
    }

    #[test]
    fn env_keys() {
        for (name, key) in [
            ("client-foo", "CLIENT_FOO"),
            ("123-name", "123_NAME"),
            ("--", "_"),
            ("a--b", "A__B"),
        ] {
            assert_eq!(env_key(name), key);
        }
    }

    #[test]
    fn duplicate_names_are_disambiguated() {
        let names: Vec<String> = disambiguate(vec![
            member("web-aws", "hetzner", "cbx_000000000003", &[80]),
            member("web", "gcp", "cbx_000000000002", &[80]),
            member("web", "aws", "cbx_000000000001", &[80]),
        ])
        .into_iter()
        .map(|member| member.name)
        .collect();
        assert_eq!(names, vec!["web-aws", "web-aws-hetzner", "web-gcp"]);
        let names: Vec<String> = disambiguate(vec![
            member("api-a", "local", "cbx_aaaaaaaaaaaa", &[80]),
            member("api_a", "local", "cbx_bbbbbbbbbbbb", &[80]),
        ])
        .into_iter()
        .map(|member| env_key(&member.name))
        .collect();
        assert_eq!(names.len(), 2);
        assert_ne!(names[0], names[1]);
    }

    #[test]
    fn forwards_skip_busy_ports_and_exhaust() {
        let members = vec![member("db", "local", "cbx_1", &[5432, 8080])];
        let forwards = plan_forwards(&members, |port| port != FIRST_LOCAL_PORT).unwrap();
        assert_eq!(forwards[0].local_port, FIRST_LOCAL_PORT + 1);
        assert_eq!(forwards[1].local_port, FIRST_LOCAL_PORT + 2);
        assert_eq!(forwards[1].spec(), "127.0.0.1:51822:127.0.0.1:8080");
        assert_eq!(forwards[1].env_name(), "CRABBOX_POND_DB_8080");
        assert!(matches!(
            plan_forwards(&members, |_| false),
            Err(PondError::PortsExhausted { .. })
        ));
    }

    #[test]
    fn files_are_deterministic_and_hosts_compatible() {
        let forwards = vec![Forward {
            peer: "client-foo".into(),
            remote_port: 8080,
            local_port: 51820,
            lease_id: "cbx_1".into(),
        }];
        let hosts = render_hosts("alpha", &forwards);
        assert_eq!(hosts, render_hosts("alpha", &forwards));
        assert!(hosts.ends_with(
            "127.0.0.1  client-foo.cbx client-foo-8080.cbx  # local=127.0.0.1:51820 remote=:8080\n"
        ));
        for line in hosts.lines().filter(|line| !line.starts_with('#')) {
            let entry = line.split('#').next().unwrap();
            assert!(!entry.contains(':'), "{line}");
        }
        assert!(render_env("alpha", &forwards)
            .ends_with("export CRABBOX_POND_CLIENT_FOO_8080=127.0.0.1:51820\n"));
    }
}
