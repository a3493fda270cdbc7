//! Pins the text of `crabbox run` and `crabbox warmup` (every line on stdout
//! and stderr, and the exit code) on the `local` provider and on a static `ssh`
//! host, and the local history events of one run, so the run engine can be
//! restructured without changing what users and scripts see.

use crabbox_testkit::{Output, Sandbox};

use crate::snapshotting::{pretty, regex_literal, run_filters, sandbox, transcript};

/// Snapshots the transcript of `output` with the run filters.
fn assert_transcript(name: &str, sandbox: &Sandbox, output: &Output) {
    let settings = run_filters(sandbox, &[&output.stdout, &output.stderr]);
    settings.bind(|| insta::assert_snapshot!(name, transcript(output)));
}

/// A warmed lease (its ID); the warmup output is checked by `warmup_text`.
fn warm_lease(sandbox: &Sandbox) -> String {
    sandbox.warmup(&[]).0
}

#[test]
fn fresh_lease_run() {
    let sandbox = sandbox();
    let output = sandbox.expect(0, &["run", "--", "cat", "README.txt"]);
    assert_transcript("fresh_lease_run", &sandbox, &output);
}

#[test]
fn warmup_text() {
    let sandbox = sandbox();
    let output = sandbox.expect(0, &["warmup"]);
    assert_transcript("warmup_text", &sandbox, &output);
    let id = output.stdout.split_whitespace().nth(1).expect("leased ID");
    sandbox.expect(0, &["stop", id]);
}

#[test]
fn reused_lease_syncs_then_skips_an_unchanged_checkout() {
    let sandbox = sandbox();
    let id = warm_lease(&sandbox);
    let first = sandbox.expect(0, &["run", "--id", &id, "--", "cat", "README.txt"]);
    assert_transcript("reused_lease_first_run", &sandbox, &first);
    let second = sandbox.expect(0, &["run", "--id", &id, "--", "cat", "README.txt"]);
    assert_transcript("reused_lease_unchanged_checkout", &sandbox, &second);
    sandbox.expect(0, &["stop", &id]);
}

#[test]
fn failing_command_passes_its_exit_code_through() {
    let sandbox = sandbox();
    let id = warm_lease(&sandbox);
    let output = sandbox.expect(
        3,
        &[
            "run",
            "--id",
            &id,
            "--",
            "sh",
            "-c",
            "echo to-out; echo to-err >&2; exit 3",
        ],
    );
    assert_transcript("failing_command", &sandbox, &output);
    sandbox.expect(0, &["stop", &id]);
}

#[test]
fn sync_only() {
    let sandbox = sandbox();
    let id = warm_lease(&sandbox);
    let output = sandbox.expect(0, &["run", "--id", &id, "--sync-only"]);
    assert_transcript("sync_only", &sandbox, &output);
    sandbox.expect(0, &["stop", &id]);
}

#[test]
fn no_sync() {
    let sandbox = sandbox();
    let id = warm_lease(&sandbox);
    let output = sandbox.expect(0, &["run", "--id", &id, "--no-sync", "--", "true"]);
    assert_transcript("no_sync", &sandbox, &output);
    sandbox.expect(0, &["stop", &id]);
}

#[test]
fn keep_on_failure() {
    let sandbox = sandbox();
    let output = sandbox.expect(1, &["run", "--keep-on-failure", "--", "false"]);
    assert_transcript("keep_on_failure", &sandbox, &output);
    let id = output.field("lease").expect("lease id");
    sandbox.expect(0, &["stop", &id]);
}

#[test]
fn local_history_events_of_one_run() {
    let sandbox = sandbox();
    let run = sandbox.expect(0, &["run", "--", "echo", "hi"]);
    let run_id = run.field("run").expect("run id");
    let events = sandbox.expect(0, &["events", &run_id, "--json"]).json();
    let settings = run_filters(&sandbox, &[&run.stdout, &run.stderr]);
    settings.bind(|| insta::assert_snapshot!("local_history_events", pretty(&events)));
}

/// The static (`ssh`) provider: no lease is created or released, the primary
/// port is closed and the fallback port is used.
#[test]
fn static_host_run() {
    let fixture = crabbox_testkit::SshdFixture::start();
    let mut sandbox = sandbox();
    sandbox.set_env("CRABBOX_SSH_KEY", fixture.client_key.display().to_string());
    sandbox.set_env("CRABBOX_SSH_FALLBACK_PORTS", fixture.port.to_string());
    let closed_port = crabbox_testkit::free_port().to_string();
    let work_root = fixture.dir().join("work").display().to_string();
    let output = sandbox.expect(
        0,
        &[
            "run",
            "--provider",
            "static",
            "--static-host",
            "127.0.0.1",
            "--static-port",
            &closed_port,
            "--static-user",
            &fixture.user,
            "--static-work-root",
            &work_root,
            "--",
            "cat",
            "README.txt",
        ],
    );
    let mut settings = run_filters(&sandbox, &[&output.stdout, &output.stderr]);
    settings.add_filter(&format!(r"\b{}\b", fixture.port), "[SSHD_PORT]");
    settings.add_filter(&format!(r"\b{closed_port}\b"), "[CLOSED_PORT]");
    settings.add_filter(&format!("{}@", fixture.user), "[USER]@");
    settings.add_filter(&format!("user={}", fixture.user), "user=[USER]");
    settings.add_filter(&regex_literal(&work_root), "[WORK_ROOT]");
    settings.bind(|| insta::assert_snapshot!("static_host_run", transcript(&output)));
}
