//! Creating a lease, binding it to this checkout, and releasing it.

use std::sync::Arc;

use crabbox_config::Config;
use crabbox_core::{allocate_slug, now_unix, Claim, LeaseId};
use crabbox_proto::ErrorClass;
use crabbox_providers::{AcquireRequest, Lease, Provider, Released};
use crabbox_ssh::Connection;

use crate::brokered::CLAIM_COORDINATOR_KEY;
use crate::context::App;
use crate::error::{CliError, CliResult};

use super::home::LeaseHome;
use super::target;

/// Lifetime settings for a new lease.
pub struct LeaseSettings {
    pub keep: bool,
    pub slug: Option<String>,
    /// Normalized pond name, empty for none.
    pub pond: String,
    pub exposed_ports: Vec<u16>,
    /// The checkout the new lease is bound to.
    pub repo_root: String,
    /// The coordinator that brokers the provider, recorded in the claim.
    pub coordinator: Option<String>,
}

impl LeaseSettings {
    /// Validates `--pond` (from config, where the flag lands) and `--expose`
    /// before anything is leased.
    pub fn new(
        config: &Config,
        keep: bool,
        slug: Option<String>,
        expose: &[String],
    ) -> CliResult<LeaseSettings> {
        Ok(LeaseSettings {
            keep,
            slug,
            pond: crabbox_pond::validate_pond(&config.settings().lease.pond)?,
            exposed_ports: crabbox_pond::parse_exposed_ports(expose)?,
            repo_root: String::new(),
            coordinator: None,
        })
    }
}

/// Creates a lease: ID, slug, per-lease key, provider call. On failure nothing is
/// left behind.
pub async fn acquire(
    app: &App,
    config: &Config,
    provider: &Arc<dyn Provider>,
    settings: &LeaseSettings,
) -> CliResult<Lease> {
    let defaults = &config.settings().lease;
    let ttl = defaults.ttl.as_secs() as i64;
    let idle = defaults.idle_timeout.as_secs() as i64;
    if ttl <= 0 || idle <= 0 {
        return Err(CliError::usage(
            "ttl and idle timeout must be greater than zero",
        ));
    }
    let lease_id = LeaseId::generate();
    let mut taken: Vec<String> = app
        .claims
        .all()
        .into_iter()
        .map(|claim| claim.slug)
        .collect();
    taken.extend(provider.list().await?.into_iter().map(|lease| lease.slug));
    let slug = allocate_slug(lease_id.as_str(), settings.slug.as_deref(), |candidate| {
        taken.iter().any(|slug| slug == candidate)
    })?;
    let mut request = AcquireRequest {
        lease_id: lease_id.clone(),
        slug,
        public_key: String::new(),
        ttl_secs: ttl,
        idle_timeout_secs: idle,
        keep: settings.keep,
        class: defaults.class.clone(),
        profile: defaults.profile.clone(),
        pond: settings.pond.clone(),
        exposed_ports: settings.exposed_ports.clone(),
    };
    // Ownership is on disk before the machine exists: whatever happens next (a
    // signal, a crash), `stop <id>` and `cleanup` find the lease through this claim.
    let mut pending = Claim::new(lease_id.to_string(), provider.spec().name.to_string());
    pending.slug = request.slug.clone();
    pending.pond = settings.pond.clone();
    pending.provider_scope = provider.scope().unwrap_or_default();
    pending.mark_pending(crabbox_core::ProcessMark::current());
    if let Some(url) = &settings.coordinator {
        pending
            .extra
            .insert(CLAIM_COORDINATOR_KEY.to_string(), url.as_str().into());
    }
    app.claims.claim_for_repo(
        lease_id.as_str(),
        pending,
        &settings.repo_root,
        false,
        now_unix(),
    )?;
    if let Some(cancel) = &app.cancel {
        if let Some(signal) = cancel.reason() {
            app.forget(provider.spec().name, lease_id.as_str());
            return Err(CliError::of(
                ErrorClass::Interrupted(signal),
                "interrupted before leasing",
            ));
        }
    }
    if !provider.uses_lease_keys() {
        let result = provider.acquire(&request).await;
        match &result {
            Ok(lease) if lease.id != lease_id.as_str() => drop_requested_claim(app, &lease_id),
            Ok(_) => {}
            Err(_) => app.forget(provider.spec().name, lease_id.as_str()),
        }
        return Ok(result?);
    }
    let home = LeaseHome::new(&app.paths, lease_id.as_str());
    let result = async {
        home.ensure()?;
        let key = crabbox_ssh::ensure_key(home.key_dir(), &format!("crabbox {lease_id}"))?;
        request.public_key = key.public_key_text().map_err(|error| {
            CliError::of(
                ErrorClass::Failed,
                format!("cannot read the lease key: {error}"),
            )
        })?;
        Ok::<Lease, CliError>(provider.acquire(&request).await?)
    }
    .await;
    match result {
        Ok(lease) if lease.id != lease_id.as_str() => {
            // The coordinator chose another ID: the key follows the lease.
            if let Err(error) = home.rename_to(&app.paths, &lease.id) {
                app.printer.warn(format!(
                    "could not move the lease key to {}: {error}",
                    LeaseHome::new(&app.paths, &lease.id).key_dir().display()
                ));
            }
            drop_requested_claim(app, &lease_id);
            Ok(lease)
        }
        Ok(lease) => Ok(lease),
        Err(error) => {
            app.forget(provider.spec().name, lease_id.as_str());
            Err(error)
        }
    }
}

