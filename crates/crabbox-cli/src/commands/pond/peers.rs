//! `pond peers`: one row per member with its plane and endpoint; URL-bridge
//! providers are asked for their published URLs (or publish with `--share-port`).

use crabbox_core::Claim;
use crabbox_pond::bridge::{self, ShareRequest};
use crabbox_pond::{sort_rows, PeerRow, PeerSource};
use serde_json::json;

use crate::cli::PondPeersArgs;
use crate::context::App;
use crate::error::{CliError, CliResult};
use crate::exit::ExitStatus;

/// What each claim's row is built from.
pub(super) fn sources(claims: &[Claim]) -> Vec<PeerSource> {
    claims
        .iter()
        .map(|claim| {
            let label = |key: &str| claim.labels.get(key).cloned().unwrap_or_default();
            PeerSource {
                slug: claim.slug.clone(),
                lease_id: claim.lease_id.clone(),
                provider: super::canonical(&claim.provider),
                pond: claim.pond.clone(),
                labels: claim.labels.clone(),
                ssh_host: claim.ssh_host.clone(),
                ssh_port: claim.ssh_port.trim().parse().unwrap_or(0),
                bridge_url: claim.bridge_url.clone(),
                tailnet_ipv4: label("tailscale_ipv4"),
                tailnet_fqdn: label("tailscale_fqdn"),
                provider_owns_connectivity: bridge::declaration(&claim.provider)
                    .is_some_and(|declaration| declaration.owns_connectivity),
                capabilities: super::capabilities(&claim.provider),
            }
        })
        .collect()
}

/// Rows with URL bridges consulted (adapters read their settings from the
/// environment). With one `--provider` any bridge failure fails the command.
pub(super) async fn rows(
    claims: &[Claim],
    single_provider: bool,
    share: Option<ShareRequest>,
) -> CliResult<Vec<PeerRow>> {
    let load = |provider: &str| bridge::adapter_for(provider, &|name| std::env::var(name).ok());
    let mut rows = bridge::resolve_pond(&sources(claims), single_provider, share, &load)
        .await
        .map_err(|error| {
            let hint = error.hint.clone();
            CliError::classified(error.class, error).with_hint(hint)
        })?;
    sort_rows(&mut rows);
    Ok(rows)
}

pub async fn peers(app: &mut App, args: PondPeersArgs) -> CliResult<ExitStatus> {
    let raw = args.pond.as_deref().unwrap_or("");
    if raw.trim().is_empty() {
        return Err(CliError::usage("--pond is required")
            .with_hint("crabbox pond peers --pond NAME [--provider P] [--json]"));
    }
    let pond = super::required_pond(raw, "crabbox pond peers --pond NAME")?;
    if args.share_port > 65535 {
        return Err(CliError::usage(format!(
            "invalid --share-port {}: must be 1-65535, or 0 for off",
            args.share_port
        )));
    }
    let ttl = crabbox_core::parse_duration(&args.share_ttl)
        .map_err(|_| CliError::usage(format!("invalid --share-ttl {:?}", args.share_ttl)))?;
    let share = (args.share_port != 0).then_some(ShareRequest {
        port: args.share_port as u16,
        ttl,
    });
    let claims = super::pond_claims(app, &pond, args.provider.as_deref())?;
    let rows = rows(&claims, args.provider.is_some(), share).await?;
    if args.json {
        app.printer.json(&json!({ "members": rows }));
    } else if rows.is_empty() {
        app.printer.out("no peers found");
    } else {
        for row in &rows {
            app.printer.out(row.text());
        }
    }
    Ok(ExitStatus::Success)
}
