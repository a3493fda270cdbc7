//! `history`, `logs` and `events`: reading the local run history.

use crabbox_history::{event_line, history_line, History, RunFilter};
use crabbox_proto::ExitCode;
use serde_json::json;

use crate::cli::{EventsArgs, HistoryArgs, LogsArgs};
use crate::context::App;
use crate::error::{CliError, CliResult};

fn open(app: &App) -> CliResult<History> {
    History::open(&app.history_path()).map_err(|error| {
        CliError::new(
            ExitCode::Failure,
            format!("cannot open run history: {error}"),
        )
    })
}

fn failure(error: crabbox_history::HistoryError) -> CliError {
    CliError::new(ExitCode::Failure, format!("run history: {error}"))
}

fn run_value(id: &Option<String>, positional: &Option<String>, usage: &str) -> CliResult<String> {
    match (id, positional) {
        (Some(_), Some(_)) => Err(CliError::usage(format!(
            "pass the run either as --id or as an argument, not both\nusage: {usage}"
        ))),
        (Some(value), None) | (None, Some(value)) => Ok(value.trim().to_string()),
        (None, None) => Err(CliError::usage(format!("missing run id\nusage: {usage}"))),
    }
}

fn not_found(run: &str) -> CliError {
    CliError::new(
        ExitCode::Identity,
        format!("run {run} not found in the local history"),
    )
    .with_hint("`crabbox history` lists recorded runs")
}

pub fn history(app: &App, args: HistoryArgs) -> CliResult<i32> {
    let history = open(app)?;
    let runs = history
        .list_runs(&RunFilter {
            lease: args.lease.clone(),
            state: args.state.clone(),
            limit: args.limit,
        })
        .map_err(failure)?;
    if args.json {
        app.printer
            .json(&serde_json::to_value(&runs).expect("runs serialize"));
    } else {
        if runs.is_empty() {
            app.printer.note("no runs recorded yet");
        }
        for run in &runs {
            app.printer.out(history_line(run));
        }
    }
    Ok(0)
}

pub fn logs(app: &App, args: LogsArgs) -> CliResult<i32> {
    let run_id = run_value(&args.id, &args.run, "crabbox logs <run-id> [--tail N]")?;
    let history = open(app)?;
    let run = history
        .get_run(&run_id)
        .map_err(failure)?
        .ok_or_else(|| not_found(&run_id))?;
    let (bytes, truncated) = history.log(&run_id).map_err(failure)?.unwrap_or_default();
    let mut text = String::from_utf8_lossy(&bytes).into_owned();
    if let Some(tail) = args.tail {
        text = last_lines(&text, tail);
    }
    if args.json {
        app.printer
            .json(&json!({ "run": run, "log": text, "truncated": truncated }));
    } else {
        use std::io::Write;
        let mut stdout = std::io::stdout().lock();
        let _ = stdout.write_all(text.as_bytes());
        let _ = stdout.flush();
        if truncated {
            app.printer
                .note("note: only the last 8 MiB of output were kept");
        }
    }
    Ok(0)
}

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

pub fn events(app: &App, args: EventsArgs) -> CliResult<i32> {
    let run_id = run_value(&args.id, &args.run, "crabbox events <run-id> [--after N]")?;
    let history = open(app)?;
    history
        .get_run(&run_id)
        .map_err(failure)?
        .ok_or_else(|| not_found(&run_id))?;
    let mut events = history
        .events(&run_id, args.after, args.limit)
        .map_err(failure)?;
    if let Some(kind) = &args.kind {
        events.retain(|event| &event.kind == kind);
    }
    if args.json {
        app.printer
            .json(&serde_json::to_value(&events).expect("events serialize"));
    } else {
        for event in &events {
            app.printer.out(event_line(event));
        }
    }
    Ok(0)
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
