//! `pond connect`: membership, the forward table, the `hosts`/`env` files, then
//! the foreground mesh or `--export` daemons.

use std::collections::BTreeSet;
use std::net::TcpListener;
use std::path::PathBuf;

use crabbox_pond::{disambiguate, export_lines, plan_forwards, Forward, MeshMember};
use crabbox_proto::ExitCode;
use crabbox_ssh::Target;
use serde_json::json;

use crate::cli::PondConnectArgs;
use crate::context::App;
use crate::error::{CliError, CliResult};
use crate::exit::ExitStatus;
use crate::leases;

/// One member with forwards: its display name and how to reach it.
pub(super) struct Reachable {
    pub lease_id: String,
    pub target: Target,
}

/// `~/.crabbox/pond/<pond>`.
pub(super) fn pond_dir(app: &App, pond: &str) -> CliResult<PathBuf> {
    if app.paths.home.as_os_str().is_empty() {
        return Err(
            CliError::usage("HOME is not set; cannot place the pond files")
                .with_hint("set HOME to your home directory"),
        );
    }
    Ok(app.paths.home.join(".crabbox").join("pond").join(pond))
}

fn port_is_free(port: u16) -> bool {
    TcpListener::bind(("127.0.0.1", port)).is_ok()
}

fn write_private(path: &std::path::Path, text: &str) -> CliResult<()> {
    crabbox_core::write_private_atomic(path, text.as_bytes()).map_err(|error| {
        CliError::new(
            ExitCode::Failure,
            format!("cannot write {}: {error}", path.display()),
        )
    })
}

/// The `ssh` arguments for one member: multiplexing off, no command, and every
/// forward must bind or ssh exits.
pub(super) fn ssh_args(target: &Target, forwards: &[&Forward]) -> Vec<String> {
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
pub(super) fn groups(forwards: &[Forward]) -> Vec<Vec<&Forward>> {
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
pub(super) fn group_label(group: &[&Forward]) -> String {
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

pub async fn connect(app: &mut App, args: PondConnectArgs) -> CliResult<ExitStatus> {
    let pond = super::required_pond(&args.name, "crabbox pond connect NAME")?;
    let claims = super::pond_claims(app, &pond, args.provider.as_deref())?;
    let mut skipped = BTreeSet::new();
    let mut members = Vec::new();
    let mut reachable = Vec::new();
    for claim in &claims {
        if !super::capabilities(&claim.provider).ssh_mesh {
            if skipped.insert(claim.provider.clone()) {
                app.printer.warn(format!(
                    "pond {pond:?}: skipping provider {:?} (no SSH-mesh capability)",
                    claim.provider
                ));
            }
            continue;
        }
        let ports = super::claim_ports(claim);
        let name = if claim.slug.is_empty() {
            claim.lease_id.clone()
        } else {
            claim.slug.clone()
        };
        // Portless members are never resolved: nothing would use them.
        if !ports.is_empty() && !args.json {
            let resolved = super::resolve_claim(app, claim, leases::Access::Use).await?;
            reachable.push(Reachable {
                lease_id: claim.lease_id.clone(),
                target: leases::target(app, &resolved.lease)?,
            });
        }
        members.push(MeshMember {
            name,
            provider: super::canonical(&claim.provider),
            lease_id: claim.lease_id.clone(),
            ports,
        });
    }
    if members.is_empty() {
        app.printer
            .note(format!("pond {pond:?} has no SSH-mesh-capable members"));
        return Ok(ExitStatus::Success);
    }
    let members = disambiguate(members);
    let dir = pond_dir(app, &pond)?;
    let hosts_path = dir.join("hosts");
    let env_path = dir.join("env");
    if args.json {
        // No side effects: the table as it would be planned on a quiet machine.
        let forwards = plan_forwards(&members, |_| true)?;
        app.printer.json(&json!({
            "hostsPath": hosts_path.display().to_string(),
            "envPath": env_path.display().to_string(),
            "exports": export_lines(&forwards),
            "forwards": forwards,
        }));
        return Ok(ExitStatus::Success);
    }
    let forwards = plan_forwards(&members, port_is_free)?;
    if forwards.is_empty() {
        app.printer.note(format!(
            "pond {pond:?} has no members declaring --expose; nothing to forward"
        ));
        return Ok(ExitStatus::Success);
    }
    crabbox_core::ensure_private_dir(&dir).map_err(|error| {
        CliError::new(
            ExitCode::Failure,
            format!("cannot create {}: {error}", dir.display()),
        )
    })?;
    write_private(&hosts_path, &crabbox_pond::render_hosts(&pond, &forwards))?;
    write_private(&env_path, &crabbox_pond::render_env(&pond, &forwards))?;
    for forward in &forwards {
        app.printer.note(format!(
            "  -L 127.0.0.1:{} -> {}:{}",
            forward.local_port, forward.peer, forward.remote_port
        ));
    }
    let plan = super::mesh::Plan {
        pond,
        forwards,
        reachable,
        hosts_path,
        env_path,
        dir,
    };
    if args.export {
        super::daemons::export(app, &plan)
    } else {
        super::mesh::foreground(app, &plan).await
    }
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
        let target = Target {
            lease_id: "cbx_2".into(),
            user: "root".into(),
            host: "10.213.0.2".into(),
            port: 2222,
            fallback_ports: vec![22],
            key: Some("/keys/id".into()),
            known_hosts: "/keys/known_hosts".into(),
            trust: crabbox_ssh::HostTrust::AcceptNew,
            control_dir: "/ctl".into(),
        };
        let args = ssh_args(&target, &groups[0]);
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
}
