//! Brokered leases against a real coordinator process: the whole warm loop, a
//! one-shot run, and the failures a user meets first (no token, a wrong token).

use crabbox_testkit::{eventually, process_running};

use crate::common::{event_types, recorded_run, sandbox, Coordinator};

#[test]
fn brokered_end_to_end() {
    let mut sandbox = sandbox();
    let coordinator = Coordinator::start(&sandbox);
    coordinator.configure(&mut sandbox);

    let (id, slug) = sandbox.warmup(&[]);
    assert_eq!(coordinator.lease(&id).state.as_str(), "active");
    let claim = std::fs::read_to_string(sandbox.claim_file(&id)).expect("a local claim");
    assert!(claim.contains(&coordinator.url), "{claim}");
    let sshd = sandbox
        .lease_dir(&id)
        .join("sshd_config")
        .display()
        .to_string();
    assert!(process_running(&sshd));

    let status = sandbox.expect(0, &["status", &slug, "--json"]).json();
    assert_eq!(status["id"], id.as_str());
    assert_eq!(status["state"], "ready");
    assert_eq!(
        status["sshHostKey"],
        coordinator.lease(&id).ssh_host_key.as_str()
    );
    let beat = sandbox
        .expect(0, &["heartbeat", &slug, "--idle-timeout", "45m", "--json"])
        .json();
    assert_eq!(beat["idleTimeout"], "45m0s");
    assert_eq!(coordinator.lease(&id).idle_timeout_seconds, 45 * 60);
    let listed = sandbox.expect(0, &["list"]);
    assert!(
        listed.stdout.contains(&format!("lease={id}")),
        "{}",
        listed.stdout
    );
    let doctor = sandbox.expect(0, &["doctor"]);
    assert!(doctor.stdout.contains("owner=tester"), "{}", doctor.stdout);

    // Without a local claim the coordinator answers the lookup; the next use
    // claims the lease again.
    std::fs::remove_file(sandbox.claim_file(&id)).unwrap();
    sandbox.expect(0, &["status", "--id", &slug]);

    let run = sandbox.expect(0, &["run", "--id", &id, "--", "echo", "hello"]);
    assert_eq!(run.stdout, "hello\n");
    let run_id = recorded_run(&run.stderr);
    assert!(
        run.stderr.contains(&format!("run={run_id}")),
        "{}",
        run.stderr
    );

    let history = sandbox.expect(0, &["history"]);
    let line = history
        .stdout
        .lines()
        .find(|line| line.starts_with(&run_id))
        .unwrap_or_else(|| panic!("{run_id} not in:\n{}", history.stdout));
    assert!(line.contains(" succeeded "), "{line}");
    assert!(line.contains(&id) && line.contains(&slug), "{line}");
    assert!(line.contains("exit=0"), "{line}");

    let logs = sandbox.expect(0, &["logs", &run_id]);
    assert!(logs.stdout.contains("hello"), "{}", logs.stdout);

    let types = event_types(&sandbox, &run_id);
    assert_eq!(types.first().map(String::as_str), Some("run.started"));
    assert_eq!(types.last().map(String::as_str), Some("command.finished"));
    for expected in [
        "bootstrap.waiting",
        "sync.started",
        "sync.finished",
        "command.started",
        "stdout",
    ] {
        assert!(
            types.iter().any(|kind| kind == expected),
            "{expected} in {types:?}"
        );
    }
    let text = sandbox.expect(0, &["events", &run_id]);
    assert!(
        text.stdout.starts_with("0001 run.started"),
        "{}",
        text.stdout
    );

    assert!(
        sandbox.claim_file(&id).exists(),
        "run --id claimed it again"
    );

    let stopped = sandbox.expect(0, &["stop", &id]);
    assert!(
        stopped.stderr.contains(&format!("released lease={id}")),
        "{}",
        stopped.stderr
    );
    assert!(
        eventually(30, || !process_running(&sshd)),
        "the lease's sshd is gone"
    );
    assert_eq!(coordinator.lease(&id).state.as_str(), "released");
    assert!(!sandbox.claim_file(&id).exists(), "claim removed");

    let pid = coordinator.pid();
    coordinator.stop();
    assert!(!std::path::Path::new(&format!("/proc/{pid}")).exists());
}

