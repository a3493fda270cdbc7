//! Lease lifecycle shared by the commands: resolve an ID or slug, acquire, claim,
//! connect over SSH and release.

use std::sync::Arc;
use std::time::Duration;

use crabbox_config::Config;
use crabbox_core::{allocate_slug, ensure_private_dir, format_rfc3339, now_unix, Claim, LeaseId};
use crabbox_proto::ExitCode;
use crabbox_providers::{AcquireRequest, Lease, Provider, ProviderError, Released};
use crabbox_ssh::{Connection, HostTrust, Readiness, ReadinessEvent, Target};

use crate::context::App;
use crate::error::{CliError, CliResult};

/// A lease found from user input, with the provider that owns it.
pub struct Resolved {
    pub lease: Lease,
    pub provider: Arc<dyn Provider>,
}

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

/// Resolves an ID or slug through local claims first, then the provider's inventory.
/// A lease whose machine is gone has its claim and keys removed before the error.
pub async fn resolve(app: &App, config: &Config, value: &str) -> CliResult<Resolved> {
    let explicit = config
        .source("provider")
        .filter(|source| !matches!(source, crabbox_config::Source::Default))
        .and(config.str("provider"))
        .map(|name| crabbox_providers::canonical_name(name).map(str::to_string))
        .transpose()?;
    let claim = claim_for(app, value, explicit.as_deref())?;
    let provider_name = match (&explicit, &claim) {
        (Some(name), _) => name.clone(),
        (None, Some(claim)) => claim.provider.clone(),
        (None, None) => crate::context::DEFAULT_PROVIDER.to_string(),
    };
    let provider = crabbox_providers::create(
        &provider_name,
        &crate::context::provider_settings(&app.paths, config),
    )?;
    let lease_id = match &claim {
        Some(claim) => claim.lease_id.clone(),
        None => find_in_inventory(provider.as_ref(), value).await?,
    };
    match provider.resolve(&lease_id).await {
        Ok(lease) => Ok(Resolved { lease, provider }),
        Err(error @ (ProviderError::NotFound { .. } | ProviderError::Expired { .. })) => {
            // The provider proves the machine absent: no stale claim, no stray sshd.
            let _ = provider.release(&lease_id).await;
            app.forget(&lease_id);
            let mut cli = CliError::from(error);
            if claim.is_some() {
                cli.hint = Some(format!(
                    "{}; its stale claim was removed",
                    cli.hint
                        .unwrap_or_else(|| "start a new lease with `crabbox warmup`".into())
                ));
            }
            Err(cli)
        }
        Err(error) => Err(error.into()),
    }
}

