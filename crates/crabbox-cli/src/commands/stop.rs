//! `stop` (alias `release`) and `heartbeat`.

use crabbox_core::LeaseId;
use crabbox_proto::ErrorClass;
use crabbox_providers::Released;
use serde_json::json;

use crate::cli::{HeartbeatArgs, LeaseArgs};
use crate::context::{provider_flags, App};
use crate::error::{CliError, CliResult};
use crate::exit::ExitStatus;
use crate::leases::{self, timestamp};

pub async fn stop(app: &mut App, args: LeaseArgs) -> CliResult<ExitStatus> {
    let value = leases::lease_value(&args.id, &args.lease, "crabbox stop --id <lease-or-slug>")?;
    // The checkout's config too: it may set `sealosDevbox.deleteOnRelease`.
    let (_, config) = app.repo_config(provider_flags(&args.provider))?;
    // Releasing needs the lease's identity only: no resume, no key material.
    let resolved = match leases::resolve_as(app, &config, &value, leases::Access::ReadOnly).await {
        Ok(resolved) => resolved,
        Err(error)
            if matches!(error.class, ErrorClass::NotFound | ErrorClass::Conflict)
                && names_a_lease(&value) =>
        {
            // A canonical ID the selected provider does not have: the goal is
            // reached for that provider (a claim of another provider stays).
            let provider = leases::selected_provider_name(app, &config, &value);
            // A lease claimed under other settings of its provider is not "gone".
            let settings = crate::context::provider_settings(&app.paths, &config);
            let elsewhere = app.claims.find(&value).iter().any(|claim| {
                crabbox_providers::create(&claim.provider, &settings)
                    .is_ok_and(|own| leases::other_scope(claim, own.as_ref()).is_some())
            });
            if elsewhere {
                return Err(error);
            }
            if let Some(claim) = app.claims.load(&value).ok().flatten() {
                if !crate::context::same_provider(&claim.provider, &provider) {
                    return Err(CliError::usage(format!(
                        "lease {value} is claimed by provider {}, not {provider}; nothing was stopped",
                        claim.provider
                    ))
                    .with_hint(format!(
                        "run `crabbox stop {value}` (or --provider {})",
                        claim.provider
                    )));
                }
            }
            app.forget(&provider, &value);
            app.printer
                .note(format!("lease {value} is already gone; nothing to stop"));
            return Ok(ExitStatus::Success);
        }
        Err(error) => return Err(error),
    };
    let lease = resolved.lease;
    let released = leases::release(app, resolved.provider.as_ref(), &lease).await?;
    match released {
        Released::Deleted if resolved.coordinator.is_some() => app.printer.note(format!(
            "released lease={} server={} slug={} via coordinator",
            lease.id, lease.server_id, lease.slug
        )),
        Released::Deleted => app.printer.note(format!(
            "deleted lease={} server={} name={} slug={}",
            lease.id, lease.server_id, lease.name, lease.slug
        )),
        Released::ClaimOnly => app.printer.note(format!(
            "released static lease={} host={} (claim dropped; the host itself is untouched)",
            lease.id, lease.host
        )),
        Released::Paused => app.printer.note(format!(
            "paused lease={} server={} slug={} (resume with `crabbox run --id {}`)",
            lease.id, lease.server_id, lease.slug, lease.slug
        )),
        Released::AlreadyGone => app.printer.note(format!(
            "lease {} is already gone; nothing to stop",
            lease.id
        )),
    }
    Ok(ExitStatus::Success)
}

/// A canonical lease ID or a slug Crabbox generated: a name a lease had, which
/// stopping again reaches the goal for (a typo still gets "no lease matches").
fn names_a_lease(value: &str) -> bool {
    LeaseId::parse(value).is_some() || crabbox_core::is_generated_slug(value)
}

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
