//! `pond release`: release every member, continuing past failures; the first
//! failure is the exit status.

use crabbox_proto::ErrorClass;

use crate::cli::PondReleaseArgs;
use crate::context::App;
use crate::error::CliResult;
use crate::exit::ExitStatus;
use crate::leases;

pub async fn release(app: &mut App, args: PondReleaseArgs) -> CliResult<ExitStatus> {
    let pond = super::required_pond(&args.name.join(" "), "crabbox pond release NAME")?;
    let claims = super::pond_claims(app, &pond, None)?;
    if claims.is_empty() {
        app.printer
            .out(format!("pond {pond:?} has no active leases"));
        return Ok(ExitStatus::Success);
    }
    app.printer.note(format!(
        "releasing pond {pond:?} ({} lease(s))",
        claims.len()
    ));
    let mut first_error = None;
    for claim in &claims {
        let slug = if claim.slug.is_empty() {
            "-"
        } else {
            &claim.slug
        };
        let outcome = async {
            let resolved = super::resolve_claim(app, claim, leases::Access::ReadOnly).await?;
            leases::release(app, resolved.provider.as_ref(), &resolved.lease).await
        }
        .await;
        match outcome {
            Ok(released) => app.printer.note(format!(
                "released {}/{} slug={slug} claim_retained={}",
                claim.provider,
                claim.lease_id,
                // A paused machine still exists, so its claim stays.
                released == crabbox_providers::Released::Paused
            )),
            Err(error) if matches!(error.class, ErrorClass::NotFound | ErrorClass::Conflict) => {
                // Proven gone: its claim was removed while resolving.
                app.printer.note(format!(
                    "released {}/{} slug={slug} (already gone)",
                    claim.provider, claim.lease_id
                ));
            }
            Err(error) => {
                app.printer.warn(format!(
                    "release {}/{} slug={slug} failed: {}",
                    claim.provider, claim.lease_id, error.message
                ));
                first_error.get_or_insert(error);
            }
        }
    }
    match first_error {
        Some(error) => Err(error),
        None => Ok(ExitStatus::Success),
    }
}
