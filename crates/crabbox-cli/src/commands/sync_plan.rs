//! `crabbox sync-plan`: what a sync would send, without a lease.

use crate::context::App;
use crate::error::CliResult;
use crate::exit::ExitStatus;

pub fn sync_plan(app: &App, args: crate::cli::SyncPlanArgs) -> CliResult<ExitStatus> {
    let repo = app.repo();
    if !repo.is_git {
        return Err(crabbox_sync::SyncError::NotARepository {
            root: repo.root.display().to_string(),
        }
        .into());
    }
    let config = app.config(Some(repo.root.as_path()), Vec::new())?;
    let options = crabbox_run::run::sync_options(&config, &crabbox_run::run::SyncFlags::default());
    let rules = crabbox_sync::ExcludeRules::load(&repo.root, &options.excludes, &options.includes)?;
    let manifest = crabbox_sync::build_manifest(&repo.root, &rules)?;
    let guardrail = crabbox_sync::evaluate(&manifest, &options.limits);
    if args.json {
        app.printer.json(&crabbox_sync::plan_json(
            &manifest, &guardrail, &rules, args.limit,
        ));
    } else {
        app.printer
            .out(crabbox_sync::plan_text(&manifest, &guardrail, &rules, args.limit).trim_end());
    }
    Ok(ExitStatus::Success)
}
