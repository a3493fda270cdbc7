//! The run engine: obtain the lease, claim it for the checkout, connect, sync,
//! stream the command, report and release by policy. `crabbox run` builds a
//! [`RunOptions`] from its flags and hands over here.

mod execute;
mod finish;
mod sink;
mod sync_options;

use std::time::Instant;

use crabbox_config::Config;
use crabbox_core::RunId;
use crabbox_proto::wire::CreateRunRequest;
use crabbox_proto::Signal;
use crabbox_providers::Lease;
use crabbox_sync::{Repo, SyncOptions};

use crate::cancel::Cancel;
use crate::context::App;
use crate::engine::reporter::{CoordinatorReporter, HistoryReporter, RemoteRun};
use crate::engine::{HumanMode, HumanReporter, Reporters, RunEvent, RunPlan, RunStatus};
use crate::error::{CliError, CliResult};
use crate::exit::ExitStatus;
use crate::leases::{self, LeaseHandle, LeaseSettings, LeaseSource};

pub use sync_options::{sync_options, SyncFlags};

/// What one `crabbox run` asks for, independent of how it was parsed.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub command: Vec<String>,
    /// `--id`: run on this existing lease instead of creating one.
    pub id: Option<String>,
    pub reclaim: bool,
    pub keep: Option<bool>,
    pub keep_on_failure: bool,
    pub stop_after: StopAfter,
    pub no_sync: bool,
    pub sync_only: bool,
    /// Run the command through `sh -c` as one string.
    pub shell: bool,
    /// `--allow-env` names forwarded in addition to `env.allow`.
    pub allow_env: Vec<String>,
    pub timing_json: bool,
}

/// Where a run starts from: the loaded config, the checkout and its sync
/// settings, the lease settings, and the signal watch installed first thing.
pub struct RunInputs<'a> {
    pub config: &'a Config,
    pub repo: Repo,
    pub lease: LeaseSettings,
    pub sync: SyncOptions,
    pub cancel: Cancel,
    pub started: Instant,
}

/// When a run releases its lease.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopAfter {
    Auto,
    Success,
    Always,
    Failure,
    Never,
}

impl StopAfter {
    pub fn parse(value: Option<&str>) -> CliResult<StopAfter> {
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
    Interrupted(Signal),
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
    options: &'a RunOptions,
    config: &'a Config,
    handle: LeaseHandle,
    repo: crabbox_sync::Repo,
    /// The manifest, built before leasing for new leases and on demand otherwise.
    prepared: Option<crabbox_sync::Prepared>,
    watch: Option<crabbox_sync::Watch>,
    /// Directories the runner-side scan skips (from the last sync's rules).
    prune: Vec<String>,
    sync_options: crabbox_sync::SyncOptions,
    cancel: Cancel,
    reporters: Reporters,
    /// When the lease was in hand; `command complete … total=` counts from here.
    started: Instant,
    /// Whether the command reads this process's stdin (it is not a terminal).
    stdin: crabbox_ssh::Stdin,
}

pub async fn run(app: &App, options: RunOptions, inputs: RunInputs<'_>) -> CliResult<ExitStatus> {
    let RunInputs {
        config,
        repo,
        lease: mut settings,
        sync: sync_options,
        cancel,
        started,
    } = inputs;
    let stop_after = options.stop_after;
    // Missing tools, a non-repository and an oversized or mass-deleting sync all
    // fail before anything is leased.
    crabbox_ssh::find_tool("ssh")?;
    if !options.no_sync {
        crabbox_ssh::find_tool("rsync").map_err(crabbox_sync::SyncError::from)?;
    }
    if !options.no_sync && !repo.is_git {
        return Err(crabbox_sync::SyncError::NotARepository {
            root: repo.root.display().to_string(),
        }
        .into());
    }
    // A new lease is only worth creating when the sync passes its guards; a reused
    // lease may skip the manifest entirely (see `quick_skip`).
    let prepared = if options.no_sync || options.id.is_some() {
        None
    } else {
        Some(crabbox_sync::prepare(&repo.root, &sync_options, None)?)
    };
    let class = config.settings().lease.class.clone();

    let source = LeaseSource::locate(app, config, options.id.as_deref()).await?;
    let request = run_request(&options, &class, source.provider_name(), source.existing());
    let remote = match source.coordinator() {
        Some(client) => RemoteRun::start(client, &request, app.printer).await,
        None => None,
    };
    // The coordinator mints the run ID when it records.
    let run_id = remote
        .as_ref()
        .map(|remote| remote.id.clone())
        .unwrap_or_else(|| RunId::generate().to_string());
    let plan = RunPlan {
        class: class.clone(),
        command: options.command.clone(),
    };
    let human = HumanReporter {
        printer: app.printer,
        mode: HumanMode::Run,
    };
    let mut reporters = Reporters::new(&run_id, plan, human, options.timing_json)
        .with_history(HistoryReporter::open(&app.history_path(), app.printer))
        .with_coordinator(remote.map(CoordinatorReporter::new));
    if let LeaseSource::New(selected) = &source {
        reporters.emit(RunEvent::LeasingStarted {
            provider: selected.provider.spec().name,
            class: &class,
        });
    }
    let handle = match source.obtain(app, config, &mut settings).await {
        Ok(handle) => handle,
        Err(error) => return failed_before_lease(&mut reporters, &cancel, error).await,
    };
    reporters.emit(RunEvent::LeaseObtained {
        lease: &handle.lease,
        created: handle.created,
        took: started.elapsed(),
    });
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
    let repo_root = repo.root.display().to_string();
    let claimed = handle.claim(app, &repo_root, options.reclaim);
    let mut session = Session {
        app,
        options: &options,
        config,
        handle,
        repo,
        prepared,
        watch: None,
        prune: Vec::new(),
        sync_options,
        cancel,
        reporters,
        started: Instant::now(),
        stdin,
    };
    let outcome = match claimed {
        Ok(_) => session.execute().await,
        Err(error) => Outcome::Failed(error),
    };
    let outcome = match (outcome, session.cancel.reason()) {
        (Outcome::Failed(_), Some(signal)) => Outcome::Interrupted(signal),
        (outcome, _) => outcome,
    };
    session.finish(stop_after, outcome, started).await
}

/// The coordinator's run record: lease fields known so far and the command.
fn run_request(
    options: &RunOptions,
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
        command: options.command.clone(),
        ..CreateRunRequest::default()
    }
}

/// Leasing failed (or was interrupted): record it and report the failure.
async fn failed_before_lease(
    reporters: &mut Reporters,
    cancel: &Cancel,
    error: CliError,
) -> CliResult<ExitStatus> {
    let error = leases::interrupted_or(cancel, error);
    let code = error.code();
    reporters.emit(RunEvent::Failed {
        message: &error.message,
        exit_code: code,
    });
    reporters.finish(RunStatus::Failed, None, code).await;
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
