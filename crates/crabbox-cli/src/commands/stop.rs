//! `crabbox stop` (alias `release`).

use crabbox_core::LeaseId;
use crabbox_proto::ErrorClass;
use crabbox_providers::Released;

use crate::cli::LeaseArgs;
use crate::context::{provider_flags, App};
use crate::error::{CliError, CliResult};
use crate::exit::ExitStatus;
use crate::leases::{self};

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
            let settings = crabbox_providers::ProviderSettings::from_config(&app.paths, &config);
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