#[test]
fn one_shot_brokered_run_records_output_and_releases() {
    let mut sandbox = sandbox();
    let coordinator = Coordinator::start(&sandbox);
    coordinator.configure(&mut sandbox);
    let run = sandbox.run(&["run", "--", "sh", "-c", "echo out; echo err >&2; exit 3"]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(
        run.stderr.contains("through the coordinator"),
        "{}",
        run.stderr
    );
    let run_id = recorded_run(&run.stderr);

    let runs = sandbox.expect(0, &["history", "--json"]).json();
    let record = &runs[0];
    assert_eq!(record["id"], run_id.as_str());
    assert_eq!(record["state"], "failed");
    assert_eq!(record["exitCode"], 3);
    let lease_id = record["leaseID"].as_str().unwrap().to_string();
    assert_eq!(coordinator.lease(&lease_id).state.as_str(), "released");

    let events = sandbox.expect(0, &["events", &run_id, "--json"]).json();
    let data = |kind: &str| -> String {
        events
            .as_array()
            .unwrap()
            .iter()
            .filter(|event| event["type"] == kind)
            .map(|event| event["data"].as_str().unwrap_or_default().to_string())
            .collect()
    };
    assert_eq!(data("stdout"), "out\n");
    assert_eq!(data("stderr"), "err\n");
    let types = event_types(&sandbox, &run_id);
    for expected in ["leasing.started", "lease.created", "lease.released"] {
        assert!(
            types.iter().any(|kind| kind == expected),
            "{expected} in {types:?}"
        );
    }
    let only_stdout = sandbox
        .expect(0, &["events", &run_id, "--type", "stdout", "--json"])
        .json();
    assert_eq!(only_stdout.as_array().unwrap().len(), 1);

    let by_lease = sandbox
        .expect(0, &["history", "--lease", &lease_id, "--json"])
        .json();
    assert_eq!(by_lease.as_array().unwrap().len(), 1);
    let listed = sandbox.expect(0, &["list", "--json"]).json();
    assert_eq!(listed, serde_json::json!([]), "the one-shot lease is gone");
    coordinator.stop();
}

#[test]
fn missing_or_wrong_tokens_exit_3_with_a_login_hint() {
    let mut sandbox = sandbox();
    let coordinator = Coordinator::start(&sandbox);
    sandbox.set_env("CRABBOX_COORDINATOR", &coordinator.url);
    let missing = sandbox.run(&["run", "--", "true"]);
    assert_eq!(missing.code, 3, "{}", missing.stderr);
    assert!(
        missing.stderr.contains("missing coordinator token"),
        "{}",
        missing.stderr
    );
    assert!(
        missing.stderr.contains("hint: run `crabbox login --url"),
        "{}",
        missing.stderr
    );

    sandbox.set_env("CRABBOX_COORDINATOR_TOKEN", "not-the-token");
    let wrong = sandbox.run(&["warmup"]);
    assert_eq!(wrong.code, 3, "{}", wrong.stderr);
    assert!(wrong.stderr.contains("401"), "{}", wrong.stderr);
    assert!(!wrong.stderr.contains("not-the-token"), "{}", wrong.stderr);
    let history = sandbox.run(&["history"]);
    assert_eq!(history.code, 3, "{}", history.stderr);

    // An explicit non-brokerable provider stays direct and needs no coordinator.
    let direct = sandbox.run(&["list", "--provider", "ssh"]);
    assert_ne!(direct.code, 3, "{}", direct.stderr);
    coordinator.stop();

    // A coordinator that is down: exit 1 and say where it was looked for.
    let down = sandbox.run(&["list"]);
    assert_eq!(down.code, 1, "{}", down.stderr);
    assert!(
        down.stderr.contains("cannot reach the coordinator"),
        "{}",
        down.stderr
    );
}

#[test]
fn a_coordinator_that_dies_mid_run_only_costs_a_warning() {
    let mut sandbox = sandbox();
    let coordinator = Coordinator::start(&sandbox);
    coordinator.configure(&mut sandbox);
    let (id, _) = sandbox.warmup(&[]);
    let child = sandbox
        .command(&[
            "run",
            "--id",
            &id,
            "--",
            "sh",
            "-c",
            "n=2; sleep ${n}.5; echo done",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Assembled remotely, so the marker never matches the local CLI.
    assert!(eventually(30, || process_running("sleep 2.5")));
    coordinator.stop();
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert_eq!(String::from_utf8_lossy(&output.stdout), "done\n");
    assert_eq!(
        stderr.matches("on the coordinator failed").count(),
        1,
        "one recording warning:\n{stderr}"
    );
    // The run is still in the local history.
    sandbox.set_env("CRABBOX_COORDINATOR", "");
    let local = sandbox.expect(0, &["history", "--json"]).json();
    assert_eq!(local[0]["state"], "succeeded");
}
