//! `crabbox run`: lease or reuse, sync, stream the command, record, release.

use std::time::Instant;

use crabbox_run::run::{sync_options, RunInputs, RunOptions, StopAfter, SyncFlags};

use crate::cancel::Cancel;
use crate::cli::RunArgs;
use crate::context::{create_flags, App};
use crate::error::{CliError, CliResult};
use crate::exit::ExitStatus;
use crate::leases::LeaseSettings;

pub async fn run(app: &mut App, args: RunArgs) -> CliResult<ExitStatus> {
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
    let mut lease = LeaseSettings::new(
        &config,
        args.keep.unwrap_or(false),
        args.create.slug.clone(),
        &args.create.expose,
    )?;
    lease.repo_root = repo.root.display().to_string();
    let sync = sync_options(
        &config,
        &SyncFlags {
            checksum: args.checksum,
            full_resync: args.full_resync,
            force_large: args.force_sync_large,
            sync_only: args.sync_only,
        },
    );
    let options = RunOptions {
        command: args.command,
        id: args.id,
        reclaim: args.reclaim,
        keep: args.keep,
        keep_on_failure: args.keep_on_failure,
        stop_after,
        no_sync: args.no_sync,
        sync_only: args.sync_only,
        shell: args.shell,
        allow_env: args.allow_env,
        timing_json: args.timing_json,
    };
    let inputs = RunInputs {
        config: &config,
        repo,
        lease,
        sync,
        cancel,
        started,
    };
    crabbox_run::run::run(app, options, inputs).await
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
