//! Turning an `--id` value (lease ID or slug) into a lease and the provider that
//! owns it: local claims first, then the coordinator or the provider's inventory.

use std::sync::Arc;

use crabbox_client::Client;
use crabbox_config::Config;
use crabbox_core::Claim;
use crabbox_proto::ErrorClass;
use crabbox_providers::{Lease, Provider, ProviderError};

use super::LeaseHandle;
use crate::brokered::{BrokeredProvider, CLAIM_COORDINATOR_KEY};
use crate::context::App;
use crate::error::{CliError, CliResult};

/// Finds the claim(s) matching `value` (an ID or a slug). Errors when several
/// leases share the slug.
fn claim_for(app: &App, value: &str, provider: Option<&str>) -> CliResult<Option<Claim>> {
    let mut matches = app.claims.find(value);
    if let Some(provider) = provider {
        matches.retain(|claim| claim.provider == provider);
    }
    match matches.len() {
        0 => Ok(None),
        1 => Ok(matches.pop()),
        _ => {
            let ids: Vec<&str> = matches
                .iter()
                .map(|claim| claim.lease_id.as_str())
                .collect();
            Err(CliError::usage(format!(
                "{value:?} matches several leases: {}",
                ids.join(", ")
            ))
            .with_hint("use a canonical lease id (cbx_…) instead of the slug"))
        }
    }
}

/// The lease ID given by `--id` or the positional argument (exactly one).
pub fn lease_value(
    id: &Option<String>,
    positional: &Option<String>,
    usage: &str,
) -> CliResult<String> {
    match (id, positional) {
        (Some(_), Some(_)) => Err(CliError::usage(format!(
            "pass the lease either as --id or as an argument, not both\nusage: {usage}"
        ))),
        (Some(value), None) | (None, Some(value)) if !value.trim().is_empty() => {
            Ok(value.trim().to_string())
        }
        _ => Err(CliError::usage(format!("missing lease id\nusage: {usage}"))
            .with_hint("`crabbox list` shows your leases")),
    }
}

/// The coordinator URL a claim records for a brokered lease.
pub fn claim_coordinator(claim: &Claim) -> Option<&str> {
    claim
        .extra
        .get(CLAIM_COORDINATOR_KEY)
        .and_then(|value| value.as_str())
        .filter(|url| !url.is_empty())
}

/// Resolves an ID or slug through local claims first, then the coordinator (when
/// one brokers the provider) or the provider's inventory. A lease proven gone has
/// its claim and keys removed before the error.
pub async fn resolve(app: &App, config: &Config, value: &str) -> CliResult<LeaseHandle> {
    resolve_as(app, config, value, Access::Use).await
}

/// Whether the caller will use the lease (a paused machine is resumed) or only
/// look at it (nothing on the provider side changes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Use,
    ReadOnly,
}

/// The provider a lookup of `value` goes to: an explicit `--provider`/config
/// choice, else the claim's, else the default.
pub fn selected_provider_name(app: &App, config: &Config, value: &str) -> String {
    explicit_provider(config)
        .ok()
        .flatten()
        .or_else(|| {
            let matches = app.claims.find(value);
            (matches.len() == 1).then(|| matches[0].provider.clone())
        })
        .unwrap_or_else(|| crate::context::DEFAULT_PROVIDER.to_string())
}

fn explicit_provider(config: &Config) -> CliResult<Option<String>> {
    Ok(config
        .source("provider")
        .filter(|source| !matches!(source, crabbox_config::Source::Default))
        .and(config.settings().provider.as_deref())
        .map(|name| crabbox_providers::canonical_name(name).map(str::to_string))
        .transpose()?)
}

