//! Local information commands: `providers`, `claims list`, `config path|show`.

use crabbox_proto::ErrorClass;
use serde_json::json;

use crate::cli::{ConfigShowArgs, JsonArgs};
use crate::context::{provider_flags, App};
use crate::error::CliResult;
use crate::exit::ExitStatus;

pub fn providers(app: &App, args: JsonArgs) -> CliResult<ExitStatus> {
    let specs = crabbox_providers::specs();
    if args.json {
        app.printer.json(&serde_json::Value::Array(
            specs
                .iter()
                .map(|spec| {
                    json!({
                        "provider": spec.name,
                        "family": spec.name,
                        "aliases": spec.aliases,
                        "kind": spec.kind.as_str(),
                        "targets": spec.targets,
                        "features": spec.features.iter().map(|f| f.as_str()).collect::<Vec<_>>(),
                        "coordinator": if spec.coordinator { "supported" } else { "never" },
                        "description": spec.description,
                    })
                })
                .collect(),
        ));
        return Ok(ExitStatus::Success);
    }
    for spec in specs {
        let features: Vec<&str> = spec.features.iter().map(|f| f.as_str()).collect();
        app.printer.out(format!(
            "{:<16} kind={:<14} features={} aliases={} {}",
            spec.name,
            spec.kind.as_str(),
            features.join(","),
            if spec.aliases.is_empty() {
                "-".to_string()
            } else {
                spec.aliases.join(",")
            },
            spec.description
        ));
    }
    Ok(ExitStatus::Success)
}

pub fn claims_list(app: &App, args: JsonArgs) -> CliResult<ExitStatus> {
    let listing = app.claims.list();
    if args.json {
        app.printer.out(crabbox_core::listing_json_string(&listing));
    } else {
        let text = crabbox_core::listing_text(&listing);
        app.printer.out(text.trim_end());
    }
    // The listing names the malformed claim files; the exit code says there were some.
    Ok(if listing.is_clean() {
        ExitStatus::Success
    } else {
        ExitStatus::Failure(ErrorClass::Usage)
    })
}

pub fn config_path(app: &App) -> CliResult<ExitStatus> {
    let config = app.config(None, Vec::new())?;
    let path = config
        .path()
        .map(|path| path.to_path_buf())
        .unwrap_or_else(|| app.paths.user_config_file());
    app.printer.out(path.display().to_string());
    Ok(ExitStatus::Success)
}

pub fn config_show(app: &App, args: ConfigShowArgs) -> CliResult<ExitStatus> {
    let config = app.repo_config_unchecked(provider_flags(&args.provider))?;
    if args.json {
        app.printer.json(&crabbox_config::show_json(&config));
    } else {
        app.printer
            .out(crabbox_config::show_text(&config).trim_end());
    }
    Ok(ExitStatus::Success)
}

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
