//! Peer rows with their URL bridges consulted: per provider, one adapter
//! loaded on first need; per member, publish (`--share-port`) or list, with
//! the degrade-in-place rules for partial failures; across providers, healthy
//! providers are kept unless every provider failed.

use std::collections::BTreeMap;
use std::time::Duration;

use crabbox_proto::ErrorClass;

use super::{BridgeAdapter, BridgeError};
use crate::{build_row, sort_rows, PeerRow, PeerSource, Transport};

/// `--share-port` / `--share-ttl`; `None` lists without publishing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShareRequest {
    pub port: u16,
    pub ttl: Duration,
}

/// A provider whose bridge failed; `Display` is `<provider>: <message>`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{provider}: {message}")]
pub struct ResolveError {
    pub provider: String,
    pub message: String,
    pub class: ErrorClass,
    pub hint: String,
}

impl ResolveError {
    fn new(provider: &str, message: String, source: &BridgeError) -> ResolveError {
        ResolveError {
            provider: provider.to_string(),
            message,
            class: source.class(),
            hint: source.hint(),
        }
    }
}

/// Loads the adapter of a provider (`Ok(None)`: it has none).
pub type AdapterLoader<'a> =
    &'a dyn Fn(&str) -> Result<Option<Box<dyn BridgeAdapter>>, BridgeError>;

/// Rows for every source, grouped by provider in name order. With
/// `single_provider` any provider error fails the whole call (no partial
/// output); otherwise the call fails only when no provider succeeded.
pub async fn resolve_pond(
    sources: &[PeerSource],
    single_provider: bool,
    share: Option<ShareRequest>,
    load: AdapterLoader<'_>,
) -> Result<Vec<PeerRow>, ResolveError> {
    let mut groups: BTreeMap<&str, Vec<&PeerSource>> = BTreeMap::new();
    for source in sources {
        groups
            .entry(source.provider.as_str())
            .or_default()
            .push(source);
    }
    let mut rows = Vec::new();
    let mut first_error = None;
    let mut succeeded = 0;
    for (provider, group) in &groups {
        let (provider_rows, error) = resolve_provider(provider, group, share, load).await;
        match error {
            Some(error) if single_provider => return Err(error),
            Some(error) => {
                first_error.get_or_insert(error);
            }
            None => succeeded += 1,
        }
        rows.extend(provider_rows);
    }
    if let Some(error) = first_error.filter(|_| succeeded == 0) {
        return Err(error);
    }
    sort_rows(&mut rows);
    Ok(rows)
}

/// Label keys a recorded tailnet address lives in.
const TAILNET_LABELS: [&str; 4] = [
    "tailscale",
    "tailscale_state",
    "tailscale_ipv4",
    "tailscale_fqdn",
];

fn joined_tailnet(source: &PeerSource) -> bool {
    !source.tailnet_ipv4.is_empty()
        || !source.tailnet_fqdn.is_empty()
        || TAILNET_LABELS.iter().any(|key| {
            source
                .labels
                .get(*key)
                .is_some_and(|value| !value.is_empty() && value != "false")
        })
}

fn resolved(row: &PeerRow) -> bool {
    match row.transport {
        Transport::Tailnet | Transport::Ssh => true,
        Transport::Url => !row.endpoint.is_empty() || !row.targets.is_empty(),
        Transport::Pending | Transport::None => false,
    }
}

/// Marks a row whose bridge cannot serve it.
fn degrade(row: &mut PeerRow, state: &str, note: String, url_primary: bool) {
    row.bridge_state = state.to_string();
    row.note = note;
    if url_primary {
        row.transport = Transport::None;
    }
}

/// Re-checks a tailnet member with the provider and rebuilds its row.
async fn revalidate(source: &PeerSource, adapter: &dyn BridgeAdapter) -> Option<PeerRow> {
    let caps = source.capabilities;
    if !(caps.tailscale || caps.tailscale_egress) || !joined_tailnet(source) {
        return None;
    }
    let mut source = source.clone();
    match adapter.validate_tailnet(&source.lease_id).await {
        Ok(peer) => {
            source.tailnet_ipv4 = peer.ipv4.clone();
            source.tailnet_fqdn = peer.fqdn.clone();
            source.labels.insert("tailscale".into(), "true".into());
            source
                .labels
                .insert("tailscale_state".into(), "ready".into());
            source.labels.insert("tailscale_ipv4".into(), peer.ipv4);
            source.labels.insert("tailscale_fqdn".into(), peer.fqdn);
            Some(build_row(&source))
        }
        Err(BridgeError::NotImplemented { .. } | BridgeError::TailnetValidationUnavailable(_)) => {
            None
        }
        Err(error) => {
            source.tailnet_ipv4.clear();
            source.tailnet_fqdn.clear();
            for key in TAILNET_LABELS {
                source.labels.remove(key);
            }
            let mut row = build_row(&source);
            row.note = format!("tailnet validation failed: {error}");
            Some(row)
        }
    }
}

