//! `crabbox attach`: follow a run recorded on the coordinator as it happens and
//! exit with its exit code.

mod cursor;
mod follow;
mod output;

use std::time::Duration;

use crabbox_proto::wire::{Run, RunState};
use crabbox_proto::ErrorClass;

use crate::cli::AttachArgs;
use crate::commands::history::run_value;
use crate::context::App;
use crate::error::{CliError, CliResult};
use crate::exit::ExitStatus;
use follow::Follow;
use output::Output;

const USAGE: &str = "crabbox attach <run-id> [--after N] [--poll 1s] [--json]";

fn poll_interval(text: &str) -> CliResult<Duration> {
    let poll = crabbox_core::parse_duration(text)
        .map_err(|error| CliError::usage(format!("--poll: {error}")))?;
    if poll.is_zero() {
        return Err(CliError::usage("--poll must be greater than zero"));
    }
    Ok(poll)
}

/// The run's own exit code; a failed run without one exits 1.
fn exit_status(run: &Run) -> ExitStatus {
    match run.exit_code {
        Some(code) => ExitStatus::Remote(i32::try_from(code).unwrap_or(1)),
        None if run.state == RunState::Failed => ExitStatus::Failure(ErrorClass::Failed),
        None => ExitStatus::Success,
    }
}

pub async fn attach(app: &App, args: AttachArgs) -> CliResult<ExitStatus> {
    let run_id = run_value(&args.id, &args.run, USAGE)?;
    let poll = poll_interval(&args.poll)?;
    let (_, config) = app.repo_config(Vec::new())?;
    let client = app.coordinator(&config)?.ok_or_else(|| {
        CliError::usage("attach requires a configured coordinator").with_hint(
            "set CRABBOX_COORDINATOR (or run `crabbox login --url URL --token-stdin`); \
             runs without one are only in the local history (`crabbox logs`)",
        )
    })?;
    let run = client.get_run(&run_id).await?;
    let output = Output {
        printer: app.printer,
        json: args.json,
    };
    let after = i64::try_from(args.after).unwrap_or(i64::MAX);
    let mut follow = Follow::new(&client, &run_id, poll, after, output);
    let finished = if run.state == RunState::Running {
        follow.live().await?
    } else {
        follow.drain(run).await?
    };
    Ok(exit_status(&finished))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_come_from_the_run() {
        let run = |state, exit_code| Run {
            state,
            exit_code,
            ..Run::default()
        };
        assert_eq!(exit_status(&run(RunState::Succeeded, Some(0))).code(), 0);
        assert_eq!(exit_status(&run(RunState::Failed, Some(3))).code(), 3);
        assert_eq!(exit_status(&run(RunState::Failed, None)).code(), 1);
        assert_eq!(exit_status(&run(RunState::Succeeded, None)).code(), 0);
    }

    #[test]
    fn poll_must_be_a_positive_duration() {
        assert_eq!(poll_interval("1s").unwrap(), Duration::from_secs(1));
        assert_eq!(poll_interval("250ms").unwrap(), Duration::from_millis(250));
        for bad in ["0s", "soon", "-1s"] {
            assert_eq!(poll_interval(bad).unwrap_err().code(), 2, "{bad}");
        }
    }
}