/// The provider named the lease itself (a static host, a coordinator's canonical
/// ID): the claim written ahead under the requested ID goes; the caller claims
/// the lease under its own ID next.
fn drop_requested_claim(app: &App, requested: &LeaseId) {
    if let Err(error) = app.claims.remove(requested.as_str()) {
        app.printer.warn(format!(
            "could not remove the claim for {requested}: {error}"
        ));
    }
}

/// Binds the lease to this checkout (or refreshes the binding). A brokered lease's
/// claim records its coordinator, so later commands route through it.
pub fn claim(
    app: &App,
    lease: &Lease,
    repo_root: &str,
    reclaim: bool,
    coordinator: Option<&str>,
    scope: Option<String>,
) -> CliResult<Claim> {
    let mut template = Claim::new(lease.id.clone(), lease.provider.clone());
    template.provider_scope = scope.unwrap_or_default();
    if let Some(url) = coordinator {
        template
            .extra
            .insert(CLAIM_COORDINATOR_KEY.to_string(), url.into());
    }
    template.slug = lease.slug.clone();
    template.ssh_host = lease.host.clone();
    template.ssh_port = lease.port.to_string();
    template.idle_timeout_seconds = lease.idle_timeout_secs;
    template.target_os = "linux".into();
    template.pond = lease.pond.clone();
    template.labels = lease.labels.clone();
    template.cloud_id = lease.server_id.clone();
    if lease.ssh_key.is_some() {
        // An existing host (configured key): remember how to reach it again.
        template.static_host = lease.host.clone();
        template.static_user = lease.user.clone();
        template.static_port = lease.port.to_string();
        template.static_work_root = lease.work_root.clone();
    }
    let claim = app
        .claims
        .claim_for_repo(&lease.id, template, repo_root, reclaim, now_unix())?;
    if claim.pending_creator().is_none() {
        return Ok(claim);
    }
    // The lease exists now: the claim is no longer a create in progress.
    Ok(app
        .claims
        .update_if_unchanged(&lease.id, Some(&claim.revision), |claim| {
            claim.extra.remove(crabbox_core::PENDING_CREATE_KEY);
        })?)
}

/// Releases a lease and forgets its local state.
pub async fn release(app: &App, provider: &dyn Provider, lease: &Lease) -> CliResult<Released> {
    if let Ok(target) = target(app, lease) {
        for port in target.candidate_ports() {
            if let Ok(connection) = Connection::new(target.clone(), port) {
                connection.close().await;
            }
        }
    }
    let released = provider.release(&lease.id).await?;
    // A paused machine still exists: its claim and key stay so it can be resumed
    // (and released for good) by ID or slug.
    if released != Released::Paused {
        app.forget(provider.spec().name, &lease.id);
    }
    Ok(released)
}
