//! The warmup engine: lease a box, claim it for the checkout, wait for SSH and
//! keep it, reporting through the same reporters as a run (no history, no
//! coordinator run record).

use std::time::Instant;

use crabbox_config::Config;
use crabbox_sync::Repo;

use crate::cancel::Cancel;
use crate::context::App;
use crate::engine::{HumanMode, HumanReporter, Reporters, RunEvent, RunPlan, RunStatus};
use crate::error::{CliError, CliResult};
use crate::exit::ExitStatus;
use crate::leases::{self, LeaseSettings, LeaseSource};

/// What one `crabbox warmup` asks for, independent of how it was parsed.
#[derive(Debug, Clone, Copy, Default)]
pub struct WarmupOptions {
    pub reclaim: bool,
    pub timing_json: bool,
}

/// Where a warmup starts from: the loaded config, the checkout, the lease
/// settings, and the signal watch installed first thing.
pub struct WarmupInputs<'a> {
    pub config: &'a Config,
    pub repo: Repo,
    pub lease: LeaseSettings,
    pub cancel: Cancel,
    pub started: Instant,
}

pub async fn warmup(
    app: &App,
    options: WarmupOptions,
    inputs: WarmupInputs<'_>,
) -> CliResult<ExitStatus> {
    let WarmupInputs {
        config,
        repo,
        lease: mut settings,
        cancel,
        started,
    } = inputs;
    let source = LeaseSource::New(app.provider(config, true)?);
    let repo_root = repo.root.display().to_string();
    settings.repo_root = repo_root.clone();
    let human = HumanReporter {
        printer: app.printer,
        mode: HumanMode::Warmup,
    };
    let mut reporters = Reporters::new("", RunPlan::default(), human, options.timing_json);
    let handle = source
        .obtain(app, config, &mut settings)
        .await
        .map_err(|error| leases::interrupted_or(&cancel, error))?;
    let leased_in = started.elapsed();
    reporters.emit(RunEvent::LeaseObtained {
        lease: &handle.lease,
        created: true,
        took: leased_in,
    });
    let ready = async {
        if let Some(signal) = cancel.reason() {
            return Err(interrupted(signal));
        }
        handle.claim(app, &repo_root, options.reclaim)?;
        tokio::select! {
            result = crate::engine::await_ssh(app, &handle, &mut reporters) => result,
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
