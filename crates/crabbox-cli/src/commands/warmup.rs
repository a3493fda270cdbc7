//! `crabbox warmup`: lease a box, wait for SSH, keep it.

use std::time::{Duration, Instant};

use crabbox_core::format_duration;

use crate::cancel::Cancel;
use crate::cli::WarmupArgs;
use crate::context::{create_flags, App};
use crate::error::{CliError, CliResult};
use crate::leases::{self, LeaseSettings};
use crate::timing::{ms, Timing};

pub async fn warmup(app: &mut App, args: WarmupArgs) -> CliResult<i32> {
    // Before any side effect: a signal from here on is seen and cleaned up after.
    let cancel = Cancel::install();
    app.cancel = Some(cancel.clone());
    let started = Instant::now();
    app.printer.quiet = args.timing_json;
    let (repo, config) = app.repo_config(create_flags(&args.create))?;
    let mut settings = LeaseSettings::new(&config, args.keep.unwrap_or(true), &args.create)?;
    let selected = app.provider(&config, true)?;
    let provider = selected.provider;
    let coordinator = selected
        .coordinator
        .as_ref()
        .map(|client| client.base_url().to_string());
    settings.repo_root = repo.root.display().to_string();
    settings.coordinator = coordinator.clone();
    app.reap_expired(provider.as_ref());
    let lease = match leases::acquire(app, &config, &provider, &settings).await {
        Ok(lease) => lease,
        Err(error) => return interrupted_or(&cancel, error),
    };
    let mut timing = Timing::new(String::new());
    timing.lease(&lease, started.elapsed());
    let ready = async {
        if let Some(code) = cancel.reason() {
            return Err(interrupted(code));
        }
        leases::claim(
            app,
            &lease,
            &repo.root.display().to_string(),
            args.reclaim,
            coordinator.as_deref(),
            provider.scope(),
        )?;
        tokio::select! {
            result = leases::connect(app, provider.as_ref(), &lease) => result,
            code = cancel.cancelled() => Err(interrupted(code)),
        }
    };
    let connection = match ready.await {
        Ok(connection) => connection,
        Err(error) => {
            // Never leave a half-made lease behind.
            let _ = leases::release(app, provider.as_ref(), &lease).await;
            return interrupted_or(&cancel, error);
        }
    };
    app.printer.out(leases::leased_line(&lease));
    app.printer.out(format!(
        "ready ssh={}@{}:{} network=public workroot={}",
        lease.user, lease.host, connection.port, lease.work_root
    ));
    timing.bootstrap_ms = ms(started.elapsed()) - timing.lease_ms;
    timing.total_ms = ms(started.elapsed());
    app.printer.out(format!(
        "warmup complete total={}",
        format_duration(Duration::from_millis(timing.total_ms))
    ));
    if !settings.keep {
        app.printer.note(format!(
            "note: --keep=false; the lease still expires after idle_timeout; stop it with `{}`",
            leases::stop_command(&lease)
        ));
    }
    if args.timing_json {
        timing.stop_command = leases::stop_command(&lease);
        app.printer
            .error_line(timing.to_json("succeeded").to_string());
    }
    Ok(0)
}

fn interrupted(code: crabbox_proto::ExitCode) -> CliError {
    CliError::new(code, "interrupted; no lease was kept")
}

/// After a signal, the failure it caused is reported as the interruption.
fn interrupted_or(cancel: &Cancel, error: CliError) -> CliResult<i32> {
    match cancel.reason() {
        Some(code) => {
            let message = if error.code == code {
                error.message
            } else {
                format!("interrupted: {}", error.message)
            };
            Err(CliError::new(code, message))
        }
        None => Err(error),
    }
}
