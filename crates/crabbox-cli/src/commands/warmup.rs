//! `crabbox warmup`: lease a box, wait for SSH, keep it. Flags in, engine call out.

use std::time::Instant;

use crabbox_run::warmup::{WarmupInputs, WarmupOptions};

use crate::cancel::Cancel;
use crate::cli::WarmupArgs;
use crate::context::{create_flags, App};
use crate::error::CliResult;
use crate::exit::ExitStatus;
use crate::leases::LeaseSettings;

pub async fn warmup(app: &mut App, args: WarmupArgs) -> CliResult<ExitStatus> {
    // Before any side effect: a signal from here on is seen and cleaned up after.
    let cancel = Cancel::install();
    app.cancel = Some(cancel.clone());
    let started = Instant::now();
    app.printer.quiet = args.timing_json;
    let (repo, config) = app.repo_config(create_flags(&args.create))?;
    let lease = LeaseSettings::new(
        &config,
        args.keep.unwrap_or(true),
        args.create.slug.clone(),
        &args.create.expose,
    )?;
    let options = WarmupOptions {
        reclaim: args.reclaim,
        timing_json: args.timing_json,
    };
    let inputs = WarmupInputs {
        config: &config,
        repo,
        lease,
        cancel,
        started,
    };
    crabbox_run::warmup::warmup(app, options, inputs).await
}
