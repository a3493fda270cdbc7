//! Run recording on the coordinator: output previews show up while the command
//! still runs, stop at 64 KiB with one truncation marker, and the full log (not
//! only the previews) is retained.

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::common::{self, sandbox, Coordinator};

#[test]
fn small_output_is_visible_while_the_command_runs() {
    let mut sandbox = sandbox();
    let coordinator = Coordinator::start(&sandbox);
    coordinator.configure(&mut sandbox);
    let mut child = sandbox
        .command(&["run", "--", "sh", "-c", "echo early; sleep 6; echo late"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = BufReader::new(child.stderr.take().unwrap());
    let mut lines = stderr.lines().map_while(Result::ok);
    let run_id = lines
        .find_map(|line| line.strip_prefix("recording run ").map(str::to_string))
        .expect("recording line");
    let mut running = None;
    for line in lines.by_ref() {
        if line.starts_with("running on ") {
            running = Some(Instant::now());
            break;
        }
    }
    let running = running.expect("the command started");
    let (client, runtime) = coordinator.client();
    let early = loop {
        let events = runtime.block_on(client.events(&run_id, 0, 500)).unwrap();
        if events
            .iter()
            .any(|event| event.kind == "stdout" && event.data.contains("early"))
        {
            break running.elapsed();
        }
        assert!(
            running.elapsed() < Duration::from_secs(5),
            "no preview while the command ran: {events:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(
        matches!(child.try_wait(), Ok(None)),
        "the preview arrived only after the command ended"
    );
    assert!(early < Duration::from_secs(5), "{early:?}");
    // Drain stderr so the child never blocks on it.
    for _ in lines {}
    assert!(child.wait().unwrap().success());
    let types = common::event_types(&sandbox, &run_id);
    assert_eq!(
        types.iter().filter(|kind| *kind == "stdout").count(),
        2,
        "{types:?}"
    );
    coordinator.stop();
}

#[test]
fn previews_stop_at_the_cap_but_the_log_keeps_everything() {
    let mut sandbox = sandbox();
    let coordinator = Coordinator::start(&sandbox);
    coordinator.configure(&mut sandbox);
    // 100,000 bytes of "x" lines, then a marker at the very end.
    let script =
        "i=0; while [ $i -lt 1000 ]; do printf '%099d\\n' 0 | tr 0 x; i=$((i+1)); done; echo END";
    let run = sandbox.expect(0, &["run", "--", "sh", "-c", script]);
    assert_eq!(run.stdout.len(), 100_000 + 4);
    let run_id = common::recorded_run(&run.stderr);
    let events = sandbox.expect(0, &["events", &run_id, "--json"]).json();
    let events = events.as_array().unwrap();
    let previewed: usize = events
        .iter()
        .filter(|event| event["type"] == "stdout")
        .map(|event| event["data"].as_str().unwrap().len())
        .sum();
    assert_eq!(previewed, 64 * 1024);
    assert!(events
        .iter()
        .filter(|event| event["type"] == "stdout")
        .all(|event| event["data"].as_str().unwrap().len() <= 16 * 1024));
    let truncated = events
        .iter()
        .filter(|event| event["type"] == "output.truncated")
        .count();
    assert_eq!(truncated, 1);
    let logs = sandbox.expect(0, &["logs", &run_id]);
    assert_eq!(logs.stdout.len(), 100_004);
    assert!(logs.stdout.ends_with("END\n"));
    let tail = sandbox
        .expect(0, &["logs", &run_id, "--tail", "1", "--json"])
        .json();
    assert_eq!(tail["log"], "END\n");
    assert_eq!(tail["run"]["state"], "succeeded");
    coordinator.stop();
}

/// Each recorded event carries the phase the Go CLI sends with it (output
/// previews none), so the coordinator's event list reads the same for both.
#[test]
fn recorded_events_carry_the_go_cli_phases() {
    let mut sandbox = sandbox();
    let coordinator = Coordinator::start(&sandbox);
    coordinator.configure(&mut sandbox);
    let run = sandbox.expect(0, &["run", "--", "echo", "hi"]);
    let run_id = common::recorded_run(&run.stderr);
    let (client, runtime) = coordinator.client();
    let events = runtime.block_on(client.events(&run_id, 0, 500)).unwrap();
    let phase_of = |kind: &str| {
        events
            .iter()
            .find(|event| event.kind == kind)
            .map(|event| event.phase.clone())
            .unwrap_or_else(|| panic!("no {kind} event in {events:?}"))
    };
    let expected = [
        ("run.started", "starting"),
        ("sync.started", "sync"),
        ("sync.finished", "synced"),
        ("command.started", "command"),
        ("command.finished", "succeeded"),
    ];
    for (kind, phase) in expected {
        assert_eq!(phase_of(kind), phase, "{kind}: {events:?}");
    }
    for event in &events {
        match event.kind.as_str() {
            "stdout" | "stderr" => assert!(event.phase.is_empty(), "{event:?}"),
            _ => assert!(!event.phase.is_empty(), "no phase on {event:?}"),
        }
    }
    coordinator.stop();
}