/// One provider's rows and, when it failed, why.
async fn resolve_provider(
    provider: &str,
    sources: &[&PeerSource],
    share: Option<ShareRequest>,
    load: AdapterLoader<'_>,
) -> (Vec<PeerRow>, Option<ResolveError>) {
    let mut adapter: Option<Result<Option<Box<dyn BridgeAdapter>>, BridgeError>> = None;
    let mut rows = Vec::new();
    let mut deferred = None;
    for (index, source) in sources.iter().enumerate() {
        let mut row = build_row(source);
        if row.transport != Transport::Url && !source.capabilities.url_bridge {
            rows.push(row);
            continue;
        }
        let loaded = adapter.get_or_insert_with(|| load(provider));
        if let Ok(Some(adapter)) = loaded {
            if let Some(revalidated) = revalidate(source, adapter.as_ref()).await {
                row = revalidated;
            }
        }
        let url_primary = row.transport == Transport::Url;
        let secondary_read = !url_primary && share.is_none();
        let adapter = match loaded {
            Ok(adapter) => adapter.as_deref(),
            Err(error) if secondary_read => {
                if row.transport == Transport::Tailnet {
                    row.note = format!("tailnet validation unavailable: {error}");
                }
                rows.push(row);
                continue;
            }
            Err(error) if share.is_none() => {
                let message = format!("bridge lookup failed for provider {provider}: {error}");
                degrade(&mut row, "error", message.clone(), true);
                deferred.get_or_insert(ResolveError::new(provider, message, error));
                rows.push(row);
                continue;
            }
            Err(error) => {
                let message = format!("bridge lookup failed for provider {provider}: {error}");
                return (rows, Some(ResolveError::new(provider, message, error)));
            }
        };
        let need_bridge = share.is_some()
            || (url_primary && row.endpoint.is_empty())
            || (!url_primary && source.capabilities.url_bridge);
        let Some(adapter) = adapter.filter(|_| need_bridge) else {
            if need_bridge && !secondary_read {
                let note = format!("no bridge adapter for provider {provider}");
                degrade(&mut row, "unsupported-provider", note, url_primary);
            }
            rows.push(row);
            continue;
        };
        let unsupported = format!("bridge adapter for provider {provider} reports unsupported");
        if let Some(share) = share {
            match adapter
                .publish(&source.lease_id, share.port, share.ttl)
                .await
            {
                Ok(target) => {
                    if row.endpoint.is_empty() {
                        row.endpoint = target.url.clone();
                    }
                    row.targets.push(target);
                }
                Err(BridgeError::NotImplemented { .. }) => {
                    degrade(&mut row, "unsupported", unsupported, url_primary)
                }
                Err(error) => {
                    let message = format!(
                        "publish peer {} port={}: {error}",
                        source.lease_id, share.port
                    );
                    rows.push(row);
                    rows.extend(sources[index + 1..].iter().map(|source| build_row(source)));
                    return (rows, Some(ResolveError::new(provider, message, &error)));
                }
            }
        } else {
            match adapter.list(&source.lease_id).await {
                Ok(targets) => {
                    if row.endpoint.is_empty() {
                        row.endpoint = targets
                            .first()
                            .map(|target| target.url.clone())
                            .unwrap_or_default();
                    }
                    row.targets = targets;
                }
                Err(BridgeError::NotImplemented { .. }) => {
                    degrade(&mut row, "unsupported", unsupported, url_primary)
                }
                Err(error) if secondary_read => {
                    row.bridge_state = "error".into();
                    row.note = format!("list secondary bridge targets failed: {error}");
                }
                Err(error) => {
                    let message = format!("list bridge targets failed: {error}");
                    degrade(&mut row, "error", message.clone(), true);
                    deferred.get_or_insert(ResolveError::new(provider, message, &error));
                }
            }
        }
        rows.push(row);
    }
    let failed = deferred.filter(|_| !rows.iter().any(resolved));
    (rows, failed)
}
