//! The core loop end to end against real sshd, ssh and rsync on the local provider.

use crabbox_testkit::{eventually, process_running, Sandbox};

fn sandbox() -> Sandbox {
    Sandbox::new(env!("CARGO_BIN_EXE_crabbox"))
}

#[test]
fn warmup_run_status_ssh_stop() {
    let sandbox = sandbox();
    let (id, slug) = sandbox.warmup(&[]);
    assert!(id.starts_with("cbx_") && id.len() == 16, "{id}");
    let lease_dir = sandbox.lease_dir(&id);
    let sshd_config = lease_dir.join("sshd_config").display().to_string();
    assert!(process_running(&sshd_config), "sshd runs after warmup");

    // Reuse by slug: the checkout is synced and the command's stdout alone is on stdout.
    let first = sandbox.expect(0, &["run", "--id", &slug, "--", "cat", "README.txt"]);
    assert_eq!(first.stdout, "hello from the checkout\n");
    assert!(first.stderr.contains("run summary"), "{}", first.stderr);
    assert!(first.stderr.contains("exit=0"));

    // Reuse by id; the remote exit code passes through and stderr stays separate.
    let second = sandbox.run(&[
        "run",
        "--id",
        &id,
        "--",
        "sh",
        "-c",
        "echo to-out; echo to-err >&2; exit 3",
    ]);
    assert_eq!(second.code, 3, "{}", second.stderr);
    assert_eq!(second.stdout, "to-out\n");
    assert!(second.stderr.contains("to-err"));
    assert!(second.stderr.contains("remote command exited 3"));

    let status = sandbox
        .expect(0, &["status", "--id", &slug, "--json"])
        .json();
    assert_eq!(status["id"], id.as_str());
    assert_eq!(status["slug"], slug.as_str());
    assert_eq!(status["provider"], "local");
    assert_eq!(status["ready"], true);
    assert_eq!(status["state"], "ready");

    // The printed ssh command works when executed.
    let ssh_line = sandbox.expect(0, &["ssh", &slug]).stdout;
    let remote = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("{} echo via-printed-ssh", ssh_line.trim()))
        .output()
        .unwrap();
    assert!(
        remote.status.success(),
        "{}",
        String::from_utf8_lossy(&remote.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&remote.stdout), "via-printed-ssh\n");

    let stop = sandbox.expect(0, &["stop", &slug]);
    assert!(
        stop.stderr.contains(&format!("deleted lease={id}")),
        "{}",
        stop.stderr
    );
    assert!(!lease_dir.exists(), "lease directory removed");
    assert!(!sandbox.claim_file(&id).exists(), "claim removed");
    assert!(
        eventually(5, || !process_running(&sshd_config)),
        "sshd no longer running"
    );

    // Stopping again is not an error.
    let again = sandbox.expect(0, &["stop", "--id", &id]);
    assert!(again.stderr.contains("already gone"), "{}", again.stderr);
    // ...by slug too.
    let again = sandbox.expect(0, &["stop", &slug]);
    assert!(again.stderr.contains("already gone"), "{}", again.stderr);
    let missing = sandbox.run(&["status", "--id", &id]);
    assert_eq!(missing.code, 4, "{}", missing.stderr);
}

#[test]
fn warm_run_opens_no_new_ssh_connection() {
    let sandbox = sandbox();
    let (id, _) = sandbox.warmup(&[]);
    sandbox.expect(0, &["run", "--id", &id, "--", "true"]);
    let before = sandbox.handshakes(&id);
    assert!(before >= 1, "the first connection is counted");
    sandbox.expect(0, &["run", "--id", &id, "--", "true"]);
    sandbox.expect(0, &["run", "--id", &id, "--no-sync", "--", "true"]);
    assert_eq!(sandbox.handshakes(&id), before, "warm runs ride the master");
    sandbox.expect(0, &["stop", &id]);
}

#[test]
fn one_shot_run_releases_its_lease() {
    let sandbox = sandbox();
    let output = sandbox.expect(0, &["run", "--", "echo", "one shot"]);
    assert_eq!(output.stdout, "one shot\n");
    assert!(
        output.stderr.contains("provider: using local"),
        "{}",
        output.stderr
    );
    assert!(output
        .stderr
        .contains("lease cleanup stopped=true policy=auto"));
    let id = output.field("lease").expect("lease id");
    assert!(!sandbox.lease_dir(&id).exists());
    assert!(!sandbox.claim_file(&id).exists());
    let listed = sandbox.expect(0, &["list", "--json"]).json();
    assert_eq!(listed, serde_json::json!([]));
}

#[test]
fn shell_mode_env_forwarding_and_injected_ids() {
    let mut sandbox = sandbox();
    sandbox.set_env("CI", "from-ci");
    sandbox.set_env("APP_SECRET_THING", "hidden");
    sandbox.set_env("APP_MODE", "fast");
    let output = sandbox.expect(
        0,
        &[
            "run",
            "--allow-env",
            "APP_MODE",
            "--",
            "echo $CI-$APP_MODE-${APP_SECRET_THING:-unset} && test -n \"$CRABBOX_RUN_ID\" && echo $CRABBOX_LEASE_ID",
        ],
    );
    let lines: Vec<&str> = output.stdout.lines().collect();
    assert_eq!(lines[0], "from-ci-fast-unset");
    assert!(lines[1].starts_with("cbx_"), "{:?}", lines);
}

