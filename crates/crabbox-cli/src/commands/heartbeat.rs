//! `crabbox heartbeat`: move a lease's idle clock by hand.

use crabbox_proto::ErrorClass;
use serde_json::json;

use crate::cli::HeartbeatArgs;
use crate::context::{provider_flags, App};
use crate::error::{CliError, CliResult};
use crate::exit::ExitStatus;
use crate::leases::{self, timestamp};

pub async fn heartbeat(app: &mut App, args: HeartbeatArgs) -> CliResult<ExitStatus> {
    let value = leases::lease_value(
        &args.lease.id,
        &args.lease.lease,
        "crabbox heartbeat --id <lease-or-slug>",
    )?;
    let idle = args
        .idle_timeout
        .as_deref()
        .map(|text| {
            crabbox_core::parse_duration(text)
                .ok()
                .filter(|duration| !duration.is_zero())
                .map(|duration| duration.as_secs() as i64)
                .ok_or_else(|| CliError::usage(format!("invalid --idle-timeout {text:?}")))
        })
        .transpose()?;
    let config = app.config(None, provider_flags(&args.lease.provider))?;
    let resolved = leases::resolve(app, &config, &value).await?;
    // The coordinator checks ownership of brokered leases itself.
    if resolved.coordinator.is_none() && app.claims.load(&resolved.lease.id)?.is_none() {
        return Err(CliError::of(
            ErrorClass::Conflict,
            format!(
                "lease {} is not claimed for provider={}; refusing heartbeat",
                resolved.lease.id, resolved.lease.provider
            ),
        )
        .with_hint("claim it first with `crabbox ssh --id …` or `crabbox run --id …`"));
    }
    let lease = resolved
        .provider
        .touch(&resolved.lease.id, None, idle)
        .await?;
    let idle_text = leases::seconds_text(lease.idle_timeout_secs);
    if args.json {
        app.printer.json(&json!({
            "id": lease.id,
            "slug": lease.slug,
            "provider": lease.provider,
            "state": lease.state.as_str(),
            "lastTouchedAt": timestamp(lease.last_touched_at),
            "idleTimeout": idle_text,
            "expiresAt": timestamp(lease.expires_at()),
        }));
    } else {
        app.printer.out(format!(
            "heartbeat lease={} slug={} provider={} state={} idle_timeout={} last_touched={} expires={}",
            lease.id,
            lease.slug,
            lease.provider,
            lease.state.as_str(),
            idle_text,
            timestamp(lease.last_touched_at),
            timestamp(lease.expires_at()),
        ));
    }
    Ok(ExitStatus::Success)
}
