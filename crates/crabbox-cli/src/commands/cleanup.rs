//! `crabbox cleanup`: remove expired leases of a provider.

use crabbox_core::now_unix;
use crabbox_proto::ExitCode;

use crate::cli::CleanupArgs;
use crate::context::{provider_flags, App};
use crate::error::{CliError, CliResult};

pub async fn cleanup(app: &mut App, args: CleanupArgs) -> CliResult<i32> {
    let (_, config) = app.repo_config(provider_flags(&args.provider))?;
    let brokered = config.str("broker.url").is_some()
        && config
            .str("provider")
            .and_then(|name| crabbox_providers::canonical_name(name).ok())
            .is_none_or(|name| {
                crabbox_providers::specs()
                    .iter()
                    .any(|spec| spec.name == name && spec.coordinator)
            });
    if brokered {
        return Err(CliError::usage(
            "machine cleanup is disabled when a coordinator is configured; coordinator TTL alarms own brokered cleanup",
        ));
    }
    let provider = app.provider(&config, false)?.provider;
    let Some(reaper) = provider.reaper() else {
        return Err(CliError::usage(format!(
            "machine cleanup is not supported for provider={}",
            provider.spec().name
        )));
    };
    let decisions = reaper
        .reap(now_unix(), args.dry_run)
        .map_err(|error| CliError::new(ExitCode::Failure, error.to_string()))?;
    for decision in &decisions {
        if decision.delete {
            let verb = if args.dry_run {
                "would delete"
            } else {
                "delete"
            };
            app.printer.error_line(format!(
                "{verb} server id={} name={} reason={}",
                decision.lease_id, decision.name, decision.reason
            ));
            if !args.dry_run {
                app.forget(&decision.lease_id);
            }
        } else {
            app.printer.error_line(format!(
                "skip server id={} name={} reason={}",
                decision.lease_id, decision.name, decision.reason
            ));
        }
    }
    if decisions.is_empty() {
        app.printer
            .note(format!("no leases (provider {})", provider.spec().name));
    }
    Ok(0)
}
