//! `crabbox cleanup`: remove expired leases of a provider.

use std::collections::HashSet;

use crabbox_core::{now_unix, Claim};
use crabbox_proto::ErrorClass;
use crabbox_providers::Provider;

use crate::cli::CleanupArgs;
use crate::context::{provider_flags, App};
use crate::error::{CliError, CliResult};
use crate::exit::ExitStatus;
use crate::leases;

pub async fn cleanup(app: &mut App, args: CleanupArgs) -> CliResult<ExitStatus> {
    let (_, config) = app.repo_config(provider_flags(&args.provider))?;
    let settings = config.settings();
    let brokered = settings.coordinator().is_some()
        && settings
            .provider
            .as_deref()
            .and_then(|name| crabbox_providers::canonical_name(name).ok())
            .is_none_or(|name| {
                crabbox_providers::specs()
                    .iter()
                    .any(|spec| spec.name == name && spec.coordinator)
            });
    if brokered {
        return Err(CliError::usage(
            "machine cleanup is disabled when a coordinator is configured; coordinator TTL alarms own brokered cleanup",
        ));
    }
    let provider = app.provider(&config, false)?.provider;
    let Some(reaper) = provider.reaper() else {
        return Err(CliError::usage(format!(
            "machine cleanup is not supported for provider={}",
            provider.spec().name
        )));
    };
    let decisions = reaper
        .reap(now_unix(), args.dry_run)
        .map_err(|error| CliError::of(ErrorClass::Failed, error.to_string()))?;
    for decision in &decisions {
        if decision.delete {
            let verb = if args.dry_run {
                "would delete"
            } else {
                "delete"
            };
            app.printer.error_line(format!(
                "{verb} server id={} name={} reason={}",
                decision.lease_id, decision.name, decision.reason
            ));
            if !args.dry_run {
                app.forget(provider.spec().name, &decision.lease_id);
            }
        } else {
            app.printer.error_line(format!(
                "skip server id={} name={} reason={}",
                decision.lease_id, decision.name, decision.reason
            ));
        }
    }
    let stale = remove_stale_claims(app, provider.as_ref(), args.dry_run).await;
    if decisions.is_empty() && stale == 0 {
        app.printer
            .note(format!("no leases (provider {})", provider.spec().name));
    }
    Ok(ExitStatus::Success)
}

/// Claims of `provider` whose lease its inventory no longer has. Only a
/// successful listing proves a lease absent; on any error nothing is removed.
async fn remove_stale_claims(app: &App, provider: &dyn Provider, dry_run: bool) -> usize {
    let name = provider.spec().name;
    let listed = match provider.list().await {
        Ok(leases) => leases,
        Err(error) => {
            app.printer.warn(format!(
                "stale claims kept: cannot list provider {name}: {error}"
            ));
            return 0;
        }
    };
    let known: HashSet<&str> = listed.iter().map(|lease| lease.id.as_str()).collect();
    // Only this scope's inventory proves anything: a claim made under another
    // cluster, context or namespace (or one that predates scopes) is kept.
    let scope = provider.scope();
    let stale: Vec<Claim> = app
        .claims
        .all()
        .into_iter()
        .filter(|claim| claim.provider == name && leases::claim_coordinator(claim).is_none())
        .filter(|claim| {
            scope
                .as_deref()
                .is_none_or(|scope| claim.provider_scope == scope)
        })
        .filter(|claim| !known.contains(claim.lease_id.as_str()))
        // A create in progress in another process is not stale yet.
        .filter(|claim| claim.pending_creator().is_none() || claim.is_abandoned())
        .collect();
    for claim in &stale {
        let verb = if dry_run { "would remove" } else { "remove" };
        let reason = if claim.is_abandoned() {
            "its create was interrupted".to_string()
        } else {
            format!("provider {name} has no such lease")
        };
        app.printer.error_line(format!(
            "{verb} stale claim id={} slug={} reason={reason}",
            claim.lease_id, claim.slug
        ));
        if !dry_run {
            if claim.is_abandoned() {
                // Whatever the killed create had made (a process, a directory, a
                // network namespace) goes with the claim.
                if let Err(error) = provider.release(&claim.lease_id).await {
                    app.printer.warn(format!(
                        "could not remove what the interrupted create of {} left: {error}",
                        claim.lease_id
                    ));
                    continue;
                }
            }
            app.forget(name, &claim.lease_id);
        }
    }
    stale.len()
}