pub async fn resolve_as(
    app: &App,
    config: &Config,
    value: &str,
    access: Access,
) -> CliResult<LeaseHandle> {
    let explicit = explicit_provider(config)?;
    let claim = claim_for(app, value, explicit.as_deref())?;
    let provider_name = match (&explicit, &claim) {
        (Some(name), _) => name.clone(),
        (None, Some(claim)) => claim.provider.clone(),
        (None, None) => crate::context::DEFAULT_PROVIDER.to_string(),
    };
    let provider = crabbox_providers::create(
        &provider_name,
        &crabbox_providers::ProviderSettings::from_config(&app.paths, config),
    )?;
    // A claim remembers how its lease was made; without one, a configured
    // coordinator brokers every provider it can.
    let brokered_by = match &claim {
        Some(claim) => claim_coordinator(claim).map(str::to_string),
        None if provider.spec().coordinator => config
            .settings()
            .coordinator()
            .map(|broker| broker.url.clone()),
        None => None,
    };
    if let Some(url) = brokered_by {
        let client = app.coordinator(config)?.ok_or_else(|| {
            CliError::usage(format!(
                "lease {value} was leased through the coordinator at {url}, but no coordinator is configured"
            ))
            .with_hint(format!("set CRABBOX_COORDINATOR={url} (and its token)"))
        })?;
        return resolve_brokered(app, client, provider, claim, value).await;
    }
    if let Some(claim) = &claim {
        if let Some(error) = other_scope(claim, provider.as_ref()) {
            return Err(error);
        }
    }
    let lease_id = match &claim {
        Some(claim) => claim.lease_id.clone(),
        None => find_in_inventory(provider.as_ref(), value).await?,
    };
    let found = match access {
        Access::Use => provider.resolve(&lease_id).await,
        Access::ReadOnly => provider.inspect(&lease_id).await,
    };
    match found {
        Ok(lease) => Ok(LeaseHandle::new(app, lease, provider, None, false)),
        Err(error @ (ProviderError::NotFound { .. } | ProviderError::Expired { .. })) => {
            // The provider proves the machine absent: no stale claim, no stray sshd.
            let _ = provider.release(&lease_id).await;
            app.forget(provider.spec().name, &lease_id);
            Err(gone(error, claim.is_some()))
        }
        Err(error) => Err(error.into()),
    }
}

/// `GET /v1/leases/{idOrSlug}`. Only a lease the coordinator reports ended loses
/// its claim; a 404 may just mean another identity owns it.
async fn resolve_brokered(
    app: &App,
    client: Client,
    inner: Arc<dyn Provider>,
    claim: Option<Claim>,
    value: &str,
) -> CliResult<LeaseHandle> {
    let provider: Arc<dyn Provider> = Arc::new(BrokeredProvider::new(
        client.clone(),
        inner,
        app.cancel.clone(),
    ));
    let lookup = claim
        .as_ref()
        .map(|claim| claim.lease_id.clone())
        .unwrap_or_else(|| value.to_string());
    match provider.resolve(&lookup).await {
        Ok(lease) => Ok(LeaseHandle::new(app, lease, provider, Some(client), false)),
        Err(error @ (ProviderError::NotFound { .. } | ProviderError::Expired { .. })) => {
            if let Some(claim) = &claim {
                app.forget(&claim.provider, &claim.lease_id);
            }
            Err(gone(error, claim.is_some()))
        }
        Err(error) => Err(error.into()),
    }
}

/// A claim recorded under another scope of its provider (another cluster,
/// context or namespace) is not found here, and is never removed from here.
pub fn other_scope(claim: &Claim, provider: &dyn Provider) -> Option<CliError> {
    let current = provider.scope()?;
    if claim.provider_scope.is_empty() || claim.provider_scope == current {
        return None;
    }
    Some(
        CliError::of(
            ErrorClass::NotFound,
            format!(
                "lease {} was claimed in another {} scope ({}); the current settings select {current}; nothing was changed",
                claim.lease_id, claim.provider, claim.provider_scope
            ),
        )
        .with_hint("use the settings it was created with (kubeconfig, context, namespace, route)"),
    )
}

fn gone(error: ProviderError, had_claim: bool) -> CliError {
    let mut cli = CliError::from(error);
    if had_claim {
        cli.hint = Some(format!(
            "{}; its stale claim was removed",
            cli.hint
                .unwrap_or_else(|| "start a new lease with `crabbox warmup`".into())
        ));
    }
    cli
}

async fn find_in_inventory(provider: &dyn Provider, value: &str) -> CliResult<String> {
    let slug = crabbox_core::normalize_slug(value);
    let leases = provider.list().await?;
    let mut matches: Vec<&Lease> = leases
        .iter()
        .filter(|lease| lease.id == value || (!slug.is_empty() && lease.slug == slug))
        .collect();
    match matches.len() {
        0 => Err(CliError::of(
            ErrorClass::NotFound,
            format!(
                "no lease matches {value:?} (provider {})",
                provider.spec().name
            ),
        )
        .with_hint("`crabbox list` shows active leases; `crabbox claims list` shows local claims")),
        1 => Ok(matches.remove(0).id.clone()),
        _ => Err(CliError::usage(format!(
            "{value:?} matches several leases: {}",
            matches
                .iter()
                .map(|lease| lease.id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))
        .with_hint("use a canonical lease id (cbx_…) instead of the slug")),
    }
}
