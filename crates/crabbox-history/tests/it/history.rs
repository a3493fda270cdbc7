//! Round trips through a real SQLite file: recording runs, reading them back,
//! paging events, filtering, migrations and abandoned runs.

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use crabbox_history::{
    Finish, History, HistoryError, NewEvent, NewRun, OutputLog, RunFilter, ABANDON_AFTER_SECONDS,
};
use serde_json::json;
use tempfile::TempDir;

const START: i64 = 1_795_388_880; // 2026-11-22T23:08:00Z

fn history_path(directory: &TempDir) -> PathBuf {
    directory.path().join("state").join("history.sqlite")
}

fn new_run(id: &str, lease: &str, slug: &str) -> NewRun {
    NewRun {
        id: id.to_owned(),
        lease_id: lease.to_owned(),
        slug: slug.to_owned(),
        provider: "hetzner".to_owned(),
        target: "linux".to_owned(),
        class: "standard".to_owned(),
        server_type: "cpx31".to_owned(),
        command: vec!["cargo".to_owned(), "test".to_owned(), "--all".to_owned()],
        label: "ci".to_owned(),
    }
}

fn event(kind: &str, phase: &str) -> NewEvent {
    NewEvent {
        kind: kind.to_owned(),
        phase: phase.to_owned(),
        stream: String::new(),
        message: format!("{kind} happened"),
        data: json!({ "kind": kind }),
    }
}

fn finish(state: &str, exit_code: Option<i32>) -> Finish {
    Finish {
        state: state.to_owned(),
        exit_code,
        sync_ms: 1_200,
        command_ms: 3_400,
        duration_ms: 5_000,
        sync_skipped: true,
        files_sent: 12,
        bytes_sent: 3_456,
    }
}

fn object_keys(value: &serde_json::Value) -> Vec<&str> {
    value
        .as_object()
        .expect("a JSON object")
        .keys()
        .map(String::as_str)
        .collect()
}

#[test]
fn open_creates_private_files_and_is_idempotent() {
    let directory = TempDir::new().unwrap();
    let path = history_path(&directory);
    let history = History::open(&path).unwrap();
    history
        .start_run(&new_run("run_000000000001", "cbx_a", "brave-crab"), START)
        .unwrap();
    drop(history);

    let mode =
        |path: &std::path::Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(path.parent().unwrap()), 0o700);
    assert_eq!(mode(&path), 0o600);

    // Reopening must neither rerun migration 1 (it would fail on existing tables)
    // nor lose data.
    for _ in 0..3 {
        let history = History::open(&path).unwrap();
        assert!(history.get_run("run_000000000001").unwrap().is_some());
    }
}

#[test]
fn open_tightens_a_loose_file_mode() {
    let directory = TempDir::new().unwrap();
    let path = directory.path().join("history.sqlite");
    std::fs::write(&path, b"").unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    History::open(&path).unwrap();
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
}

#[test]
fn open_refuses_a_newer_schema() {
    let directory = TempDir::new().unwrap();
    let path = history_path(&directory);
    drop(History::open(&path).unwrap());
    let connection = rusqlite::Connection::open(&path).unwrap();
    connection.pragma_update(None, "user_version", 99).unwrap();
    drop(connection);
    let error = History::open(&path).unwrap_err();
    assert!(
        matches!(error, HistoryError::NewerSchema { found: 99, .. }),
        "{error}"
    );
    assert!(
        error.to_string().contains("hint: upgrade crabbox"),
        "{error}"
    );
}

#[test]
fn open_stays_cheap_on_an_existing_file() {
    let directory = TempDir::new().unwrap();
    let path = history_path(&directory);
    drop(History::open(&path).unwrap());
    let mut timings: Vec<_> = (0..25)
        .map(|_| {
            let started = std::time::Instant::now();
            drop(History::open(&path).unwrap());
            started.elapsed()
        })
        .collect();
    timings.sort();
    let median = timings[timings.len() / 2];
    eprintln!("History::open median on an existing file: {median:?}");
    // The target is 2 ms; the bound leaves room for a loaded CI machine while
    // still catching work that scales with the file, such as re-running migrations.
    assert!(median.as_millis() < 20, "median open took {median:?}");
}

