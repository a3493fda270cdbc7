//! `ssh` (print a working command line) and `connect` (interactive shell).

use std::io::IsTerminal;
use std::process::Stdio;

use crabbox_providers::LeaseState;
use crabbox_ssh::{shell_quote, Budget};

use crate::cli::LeaseArgs;
use crate::context::{provider_flags, App};
use crate::error::CliResult;
use crate::exit::ExitStatus;
use crate::leases;

/// Resolves, claims for this checkout and touches the lease (idle timer reset).
async fn prepare(
    app: &App,
    args: &LeaseArgs,
    usage: &str,
) -> CliResult<(leases::LeaseHandle, crabbox_ssh::Target)> {
    let value = leases::lease_value(&args.id, &args.lease, usage)?;
    let repo = app.repo();
    let config = app.config(None, provider_flags(&args.provider))?;
    let resolved = leases::resolve(app, &config, &value).await?;
    resolved.claim(app, &repo.root.display().to_string(), args.reclaim)?;
    let lease = resolved
        .provider
        .touch(&resolved.lease.id, None, None)
        .await?;
    let target = leases::target(app, &lease)?;
    // Someone with a shell may change the synced tree: the next sync compares all.
    resolved.home.invalidate_syncs();
    Ok((resolved.with_lease(lease), target))
}

pub async fn ssh(app: &mut App, args: LeaseArgs) -> CliResult<ExitStatus> {
    let (resolved, target) = prepare(app, &args, "crabbox ssh --id <lease-or-slug>").await?;
    let ssh = crabbox_ssh::find_tool("ssh")?;
    let words: Vec<String> = std::iter::once(ssh.display().to_string())
        .chain(target.base_args(resolved.lease.port, Budget::Default))
        .chain(std::iter::once(target.destination()))
        .map(|word| shell_quote(&word))
        .collect();
    app.printer.out(words.join(" "));
    Ok(ExitStatus::Success)
}

pub async fn connect(app: &mut App, args: LeaseArgs) -> CliResult<ExitStatus> {
    let (resolved, target) = prepare(app, &args, "crabbox connect --id <lease-or-slug>").await?;
    let connection = leases::connect(app, resolved.provider.as_ref(), &resolved.lease).await?;
    let lease = &resolved.lease;
    let _ = resolved
        .provider
        .touch(&lease.id, Some(LeaseState::Running), None)
        .await;
    let printer = app.printer;
    let heartbeat = leases::spawn_heartbeats(
        resolved.provider.clone(),
        resolved.coordinator.clone(),
        lease,
        move |warning| printer.warn(warning),
    );
    let mut command = tokio::process::Command::new(connection.ssh_program());
    command.args(target.base_args(connection.port, Budget::Default));
    if std::io::stdin().is_terminal() {
        command.arg("-t");
    }
    let status = command
        .arg(target.destination())
        .stdin(Stdio::inherit())
        .stdout(Stdio::inherit())
        .stderr(Stdio::inherit())
        .status()
        .await
        .map_err(|error| {
            crate::error::CliError::of(
                crabbox_proto::ErrorClass::Remote,
                format!("could not start ssh: {error}"),
            )
        })?;
    heartbeat.abort();
    let _ = resolved
        .provider
        .touch(&lease.id, Some(LeaseState::Ready), None)
        .await;
    // ssh exits with the remote command's code (255 for its own failures).
    Ok(ExitStatus::Remote(status.code().unwrap_or(255)))
}
