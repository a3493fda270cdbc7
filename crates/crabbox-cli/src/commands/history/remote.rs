//! The coordinator's run records, converted to the local history's shapes so the
//! text and JSON output do not depend on where a run was recorded.

use crabbox_client::{Client, RunFilter};
use crabbox_core::LeaseId;
use crabbox_history::{EventRecord, RunRecord};
use crabbox_proto::wire::{Run, RunEventRecord};

use super::{print_events, print_log, print_runs};
use crate::cli::{EventsArgs, HistoryArgs, LogsArgs};
use crate::context::App;
use crate::error::CliResult;
use crate::exit::ExitStatus;

/// The coordinator's page size cap.
const PAGE: usize = 500;

fn millis(value: Option<i64>) -> u64 {
    value.unwrap_or(0).max(0) as u64
}

pub fn run_record(run: &Run) -> RunRecord {
    RunRecord {
        id: run.id.clone(),
        lease_id: run.lease_id.clone(),
        slug: run.slug.clone(),
        provider: run.provider.clone(),
        target: run.target.clone(),
        class: run.class.clone(),
        server_type: run.server_type.clone(),
        command: run.command.clone(),
        label: run.label.clone(),
        state: run.state.as_str().to_string(),
        phase: run.phase.clone(),
        exit_code: run.exit_code.map(|code| code as i32),
        sync_ms: millis(run.sync_ms),
        command_ms: millis(run.command_ms),
        duration_ms: millis(run.duration_ms),
        log_bytes: run.log_bytes.max(0) as u64,
        log_truncated: run.log_truncated,
        started_at: run.started_at.to_string(),
        last_event_at: run
            .last_event_at
            .map(|at| at.to_string())
            .unwrap_or_default(),
        event_count: run.event_count.max(0) as u64,
        ended_at: run.ended_at.map(|at| at.to_string()),
        ..RunRecord::default()
    }
}

/// Event data is text on the wire; structured data posted as JSON reads back as JSON.
fn event_data(data: &str) -> serde_json::Value {
    if data.is_empty() {
        return serde_json::Value::Null;
    }
    match serde_json::from_str::<serde_json::Value>(data) {
        Ok(value) if value.is_object() => value,
        _ => serde_json::Value::String(data.to_string()),
    }
}

pub fn event_record(event: &RunEventRecord) -> EventRecord {
    EventRecord {
        run_id: event.run_id.clone(),
        seq: event.seq.max(0) as u64,
        kind: event.kind.clone(),
        phase: event.phase.clone(),
        stream: event.stream.clone(),
        message: event.message.clone(),
        data: event_data(&event.data),
        lease_id: event.lease_id.clone(),
        slug: event.slug.clone(),
        provider: event.provider.clone(),
        created_at: event.created_at.to_string(),
    }
}

pub async fn history(app: &App, client: &Client, args: HistoryArgs) -> CliResult<ExitStatus> {
    // The coordinator filters by lease ID; a slug is looked up first.
    let lease_id = match &args.lease {
        Some(value) if LeaseId::parse(value).is_none() => Some(client.get_lease(value).await?.id),
        other => other.clone(),
    };
    let filter = RunFilter {
        lease_id,
        state: args.state.clone(),
        limit: (args.limit > 0).then_some(args.limit.min(PAGE)),
        ..RunFilter::default()
    };
    let runs: Vec<RunRecord> = client
        .list_runs(&filter)
        .await?
        .iter()
        .map(run_record)
        .collect();
    print_runs(app, &runs, args.json);
    Ok(ExitStatus::Success)
}

pub async fn logs(
    app: &App,
    client: &Client,
    run_id: &str,
    args: LogsArgs,
) -> CliResult<ExitStatus> {
    let run = client.get_run(run_id).await?;
    let text = client.run_logs(run_id).await?;
    print_log(app, &run_record(&run), text, run.log_truncated, &args);
    Ok(ExitStatus::Success)
}

/// Pages with `after`/`limit` until the run has no more events (or `--limit`
/// events matched).
pub async fn events(
    app: &App,
    client: &Client,
    run_id: &str,
    args: EventsArgs,
) -> CliResult<ExitStatus> {
    let wanted = if args.limit == 0 {
        usize::MAX
    } else {
        args.limit
    };
    let mut after = args.after;
    let mut events = Vec::new();
    while events.len() < wanted {
        // With a type filter the count of matches is unknown: read full pages.
        let page_size = match &args.kind {
            Some(_) => PAGE,
            None => (wanted - events.len()).min(PAGE),
        };
        let page = client.events(run_id, after, page_size).await?;
        let exhausted = page.len() < page_size;
        if let Some(last) = page.last() {
            after = last.seq.max(0) as u64;
        }
        events.extend(
            page.iter()
                .filter(|event| args.kind.as_ref().is_none_or(|kind| &event.kind == kind))
                .map(event_record),
        );
        if exhausted {
            break;
        }
    }
    events.truncate(wanted);
    print_events(app, &events, args.json);
    Ok(ExitStatus::Success)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crabbox_proto::wire::RunState;
    use crabbox_proto::Timestamp;

    #[test]
    fn coordinator_runs_and_events_read_like_local_ones() {
        let run = Run {
            id: "run_0123456789ab".into(),
            lease_id: "cbx_0123456789ab".into(),
            slug: "swift-crab".into(),
            state: RunState::Succeeded,
            phase: "succeeded".into(),
            exit_code: Some(0),
            duration_ms: Some(1234),
            command: vec!["echo".into(), "hello".into()],
            started_at: Timestamp(1_795_388_880_123),
            ..Run::default()
        };
        let line = crabbox_history::history_line(&run_record(&run));
        assert!(
            line.starts_with("run_0123456789ab cbx_0123456789ab swift-crab"),
            "{line}"
        );
        assert!(
            line.contains(" succeeded phase=succeeded exit=0 duration=1.234s "),
            "{line}"
        );
        assert!(line.ends_with("command=echo hello"), "{line}");

        let event = RunEventRecord {
            run_id: run.id.clone(),
            seq: 3,
            kind: "stdout".into(),
            stream: "stdout".into(),
            data: "hello\n".into(),
            created_at: Timestamp(1_795_388_880_123),
            ..RunEventRecord::default()
        };
        let record = event_record(&event);
        assert_eq!(record.data, serde_json::json!("hello\n"));
        assert!(crabbox_history::event_line(&record).starts_with("0003 stdout "));
        let structured = RunEventRecord {
            data: r#"{"skipped":true}"#.into(),
            ..event
        };
        assert_eq!(event_record(&structured).data["skipped"], true);
    }
}