#[test]
fn records_a_run_from_start_to_finish() {
    let directory = TempDir::new().unwrap();
    let history = History::open(&history_path(&directory)).unwrap();
    let id = "run_abcdef012345";
    history
        .start_run(&new_run(id, "cbx_0123456789ab", "brave-crab"), START)
        .unwrap();

    let running = history.get_run(id).unwrap().unwrap();
    assert_eq!(running.state, "running");
    assert_eq!(running.phase, "starting");
    assert_eq!(running.ended_at, None);
    assert_eq!(running.exit_code, None);
    let running_json = serde_json::to_value(&running).unwrap();
    assert_eq!(running_json["endedAt"], serde_json::Value::Null);
    assert_eq!(running_json["exitCode"], serde_json::Value::Null);

    let kinds = [
        ("run.started", "starting"),
        ("lease.created", "leasing"),
        ("sync.started", "sync"),
        ("sync.finished", "sync"),
        ("command.started", "command"),
        ("command.finished", ""),
    ];
    for (offset, (kind, phase)) in kinds.iter().enumerate() {
        let seq = history
            .append_event(id, &event(kind, phase), START + offset as i64)
            .unwrap();
        assert_eq!(seq, offset as u64 + 1);
    }
    // An empty phase keeps the previous one.
    assert_eq!(history.get_run(id).unwrap().unwrap().phase, "command");

    let mut log = OutputLog::new(16);
    log.push(b"compiling...\n");
    log.push(b"test result: ok\n");
    history
        .finish_run(id, &finish("succeeded", Some(0)), &log, START + 10)
        .unwrap();

    let run = history.get_run(id).unwrap().unwrap();
    let run_json = serde_json::to_value(&run).unwrap();
    assert_eq!(
        object_keys(&run_json),
        [
            "id",
            "leaseID",
            "slug",
            "provider",
            "target",
            "class",
            "serverType",
            "command",
            "label",
            "state",
            "phase",
            "exitCode",
            "syncMs",
            "commandMs",
            "durationMs",
            "syncSkipped",
            "filesSent",
            "bytesSent",
            "logBytes",
            "logTruncated",
            "startedAt",
            "lastEventAt",
            "eventCount",
            "endedAt",
        ]
    );
    assert_eq!(
        run_json,
        json!({
            "id": id,
            "leaseID": "cbx_0123456789ab",
            "slug": "brave-crab",
            "provider": "hetzner",
            "target": "linux",
            "class": "standard",
            "serverType": "cpx31",
            "command": ["cargo", "test", "--all"],
            "label": "ci",
            "state": "succeeded",
            "phase": "command",
            "exitCode": 0,
            "syncMs": 1200,
            "commandMs": 3400,
            "durationMs": 5000,
            "syncSkipped": true,
            "filesSent": 12,
            "bytesSent": 3456,
            "logBytes": 29,
            "logTruncated": true,
            "startedAt": "2026-11-22T23:08:00Z",
            "lastEventAt": "2026-11-22T23:08:10Z",
            "eventCount": 6,
            "endedAt": "2026-11-22T23:08:10Z",
        })
    );
    let decoded: crabbox_history::RunRecord = serde_json::from_value(run_json).unwrap();
    assert_eq!(decoded, run);

    assert_eq!(
        history.log(id).unwrap(),
        Some((b"test result: ok\n".to_vec(), true))
    );

    let events = history.events(id, 0, 0).unwrap();
    assert_eq!(events.len(), kinds.len());
    let first = serde_json::to_value(&events[0]).unwrap();
    assert_eq!(
        first,
        json!({
            "runID": id,
            "seq": 1,
            "type": "run.started",
            "phase": "starting",
            "stream": "",
            "message": "run.started happened",
            "data": { "kind": "run.started" },
            "leaseID": "cbx_0123456789ab",
            "slug": "brave-crab",
            "provider": "hetzner",
            "createdAt": "2026-11-22T23:08:00Z",
        })
    );
    assert_eq!(
        object_keys(&first),
        [
            "runID",
            "seq",
            "type",
            "phase",
            "stream",
            "message",
            "data",
            "leaseID",
            "slug",
            "provider",
            "createdAt",
        ]
    );
    assert_eq!(
        crabbox_history::event_line(&events[3]),
        "0004 sync.finished      phase=sync stream=- at=2026-11-22T23:08:03Z sync.finished happened"
    );
    assert_eq!(
        crabbox_history::history_line(&run),
        "run_abcdef012345 cbx_0123456789ab brave-crab       succeeded phase=command exit=0 \
         duration=5s started=2026-11-22T23:08:00Z command=cargo test --all"
    );
}

