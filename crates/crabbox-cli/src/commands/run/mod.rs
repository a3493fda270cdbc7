//! `crabbox run`: lease or reuse, sync, stream the command, record, release.

mod execute;
mod finish;
mod sink;
mod sync_options;

use std::sync::Arc;
use std::time::Instant;

use crabbox_client::Client;
use crabbox_core::RunId;
use crabbox_history::{Finish, NewRun};
use crabbox_proto::wire::CreateRunRequest;
use crabbox_proto::ExitCode;
use crabbox_providers::{Lease, Provider};
use serde_json::json;

use crate::cancel::Cancel;
use crate::cli::RunArgs;
use crate::context::{create_flags, App};
use crate::error::{CliError, CliResult};
use crate::leases::{self, LeaseSettings};
use crate::recording::{Recorder, RemoteRun};
use crate::timing::Timing;

pub use sync_options::sync_options;

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

/// Everything one run works with once its lease exists.
struct Session<'a> {
    app: &'a App,
    args: &'a RunArgs,
    config: &'a crabbox_config::Config,
    lease: Lease,
    provider: Arc<dyn Provider>,
    /// The coordinator that brokers the lease; heartbeats go through it.
    coordinator: Option<Client>,
    repo: crabbox_sync::Repo,
    /// The manifest, built before leasing for new leases and on demand otherwise.
    prepared: Option<crabbox_sync::Prepared>,
    watch: Option<crabbox_sync::Watch>,
    /// Directories the runner-side scan skips (from the last sync's rules).
    prune: Vec<String>,
    sync_options: crabbox_sync::SyncOptions,
    cancel: Cancel,
    recorder: Recorder,
    timing: Timing,
    acquired: bool,
    /// Whether the command reads this process's stdin (it is not a terminal).
    stdin: crabbox_ssh::Stdin,
}

pub async fn run(app: &mut App, args: RunArgs) -> CliResult<i32> {
    // Before any side effect: a signal from here on is seen and cleaned up after.
    let cancel = Cancel::install();
    app.cancel = Some(cancel.clone());
    validate(&args)?;
    let stop_after = StopAfter::parse(args.stop_after.as_deref())?;
    let started = Instant::now();
    app.printer.quiet = args.timing_json;
    let mut flags = create_flags(&args.create);
    if args.no_login_shell {
        flags.push(crabbox_config::FlagValue {
            key: "run.loginShell",
            flag: "--no-login-shell".into(),
            value: "false".into(),
        });
    }
    let (repo, config) = app.repo_config(flags)?;
    let mut settings = LeaseSettings::new(&config, args.keep.unwrap_or(false), &args.create)?;
    settings.repo_root = repo.root.display().to_string();
    let sync_options = sync_options(&config, &args);
    // Missing tools, a non-repository and an oversized or mass-deleting sync all
    // fail before anything is leased.
    crabbox_ssh::find_tool("ssh")?;
    if !args.no_sync {
        crabbox_ssh::find_tool("rsync").map_err(crabbox_sync::SyncError::from)?;
    }
    if !args.no_sync && !repo.is_git {
        return Err(crabbox_sync::SyncError::NotARepository {
            root: repo.root.display().to_string(),
        }
        .into());
    }
    // A new lease is only worth creating when the sync passes its guards; a reused
    // lease may skip the manifest entirely (see `quick_skip`).
    let prepared = if args.no_sync || args.id.is_some() {
        None
    } else {
        Some(crabbox_sync::prepare(&repo.root, &sync_options, None)?)
    };
    let class = config.str("class").unwrap_or_default().to_string();

    let (lease, provider, coordinator, recorder, acquired) = match &args.id {
        Some(value) => {
            let resolved = leases::resolve(app, &config, value).await?;
            let request = run_request(
                &args,
                &class,
                &resolved.lease.provider,
                Some(&resolved.lease),
            );
            let recorder = open_recorder(app, resolved.coordinator.as_ref(), &request).await;
            (
                resolved.lease,
                resolved.provider,
                resolved.coordinator,
                recorder,
                false,
            )
        }
        None => {
            let selected = app.provider(&config, true)?;
            let name = selected.provider.spec().name;
            let request = run_request(&args, &class, name, None);
            let mut recorder = open_recorder(app, selected.coordinator.as_ref(), &request).await;
            recorder.event(
                "leasing.started",
                "leasing",
                format!("provider={name} class={class}"),
                json!({ "provider": name, "class": class }),
            );
            app.reap_expired(selected.provider.as_ref());
            settings.coordinator = selected
                .coordinator
                .as_ref()
                .map(|client| client.base_url().to_string());
            match leases::acquire(app, &config, &selected.provider, &settings).await {
                Ok(lease) => {
                    app.printer.note(leases::leased_line(&lease));
                    (
                        lease,
                        selected.provider,
                        selected.coordinator,
                        recorder,
                        true,
                    )
                }
                Err(error) => return failed_before_lease(&mut recorder, &cancel, error).await,
            }
        }
    };
    let run_id = recorder.run_id().to_string();
    recorder.start(NewRun {
        id: run_id.clone(),
        lease_id: lease.id.clone(),
        slug: lease.slug.clone(),
        provider: lease.provider.clone(),
        target: "linux".into(),
        class: class.clone(),
        server_type: lease.server_type.clone(),
        command: args.command.clone(),
        label: String::new(),
    });
    recorder.event(
        if acquired {
            "lease.created"
        } else {
            "lease.reused"
        },
        "leased",
        format!("lease={} slug={}", lease.id, lease.slug),
        json!({
            "leaseID": lease.id,
            "slug": lease.slug,
            "provider": lease.provider,
            "class": class,
            "serverType": lease.server_type,
        }),
    );
    let timing = Timing::new(run_id);
    // Piped or redirected input goes to the command (`echo x | crabbox run -- cat`);
    // a terminal or /dev/null is never read. The runner's copy is then verified
    // before the command starts rather than by it, so a rerun never finds the
    // input half consumed.
    let stdin = if stdin_carries_input() {
        crabbox_ssh::Stdin::Forward
    } else {
        crabbox_ssh::Stdin::Closed
    };
    let mut sync_options = sync_options;
    if stdin == crabbox_ssh::Stdin::Forward {
        sync_options.verify_in_command = false;
    }
    let coordinator_url = coordinator
        .as_ref()
        .map(|client| client.base_url().to_string());
    let scope = provider.scope();
    let mut session = Session {
        app,
        args: &args,
        config: &config,
        lease,
        provider,
        coordinator,
        repo,
        prepared,
        watch: None,
        prune: Vec::new(),
        sync_options,
        cancel,
        recorder,
        timing,
        acquired,
        stdin,
    };
    session.timing.lease(&session.lease, started.elapsed());
    let repo_root = session.repo.root.display().to_string();
    let claimed = leases::claim(
        app,
        &session.lease,
        &repo_root,
        args.reclaim,
        coordinator_url.as_deref(),
        scope,
    );
    let outcome = match claimed {
        Ok(_) => session.execute().await,
        Err(error) => Outcome::Failed(error),
    };
    let outcome = match (outcome, session.cancel.reason()) {
        (Outcome::Failed(_), Some(code)) => Outcome::Interrupted(code),
        (outcome, _) => outcome,
    };
    session.finish(stop_after, outcome, started).await
}

