//! Claims binding across checkouts, expiry reaping and config provenance through
//! the real binary.

use crabbox_testkit::{eventually, process_running, Sandbox};

fn sandbox() -> Sandbox {
    Sandbox::new(env!("CARGO_BIN_EXE_crabbox"))
}

#[test]
fn a_lease_is_bound_to_its_checkout_until_reclaimed() {
    let sandbox = sandbox();
    let (id, slug) = sandbox.warmup(&[]);
    let other = sandbox.root().join("other");
    sandbox.init_repo(&other);

    let conflict = sandbox.run_in(&other, &["run", "--id", &slug, "--", "true"]);
    assert_eq!(conflict.code, 2, "{}", conflict.stderr);
    assert!(
        conflict.stderr.contains("use --reclaim"),
        "{}",
        conflict.stderr
    );
    assert!(conflict.stderr.contains("hint:"), "{}", conflict.stderr);

    let reclaimed = sandbox.run_in(&other, &["run", "--id", &slug, "--reclaim", "--", "pwd"]);
    assert_eq!(reclaimed.code, 0, "{}", reclaimed.stderr);
    assert!(
        reclaimed.stdout.trim().ends_with("/other"),
        "{}",
        reclaimed.stdout
    );

    let claims = sandbox.expect(0, &["claims", "list", "--json"]).json();
    assert_eq!(claims["version"], 1);
    assert_eq!(claims["source"], "local-claims");
    assert_eq!(claims["claims"][0]["leaseId"], id.as_str());
    assert_eq!(
        claims["claims"][0]["repoRoot"],
        other.display().to_string().as_str()
    );
    // The original checkout is now the one in conflict.
    let back = sandbox.run(&["run", "--id", &slug, "--", "true"]);
    assert_eq!(back.code, 2);
    sandbox.expect(0, &["stop", &id]);
}

#[test]
fn claims_list_reports_malformed_files() {
    let sandbox = sandbox();
    let claims = sandbox.state_dir().join("claims");
    std::fs::create_dir_all(&claims).unwrap();
    std::fs::write(claims.join("cbx_bbbbbbbbbbbb.json"), "{not json").unwrap();
    let output = sandbox.run(&["claims", "list", "--json"]);
    assert_eq!(output.code, 2);
    let listing = output.json();
    assert_eq!(listing["problems"][0]["code"], "invalid_json");
    let text = sandbox.run(&["claims", "list"]);
    assert!(text
        .stdout
        .starts_with("Local claims (unverified local state"));
    assert!(text.stdout.contains("Problems:"));
}

#[test]
fn expired_leases_are_reaped_by_cleanup_and_by_other_commands() {
    let sandbox = sandbox();
    // The long-lived lease first: a warmup itself reaps expired leases on its way.
    let (kept, _) = sandbox.warmup(&[]);
    let (first, _) = sandbox.warmup(&["--idle-timeout", "1s"]);
    std::thread::sleep(std::time::Duration::from_millis(2100));

    let dry = sandbox.expect(0, &["cleanup", "--dry-run"]);
    assert!(
        dry.stderr
            .contains(&format!("would delete server id={first}")),
        "{}",
        dry.stderr
    );
    assert!(dry.stderr.contains(&format!("skip server id={kept}")));
    assert!(
        sandbox.lease_dir(&first).exists(),
        "dry run removes nothing"
    );

    let swept = sandbox.expect(0, &["cleanup"]);
    assert!(swept.stderr.contains(&format!("delete server id={first}")));
    assert!(!sandbox.lease_dir(&first).exists());
    assert!(
        !sandbox.claim_file(&first).exists(),
        "claim removed with the lease"
    );
    let marker = sandbox
        .lease_dir(&first)
        .join("sshd_config")
        .display()
        .to_string();
    assert!(eventually(5, || !process_running(&marker)));
    assert!(sandbox.lease_dir(&kept).exists());

    // Opportunistic: `list` reaps an expired lease on its way.
    let (second, _) = sandbox.warmup(&["--idle-timeout", "1s"]);
    std::thread::sleep(std::time::Duration::from_millis(2100));
    let listed = sandbox.expect(0, &["list", "--json"]).json();
    let ids: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|server| server["labels"]["lease"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec![kept.as_str()]);
    assert!(!sandbox.lease_dir(&second).exists());
    sandbox.expect(0, &["stop", &kept]);
}