#[test]
fn pages_events_with_after_and_limit() {
    let directory = TempDir::new().unwrap();
    let history = History::open(&history_path(&directory)).unwrap();
    let id = "run_000000000001";
    history
        .start_run(&new_run(id, "cbx_a", "a"), START)
        .unwrap();
    for index in 0..10 {
        history
            .append_event(id, &event(&format!("step.{index}"), "work"), START)
            .unwrap();
    }
    let seqs = |after, limit| -> Vec<u64> {
        history
            .events(id, after, limit)
            .unwrap()
            .iter()
            .map(|event| event.seq)
            .collect()
    };
    assert_eq!(seqs(0, 3), [1, 2, 3]);
    assert_eq!(seqs(3, 3), [4, 5, 6]);
    assert_eq!(seqs(8, 5), [9, 10]);
    assert_eq!(seqs(10, 5), Vec::<u64>::new());
    assert_eq!(seqs(0, 0), (1..=10).collect::<Vec<_>>());
    assert_eq!(history.events("run_unknown", 0, 0).unwrap(), []);
}

#[test]
fn lists_newest_first_with_filters() {
    let directory = TempDir::new().unwrap();
    let history = History::open(&history_path(&directory)).unwrap();
    let runs = [
        (
            "run_000000000001",
            "cbx_a",
            "brave-crab",
            START,
            "succeeded",
        ),
        (
            "run_000000000002",
            "cbx_b",
            "calm-lobster",
            START + 60,
            "failed",
        ),
        (
            "run_000000000003",
            "cbx_a",
            "brave-crab",
            START + 120,
            "canceled",
        ),
        // Same start second as the previous run: insertion order breaks the tie.
        ("run_000000000004", "cbx_b", "calm-lobster", START + 120, ""),
    ];
    for (id, lease, slug, started, state) in runs {
        history
            .start_run(&new_run(id, lease, slug), started)
            .unwrap();
        if !state.is_empty() {
            history
                .finish_run(
                    id,
                    &finish(state, Some(1)),
                    &OutputLog::default(),
                    started + 5,
                )
                .unwrap();
        }
    }
    let ids = |filter: RunFilter| -> Vec<String> {
        history
            .list_runs(&filter)
            .unwrap()
            .into_iter()
            .map(|run| run.id)
            .collect()
    };
    assert_eq!(
        ids(RunFilter::default()),
        [
            "run_000000000004",
            "run_000000000003",
            "run_000000000002",
            "run_000000000001",
        ]
    );
    assert_eq!(
        ids(RunFilter {
            limit: 2,
            ..RunFilter::default()
        }),
        ["run_000000000004", "run_000000000003"]
    );
    assert_eq!(
        ids(RunFilter {
            lease: Some("cbx_a".to_owned()),
            ..RunFilter::default()
        }),
        ["run_000000000003", "run_000000000001"]
    );
    assert_eq!(
        ids(RunFilter {
            lease: Some("calm-lobster".to_owned()),
            ..RunFilter::default()
        }),
        ["run_000000000004", "run_000000000002"]
    );
    assert_eq!(
        ids(RunFilter {
            state: Some("running".to_owned()),
            ..RunFilter::default()
        }),
        ["run_000000000004"]
    );
    assert_eq!(
        ids(RunFilter {
            lease: Some("cbx_a".to_owned()),
            state: Some("succeeded".to_owned()),
            limit: 10,
        }),
        ["run_000000000001"]
    );
    assert!(ids(RunFilter {
        lease: Some("nobody".to_owned()),
        ..RunFilter::default()
    })
    .is_empty());
}

