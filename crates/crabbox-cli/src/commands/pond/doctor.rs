//! The `doctor --pond` section: the tailnet policy check, the reachability matrix,
//! SSH-mesh counts and the URL-target probe.

use crabbox_pond::bridge;
use crabbox_pond::tailnet::{self, ClaimPlanes};
use crabbox_pond::{Matrix, Transport};
use serde_json::{json, Value};

use crate::context::App;
use crate::error::CliResult;

/// One doctor line contributed by the pond section.
pub struct PondCheck {
    pub status: &'static str,
    pub check: String,
    pub message: String,
    pub details: Value,
}

/// The checks plus the matrix (printed after the checks).
pub struct PondSection {
    pub checks: Vec<PondCheck>,
    pub matrix: Matrix,
}

fn git_email() -> Option<String> {
    let output = std::process::Command::new("git")
        .args(["config", "--get", "user.email"])
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    let email = String::from_utf8_lossy(&output.stdout).trim().to_string();
    (!email.is_empty()).then_some(email)
}

pub async fn doctor_section(app: &App, raw: &str) -> CliResult<PondSection> {
    let pond = super::required_pond(raw, "crabbox doctor --pond NAME")?;
    let claims = super::pond_claims(app, &pond, None)?;
    // Bridge failures degrade rows here instead of failing doctor.
    let rows = match super::peers::rows(&claims, false, None).await {
        Ok(rows) => rows,
        Err(_) => {
            let mut rows: Vec<_> = super::peers::sources(&claims)
                .iter()
                .map(crabbox_pond::build_row)
                .collect();
            crabbox_pond::sort_rows(&mut rows);
            rows
        }
    };
    let mut checks = Vec::new();

    let owner = tailnet::owner_identity(|key| std::env::var(key).ok(), git_email);
    let tag = tailnet::pond_tag(&owner, &pond).unwrap_or_default();
    let planes: Vec<ClaimPlanes> = claims
        .iter()
        .map(|claim| {
            let capabilities = super::capabilities(&claim.provider);
            ClaimPlanes {
                tailscale: capabilities.tailscale || capabilities.tailscale_egress,
                url_bridge: capabilities.url_bridge,
                has_tailnet_metadata: claim.labels.contains_key("tailscale_ipv4")
                    || claim.labels.contains_key("tailscale_fqdn")
                    || claim
                        .labels
                        .get("tailscale_state")
                        .is_some_and(|state| !state.is_empty()),
            }
        })
        .collect();
    let policy =
        tailnet::tailscale_policy_check(&pond, &tag, &planes, &tailnet::AclSettings::from_env())
            .await;
    checks.push(PondCheck {
        status: policy.status.as_str(),
        check: policy.check.to_string(),
        message: policy.message,
        details: serde_json::to_value(&policy.details).unwrap_or(Value::Null),
    });

    let mesh: Vec<_> = claims
        .iter()
        .filter(|claim| super::capabilities(&claim.provider).ssh_mesh)
        .collect();
    let forwards: usize = mesh
        .iter()
        .map(|claim| super::claim_ports(claim).len())
        .sum();
    let pending = rows
        .iter()
        .filter(|row| row.transport == Transport::Pending)
        .count();
    checks.push(PondCheck {
        status: if mesh.is_empty() || pending > 0 {
            "warning"
        } else {
            "ok"
        },
        check: "pond-ssh".into(),
        message: format!(
            "pond {pond:?}: ssh mesh members={} forwards={forwards} pending={pending}",
            mesh.len()
        ),
        details: json!({"members": mesh.len(), "forwards": forwards, "pending": pending}),
    });

    let url_rows: Vec<_> = rows
        .iter()
        .filter(|row| row.transport == Transport::Url || !row.targets.is_empty())
        .cloned()
        .collect();
    if url_rows.is_empty() {
        checks.push(PondCheck {
            status: "skip",
            check: "pond-url".into(),
            message: format!(
                "pond {pond:?}: no URL targets to probe (no member uses a URL bridge)"
            ),
            details: json!({"targets": 0}),
        });
    } else {
        let probes = bridge::probe_targets(&url_rows, bridge::PROBE_TIMEOUT).await;
        let reachable = probes
            .iter()
            .filter(|probe| probe.state == "reachable")
            .count();
        checks.push(PondCheck {
            status: if reachable == probes.len() {
                "ok"
            } else {
                "warning"
            },
            check: "pond-url".into(),
            message: format!(
                "pond {pond:?}: {reachable}/{} URL member(s) reachable over HTTPS",
                probes.len()
            ),
            details: json!({"probes": probes}),
        });
    }
    Ok(PondSection {
        checks,
        matrix: Matrix::build(&pond, &rows),
    })
}
