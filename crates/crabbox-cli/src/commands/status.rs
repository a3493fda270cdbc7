//! `status`, `inspect` and `list`: read-only views of leases.

use std::time::{Duration, Instant};

use crabbox_core::now_unix;
use crabbox_proto::ErrorClass;
use crabbox_providers::{Lease, LeaseState};
use serde_json::json;

use crate::cli::{ListArgs, StatusArgs};
use crate::context::{provider_flags, App};
use crate::error::{CliError, CliResult};
use crate::exit::ExitStatus;
use crate::leases::{self, seconds_text, timestamp};

/// True when the lease's SSH port accepts a TCP connection right now.
fn port_open(lease: &Lease) -> bool {
    let address = format!("{}:{}", lease.host, lease.port);
    address
        .parse()
        .ok()
        .and_then(|socket| {
            std::net::TcpStream::connect_timeout(&socket, Duration::from_millis(500)).ok()
        })
        .is_some()
}

/// Ready: the provider reports the lease active (not paused, released or
/// expired), its port accepts TCP, and SSH answers with the lease's key. A TCP
/// connect alone proves nothing behind a gateway (a paused devbox's gateway
/// still accepts connections).
async fn ready(app: &App, lease: &Lease) -> bool {
    if matches!(
        lease.state,
        LeaseState::Paused | LeaseState::Released | LeaseState::Expired
    ) || !port_open(lease)
    {
        return false;
    }
    let has_key = lease.ssh_key.is_some()
        || leases::LeaseHome::new(&app.paths, &lease.id)
            .lease_key()
            .is_file();
    if !has_key {
        return false;
    }
    let Ok(target) = leases::target(app, lease) else {
        return false;
    };
    match crabbox_ssh::Connection::new(target, lease.port) {
        Ok(connection) => connection.answers().await,
        Err(_) => false,
    }
}

/// The `StatusView` JSON shape.
pub fn status_json(app: &App, lease: &Lease, ready: bool) -> serde_json::Value {
    let now = now_unix();
    json!({
        "id": lease.id,
        "slug": lease.slug,
        "provider": lease.provider,
        "target": "linux",
        "windowsMode": "",
        "state": lease.state.as_str(),
        "serverId": lease.server_id,
        "serverName": lease.name,
        "serverType": lease.server_type,
        "host": lease.host,
        "pond": lease.pond,
        "network": "public",
        "sshHost": lease.host,
        "sshHostKey": lease.host_key.clone().unwrap_or_default(),
        "sshUser": lease.user,
        "sshPort": lease.port.to_string(),
        "sshFallbackPorts": lease.fallback_ports.iter().map(u16::to_string).collect::<Vec<_>>(),
        "sshKey": leases::LeaseHome::new(&app.paths, &lease.id).lease_key().display().to_string(),
        "workRoot": lease.work_root,
        "lastTouchedAt": timestamp(lease.last_touched_at),
        "idleFor": seconds_text(now - lease.last_touched_at),
        "idleTimeout": seconds_text(lease.idle_timeout_secs),
        "ttl": seconds_text(lease.ttl_secs),
        "expiresAt": timestamp(lease.expires_at()),
        "keep": lease.keep,
        "labels": lease.labels,
        "providerMetadata": {},
        "hasHost": !lease.host.is_empty(),
        "ready": ready,
    })
}

fn status_line(lease: &Lease, ready: bool) -> String {
    format!(
        "{} slug={} provider={} target=linux windows_mode=- state={} type={} host={} pond={} network=public ready={ready} has_host={} idle_for={} idle_timeout={} expires={}",
        lease.id,
        lease.slug,
        lease.provider,
        lease.state.as_str(),
        lease.server_type,
        lease.host,
        if lease.pond.is_empty() { "-" } else { &lease.pond },
        !lease.host.is_empty(),
        seconds_text(now_unix() - lease.last_touched_at),
        seconds_text(lease.idle_timeout_secs),
        timestamp(lease.expires_at()),
    )
}

