//! `crabbox warmup`: lease a box, wait for SSH, keep it.

use std::time::{Duration, Instant};

use crabbox_core::format_duration;

use crate::cli::WarmupArgs;
use crate::context::{create_flags, App};
use crate::error::CliResult;
use crate::leases::{self, LeaseSettings};
use crate::timing::{ms, Timing};

pub async fn warmup(app: &mut App, args: WarmupArgs) -> CliResult<i32> {
    let started = Instant::now();
    app.printer.quiet = args.timing_json;
    let (repo, config) = app.repo_config(create_flags(&args.create))?;
    let (provider, _) = app.provider(&config, true)?;
    app.reap_expired(provider.as_ref());
    let settings = LeaseSettings {
        keep: args.keep.unwrap_or(true),
        slug: args.create.slug.clone(),
    };
    let lease = leases::acquire(app, &config, &provider, &settings).await?;
    let mut timing = Timing::new(String::new());
    timing.lease(&lease, started.elapsed());
    let ready = async {
        leases::claim(app, &lease, &repo.root.display().to_string(), args.reclaim)?;
        leases::connect(app, provider.as_ref(), &lease).await
    };
    let connection = match ready.await {
        Ok(connection) => connection,
        Err(error) => {
            // Never leave a half-made lease behind.
            let _ = leases::release(app, provider.as_ref(), &lease).await;
            return Err(error);
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