#[test]
fn heartbeat_and_inspect() {
    let sandbox = sandbox();
    let (id, slug) = sandbox.warmup(&[]);
    let beat = sandbox
        .expect(0, &["heartbeat", &slug, "--idle-timeout", "45m", "--json"])
        .json();
    assert_eq!(beat["id"], id.as_str());
    assert_eq!(beat["idleTimeout"], "45m0s");
    let inspect = sandbox.expect(0, &["inspect", "--id", &id]);
    assert!(inspect.stdout.contains(&format!("id={id}")));
    assert!(inspect.stdout.contains("idle_timeout=45m0s"));
    assert!(inspect.stdout.contains("label.provider=local"));
    sandbox.expect(0, &["stop", &id]);
}

#[test]
fn config_show_reports_each_layer() {
    let mut sandbox = sandbox();
    let user_config = sandbox.home().join(".config/crabbox/config.yaml");
    std::fs::create_dir_all(user_config.parent().unwrap()).unwrap();
    std::fs::write(
        &user_config,
        "class: fast\nidleTimeout: 10m\nssh:\n  user: alice\n",
    )
    .unwrap();
    std::fs::write(sandbox.repo().join("crabbox.yaml"), "idleTimeout: 20m\n").unwrap();
    sandbox.set_env("CRABBOX_SSH_USER", "bob");
    let shown = sandbox
        .expect(0, &["config", "show", "--json", "--provider", "local"])
        .json();
    let values = &shown["values"];
    assert_eq!(values["class"]["source"], "user_config");
    assert_eq!(values["idleTimeout"]["source"], "repo_config");
    assert_eq!(values["ssh.user"]["value"], "bob");
    assert_eq!(values["ssh.user"]["source"], "environment");
    assert_eq!(values["provider"]["source"], "flag");
    assert_eq!(values["ttl"]["source"], "compiled_default");
    let path = sandbox.expect(0, &["config", "path"]);
    assert_eq!(path.stdout.trim(), user_config.display().to_string());
}