pub async fn status(app: &mut App, args: StatusArgs) -> CliResult<ExitStatus> {
    let value = leases::lease_value(
        &args.lease.id,
        &args.lease.lease,
        "crabbox status --id <lease-or-slug>",
    )?;
    let config = app.config(None, provider_flags(&args.lease.provider))?;
    let resolved = leases::resolve_as(app, &config, &value, leases::Access::ReadOnly).await?;
    let mut lease = resolved.lease;
    let mut ready = ready(app, &lease).await;
    if args.wait && !ready {
        let timeout = crabbox_core::parse_duration(&args.wait_timeout)
            .map_err(|error| CliError::usage(format!("invalid --wait-timeout: {error}")))?;
        let deadline = Instant::now() + timeout;
        while !ready {
            if Instant::now() >= deadline {
                return Err(CliError::of(
                    ErrorClass::NotReady,
                    format!("timed out waiting for lease {} to become ready", lease.id),
                ));
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
            lease = resolved
                .provider
                .inspect(&lease.id)
                .await
                .map_err(|error| {
                    CliError::of(
                        ErrorClass::NotReady,
                        format!("lease disappeared while waiting: {error}"),
                    )
                })?;
            if lease.state == LeaseState::Released {
                return Err(CliError::of(
                    ErrorClass::NotReady,
                    format!(
                        "lease {} is {}; it will not become ready",
                        lease.id,
                        lease.state.as_str()
                    ),
                ));
            }
            ready = self::ready(app, &lease).await;
        }
    }
    if lease.pond.is_empty() {
        // Providers that keep no labels (an existing ssh host): the claim knows.
        if let Ok(Some(claim)) = app.claims.load(&lease.id) {
            lease.pond = claim.pond;
        }
    }
    if args.json {
        app.printer.json(&status_json(app, &lease, ready));
    } else {
        app.printer.out(status_line(&lease, ready));
    }
    Ok(ExitStatus::Success)
}

pub async fn inspect(app: &mut App, args: crate::cli::LeaseJsonArgs) -> CliResult<ExitStatus> {
    let value = leases::lease_value(
        &args.lease.id,
        &args.lease.lease,
        "crabbox inspect --id <lease-or-slug>",
    )?;
    let config = app.config(None, provider_flags(&args.lease.provider))?;
    let resolved = leases::resolve_as(app, &config, &value, leases::Access::ReadOnly).await?;
    let lease = resolved.lease;
    let ready = ready(app, &lease).await;
    if args.json {
        app.printer.json(&status_json(app, &lease, ready));
        return Ok(ExitStatus::Success);
    }
    let key = leases::LeaseHome::new(&app.paths, &lease.id).lease_key();
    let dash = |text: &str| {
        if text.is_empty() {
            "-".to_string()
        } else {
            text.to_string()
        }
    };
    let mut lines = vec![
        format!("id={}", lease.id),
        format!("slug={}", dash(&lease.slug)),
        format!("provider={}", lease.provider),
        "target=linux".to_string(),
        "windows_mode=-".to_string(),
        format!("state={}", lease.state.as_str()),
        format!("server={}", dash(&lease.server_id)),
        format!("name={}", dash(&lease.name)),
        format!("host={}", dash(&lease.host)),
        "network=public".to_string(),
        format!(
            "ssh={} -p {} {}@{}",
            key.display(),
            lease.port,
            lease.user,
            lease.host
        ),
        format!(
            "ssh_fallback_ports={}",
            dash(
                &lease
                    .fallback_ports
                    .iter()
                    .map(u16::to_string)
                    .collect::<Vec<_>>()
                    .join(",")
            )
        ),
        format!("work_root={}", dash(&lease.work_root)),
        format!("ready={ready}"),
        format!(
            "idle_for={}",
            seconds_text(now_unix() - lease.last_touched_at)
        ),
        format!("idle_timeout={}", seconds_text(lease.idle_timeout_secs)),
        format!("last_touched={}", timestamp(lease.last_touched_at)),
        format!("expires={}", timestamp(lease.expires_at())),
    ];
    for (key, value) in &lease.labels {
        lines.push(format!("label.{key}={}", dash(value)));
    }
    app.printer.out(lines.join("\n"));
    Ok(ExitStatus::Success)
}

/// Hetzner-shaped server objects, as SSH backends emit for `list --json`.
fn server_json(lease: &Lease) -> serde_json::Value {
    json!({
        "id": lease.server_id,
        "name": lease.name,
        "status": lease.state.as_str(),
        "provider": lease.provider,
        "labels": lease.labels,
        "public_net": { "ipv4": { "ip": lease.host } },
        "server_type": { "name": lease.server_type },
        "ssh": { "user": lease.user, "port": lease.port },
    })
}

pub async fn list(app: &mut App, args: ListArgs) -> CliResult<ExitStatus> {
    let pond = crabbox_pond::validate_pond(args.pond.as_deref().unwrap_or(""))?;
    let config = app.config(None, provider_flags(&args.provider))?;
    let selected = app.provider(&config, false)?;
    let provider = selected.provider;
    let in_pond = |lease: &Lease| {
        pond.is_empty()
            || lease
                .labels
                .get(crabbox_pond::POND_LABEL)
                .is_some_and(|value| crabbox_pond::same_pond(value, &pond))
    };
    let pond_view = |view: serde_json::Value| {
        if pond.is_empty() {
            view
        } else {
            crabbox_pond::filter_view(view, &pond)
        }
    };
    let leases: Vec<Lease> = match &selected.coordinator {
        Some(client) => {
            // The coordinator's own records: it owns these leases' state.
            let filter = crabbox_client::LeaseFilter {
                provider: Some(provider.spec().name.to_string()),
                ..Default::default()
            };
            let mut records = client.list_leases(&filter).await?;
            records.retain(|record| record.state.is_live());
            if args.json {
                app.printer.json(&pond_view(
                    serde_json::to_value(&records).expect("leases serialize"),
                ));
                return Ok(ExitStatus::Success);
            }
            records
                .iter()
                .map(crate::brokered::lease_from_wire)
                .collect::<Result<_, _>>()?
        }
        None => {
            app.reap_expired(provider.as_ref());
            let leases = provider.list().await?;
            if args.json {
                app.printer.json(&pond_view(serde_json::Value::Array(
                    leases.iter().map(server_json).collect(),
                )));
                return Ok(ExitStatus::Success);
            }
            leases
        }
    };
    let leases: Vec<Lease> = leases.into_iter().filter(|lease| in_pond(lease)).collect();
    if leases.is_empty() {
        app.printer
            .note(format!("no leases (provider {})", provider.spec().name));
    }
    for lease in &leases {
        app.printer.out(format!(
            "{:<20} {:<28} {:<12} {:<14} {:<15} lease={} slug={} keep={} target=linux",
            lease.server_id,
            lease.name,
            lease.state.as_str(),
            lease.server_type,
            format!("{}:{}", lease.host, lease.port),
            lease.id,
            lease.slug,
            lease.keep,
        ));
    }
    Ok(ExitStatus::Success)
}
