//! `crabbox run`: lease or reuse, sync, stream the command, record, release.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crabbox_core::{format_duration, RunId};
use crabbox_proto::ExitCode;
use crabbox_providers::{Lease, LeaseState, Provider};
use crabbox_ssh::{kill_command, Connection, RemoteCommand, StreamOutcome};

use crate::cancel::Cancel;
use crate::cli::RunArgs;
use crate::context::{create_flags, App};
use crate::error::{CliError, CliResult};
use crate::leases::{self, LeaseSettings};
use crate::printer::TerminalSink;
use crate::timing::{ms, Timing};

/// When a run releases its lease.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StopAfter {
    Auto,
    Success,
    Always,
    Failure,
    Never,
}

impl StopAfter {
    fn parse(value: Option<&str>) -> CliResult<StopAfter> {
        match value.map(str::trim) {
            None | Some("") | Some("auto") => Ok(StopAfter::Auto),
            Some("success") => Ok(StopAfter::Success),
            Some("always") => Ok(StopAfter::Always),
            Some("failure") => Ok(StopAfter::Failure),
            Some("never") => Ok(StopAfter::Never),
            Some(other) => Err(CliError::usage(format!(
                "invalid --stop-after {other:?}; use success, always, failure or never"
            ))),
        }
    }

    fn label(self) -> &'static str {
        match self {
            StopAfter::Auto => "auto",
            StopAfter::Success => "success",
            StopAfter::Always => "always",
            StopAfter::Failure => "failure",
            StopAfter::Never => "never",
        }
    }
}

/// How the work between leasing and releasing ended.
enum Outcome {
    Exited(i32),
    Interrupted(ExitCode),
    Failed(CliError),
}

impl Outcome {
    fn failed(&self) -> bool {
        !matches!(self, Outcome::Exited(0))
    }
}

pub async fn run(app: &mut App, args: RunArgs) -> CliResult<i32> {
    validate(&args)?;
    let stop_after = StopAfter::parse(args.stop_after.as_deref())?;
    let started = Instant::now();
    app.printer.quiet = args.timing_json;
    let repo = app.repo();
    let config = app.config(
        repo.is_git.then_some(repo.root.as_path()),
        create_flags(&args.create),
    )?;
    // Missing local tools fail before anything is leased.
    crabbox_ssh::find_tool("ssh")?;
    if !args.no_sync {
        crabbox_ssh::find_tool("rsync")?;
    }
    let cancel = Cancel::install();
    let run_id = RunId::generate();
    let mut timing = Timing::new(run_id.to_string());

    let (lease, provider, acquired) = match &args.id {
        Some(value) => {
            let resolved = leases::resolve(app, &config, value).await?;
            (resolved.lease, resolved.provider, false)
        }
        None => {
            let (provider, _) = app.provider(&config, true)?;
            app.reap_expired(provider.as_ref());
            let keep = args.keep.unwrap_or(false);
            let settings = LeaseSettings {
                keep,
                slug: args.create.slug.clone(),
            };
            let lease = leases::acquire(app, &config, &provider, &settings).await?;
            app.printer.note(leases::leased_line(&lease));
            (lease, provider, true)
        }
    };
    timing.lease(&lease, started.elapsed());
    let repo_root = repo.root.display().to_string();
    let outcome = match leases::claim(app, &lease, &repo_root, args.reclaim) {
        Ok(_) => {
            execute(
                app,
                &args,
                &config,
                &lease,
                &provider,
                &repo,
                &cancel,
                &mut timing,
            )
            .await
        }
        Err(error) => Outcome::Failed(error),
    };
    let outcome = match (outcome, cancel.reason()) {
        (Outcome::Failed(_), Some(code)) => Outcome::Interrupted(code),
        (outcome, _) => outcome,
    };
    finish(
        app,
        &args,
        stop_after,
        acquired,
        &lease,
        provider.as_ref(),
        outcome,
        timing,
        started,
    )
    .await
}

