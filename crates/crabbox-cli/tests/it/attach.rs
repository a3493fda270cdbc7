//! `crabbox attach` against a real coordinator: a finished run replayed exactly, a
//! live run followed over the control socket, and a socket cut mid-stream that
//! attach survives over HTTP without losing or repeating output.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crabbox_proto::wire::{AppendEventRequest, CreateRunRequest, FinishRunRequest};
use crabbox_testkit::Sandbox;

use crate::common::proxy::{ControlPolicy, Proxy};
use crate::common::{recorded_run, sandbox, Coordinator};

/// Starts `crabbox run -- sh -c script` in the background and returns it with
/// its run ID once the command runs on the lease.
fn start_run(sandbox: &Sandbox, script: &str) -> (Child, String) {
    let mut child = sandbox
        .command(&["run", "--", "sh", "-c", script])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap())
        .lines()
        .map_while(Result::ok);
    let run_id = lines
        .find_map(|line| line.strip_prefix("recording run ").map(str::to_string))
        .expect("a recording line");
    assert!(
        lines.any(|line| line.starts_with("running on ")),
        "the command never started"
    );
    // Keeps draining so the run never blocks on a full pipe.
    std::thread::spawn(move || lines.for_each(drop));
    (child, run_id)
}

fn spawn_attach(sandbox: &Sandbox, args: &[&str], coordinator_url: Option<&str>) -> Child {
    let mut command = sandbox.command(args);
    if let Some(url) = coordinator_url {
        command.env("CRABBOX_COORDINATOR", url);
    }
    command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Waits for a child (bounded) and collects what is left of its stdout and stderr.
fn finish(mut child: Child, limit: Duration) -> (i32, String, String) {
    fn drain(mut pipe: impl Read + Send + 'static) -> std::thread::JoinHandle<String> {
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = pipe.read_to_string(&mut text);
            text
        })
    }
    let stdout = child.stdout.take().map(drain);
    let stderr = drain(child.stderr.take().unwrap());
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            panic!("attach did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let out = stdout
        .map(|thread| thread.join().unwrap())
        .unwrap_or_default();
    (status.code().unwrap_or(-1), out, stderr.join().unwrap())
}

/// Lines that are not attach's own event lines (`0001 run.started …`) or notes.
fn replayed_stderr(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter(|line| {
            let event = line.len() > 5
                && line[..4].bytes().all(|byte| byte.is_ascii_digit())
                && line.as_bytes()[4] == b' ';
            !event && !line.starts_with("attach: ")
        })
        .collect()
}

