//! Reaching a lease over SSH: its target (key, pinned host key, control
//! directory) and the readiness wait that pins the port.

use std::time::Duration;

use crabbox_proto::ErrorClass;
use crabbox_providers::{Lease, Provider};
use crabbox_ssh::{Connection, HostTrust, Readiness, ReadinessEvent, Target};

use super::home::LeaseHome;
use crate::context::App;
use crate::error::{CliError, CliResult};

/// The SSH target of a lease, with a pinned host key when the provider knows it.
pub fn target(app: &App, lease: &Lease) -> CliResult<Target> {
    let home = LeaseHome::new(&app.paths, &lease.id);
    home.ensure()?;
    let known_hosts = home.known_hosts();
    let trust = match &lease.host_key {
        Some(key) if !key.is_empty() => {
            let alias = crabbox_ssh::host_key_alias(&lease.id);
            let line = format!("{alias} {key}\n");
            if std::fs::read_to_string(&known_hosts).ok().as_deref() != Some(line.as_str()) {
                crabbox_ssh::write_pinned_known_hosts(&known_hosts, &alias, key).map_err(
                    |error| {
                        CliError::of(
                            ErrorClass::Failed,
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
        None => home.lease_key(),
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
        return Err(CliError::of(
            ErrorClass::NotFound,
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
        control_dir: home.control_dir()?,
    })
}

/// Waits for SSH readiness and returns the connection pinned to the port that
/// passed; each failed round is printed.
pub async fn connect(app: &App, provider: &dyn Provider, lease: &Lease) -> CliResult<Connection> {
    let printer = app.printer;
    connect_reporting(app, provider, lease, &mut |progress| {
        printer.note(readiness_line(&lease.host, progress))
    })
    .await
}

/// Waits for SSH readiness, handing each failed round to `on_progress`.
pub async fn connect_reporting(
    app: &App,
    provider: &dyn Provider,
    lease: &Lease,
    on_progress: &mut dyn FnMut(&ReadinessEvent),
) -> CliResult<Connection> {
    let target = target(app, lease)?;
    let ready_check = provider.ready_check(lease);
    let options = Readiness {
        ready_check: ready_check.as_deref(),
        timeout: Duration::from_secs(120),
        retry_every: Duration::from_secs(2),
    };
    Ok(crabbox_ssh::wait_ready(&target, &options, &mut |event| on_progress(&event)).await?)
}

/// The line a readiness round prints.
pub fn readiness_line(host: &str, progress: &ReadinessEvent) -> String {
    match progress {
        ReadinessEvent::Waiting {
            elapsed,
            remaining,
            ports,
        } => format!(
            "waiting for ssh on {host} elapsed={} remaining={} ports={ports}",
            crabbox_core::format_duration(Duration::from_secs(elapsed.as_secs())),
            crabbox_core::format_duration(Duration::from_secs(remaining.as_secs())),
        ),
        ReadinessEvent::Fallback { port, primary } => {
            format!("using ssh port {port} for {host} (configured {primary} not ready)")
        }
    }
}