async fn find_in_inventory(provider: &dyn Provider, value: &str) -> CliResult<String> {
    let slug = crabbox_core::normalize_slug(value);
    let leases = provider.list().await?;
    let mut matches: Vec<&Lease> = leases
        .iter()
        .filter(|lease| lease.id == value || (!slug.is_empty() && lease.slug == slug))
        .collect();
    match matches.len() {
        0 => Err(CliError::new(
            ExitCode::Identity,
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

/// Lifetime settings for a new lease.
pub struct LeaseSettings {
    pub keep: bool,
    pub slug: Option<String>,
}

fn seconds(config: &Config, key: &str, fallback: u64) -> i64 {
    config
        .duration(key)
        .unwrap_or(Duration::from_secs(fallback))
        .as_secs() as i64
}

/// Creates a lease: ID, slug, per-lease key, provider call. On failure nothing is
/// left behind.
pub async fn acquire(
    app: &App,
    config: &Config,
    provider: &Arc<dyn Provider>,
    settings: &LeaseSettings,
) -> CliResult<Lease> {
    let ttl = seconds(config, "ttl", 90 * 60);
    let idle = seconds(config, "idleTimeout", 30 * 60);
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
        lease_id: lease_id.to_string(),
        slug,
        public_key: String::new(),
        ttl_secs: ttl,
        idle_timeout_secs: idle,
        keep: settings.keep,
        class: config.str("class").unwrap_or("beast").to_string(),
        profile: config.str("profile").unwrap_or("default").to_string(),
        pond: String::new(),
    };
    if !provider.uses_lease_keys() {
        return Ok(provider.acquire(&request).await?);
    }
    let key_dir = app.paths.lease_key_dir(lease_id.as_str());
    let result = async {
        ensure_private_dir(&key_dir).map_err(|error| {
            CliError::new(
                ExitCode::Failure,
                format!("cannot create {}: {error}", key_dir.display()),
            )
        })?;
        let key = crabbox_ssh::ensure_key(&key_dir, &format!("crabbox {lease_id}"))?;
        request.public_key = key.public_key_text().map_err(|error| {
            CliError::new(
                ExitCode::Failure,
                format!("cannot read the lease key: {error}"),
            )
        })?;
        Ok::<Lease, CliError>(provider.acquire(&request).await?)
    }
    .await;
    if result.is_err() {
        app.forget(lease_id.as_str());
    }
    result
}

/// Binds the lease to this checkout (or refreshes the binding).
pub fn claim(app: &App, lease: &Lease, repo_root: &str, reclaim: bool) -> CliResult<Claim> {
    let mut template = Claim::new(lease.id.clone(), lease.provider.clone());
    template.slug = lease.slug.clone();
    template.ssh_host = lease.host.clone();
    template.ssh_port = lease.port.to_string();
    template.idle_timeout_seconds = lease.idle_timeout_secs;
    template.target_os = "linux".into();
    template.pond = lease.pond.clone();
    template.cloud_id = lease.server_id.clone();
    Ok(app
        .claims
        .claim_for_repo(&lease.id, template, repo_root, reclaim, now_unix())?)
}

/// The SSH target of a lease, with a pinned host key when the provider knows it.
pub fn target(app: &App, lease: &Lease) -> CliResult<Target> {
    let key_dir = app.paths.lease_key_dir(&lease.id);
    ensure_private_dir(&key_dir).map_err(|error| {
        CliError::new(
            ExitCode::Failure,
            format!("cannot create {}: {error}", key_dir.display()),
        )
    })?;
    let known_hosts = key_dir.join("known_hosts");
    let trust = match &lease.host_key {
        Some(key) if !key.is_empty() => {
            let alias = crabbox_ssh::host_key_alias(&lease.id);
            let line = format!("{alias} {key}\n");
            if std::fs::read_to_string(&known_hosts).ok().as_deref() != Some(line.as_str()) {
                crabbox_ssh::write_pinned_known_hosts(&known_hosts, &alias, key).map_err(
                    |error| {
                        CliError::new(
                            ExitCode::Failure,
                            format!("cannot write {}: {error}", known_hosts.display()),
                        )
                    },
                )?;
            }
            HostTrust::Pinned {
                alias,
                key: key.clone(),
            }
        }
        _ => HostTrust::AcceptNew,
    };
    let private_key = match &lease.ssh_key {
        Some(configured) => configured.clone(),
        None => key_dir.join("id_ed25519"),
    };
    if !private_key.is_file() {
        let hint = if lease.ssh_key.is_some() {
            "set ssh.key (or CRABBOX_SSH_KEY) to a private key the host accepts".to_string()
        } else {
            format!(
                "release it with `crabbox stop {}` and start a new one",
                lease.id
            )
        };
        return Err(CliError::new(
            ExitCode::Identity,
            format!(
                "the ssh key for lease {} is missing ({})",
                lease.id,
                private_key.display()
            ),
        )
        .with_hint(hint));
    }
    Ok(Target {
        lease_id: lease.id.clone(),
        user: lease.user.clone(),
        host: lease.host.clone(),
        port: lease.port,
        fallback_ports: lease.fallback_ports.clone(),
        key: Some(private_key),
        known_hosts,
        trust,
        control_dir: crabbox_ssh::control_dir_for(&lease.id)?,
    })
}

/// Waits for SSH readiness and returns the connection pinned to the port that
/// passed.
pub async fn connect(app: &App, provider: &dyn Provider, lease: &Lease) -> CliResult<Connection> {
    let target = target(app, lease)?;
    let ready_check = provider.ready_check(lease);
    let options = Readiness {
        ready_check: ready_check.as_deref(),
        timeout: Duration::from_secs(120),
        retry_every: Duration::from_secs(2),
    };
    let printer = app.printer;
    let connection = crabbox_ssh::wait_ready(&target, &options, &mut |event| match event {
        ReadinessEvent::Waiting {
            elapsed,
            remaining,
            ports,
        } => printer.note(format!(
            "waiting for ssh on {} elapsed={} remaining={} ports={ports}",
            target.host,
            crabbox_core::format_duration(Duration::from_secs(elapsed.as_secs())),
            crabbox_core::format_duration(Duration::from_secs(remaining.as_secs())),
        )),
        ReadinessEvent::Fallback { port, primary } => printer.note(format!(
            "using ssh port {port} for {} (configured {primary} not ready)",
            target.host
        )),
    })
    .await?;
    Ok(connection)
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
    app.forget(&lease.id);
    Ok(released)
}

/// `crabbox stop --id <slug>` style follow-up command.
pub fn stop_command(lease: &Lease) -> String {
    format!(
        "crabbox stop --provider {} --id {}",
        lease.provider,
        if lease.slug.is_empty() {
            &lease.id
        } else {
            &lease.slug
        }
    )
}

/// `leased cbx_… slug=… …`, printed when a lease is created.
pub fn leased_line(lease: &Lease) -> String {
    format!(
        "leased {} slug={} provider={} server={} type={} ip={} idle_timeout={} expires={}",
        lease.id,
        lease.slug,
        lease.provider,
        lease.server_id,
        lease.server_type,
        lease.host,
        seconds_text(lease.idle_timeout_secs),
        timestamp(lease.expires_at()),
    )
}

/// Go-style duration of a number of seconds, `-` when negative.
pub fn seconds_text(seconds: i64) -> String {
    if seconds < 0 {
        "-".into()
    } else {
        crabbox_core::format_duration(Duration::from_secs(seconds as u64))
    }
}

/// Keeps a lease's idle clock moving while something long runs on it: a touch every
/// idle/3, clamped to 5–60 s. Abort the handle to stop.
pub fn spawn_touch_loop(provider: Arc<dyn Provider>, lease: &Lease) -> tokio::task::JoinHandle<()> {
    let interval = Duration::from_secs((lease.idle_timeout_secs / 3).clamp(5, 60) as u64);
    let lease_id = lease.id.clone();
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(interval).await;
            let _ = provider.touch(&lease_id, None, None).await;
        }
    })
}

/// RFC 3339 of a unix time, `-` for zero.
pub fn timestamp(unix: i64) -> String {
    if unix <= 0 {
        "-".into()
    } else {
        format_rfc3339(unix)
    }
}