#[test]
fn a_finished_run_is_replayed_exactly() {
    let mut sandbox = sandbox();
    let coordinator = Coordinator::start(&sandbox);
    coordinator.configure(&mut sandbox);
    let script =
        "printf 'out one\\n'; printf 'err one\\n' >&2; printf 'out two\\nno newline'; exit 3";
    let run = sandbox.expect(3, &["run", "--", "sh", "-c", script]);
    let run_id = recorded_run(&run.stderr);

    let attached = sandbox.expect(3, &["attach", &run_id]);
    assert_eq!(attached.stdout, "out one\nout two\nno newline");
    assert_eq!(replayed_stderr(&attached.stderr), ["err one"]);
    assert!(
        attached.stderr.contains("0001 run.started phase="),
        "{}",
        attached.stderr
    );
    assert!(
        attached.stderr.contains(" command.finished phase=failed"),
        "{}",
        attached.stderr
    );

    // JSON: one event per line, the same records `events --json` lists.
    let json = sandbox.expect(3, &["attach", "--json", "--id", &run_id]);
    let streamed: Vec<serde_json::Value> = json
        .stdout
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let listed = sandbox.expect(0, &["events", &run_id, "--json"]).json();
    assert_eq!(&streamed, listed.as_array().unwrap());
    let seqs: Vec<u64> = streamed
        .iter()
        .map(|e| e["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(seqs, (1..=seqs.len() as u64).collect::<Vec<_>>());

    // --after skips what was seen already.
    let later = sandbox.expect(
        3,
        &["attach", &run_id, "--after", &(seqs.len() - 1).to_string()],
    );
    assert_eq!(later.stdout, "");
    assert_eq!(replayed_stderr(&later.stderr), Vec::<&str>::new());
    assert_eq!(later.stderr.lines().count(), 1, "{}", later.stderr);

    let missing = sandbox.expect(4, &["attach", "run_0123456789ab"]);
    assert!(missing.stderr.contains("not_found"), "{}", missing.stderr);
    coordinator.stop();
}

#[test]
fn attach_needs_a_coordinator_and_a_run() {
    let sandbox = sandbox();
    let output = sandbox.expect(2, &["attach", "run_0123456789ab"]);
    assert!(
        output
            .stderr
            .contains("attach requires a configured coordinator"),
        "{}",
        output.stderr
    );
    sandbox.expect(2, &["attach"]);
    sandbox.expect(2, &["attach", "run_0123456789ab", "--poll", "0s"]);
}

#[test]
fn a_live_run_is_followed_over_the_socket_as_it_happens() {
    let mut sandbox = sandbox();
    let coordinator = Coordinator::start(&sandbox);
    coordinator.configure(&mut sandbox);
    let proxy = Proxy::start(&coordinator.url, ControlPolicy::Forward);
    let script = "echo one; sleep 3; echo two >&2; sleep 1; echo three; exit 5";
    let (mut run, run_id) = start_run(&sandbox, script);

    let mut attach = spawn_attach(&sandbox, &["attach", &run_id], Some(&proxy.url));
    let mut stdout = BufReader::new(attach.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    assert_eq!(first, "one\n");
    assert!(
        matches!(run.try_wait(), Ok(None)),
        "the first line arrived only after the run ended"
    );
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).unwrap();
    let (code, _, stderr) = finish(attach, Duration::from_secs(30));
    assert_eq!(code, 5, "{stderr}");
    assert_eq!(rest, "three\n");
    assert_eq!(replayed_stderr(&stderr), ["two"], "{stderr}");
    assert!(!stderr.contains("polling over HTTP"), "{stderr}");
    assert_eq!(proxy.control_connections(), 1);
    assert!(proxy.control_bytes_from_coordinator() > 0);
    assert_eq!(run.wait().unwrap().code(), Some(5));
    coordinator.stop();
}

#[test]
fn a_socket_cut_mid_stream_continues_over_http_without_gaps_or_repeats() {
    let mut sandbox = sandbox();
    let coordinator = Coordinator::start(&sandbox);
    coordinator.configure(&mut sandbox);
    let proxy = Proxy::start(
        &coordinator.url,
        ControlPolicy::CutAfter(Duration::from_millis(2500)),
    );
    let script = "i=1; while [ $i -le 80 ]; do echo line $i; i=$((i+1)); sleep 0.1; done";
    let (mut run, run_id) = start_run(&sandbox, script);

    let attach = spawn_attach(
        &sandbox,
        &["attach", &run_id, "--poll", "300ms"],
        Some(&proxy.url),
    );
    let (code, stdout, stderr) = finish(attach, Duration::from_secs(60));
    assert_eq!(code, 0, "{stderr}");
    let expected: String = (1..=80).map(|i| format!("line {i}\n")).collect();
    assert_eq!(stdout, expected, "{stderr}");
    assert!(stderr.contains("polling over HTTP"), "{stderr}");
    // Output arrived over the socket before the cut, and over HTTP after it.
    assert!(proxy.control_bytes_from_coordinator() > 200);
    let event_pages = proxy.requests_to(&format!("GET /v1/runs/{run_id}/events"));
    assert!(!event_pages.is_empty(), "{:?}", proxy.requests());
    assert!(run.wait().unwrap().success());
    coordinator.stop();
}

#[test]
fn a_backlog_larger_than_a_page_then_live_pushes_arrive_once_each() {
    let mut sandbox = sandbox();
    let coordinator = Coordinator::start(&sandbox);
    coordinator.configure(&mut sandbox);
    let (client, runtime) = coordinator.client();
    let create = CreateRunRequest {
        provider: "local".into(),
        command: vec!["generated".into()],
        ..CreateRunRequest::default()
    };
    let run = runtime.block_on(client.create_run(&create)).unwrap();
    let append = |range: std::ops::RangeInclusive<usize>| {
        for line in range {
            let event = AppendEventRequest {
                kind: "stdout".into(),
                stream: "stdout".into(),
                data: format!("line {line}\n"),
                ..AppendEventRequest::default()
            };
            runtime
                .block_on(client.append_event(&run.id, &event))
                .unwrap();
        }
    };
    // 250 events behind the subscriber: three subscribe pages' worth.
    append(1..=250);

    let mut attach = spawn_attach(&sandbox, &["attach", &run.id], None);
    let mut stdout = BufReader::new(attach.stdout.take().unwrap());
    let mut seen = String::new();
    for _ in 1..=250 {
        stdout.read_line(&mut seen).unwrap();
    }
    append(251..=300);
    let request = FinishRunRequest {
        exit_code: Some(7.0),
        ..FinishRunRequest::default()
    };
    runtime
        .block_on(client.finish_run(&run.id, &request))
        .unwrap();
    stdout.read_to_string(&mut seen).unwrap();
    let (code, _, stderr) = finish(attach, Duration::from_secs(30));
    assert_eq!(code, 7, "{stderr}");
    let expected: String = (1..=300).map(|i| format!("line {i}\n")).collect();
    assert_eq!(seen, expected);
    assert!(!stderr.contains("polling over HTTP"), "{stderr}");
    coordinator.stop();
}