#[test]
fn doctor_and_providers_report_as_json() {
    let sandbox = sandbox();
    let doctor = sandbox.expect(0, &["doctor", "--json"]).json();
    assert_eq!(doctor["ok"], true);
    assert_eq!(doctor["provider"], "local");
    let names: Vec<&str> = doctor["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|check| check["check"].as_str().unwrap())
        .collect();
    for expected in [
        "config",
        "provider-selection",
        "git",
        "ssh",
        "rsync",
        "sshd",
    ] {
        assert!(names.contains(&expected), "{expected} in {names:?}");
    }
    let providers = sandbox.expect(0, &["providers", "--json"]).json();
    assert_eq!(providers[0]["provider"], "local");
    assert_eq!(providers[0]["kind"], "ssh-lease");
    assert_eq!(
        providers[0]["features"],
        serde_json::json!(["ssh", "crabbox-sync", "cleanup"])
    );
    let mut broken = sandbox;
    broken.set_env("CRABBOX_SSHD", "/nonexistent/sshd");
    let failed = broken.run(&["doctor"]);
    assert_eq!(failed.code, 1, "{}", failed.stdout);
    assert!(failed.stdout.contains("missing sshd"), "{}", failed.stdout);
}

#[test]
fn connect_opens_a_shell_on_the_lease() {
    let sandbox = sandbox();
    let (id, slug) = sandbox.warmup(&[]);
    let output = sandbox.run_with_input(&["connect", &slug], "echo shell-$((40+2))\nexit 5\n");
    assert_eq!(output.code, 5, "{}", output.stderr);
    assert!(output.stdout.contains("shell-42"), "{}", output.stdout);
    sandbox.expect(0, &["stop", &id]);
}

#[test]
fn cleanup_removes_claims_whose_lease_the_provider_no_longer_has() {
    let sandbox = sandbox();
    let (gone, _) = sandbox.warmup(&[]);
    let (kept, _) = sandbox.warmup(&[]);
    // The machine vanishes behind the CLI's back: stop its sshd and its directory.
    let marker = sandbox
        .lease_dir(&gone)
        .join("sshd_config")
        .display()
        .to_string();
    let _ = std::process::Command::new("pkill")
        .args(["-f", &marker])
        .status();
    assert!(eventually(5, || !process_running(&marker)));
    std::fs::remove_dir_all(sandbox.lease_dir(&gone)).unwrap();

    let dry = sandbox.expect(0, &["cleanup", "--dry-run"]);
    assert!(
        dry.stderr
            .contains(&format!("would remove stale claim id={gone}")),
        "{}",
        dry.stderr
    );
    assert!(
        sandbox.claim_file(&gone).exists(),
        "dry run removes nothing"
    );

    let swept = sandbox.expect(0, &["cleanup"]);
    assert!(
        swept
            .stderr
            .contains(&format!("remove stale claim id={gone}")),
        "{}",
        swept.stderr
    );
    assert!(!sandbox.claim_file(&gone).exists());
    assert!(
        sandbox.claim_file(&kept).exists(),
        "a live lease keeps its claim"
    );
    assert!(!swept.stderr.contains(&format!("stale claim id={kept}")));
    sandbox.expect(0, &["stop", &kept]);
}

#[test]
fn another_providers_not_found_never_removes_a_live_claim() {
    let sandbox = sandbox();
    let (id, slug) = sandbox.warmup(&["--keep"]);
    let claim = sandbox.claim_file(&id);
    assert!(claim.is_file());

    let output = sandbox.run(&[
        "stop",
        "--provider",
        "ssh",
        "--static-host",
        "127.0.0.1",
        &id,
    ]);
    assert_eq!(output.code, 2, "{output:?}");
    assert!(
        output.stderr.contains("claimed by provider local, not ssh"),
        "{}",
        output.stderr
    );
    assert!(claim.is_file(), "the live lease's claim was removed");
    assert!(sandbox.lease_dir(&id).is_dir());

    // The lease is still usable, then stops normally.
    let output = sandbox.expect(
        0,
        &["run", "--id", &slug, "--no-sync", "--", "echo", "alive"],
    );
    assert_eq!(output.stdout, "alive\n");
    sandbox.expect(0, &["stop", &id]);
    assert!(!claim.exists());
}

#[test]
fn a_recycled_sshd_pid_is_never_signalled() {
    let sandbox = sandbox();
    let (id, _) = sandbox.warmup(&["--keep"]);
    // A stranger now holds the pid the lease recorded for its sshd, as after a
    // reboot or a crash.
    let mut stranger = std::process::Command::new("sleep")
        .arg("300")
        .spawn()
        .unwrap();
    let record_path = sandbox.lease_dir(&id).join("lease.json");
    let mut record: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&record_path).unwrap()).unwrap();
    let sshd_pid = record["sshdPid"].as_i64().expect("sshdPid in the record");
    record["sshdPid"] = serde_json::json!(stranger.id());
    std::fs::write(&record_path, record.to_string()).unwrap();
    std::fs::write(
        sandbox.lease_dir(&id).join("sshd.pid"),
        format!("{}\n", stranger.id()),
    )
    .unwrap();

    sandbox.expect(0, &["stop", &id]);
    assert!(
        stranger.try_wait().unwrap().is_none(),
        "stop killed a process that only reused the recorded pid"
    );
    assert!(
        !std::path::Path::new(&format!("/proc/{sshd_pid}")).exists()
            || std::fs::read_to_string(format!("/proc/{sshd_pid}/stat"))
                .is_ok_and(|stat| stat.contains(") Z")),
        "the lease's real sshd is gone"
    );
    assert!(!sandbox.lease_dir(&id).exists());
    let _ = stranger.kill();
    let _ = stranger.wait();
}