#[test]
fn usage_errors_exit_2() {
    let sandbox = sandbox();
    for args in [
        vec!["run"],
        vec!["run", "--stop-after", "sometimes", "--", "true"],
        vec!["run", "--id", "x", "--slug", "y", "--", "true"],
        vec!["stop"],
        vec!["stop", "--id", "a", "b"],
        vec!["no-such-command"],
    ] {
        let output = sandbox.run(&args);
        assert_eq!(output.code, 2, "{args:?}: {}", output.stderr);
    }
    let bare = sandbox.run(&[]);
    assert_eq!(bare.code, 2);
    assert!(
        bare.stdout.contains("Usage"),
        "help on stdout: {}",
        bare.stdout
    );
    assert_eq!(sandbox.run(&["--version"]).code, 0);
    assert_eq!(sandbox.run(&["run", "--help"]).code, 0);
}

#[test]
fn keep_on_failure_keeps_only_failed_fresh_leases() {
    let sandbox = sandbox();
    let output = sandbox.run(&["run", "--keep-on-failure", "--", "false"]);
    assert_eq!(output.code, 1);
    assert!(
        output.stderr.contains("keep-on-failure: kept lease="),
        "{}",
        output.stderr
    );
    let id = output.field("lease").unwrap();
    assert!(sandbox.lease_dir(&id).exists());
    sandbox.expect(0, &["stop", &id]);
    let passed = sandbox.expect(0, &["run", "--keep-on-failure", "--", "true"]);
    let id = passed.field("lease").unwrap();
    assert!(!sandbox.lease_dir(&id).exists());
}

#[test]
fn a_shell_script_that_starts_a_daemon_returns_when_the_script_ends() {
    let sandbox = sandbox();
    let (id, _) = sandbox.warmup(&[]);
    let mut child = sandbox
        .command(&[
            "run",
            "--id",
            &id,
            "--shell",
            "--",
            "sleep 3217 & echo started",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Today's bound is the daemon's 3217 s; anything near that is a hang.
    let finished = eventually(60, || matches!(child.try_wait(), Ok(Some(_))));
    if !finished {
        let _ = child.kill();
    }
    let output = child.wait_with_output().unwrap();
    assert!(finished, "run waited for the background daemon");
    assert!(output.status.success(), "{output:?}");
    assert_eq!(String::from_utf8_lossy(&output.stdout), "started\n");
    assert!(
        process_running("sleep 3217"),
        "the daemon keeps running on the lease"
    );
    sandbox.expect(0, &["stop", &id]);
    assert!(
        eventually(5, || !process_running("sleep 3217")),
        "stop ends the daemon with its lease"
    );
}

#[test]
fn no_sync_runs_report_the_sync_as_skipped() {
    let sandbox = sandbox();
    let (id, _) = sandbox.warmup(&[]);
    let output = sandbox.expect(0, &["run", "--id", &id, "--no-sync", "--", "true"]);
    let summary = output
        .stderr
        .lines()
        .find(|line| line.starts_with("run summary"))
        .unwrap_or_else(|| panic!("no summary in {}", output.stderr));
    assert!(summary.contains("sync_skipped=true"), "{summary}");
    sandbox.expect(0, &["stop", &id]);
}

#[test]
fn a_mistyped_flag_never_leases_a_box() {
    let sandbox = sandbox();
    let output = sandbox.run(&["run", "--kep", "--", "true"]);
    assert_eq!(output.code, 2, "{output:?}");
    assert!(output.stderr.contains("'--keep'"), "{}", output.stderr);
    assert!(sandbox.claimed_ids().is_empty(), "nothing was leased");
    assert!(
        !sandbox.state_dir().join("local").exists()
            || std::fs::read_dir(sandbox.state_dir().join("local"))
                .unwrap()
                .next()
                .is_none()
    );
    // Without `--`, flags after the command's first word still belong to it.
    let output = sandbox.expect(0, &["run", "echo", "hi", "--release"]);
    assert_eq!(output.stdout, "hi --release\n");
}

#[test]
fn piped_stdin_reaches_the_command() {
    let mut sandbox = sandbox();
    sandbox.set_env("GREETING", "hi there");
    let output = sandbox.run_with_input(
        &[
            "run",
            "--allow-env",
            "GREETING",
            "--",
            "sh",
            "-c",
            "echo \"$GREETING\"; wc -l",
        ],
        "one\ntwo\nthree\n",
    );
    assert_eq!(output.code, 0, "{output:?}");
    assert_eq!(output.stdout, "hi there\n3\n");
    let output = sandbox.run_with_input(&["run", "--", "cat"], "piped input\n");
    assert_eq!(output.stdout, "piped input\n", "{output:?}");
}
