//! `crabbox warmup`: lease a box, wait for SSH, keep it.

use std::time::Instant;

use crate::cancel::Cancel;
use crate::cli::WarmupArgs;
use crate::context::{create_flags, App};
use crate::engine::{HumanMode, HumanReporter, Reporters, RunEvent, RunPlan, RunStatus};
use crate::error::{CliError, CliResult};
use crate::exit::ExitStatus;
use crate::leases::{self, LeaseSettings, LeaseSource};

pub async fn warmup(app: &mut App, args: WarmupArgs) -> CliResult<ExitStatus> {
    // Before any side effect: a signal from here on is seen and cleaned up after.
    let cancel = Cancel::install();
    app.cancel = Some(cancel.clone());
    let started = Instant::now();
    app.printer.quiet = args.timing_json;
    let (repo, config) = app.repo_config(create_flags(&args.create))?;
    let mut settings = LeaseSettings::new(
        &config,
        args.keep.unwrap_or(true),
        args.create.slug.clone(),
        &args.create.expose,
    )?;
    let source = LeaseSource::New(app.provider(&config, true)?);
    let repo_root = repo.root.display().to_string();
    settings.repo_root = repo_root.clone();
    let human = HumanReporter {
        printer: app.printer,
        mode: HumanMode::Warmup,
    };
    let mut reporters = Reporters::new("", RunPlan::default(), human, args.timing_json);
    let handle = source
        .obtain(app, &config, &mut settings)
        .await
        .map_err(|error| leases::interrupted_or(&cancel, error))?;
    let leased_in = started.elapsed();
    reporters.emit(RunEvent::LeaseObtained {
        lease: &handle.lease,
        created: true,
        took: leased_in,
    });
    let host = handle.lease.host.clone();
    let ready = async {
        if let Some(signal) = cancel.reason() {
            return Err(interrupted(signal));
        }
        handle.claim(app, &repo_root, args.reclaim)?;
        let mut on_progress = |progress: &crabbox_ssh::ReadinessEvent| {
            reporters.emit(RunEvent::Readiness {
                host: &host,
                progress,
            })
        };
        tokio::select! {
            result = handle.connect(app, &mut on_progress) => result,
            signal = cancel.cancelled() => Err(interrupted(signal)),
        }
    };
    let connection = match ready.await {
        Ok(connection) => connection,
        Err(error) => {
            // Never leave a half-made lease behind.
            let _ = handle.release(app).await;
            return Err(leases::interrupted_or(&cancel, error));
        }
    };
    reporters.emit(RunEvent::Connected {
        lease: &handle.lease,
        port: connection.port,
        workdir: "",
        took: started.elapsed().saturating_sub(leased_in),
    });
    reporters.emit(RunEvent::Concluded {
        exit: Some(0),
        total: started.elapsed(),
    });
    if !settings.keep {
        reporters.emit(RunEvent::Unkept {
            lease: &handle.lease,
        });
    }
    reporters.finish(RunStatus::Succeeded, Some(0), 0).await;
    Ok(ExitStatus::Success)
}

fn interrupted(signal: crabbox_proto::Signal) -> CliError {
    CliError::of(
        crabbox_proto::ErrorClass::Interrupted(signal),
        "interrupted; no lease was kept",
    )
}
