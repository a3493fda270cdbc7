//! `crabbox doctor`: read-only checks of config, tools and the provider.

use crabbox_proto::ErrorClass;
use serde_json::json;

use crate::cli::DoctorArgs;
use crate::context::{provider_flags, App};
use crate::error::CliResult;
use crate::exit::ExitStatus;

struct Check {
    status: &'static str,
    check: String,
    message: String,
    hint: Option<String>,
    details: Option<serde_json::Value>,
}

impl Check {
    fn new(status: &'static str, check: &str, message: String) -> Check {
        Check {
            status,
            check: check.to_string(),
            message,
            hint: None,
            details: None,
        }
    }
}

fn config_check(app: &App, config: &crabbox_config::Config) -> Check {
    use std::os::unix::fs::PermissionsExt;
    let Some(path) = config.path() else {
        return Check::new("skip", "config", "no user config path".into());
    };
    match std::fs::metadata(path) {
        Err(_) => Check::new(
            "ok",
            "config",
            format!("path={} exists=false", path.display()),
        ),
        Ok(meta) => {
            let mode = meta.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                Check {
                    hint: Some(format!("chmod 600 {}", path.display())),
                    ..Check::new(
                        "warning",
                        "config",
                        format!("path={} mode={mode:04o} should be 0600", path.display()),
                    )
                }
            } else {
                let _ = app;
                Check::new(
                    "ok",
                    "config",
                    format!("path={} mode={mode:04o}", path.display()),
                )
            }
        }
    }
}

fn tool_check(tool: &str) -> Check {
    match crabbox_ssh::find_tool(tool) {
        Ok(path) => Check::new("ok", tool, format!("path={}", path.display())),
        Err(missing) => Check {
            hint: Some(missing.hint()),
            ..Check::new("missing", tool, missing.to_string())
        },
    }
}

pub async fn doctor(app: &mut App, args: DoctorArgs) -> CliResult<ExitStatus> {
    let (_, config) = app.repo_config(provider_flags(&args.provider))?;
    let mut checks = vec![config_check(app, &config)];
    if let Some(check) = broker_check(app, &config).await {
        let failed = check.status == "failed";
        checks.push(check);
        if failed {
            // Without a usable coordinator the provider cannot be selected either.
            return Ok(report(app, &checks, "-", args.json, None));
        }
    }
    let selected = app.provider(&config, false)?;
    let (provider, source) = (selected.provider, selected.source);
    checks.push(Check::new(
        "ok",
        "provider-selection",
        format!(
            "provider={} source={} selected={}",
            provider.spec().name,
            source.label(),
            source != crate::context::SelectionSource::CompiledDefault
        ),
    ));
    for tool in ["git", "ssh", "ssh-keygen", "rsync"] {
        checks.push(tool_check(tool));
    }
    if let Some(doctor) = provider.doctor() {
        for check in doctor.checks() {
            // Tools the provider needs that were already checked above are skipped.
            if checks.iter().any(|existing| existing.check == check.check) {
                continue;
            }
            checks.push(Check {
                status: check.status,
                check: check.check,
                message: check.message,
                hint: check.hint,
                details: None,
            });
        }
    }
    let matrix = match &args.pond {
        Some(pond) => {
            let section = super::pond::doctor_section(app, pond).await?;
            checks.extend(section.checks.into_iter().map(|check| Check {
                status: check.status,
                check: check.check,
                message: check.message,
                hint: None,
                details: Some(check.details),
            }));
            Some(section.matrix)
        }
        None => None,
    };
    Ok(report(
        app,
        &checks,
        provider.spec().name,
        args.json,
        matrix.as_ref(),
    ))
}

/// `broker`: who the configured coordinator says we are (read-only).
async fn broker_check(app: &App, config: &crabbox_config::Config) -> Option<Check> {
    let url = &config.settings().coordinator()?.url;
    let client = match app.coordinator(config) {
        Ok(client) => client?,
        Err(error) => {
            return Some(Check {
                hint: error.hint,
                ..Check::new("failed", "broker", format!("url={url} {}", error.message))
            })
        }
    };
    Some(match client.whoami().await {
        Ok(whoami) => Check::new(
            "ok",
            "broker",
            format!(
                "url={} owner={} auth={} admin={}",
                client.base_url(),
                whoami.owner,
                whoami.auth,
                whoami.admin
            ),
        ),
        Err(error) => Check {
            hint: error.hint(),
            ..Check::new("failed", "broker", format!("url={url} {error}"))
        },
    })
}

/// Prints the checks; the command fails (exit 1) when any failed or is missing.
fn report(
    app: &App,
    checks: &[Check],
    provider: &str,
    json: bool,
    matrix: Option<&crabbox_pond::Matrix>,
) -> ExitStatus {
    let ok = checks
        .iter()
        .all(|check| !matches!(check.status, "failed" | "missing"));
    if json {
        let mut body = json!({
            "ok": ok,
            "provider": provider,
            "checks": checks.iter().map(|check| json!({
                "status": check.status,
                "check": check.check,
                "message": check.message,
                "details": check.details.clone().unwrap_or_else(|| check.hint.as_ref().map(|hint| json!({"hint": hint})).unwrap_or(json!({}))),
            })).collect::<Vec<_>>(),
        });
        if let Some(matrix) = matrix {
            body["reachability"] = serde_json::to_value(matrix).expect("matrix serializes");
        }
        app.printer.json(&body);
    } else {
        for check in checks {
            let hint = check
                .hint
                .as_ref()
                .map(|hint| format!(" hint=\"{hint}\""))
                .unwrap_or_default();
            app.printer.out(format!(
                "{:<7} {:<8} {}{hint}",
                check.status, check.check, check.message
            ));
        }
        for line in matrix.map(crabbox_pond::Matrix::text).unwrap_or_default() {
            app.printer.out(line);
        }
    }
    if ok {
        ExitStatus::Success
    } else {
        ExitStatus::Failure(ErrorClass::Failed)
    }
}