#[test]
fn rejects_unknown_runs_duplicates_and_bad_states() {
    let directory = TempDir::new().unwrap();
    let history = History::open(&history_path(&directory)).unwrap();
    let id = "run_000000000001";
    assert!(history.get_run(id).unwrap().is_none());
    assert!(history.log(id).unwrap().is_none());
    assert!(matches!(
        history.append_event(id, &event("run.started", ""), START),
        Err(HistoryError::UnknownRun { .. })
    ));
    assert!(matches!(
        history.finish_run(id, &finish("failed", None), &OutputLog::default(), START),
        Err(HistoryError::UnknownRun { .. })
    ));

    history
        .start_run(&new_run(id, "cbx_a", "a"), START)
        .unwrap();
    assert!(matches!(
        history.start_run(&new_run(id, "cbx_a", "a"), START),
        Err(HistoryError::DuplicateRun { .. })
    ));
    let error = history
        .finish_run(id, &finish("running", None), &OutputLog::default(), START)
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "invalid final run state \"running\"; use succeeded, failed or canceled"
    );
    // A run that is still going has no stored log yet.
    assert!(history.log(id).unwrap().is_none());
}

#[test]
fn marks_silent_running_runs_abandoned() {
    let directory = TempDir::new().unwrap();
    let history = History::open(&history_path(&directory)).unwrap();
    let silent = "run_000000000001";
    let chatty = "run_000000000002";
    let finished = "run_000000000003";
    // Rows written before owners were recorded have no owner process.
    let no_owner = crabbox_core::ProcessMark {
        pid: 0,
        start_ticks: 0,
    };
    for id in [silent, chatty, finished] {
        history
            .start_run_owned(&new_run(id, "cbx_a", "a"), START, no_owner)
            .unwrap();
    }
    history
        .append_event(silent, &event("command.started", "command"), START + 10)
        .unwrap();
    history
        .finish_run(
            finished,
            &finish("succeeded", Some(0)),
            &OutputLog::default(),
            START + 20,
        )
        .unwrap();
    let now = START + 10 + ABANDON_AFTER_SECONDS + 1;
    history
        .append_event(chatty, &event("command.output", "command"), now - 60)
        .unwrap();

    assert_eq!(history.mark_abandoned(now).unwrap(), 1);
    let abandoned = history.get_run(silent).unwrap().unwrap();
    assert_eq!(abandoned.state, "failed");
    assert_eq!(abandoned.phase, "abandoned");
    assert_eq!(abandoned.ended_at.as_deref(), Some("2026-11-22T23:08:10Z"));
    assert_eq!(history.get_run(chatty).unwrap().unwrap().state, "running");
    assert_eq!(
        history.get_run(finished).unwrap().unwrap().state,
        "succeeded"
    );
    // Nothing left to mark the second time.
    assert_eq!(history.mark_abandoned(now).unwrap(), 0);
}

#[test]
fn a_run_whose_process_is_gone_is_lost_at_once() {
    let directory = TempDir::new().unwrap();
    let history = History::open(&history_path(&directory)).unwrap();
    let mut child = std::process::Command::new("sleep")
        .arg("30")
        .spawn()
        .unwrap();
    let killed = crabbox_core::ProcessMark::of(child.id() as i32).unwrap();
    history
        .start_run_owned(&new_run("run_0000000000a1", "cbx_a", "a"), START, killed)
        .unwrap();
    history
        .start_run(&new_run("run_0000000000a2", "cbx_a", "a"), START)
        .unwrap();
    // Its process is alive: nothing to mark yet, however silent.
    assert_eq!(history.mark_abandoned(START + 1).unwrap(), 0);
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(history.mark_abandoned(START + 2).unwrap(), 1);
    let lost = history.get_run("run_0000000000a1").unwrap().unwrap();
    assert_eq!(
        (lost.state.as_str(), lost.phase.as_str()),
        ("failed", "lost")
    );
    let mine = history.get_run("run_0000000000a2").unwrap().unwrap();
    assert_eq!(mine.state, "running");
}
