//! The local run history (SQLite under the state directory).

use crabbox_history::{History, RunFilter};
use crabbox_proto::ErrorClass;

use super::{print_events, print_log, print_runs};
use crate::cli::{EventsArgs, HistoryArgs, LogsArgs};
use crate::context::App;
use crate::error::{CliError, CliResult};
use crate::exit::ExitStatus;

/// Opens the history with runs whose CLI died already marked as lost, so no
/// listing shows them `running` forever.
fn open(app: &App) -> CliResult<History> {
    let history = History::open(&app.history_path()).map_err(|error| {
        CliError::of(
            ErrorClass::Failed,
            format!("cannot open run history: {error}"),
        )
    })?;
    let _ = history.mark_abandoned(crabbox_core::now_unix());
    Ok(history)
}

fn failure(error: crabbox_history::HistoryError) -> CliError {
    CliError::of(ErrorClass::Failed, format!("run history: {error}"))
}

fn not_found(run: &str) -> CliError {
    CliError::of(
        ErrorClass::NotFound,
        format!("run {run} not found in the local history"),
    )
    .with_hint("`crabbox history` lists recorded runs")
}

pub fn history(app: &App, args: HistoryArgs) -> CliResult<ExitStatus> {
    let history = open(app)?;
    let runs = history
        .list_runs(&RunFilter {
            lease: args.lease.clone(),
            state: args.state.clone(),
            limit: args.limit,
        })
        .map_err(failure)?;
    print_runs(app, &runs, args.json);
    Ok(ExitStatus::Success)
}

pub fn logs(app: &App, run_id: &str, args: LogsArgs) -> CliResult<ExitStatus> {
    let history = open(app)?;
    let run = history
        .get_run(run_id)
        .map_err(failure)?
        .ok_or_else(|| not_found(run_id))?;
    let (bytes, truncated) = history.log(run_id).map_err(failure)?.unwrap_or_default();
    let text = String::from_utf8_lossy(&bytes).into_owned();
    print_log(app, &run, text, truncated, &args);
    Ok(ExitStatus::Success)
}

pub fn events(app: &App, run_id: &str, args: EventsArgs) -> CliResult<ExitStatus> {
    let history = open(app)?;
    history
        .get_run(run_id)
        .map_err(failure)?
        .ok_or_else(|| not_found(run_id))?;
    let mut events = history
        .events(run_id, args.after, args.limit)
        .map_err(failure)?;
    if let Some(kind) = &args.kind {
        events.retain(|event| &event.kind == kind);
    }
    print_events(app, &events, args.json);
    Ok(ExitStatus::Success)
}
