//! `crabbox config path` and `crabbox config show`.

use crate::cli::ConfigShowArgs;
use crate::context::{provider_flags, App};
use crate::error::CliResult;
use crate::exit::ExitStatus;

pub fn path(app: &App) -> CliResult<ExitStatus> {
    let config = app.config(None, Vec::new())?;
    let path = config
        .path()
        .map(|path| path.to_path_buf())
        .unwrap_or_else(|| app.paths.user_config_file());
    app.printer.out(path.display().to_string());
    Ok(ExitStatus::Success)
}

pub fn show(app: &App, args: ConfigShowArgs) -> CliResult<ExitStatus> {
    let config = app.repo_config_unchecked(provider_flags(&args.provider))?;
    if args.json {
        app.printer.json(&crabbox_config::show_json(&config));
    } else {
        app.printer
            .out(crabbox_config::show_text(&config).trim_end());
    }
    Ok(ExitStatus::Success)
}