/// The coordinator's run record: lease fields known so far and the command.
fn run_request(
    args: &RunArgs,
    class: &str,
    provider: &str,
    lease: Option<&Lease>,
) -> CreateRunRequest {
    CreateRunRequest {
        lease_id: lease.map(|lease| lease.id.clone()).unwrap_or_default(),
        provider: provider.to_string(),
        target: "linux".into(),
        class: class.to_string(),
        server_type: lease
            .map(|lease| lease.server_type.clone())
            .unwrap_or_default(),
        command: args.command.clone(),
        ..CreateRunRequest::default()
    }
}

/// Local history always; the coordinator's record too when it brokers the lease.
/// The coordinator mints the run ID when it records.
async fn open_recorder(
    app: &App,
    coordinator: Option<&Client>,
    request: &CreateRunRequest,
) -> Recorder {
    let remote = match coordinator {
        Some(client) => RemoteRun::start(client, request, app.printer).await,
        None => None,
    };
    let run_id = remote
        .as_ref()
        .map(|remote| remote.id.clone())
        .unwrap_or_else(|| RunId::generate().to_string());
    Recorder::open(&app.history_path(), &run_id, app.printer, remote)
}

/// Leasing failed (or was interrupted): record it and report the failure.
async fn failed_before_lease(
    recorder: &mut Recorder,
    cancel: &Cancel,
    error: CliError,
) -> CliResult<i32> {
    let error = match cancel.reason() {
        Some(code) => CliError::new(code, format!("interrupted: {}", error.message)),
        None => error,
    };
    recorder.event(
        "run.failed",
        "failed",
        error.message.clone(),
        json!({ "exitCode": error.code.code() }),
    );
    let finish = Finish {
        state: "failed".into(),
        ..Finish::default()
    };
    recorder.finish(&finish, error.code.code()).await;
    Err(error)
}

/// Whether standard input is a pipe, a socket or a regular file: input someone
/// meant for the command (a terminal or a character device such as /dev/null is not).
fn stdin_carries_input() -> bool {
    use rustix::fs::FileType;
    rustix::fs::fstat(std::io::stdin()).is_ok_and(|stat| {
        matches!(
            FileType::from_raw_mode(stat.st_mode),
            FileType::Fifo | FileType::Socket | FileType::RegularFile
        )
    })
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
    if args.no_sync && (args.sync_only || args.full_resync || args.checksum) {
        return Err(CliError::usage(
            "--no-sync cannot be combined with --sync-only, --full-resync or --checksum",
        ));
    }
    if args.id.is_some() && args.create.slug.is_some() {
        return Err(CliError::usage(
            "--slug names new leases only; it cannot be combined with --id",
        ));
    }
    Ok(())
}