fn validate(args: &RunArgs) -> CliResult<()> {
    let usage = "usage: crabbox run [flags] -- <command...>";
    if args.command.is_empty() && !args.sync_only {
        return Err(CliError::usage(format!("missing command\n{usage}")));
    }
    if args.sync_only && !args.command.is_empty() {
        return Err(CliError::usage(format!(
            "--sync-only takes no command\n{usage}"
        )));
    }
    if args.sync_only && args.no_sync {
        return Err(CliError::usage(
            "--sync-only and --no-sync contradict each other",
        ));
    }
    if args.id.is_some() && args.create.slug.is_some() {
        return Err(CliError::usage(
            "--slug names new leases only; it cannot be combined with --id",
        ));
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
async fn execute(
    app: &App,
    args: &RunArgs,
    config: &crabbox_config::Config,
    lease: &Lease,
    provider: &Arc<dyn Provider>,
    repo: &crabbox_sync::Repo,
    cancel: &Cancel,
    timing: &mut Timing,
) -> Outcome {
    let phase = Instant::now();
    let connection = tokio::select! {
        result = leases::connect(app, provider.as_ref(), lease) => match result {
            Ok(connection) => connection,
            Err(error) => return Outcome::Failed(error),
        },
        code = cancel.cancelled() => return Outcome::Interrupted(code),
    };
    timing.bootstrap_ms = ms(phase.elapsed());
    let work_root = if lease.work_root.is_empty() {
        config
            .str("workRoot")
            .unwrap_or("/work/crabbox")
            .to_string()
    } else {
        lease.work_root.clone()
    };
    let workdir = format!("{work_root}/{}/{}", lease.id, repo.name);
    timing.workdir = workdir.clone();
    print_context(app, lease, &connection, &workdir, &timing.run_id);

    if !args.no_sync {
        let phase = Instant::now();
        let synced = tokio::select! {
            result = sync(app, &connection, repo, &workdir) => result,
            code = cancel.cancelled() => return Outcome::Interrupted(code),
        };
        match synced {
            Ok(stats) => {
                timing.sync_ms = ms(phase.elapsed());
                timing.files_sent = stats.files_sent;
                timing.bytes_sent = stats.bytes_sent;
                app.printer.note(format!(
                    "sync complete in {}",
                    format_duration(round_ms(phase.elapsed()))
                ));
            }
            Err(error) => return Outcome::Failed(error),
        }
    }
    if args.sync_only {
        app.printer.out(format!("synced {workdir}"));
        return Outcome::Exited(0);
    }

    let mut env =
        crate::forward_env::forwarded(&config.list("env.allow"), &args.allow_env, std::env::vars());
    env.push(("CRABBOX_LEASE_ID".into(), lease.id.clone()));
    env.push(("CRABBOX_RUN_ID".into(), timing.run_id.clone()));
    env.push(("CRABBOX_SLUG".into(), lease.slug.clone()));
    let pid_file = format!("{work_root}/.crabbox-runs/{}.pid", timing.run_id);
    let command = RemoteCommand {
        workdir: workdir.clone(),
        argv: args.command.clone(),
        shell: args.shell,
        env,
        pid_file: pid_file.clone(),
    };
    touch(app, provider.as_ref(), lease, LeaseState::Running).await;
    let heartbeat = leases::spawn_touch_loop(provider.clone(), lease);
    app.printer.note(format!(
        "running on {} {}",
        lease.host,
        args.command.join(" ")
    ));
    let phase = Instant::now();
    let streamed = connection
        .stream(
            &command.render(),
            &kill_command(&pid_file),
            &mut TerminalSink,
            async {
                cancel.cancelled().await;
            },
        )
        .await;
    heartbeat.abort();
    timing.command_ms = ms(phase.elapsed());
    match streamed {
        Ok(StreamOutcome::Exited(code)) => {
            touch(app, provider.as_ref(), lease, LeaseState::Ready).await;
            app.printer.note(format!(
                "command complete in {} total={}",
                format_duration(round_ms(phase.elapsed())),
                format_duration(round_ms(timing.elapsed()))
            ));
            Outcome::Exited(code)
        }
        Ok(StreamOutcome::Cancelled) => {
            Outcome::Interrupted(cancel.reason().unwrap_or(ExitCode::Interrupted))
        }
        Err(error) => Outcome::Failed(error.into()),
    }
}

fn round_ms(duration: Duration) -> Duration {
    Duration::from_millis(duration.as_millis() as u64)
}

fn print_context(app: &App, lease: &Lease, connection: &Connection, workdir: &str, run_id: &str) {
    let printer = app.printer;
    printer.note("run context:");
    printer.note(format!("  run={run_id} portal=- logs=-"));
    printer.note(format!(
        "  lease={} slug={} provider={} target=linux type={}",
        lease.id, lease.slug, lease.provider, lease.server_type
    ));
    printer.note(format!(
        "  ssh={}@{}:{} ip={}",
        lease.user, lease.host, connection.port, lease.host
    ));
    printer.note(format!("  workdir={workdir} workspace=raw actions=-"));
}

async fn sync(
    app: &App,
    connection: &Connection,
    repo: &crabbox_sync::Repo,
    workdir: &str,
) -> CliResult<crabbox_sync::TransferStats> {
    if !repo.is_git {
        return Err(crabbox_sync::SyncError::NotARepository {
            root: repo.root.display().to_string(),
        }
        .into());
    }
    app.printer.note(format!(
        "syncing {} -> {}:{}",
        repo.root.display(),
        connection.target.host,
        workdir
    ));
    let manifest = crabbox_sync::build_manifest(&repo.root)?;
    app.printer.note(format!(
        "sync candidate: {} files, {:.1} MiB",
        manifest.files.len(),
        manifest.bytes as f64 / (1024.0 * 1024.0)
    ));
    Ok(crabbox_sync::send(connection, &repo.root, &manifest, workdir).await?)
}

async fn touch(app: &App, provider: &dyn Provider, lease: &Lease, state: LeaseState) {
    if let Err(error) = provider.touch(&lease.id, Some(state), None).await {
        app.printer
            .warn(format!("touch failed for {}: {error}", lease.id));
    }
}

#[allow(clippy::too_many_arguments)]
async fn finish(
    app: &App,
    args: &RunArgs,
    stop_after: StopAfter,
    acquired: bool,
    lease: &Lease,
    provider: &dyn Provider,
    outcome: Outcome,
    mut timing: Timing,
    started: Instant,
) -> CliResult<i32> {
    let failed = outcome.failed();
    let keep = args.keep.unwrap_or(false);
    let kept_on_failure = acquired && args.keep_on_failure && failed;
    let release = match stop_after {
        StopAfter::Never => false,
        StopAfter::Always => true,
        StopAfter::Success => !failed,
        StopAfter::Failure => failed,
        StopAfter::Auto => acquired && !keep && !kept_on_failure,
    };
    let exit = match &outcome {
        Outcome::Exited(code) => Some(*code),
        _ => None,
    };
    timing.exit_code = exit.unwrap_or(-1);
    timing.total_ms = ms(started.elapsed());
    if let Some(code) = exit {
        app.printer.note(format!(
            "run summary lease={} bootstrap={}ms sync={}ms command={}ms total={}ms sync_skipped=false sync_files={} sync_bytes={} exit={code}",
            lease.id, timing.bootstrap_ms, timing.sync_ms, timing.command_ms, timing.total_ms,
            timing.files_sent, timing.bytes_sent,
        ));
        app.printer.note(format!(
            "run details provider={} lease={} slug={} run={} type={} workdir={} stop_command=\"{}\" idle_timeout={}",
            lease.provider,
            lease.id,
            lease.slug,
            timing.run_id,
            lease.server_type,
            timing.workdir,
            leases::stop_command(lease),
            leases::seconds_text(lease.idle_timeout_secs),
        ));
    }
    let mut cleanup_error = None;
    if release {
        match leases::release(app, provider, lease).await {
            Ok(_) => {
                timing.lease_stopped = true;
                app.printer.note(format!(
                    "lease cleanup stopped=true policy={} lease={} slug={}",
                    stop_after.label(),
                    lease.id,
                    lease.slug
                ));
            }
            Err(error) => {
                app.printer.error_line(format!(
                    "lease cleanup stopped=false policy={} lease={} slug={} error=\"{}\"",
                    stop_after.label(),
                    lease.id,
                    lease.slug,
                    error
                ));
                cleanup_error = Some(error);
            }
        }
    } else if kept_on_failure {
        print_kept(app, lease);
    }
    if args.timing_json {
        timing.stop_command = leases::stop_command(lease);
        app.printer
            .error_line(timing.to_json(outcome_status(&outcome)).to_string());
    }
    match outcome {
        Outcome::Exited(code) => {
            if let (0, Some(error)) = (code, cleanup_error) {
                return Err(CliError::new(ExitCode::Remote, error.message));
            }
            if code != 0 {
                app.printer
                    .error_line(format!("remote command exited {code}"));
            }
            Ok(code)
        }
        Outcome::Interrupted(code) => {
            app.printer.error_line(format!(
                "interrupted; the remote command was stopped{}",
                if release {
                    " and the lease released"
                } else {
                    ""
                }
            ));
            Ok(code.code())
        }
        Outcome::Failed(error) => Err(error),
    }
}

fn outcome_status(outcome: &Outcome) -> &'static str {
    match outcome {
        Outcome::Exited(0) => "succeeded",
        Outcome::Exited(_) | Outcome::Failed(_) => "failed",
        Outcome::Interrupted(_) => "canceled",
    }
}

fn print_kept(app: &App, lease: &Lease) {
    let printer = app.printer;
    printer.error_line(format!(
        "keep-on-failure: kept lease={} slug={} expires={} idle_timeout={} ttl={}",
        lease.id,
        lease.slug,
        leases::timestamp(lease.expires_at()),
        leases::seconds_text(lease.idle_timeout_secs),
        leases::seconds_text(lease.ttl_secs),
    ));
    printer.error_line(format!("inspect: crabbox inspect --id {}", lease.slug));
    printer.error_line(format!("ssh: crabbox ssh --id {}", lease.slug));
    printer.error_line(format!("stop: {}", leases::stop_command(lease)));
}
