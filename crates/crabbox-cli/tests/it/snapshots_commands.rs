//! Pins the JSON shapes (key names, nesting and value types) of
//! `run --timing-json`, `warmup --timing-json`, `status`, `list`, `history` and
//! `events --json`, the `--help` text of `crabbox`, `run` and `warmup`, and the
//! `error:`/`hint:` lines and exit codes of run usage errors.

use crabbox_testkit::Sandbox;
use serde_json::Value;

use crate::snapshotting::{self, json_line, pretty, sandbox, shape};

fn assert_shape(name: &str, value: &Value) {
    insta::assert_snapshot!(name, pretty(&shape(value)));
}

#[test]
fn run_timing_json_shape() {
    let sandbox = sandbox();
    let output = sandbox.expect(0, &["run", "--timing-json", "--", "echo", "hi"]);
    assert_eq!(output.stdout, "hi\n");
    assert_shape("run_timing_json", &json_line(&output.stderr));
}

#[test]
fn warmup_timing_json_shape() {
    let sandbox = sandbox();
    let output = sandbox.expect(0, &["warmup", "--timing-json"]);
    let timing = json_line(&output.stderr);
    assert_shape("warmup_timing_json", &timing);
    let id = timing["leaseId"].as_str().expect("leaseId");
    sandbox.expect(0, &["stop", id]);
}

/// `status`, `list`, `history` and `events` as JSON around one warmed lease
/// with one recorded run.
#[test]
fn status_list_history_events_json_shapes() {
    let sandbox = sandbox();
    let (id, _) = sandbox.warmup(&[]);
    let run = sandbox.expect(0, &["run", "--id", &id, "--", "true"]);
    let run_id = run.field("run").expect("run id");

    let status = sandbox.expect(0, &["status", "--id", &id, "--json"]).json();
    assert_shape("status_json", &status);
    let list = sandbox.expect(0, &["list", "--json"]).json();
    assert_shape("list_json", &list);
    let history = sandbox.expect(0, &["history", "--json"]).json();
    assert_shape("history_json", &history);
    let events = sandbox.expect(0, &["events", &run_id, "--json"]).json();
    assert_shape("events_json", &events);

    sandbox.expect(0, &["stop", &id]);
}

fn help(sandbox: &Sandbox, args: &[&str]) -> String {
    let output = sandbox.expect(0, args);
    assert!(output.stderr.is_empty(), "{}", output.stderr);
    output.stdout
}

#[test]
fn help_texts() {
    let sandbox = sandbox();
    insta::assert_snapshot!("help_crabbox", help(&sandbox, &["--help"]));
    insta::assert_snapshot!("help_run", help(&sandbox, &["run", "--help"]));
    insta::assert_snapshot!("help_warmup", help(&sandbox, &["warmup", "--help"]));
}

#[test]
fn run_usage_errors() {
    let sandbox = sandbox();
    for (name, args) in [
        ("usage_missing_command", vec!["run"]),
        (
            "usage_no_sync_with_sync_only",
            vec!["run", "--no-sync", "--sync-only"],
        ),
        (
            "usage_sync_only_with_command",
            vec!["run", "--sync-only", "--", "true"],
        ),
        (
            "usage_unknown_lease",
            vec!["run", "--id", "nope", "--", "true"],
        ),
    ] {
        let output = sandbox.run(&args);
        insta::assert_snapshot!(name, snapshotting::transcript(&output));
    }
    assert!(
        sandbox.claimed_ids().is_empty(),
        "a usage error leases nothing"
    );
}
