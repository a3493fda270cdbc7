//! `pond peers|connect|disconnect|release` and the `doctor --pond` section: a pond
//! is whichever leases this machine claimed with `pond=<name>`.

mod anchor;
mod connect;
mod daemons;
mod doctor;
mod mesh;
mod peers;
mod release;

use crabbox_config::{Config, FlagValue};
use crabbox_core::Claim;
use crabbox_pond::Capabilities;
use crabbox_providers::{Feature, ProviderKind};

use crate::context::App;
use crate::error::{CliError, CliResult};
use crate::leases::{self, LeaseHandle};

pub use anchor::anchor_main;
pub use connect::connect;
pub use daemons::disconnect;
pub use doctor::doctor_section;
pub use peers::peers;
pub use release::release;

/// A pond name given on the command line: required and valid.
fn required_pond(raw: &str, usage: &str) -> CliResult<String> {
    let pond = crabbox_pond::validate_pond(raw)?;
    if pond.is_empty() {
        return Err(CliError::usage(format!(
            "missing pond name\nusage: {usage}"
        )));
    }
    Ok(pond)
}

/// `~/.crabbox/pond/<pond>`.
fn pond_dir(app: &App, pond: &str) -> CliResult<std::path::PathBuf> {
    if app.paths.home.as_os_str().is_empty() {
        return Err(
            CliError::usage("HOME is not set; cannot place the pond files")
                .with_hint("set HOME to your home directory"),
        );
    }
    Ok(app.paths.home.join(".crabbox").join("pond").join(pond))
}

/// A mesh plan that names a member nobody resolved.
fn plan_error(error: crabbox_pond::PondError) -> CliError {
    CliError::of(crabbox_proto::ErrorClass::Remote, error.to_string())
}

/// Pond capabilities of a provider by name: a built-in provider's declared kind
/// and features, else the bridge catalog's declaration; unknown means none.
fn capabilities(provider: &str) -> Capabilities {
    let Some(spec) = crabbox_providers::canonical_name(provider)
        .ok()
        .and_then(|name| {
            crabbox_providers::specs()
                .iter()
                .find(|spec| spec.name == name)
        })
    else {
        return crabbox_pond::bridge::declaration(provider)
            .map(|declaration| declaration.capabilities)
            .unwrap_or_default();
    };
    Capabilities {
        tailscale: false,
        tailscale_egress: false,
        ssh_mesh: spec.kind == ProviderKind::SshLease && spec.has(Feature::Ssh),
        url_bridge: false,
    }
}

/// The canonical name of a built-in or catalogued provider.
fn known_name(provider: &str) -> Option<String> {
    crabbox_providers::canonical_name(provider)
        .map(str::to_string)
        .ok()
        .or_else(|| {
            crabbox_pond::bridge::declaration(provider)
                .map(|declaration| declaration.provider.to_string())
        })
}

/// The canonical provider name of a claim (its own text when unknown).
fn canonical(provider: &str) -> String {
    known_name(provider).unwrap_or_else(|| provider.to_string())
}

/// Local claims in `pond`, optionally of one provider, sorted by slug then ID.
fn pond_claims(app: &App, pond: &str, provider: Option<&str>) -> CliResult<Vec<Claim>> {
    let wanted = provider
        .map(|name| {
            known_name(name).ok_or_else(|| {
                let unknown = crabbox_providers::UnknownProvider {
                    name: name.to_string(),
                };
                CliError::usage(unknown.to_string()).with_hint(unknown.hint())
            })
        })
        .transpose()?;
    let mut claims: Vec<Claim> = app
        .claims
        .all()
        .into_iter()
        .filter(|claim| crabbox_pond::same_pond(&claim.pond, pond))
        .filter(|claim| {
            wanted
                .as_deref()
                .is_none_or(|name| canonical(&claim.provider) == name)
        })
        .collect();
    claims.sort_by(|left, right| (&left.slug, &left.lease_id).cmp(&(&right.slug, &right.lease_id)));
    Ok(claims)
}

fn flag(key: &'static str, value: &str) -> Option<FlagValue> {
    (!value.is_empty()).then(|| FlagValue {
        key,
        flag: format!("claim {key}"),
        value: value.to_string(),
    })
}

/// Configuration that reaches a claim's lease: its provider, and for an existing
/// host the address the claim recorded.
fn claim_config(app: &App, claim: &Claim) -> CliResult<Config> {
    let flags = [
        flag("provider", &claim.provider),
        flag("static.host", &claim.static_host),
        flag("static.user", &claim.static_user),
        flag("static.port", &claim.static_port),
        flag("static.workRoot", &claim.static_work_root),
        flag(
            "static.name",
            if claim.static_host.is_empty() {
                ""
            } else {
                &claim.slug
            },
        ),
    ];
    // The checkout's config applies too (it may set `sealosDevbox.deleteOnRelease`).
    let repo = app.repo();
    app.config(
        repo.is_git.then_some(repo.root.as_path()),
        flags.into_iter().flatten().collect(),
    )
}

/// The live lease behind a claim, through its own provider or coordinator.
async fn resolve_claim(app: &App, claim: &Claim, access: leases::Access) -> CliResult<LeaseHandle> {
    let config = claim_config(app, claim)?;
    leases::resolve_as(app, &config, &claim.lease_id, access).await
}

/// Exposed ports a claim recorded in its labels.
fn claim_ports(claim: &Claim) -> Vec<u16> {
    claim
        .labels
        .get(crabbox_pond::EXPOSED_PORTS_LABEL)
        .map(|label| crabbox_pond::decode_ports_label(label))
        .unwrap_or_default()
}
