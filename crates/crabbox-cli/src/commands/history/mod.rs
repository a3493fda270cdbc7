//! `history`, `logs` and `events`: the coordinator's run records when one is
//! configured, else the local history. Both print the same text and JSON shapes.

mod local;
mod remote;

pub use remote::event_record;

use crate::cli::{EventsArgs, HistoryArgs, LogsArgs};
use crate::context::App;
use crate::error::{CliError, CliResult};
use crate::exit::ExitStatus;

pub fn run_value(
    id: &Option<String>,
    positional: &Option<String>,
    usage: &str,
) -> CliResult<String> {
    match (id, positional) {
        (Some(_), Some(_)) => Err(CliError::usage(format!(
            "pass the run either as --id or as an argument, not both\nusage: {usage}"
        ))),
        (Some(value), None) | (None, Some(value)) => Ok(value.trim().to_string()),
        (None, None) => Err(CliError::usage(format!("missing run id\nusage: {usage}"))),
    }
}

/// The last `count` lines of `text`.
fn last_lines(text: &str, count: usize) -> String {
    if count == 0 {
        return String::new();
    }
    let trimmed = text.strip_suffix('\n').unwrap_or(text);
    let start = trimmed
        .rmatch_indices('\n')
        .nth(count - 1)
        .map(|(index, _)| index + 1)
        .unwrap_or(0);
    text[start..].to_string()
}

/// The retained log on stdout (or `{"run","log","truncated"}` with `--json`).
fn print_log(
    app: &App,
    run: &crabbox_history::RunRecord,
    mut text: String,
    truncated: bool,
    args: &LogsArgs,
) {
    if let Some(tail) = args.tail {
        text = last_lines(&text, tail);
    }
    if args.json {
        app.printer
            .json(&serde_json::json!({ "run": run, "log": text, "truncated": truncated }));
        return;
    }
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(text.as_bytes());
    let _ = stdout.flush();
    if truncated {
        app.printer
            .note("note: only the last 8 MiB of output were kept");
    }
}

/// Runs as `history` prints them: one line each, or a JSON array.
fn print_runs(app: &App, runs: &[crabbox_history::RunRecord], json: bool) {
    if json {
        app.printer
            .json(&serde_json::to_value(runs).expect("runs serialize"));
        return;
    }
    if runs.is_empty() {
        app.printer.note("no runs recorded yet");
    }
    for run in runs {
        app.printer.out(crabbox_history::history_line(run));
    }
}

/// Events as `events` prints them: one line each, or a JSON array.
fn print_events(app: &App, events: &[crabbox_history::EventRecord], json: bool) {
    if json {
        app.printer
            .json(&serde_json::to_value(events).expect("events serialize"));
        return;
    }
    for event in events {
        app.printer.out(crabbox_history::event_line(event));
    }
}

pub async fn history(app: &App, args: HistoryArgs) -> CliResult<ExitStatus> {
    let (_, config) = app.repo_config(Vec::new())?;
    match app.coordinator(&config)? {
        Some(client) => remote::history(app, &client, args).await,
        None => local::history(app, args),
    }
}

pub async fn logs(app: &App, args: LogsArgs) -> CliResult<ExitStatus> {
    let run_id = run_value(&args.id, &args.run, "crabbox logs <run-id> [--tail N]")?;
    let (_, config) = app.repo_config(Vec::new())?;
    match app.coordinator(&config)? {
        Some(client) => remote::logs(app, &client, &run_id, args).await,
        None => local::logs(app, &run_id, args),
    }
}

pub async fn events(app: &App, args: EventsArgs) -> CliResult<ExitStatus> {
    let run_id = run_value(&args.id, &args.run, "crabbox events <run-id> [--after N]")?;
    let (_, config) = app.repo_config(Vec::new())?;
    match app.coordinator(&config)? {
        Some(client) => remote::events(app, &client, &run_id, args).await,
        None => local::events(app, &run_id, args),
    }
}

#[cfg(test)]
mod tests {
    use super::last_lines;

    #[test]
    fn tail_keeps_the_last_lines() {
        assert_eq!(last_lines("a\nb\nc\n", 2), "b\nc\n");
        assert_eq!(last_lines("a\nb\nc", 2), "b\nc");
        assert_eq!(last_lines("a\n", 5), "a\n");
        assert_eq!(last_lines("a\nb\n", 0), "");
    }
}
