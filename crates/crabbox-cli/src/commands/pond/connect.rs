//! `pond connect`: membership, the forward table, the `hosts`/`env` files, then
//! the foreground mesh or `--export` daemons.

use std::collections::BTreeSet;
use std::net::TcpListener;

use crabbox_pond::{disambiguate, export_lines, plan_forwards, MeshMember, MeshPlan, Reachable};
use crabbox_proto::ErrorClass;
use serde_json::json;

use crate::cli::PondConnectArgs;
use crate::context::App;
use crate::error::{CliError, CliResult};
use crate::exit::ExitStatus;
use crate::leases;

fn port_is_free(port: u16) -> bool {
    TcpListener::bind(("127.0.0.1", port)).is_ok()
}

fn write_private(path: &std::path::Path, text: &str) -> CliResult<()> {
    crabbox_core::write_private_atomic(path, text.as_bytes()).map_err(|error| {
        CliError::of(
            ErrorClass::Failed,
            format!("cannot write {}: {error}", path.display()),
        )
    })
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
    let dir = super::pond_dir(app, &pond)?;
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
        CliError::of(
            ErrorClass::Failed,
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
    let plan = MeshPlan {
        pond,
        forwards,
        reachable,
        hosts_path,
        env_path,
        dir,
    };
    if args.export {
        super::daemons::export(app, &plan).await
    } else {
        super::mesh::foreground(app, &plan).await
    }
}
