//! `crabbox providers`: the providers this build knows and their capabilities.

use serde_json::json;

use crate::cli::JsonArgs;
use crate::context::App;
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
