//! The sync engine end to end: only changes are sent, the skip stays correct after
//! commands, odd names and modes survive, interrupted syncs resync correctly, and
//! the guards stop before anything is leased.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crabbox_testkit::{eventually, process_running, Output, Sandbox};

fn sandbox() -> Sandbox {
    Sandbox::new(env!("CARGO_BIN_EXE_crabbox"))
}

/// The runner-side copy of the checkout (the local provider keeps it on this disk).
fn remote_dir(sandbox: &Sandbox, lease: &str) -> PathBuf {
    sandbox
        .lease_dir(lease)
        .join("work")
        .join(lease)
        .join("repo")
}

fn git(dir: &Path, args: &[&str]) {
    let status = Command::new("git")
        .args(["-c", "user.email=t@example.com", "-c", "user.name=t"])
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "git {args:?}");
}

fn field(output: &Output, key: &str) -> String {
    output
        .field(key)
        .unwrap_or_else(|| panic!("no {key}= in {}", output.stderr))
}

fn sync(sandbox: &Sandbox, lease: &str) -> Output {
    sandbox.expect(0, &["run", "--id", lease, "--", "true"])
}

/// Every regular file and symlink under `root`, relative, sorted.
fn tree(root: &Path) -> Vec<String> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let path = entry.path();
            let kind = entry.file_type().unwrap();
            if kind.is_dir() {
                walk(root, &path, out);
            } else {
                out.push(path.strip_prefix(root).unwrap().display().to_string());
            }
        }
    }
    let mut out = Vec::new();
    walk(root, root, &mut out);
    out.sort();
    out
}

#[test]
fn only_changes_are_sent_and_the_remote_mirrors_the_checkout() {
    let sandbox = sandbox();
    let repo = sandbox.repo();
    std::fs::write(repo.join(".gitignore"), "*.log\n").unwrap();
    std::fs::write(repo.join("old-name.txt"), "rename me\n").unwrap();
    std::fs::write(repo.join("gone.txt"), "delete me\n").unwrap();
    git(&repo, &["add", "."]);
    git(&repo, &["commit", "-qm", "more"]);
    let (lease, _) = sandbox.warmup(&[]);
    let first = sync(&sandbox, &lease);
    assert_eq!(field(&first, "sync_skipped"), "false");
    assert_eq!(field(&first, "sync_files"), "5");

    // Modify, add (untracked), delete, rename, plus ignored and excluded files.
    std::fs::write(repo.join("README.txt"), "changed\n").unwrap();
    std::fs::write(repo.join("new.txt"), "brand new\n").unwrap();
    std::fs::remove_file(repo.join("gone.txt")).unwrap();
    git(&repo, &["mv", "old-name.txt", "src/new-name.txt"]);
    std::fs::write(repo.join("debug.log"), "ignored by .gitignore\n").unwrap();
    std::fs::create_dir_all(repo.join("node_modules/pkg")).unwrap();
    std::fs::write(repo.join("node_modules/pkg/index.js"), "excluded\n").unwrap();
    let second = sync(&sandbox, &lease);
    assert_eq!(field(&second, "sync_skipped"), "false");
    assert_eq!(field(&second, "sync_files"), "3", "{}", second.stderr);

    let remote = remote_dir(&sandbox, &lease);
    assert_eq!(
        tree(&remote),
        vec![
            ".gitignore",
            "README.txt",
            "new.txt",
            "src/lib.txt",
            "src/new-name.txt"
        ]
    );
    assert_eq!(
        std::fs::read_to_string(remote.join("README.txt")).unwrap(),
        "changed\n"
    );

    // Nothing changed: skipped, nothing sent, no new SSH connection.
    let handshakes = sandbox.handshakes(&lease);
    let third = sync(&sandbox, &lease);
    assert_eq!(field(&third, "sync_skipped"), "true");
    assert_eq!(field(&third, "sync_bytes"), "0");
    assert!(third.stderr.contains("No changes detected, skipping sync"));
    assert_eq!(sandbox.handshakes(&lease), handshakes);
    sandbox.expect(0, &["stop", &lease]);
}

#[test]
fn odd_names_symlinks_and_executable_bits() {
    let sandbox = sandbox();
    let repo = sandbox.repo();
    let names = [
        "with space.txt",
        "it's \"quoted\".txt",
        "new\nline.txt",
        "ünïcode.txt",
    ];
    for name in names {
        std::fs::write(repo.join(name), name).unwrap();
    }
    std::os::unix::fs::symlink("src/lib.txt", repo.join("link.txt")).unwrap();
    let script = repo.join("run.sh");
    std::fs::write(&script, "#!/bin/sh\necho ok\n").unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let (lease, _) = sandbox.warmup(&[]);
    let output = sandbox.expect(0, &["run", "--id", &lease, "--", "./run.sh"]);
    assert_eq!(output.stdout, "ok\n");
    let remote = remote_dir(&sandbox, &lease);
    for name in names {
        assert_eq!(std::fs::read_to_string(remote.join(name)).unwrap(), name);
    }
    assert_eq!(
        std::fs::read_link(remote.join("link.txt")).unwrap(),
        PathBuf::from("src/lib.txt")
    );
    // A mode-only change is a change.
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o644)).unwrap();
    let output = sandbox.expect(
        0,
        &["run", "--id", &lease, "--", "test", "!", "-x", "run.sh"],
    );
    assert_eq!(field(&output, "sync_skipped"), "false");
    sandbox.expect(0, &["stop", &lease]);
}

#[test]
fn a_remote_mutation_is_healed_on_the_next_run() {
    let sandbox = sandbox();
    let (lease, _) = sandbox.warmup(&[]);
    sync(&sandbox, &lease);
    let mutate = sandbox.expect(
        0,
        &[
            "run",
            "--id",
            &lease,
            "--",
            "sh",
            "-c",
            "echo broken > README.txt; rm src/lib.txt; echo output-only",
        ],
    );
    assert_eq!(mutate.stdout, "output-only\n");
    assert!(
        !mutate.stderr.contains("CRABBOX-TRAILER"),
        "trailer is hidden"
    );
    let healed = sandbox.expect(
        0,
        &[
            "run",
            "--id",
            &lease,
            "--",
            "cat",
            "README.txt",
            "src/lib.txt",
        ],
    );
    assert_eq!(healed.stdout, "hello from the checkout\nlibrary\n");
    assert_eq!(field(&healed, "sync_skipped"), "false");
    // Creating `target/` changes the root directory, so the next sync re-checks the
    // root's files (sending nothing); after that, build output inside the excluded
    // directory leaves the copy clean.
    let build = [
        "run",
        "--id",
        &lease,
        "--",
        "sh",
        "-c",
        "mkdir -p target && date > target/out",
    ];
    sandbox.expect(0, &build);
    let recheck = sync(&sandbox, &lease);
    assert_eq!(field(&recheck, "sync_files"), "0");
    sandbox.expect(0, &build);
    let after_build = sync(&sandbox, &lease);
    assert_eq!(
        field(&after_build, "sync_skipped"),
        "true",
        "{}",
        after_build.stderr
    );
    // A shell on the lease makes the copy unknown: the next sync compares all.
    sandbox.expect(0, &["ssh", &lease]);
    let after_shell = sync(&sandbox, &lease);
    assert_eq!(field(&after_shell, "sync_skipped"), "false");
    sandbox.expect(0, &["stop", &lease]);
}

#[test]
fn an_interrupted_sync_is_followed_by_a_correct_resync() {
    let sandbox = sandbox();
    let (lease, _) = sandbox.warmup(&[]);
    sync(&sandbox, &lease);
    let big = sandbox.repo().join("big.bin");
    let file = std::fs::File::create(&big).unwrap();
    file.set_len(384 * 1024 * 1024).unwrap();
    drop(file);
    let child = sandbox
        .command(&["run", "--id", &lease, "--", "true"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let marker = format!("{}/", sandbox.repo().display());
    assert!(eventually(30, || process_running(&marker)), "rsync started");
    std::thread::sleep(std::time::Duration::from_millis(50));
    Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    let interrupted = child.wait_with_output().unwrap();
    assert_eq!(
        interrupted.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&interrupted.stderr)
    );
    // Nothing changed locally since, yet the next run must not trust the remote.
    let resync = sync(&sandbox, &lease);
    assert_eq!(field(&resync, "sync_skipped"), "false");
    let remote = remote_dir(&sandbox, &lease).join("big.bin");
    assert_eq!(
        std::fs::metadata(&remote).unwrap().len(),
        384 * 1024 * 1024,
        "the whole file arrived"
    );
    let again = sync(&sandbox, &lease);
    assert_eq!(field(&again, "sync_skipped"), "true");
    sandbox.expect(0, &["stop", &lease]);
}

#[test]
fn full_resync_removes_stray_remote_files() {
    let sandbox = sandbox();
    let (lease, _) = sandbox.warmup(&[]);
    sandbox.expect(0, &["run", "--id", &lease, "--", "touch", "stray.txt"]);
    let remote = remote_dir(&sandbox, &lease);
    assert!(remote.join("stray.txt").exists());
    let output = sandbox.expect(0, &["run", "--id", &lease, "--full-resync", "--sync-only"]);
    assert!(output.stdout.starts_with("synced "), "{}", output.stdout);
    assert!(!remote.join("stray.txt").exists());
    assert!(remote.join("README.txt").exists());
    sandbox.expect(0, &["stop", &lease]);
}

#[test]
fn guardrails_and_mass_deletions_stop_before_leasing() {
    let mut sandbox = sandbox();
    let repo = sandbox.repo();
    // Committed, so the guardrail scope is the whole candidate set (3 files).
    std::fs::write(repo.join("crabbox.yaml"), "sync:\n  failFiles: 2\n").unwrap();
    git(&repo, &["add", "."]);
    git(&repo, &["commit", "-qm", "limits"]);
    let output = sandbox.run(&["run", "--", "true"]);
    assert_eq!(output.code, 6, "{}", output.stderr);
    assert!(output.stderr.contains("too large"), "{}", output.stderr);
    assert!(output.stderr.contains("hint:"));
    assert_eq!(
        sandbox.expect(0, &["list", "--json"]).json(),
        serde_json::json!([])
    );
    let forced = sandbox.run(&["run", "--force-sync-large", "--", "true"]);
    assert_eq!(forced.code, 0, "{}", forced.stderr);
    git(&repo, &["rm", "-q", "crabbox.yaml"]);
    git(&repo, &["commit", "-qm", "no limits"]);

    for index in 0..200 {
        std::fs::write(repo.join(format!("f{index}.txt")), "x").unwrap();
    }
    git(&repo, &["add", "."]);
    git(&repo, &["commit", "-qm", "many"]);
    for index in 0..200 {
        std::fs::remove_file(repo.join(format!("f{index}.txt"))).unwrap();
    }
    let output = sandbox.run(&["run", "--", "true"]);
    assert_eq!(output.code, 6, "{}", output.stderr);
    assert!(
        output.stderr.contains("200 tracked files are deleted"),
        "{}",
        output.stderr
    );
    assert!(output.stderr.contains("CRABBOX_ALLOW_MASS_DELETIONS=1"));
    sandbox.set_env("CRABBOX_ALLOW_MASS_DELETIONS", "1");
    sandbox.expect(0, &["run", "--", "true"]);
}

#[test]
fn unreadable_crabboxignore_is_a_sync_error() {
    let sandbox = sandbox();
    std::fs::create_dir(sandbox.repo().join(".crabboxignore")).unwrap();
    let output = sandbox.run(&["run", "--", "true"]);
    assert_eq!(output.code, 6, "{}", output.stderr);
    assert!(
        output.stderr.contains(".crabboxignore"),
        "{}",
        output.stderr
    );
    assert!(output.stderr.contains("hint:"));
}

#[test]
fn sync_plan_reports_without_leasing() {
    let sandbox = sandbox();
    let repo = sandbox.repo();
    std::fs::create_dir_all(repo.join("node_modules/x")).unwrap();
    std::fs::write(repo.join("node_modules/x/i.js"), "x").unwrap();
    std::fs::write(repo.join("untracked.txt"), "new").unwrap();
    let plan = sandbox.expect(0, &["sync-plan", "--json"]).json();
    assert_eq!(plan["candidate"]["files"], 3);
    assert_eq!(plan["dirtyDelta"]["files"], 1);
    assert_eq!(plan["guardrail"]["status"], "ok");
    let text = sandbox.expect(0, &["sync-plan"]);
    assert!(
        text.stdout.starts_with("sync candidate: 3 files"),
        "{}",
        text.stdout
    );
    assert_eq!(
        sandbox.expect(0, &["list", "--json"]).json(),
        serde_json::json!([])
    );
}

#[test]
fn runs_are_recorded_in_the_local_history() {
    let sandbox = sandbox();
    sandbox.run(&[
        "run",
        "--",
        "sh",
        "-c",
        "echo line1; echo line2; echo oops >&2; exit 4",
    ]);
    sandbox.expect(0, &["run", "--timing-json", "--", "echo", "second"]);
    let runs = sandbox.expect(0, &["history", "--json"]).json();
    let runs = runs.as_array().unwrap();
    assert_eq!(runs.len(), 2);
    assert_eq!(runs[0]["state"], "succeeded");
    let failed = &runs[1];
    assert_eq!(failed["state"], "failed");
    assert_eq!(failed["exitCode"], 4);
    assert_eq!(failed["command"][0], "sh");
    let run_id = failed["id"].as_str().unwrap();
    let logs = sandbox.expect(0, &["logs", run_id]);
    assert!(logs.stdout.contains("line1\nline2\n"), "{}", logs.stdout);
    assert!(logs.stdout.contains("oops"));
    let tail = sandbox.expect(0, &["logs", run_id, "--tail", "1"]);
    assert_eq!(tail.stdout.lines().count(), 1);
    let events = sandbox.expect(0, &["events", run_id, "--json"]).json();
    let kinds: Vec<&str> = events
        .as_array()
        .unwrap()
        .iter()
        .map(|event| event["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        vec![
            "lease.created",
            "bootstrap.waiting",
            "sync.started",
            "sync.finished",
            "command.started",
            "command.finished",
            "lease.released"
        ]
    );
    let after = sandbox
        .expect(0, &["events", run_id, "--after", "4", "--json"])
        .json();
    assert_eq!(after.as_array().unwrap().len(), 3);
    let missing = sandbox.run(&["logs", "run_000000000000"]);
    assert_eq!(missing.code, 4);
}

#[test]
fn timing_json_carries_the_sync_report() {
    let sandbox = sandbox();
    let output = sandbox.expect(0, &["run", "--timing-json", "--", "true"]);
    let last = output.stderr.lines().last().unwrap();
    let timing: serde_json::Value = serde_json::from_str(last).unwrap();
    assert_eq!(timing["syncSkipped"], false);
    assert_eq!(timing["syncFiles"], 2);
    assert!(timing["syncPhases"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["name"] == "archive"));
    assert_eq!(timing["exitCode"], 0);
}

#[test]
fn first_sync_streams_an_archive_and_falls_back_to_rsync_on_a_used_workdir() {
    let sandbox = sandbox();
    let (lease, _) = sandbox.warmup(&[]);
    let first = sync(&sandbox, &lease);
    assert!(
        field(&first, "sync_steps").contains("archive:"),
        "{}",
        first.stderr
    );
    // Losing the local record while the runner keeps its copy: the archive declines
    // (the workdir is not empty) and rsync compares everything instead.
    let state = sandbox
        .home()
        .join(".config/crabbox/testboxes")
        .join(&lease)
        .join("sync-repo.state");
    std::fs::remove_file(&state).unwrap();
    std::fs::write(
        sandbox.repo().join("README.txt"),
        "after the record was lost\n",
    )
    .unwrap();
    let second = sync(&sandbox, &lease);
    let steps = field(&second, "sync_steps");
    assert!(steps.contains("rsync:"), "{steps}");
    assert_eq!(
        std::fs::read_to_string(remote_dir(&sandbox, &lease).join("README.txt")).unwrap(),
        "after the record was lost\n"
    );
    sandbox.expect(0, &["stop", &lease]);
}

#[test]
fn a_watcher_spares_the_manifest_and_still_sees_every_edit() {
    let sandbox = sandbox();
    let (lease, _) = sandbox.warmup(&[]);
    sync(&sandbox, &lease);
    let quick = sync(&sandbox, &lease);
    assert_eq!(field(&quick, "sync_skipped"), "true");
    assert!(
        field(&quick, "sync_steps").starts_with("watch:"),
        "{}",
        quick.stderr
    );
    let repo = sandbox.repo();
    // An in-place edit, a file in a brand-new directory, a deletion: each is seen.
    std::fs::write(repo.join("src/lib.txt"), "edited\n").unwrap();
    let edited = sync(&sandbox, &lease);
    assert_eq!(field(&edited, "sync_files"), "1", "{}", edited.stderr);
    std::fs::create_dir_all(repo.join("fresh/deeper")).unwrap();
    std::fs::write(repo.join("fresh/deeper/new.txt"), "new\n").unwrap();
    let created = sandbox.expect(
        0,
        &["run", "--id", &lease, "--", "cat", "fresh/deeper/new.txt"],
    );
    assert_eq!(created.stdout, "new\n");
    sync(&sandbox, &lease);
    std::fs::write(repo.join("fresh/deeper/new.txt"), "newer\n").unwrap();
    let nested = sandbox.expect(
        0,
        &["run", "--id", &lease, "--", "cat", "fresh/deeper/new.txt"],
    );
    assert_eq!(
        nested.stdout, "newer\n",
        "an edit inside a directory created later"
    );
    std::fs::remove_file(repo.join("README.txt")).unwrap();
    let deleted = sandbox.expect(0, &["run", "--id", &lease, "--", "ls"]);
    assert!(!deleted.stdout.contains("README.txt"), "{}", deleted.stdout);
    let watcher = format!("__watch {}", repo.display());
    assert!(process_running(&watcher));
    sandbox.expect(0, &["stop", &lease]);
    assert!(
        eventually(5, || !process_running(&watcher)),
        "watcher stopped with the last lease"
    );
}

#[test]
fn a_reused_lease_counts_its_manifest_once() {
    let sandbox = sandbox();
    // Enough files that building the manifest takes a visible share of the sync.
    let bulk = sandbox.repo().join("bulk");
    for dir in 0..40 {
        let dir_path = bulk.join(format!("d{dir:02}"));
        std::fs::create_dir_all(&dir_path).unwrap();
        for file in 0..400 {
            std::fs::write(
                dir_path.join(format!("f{file:03}.txt")),
                format!("{dir}/{file}\n"),
            )
            .unwrap();
        }
    }
    git(&sandbox.repo(), &["add", "."]);
    git(&sandbox.repo(), &["commit", "-qm", "bulk"]);
    let (lease, _) = sandbox.warmup(&[]);
    sync(&sandbox, &lease);
    std::fs::write(sandbox.repo().join("README.txt"), "changed\n").unwrap();
    let output = sandbox.expect(0, &["run", "--id", &lease, "--timing-json", "--", "true"]);
    let timing: serde_json::Value =
        serde_json::from_str(output.stderr.lines().last().unwrap()).unwrap();
    let phases = timing["syncPhases"].as_array().unwrap();
    let phase = |name: &str| {
        phases
            .iter()
            .filter(|p| p["name"] == name)
            .map(|p| p["ms"].as_u64().unwrap())
            .sum::<u64>()
    };
    let manifest = phase("manifest");
    let all: u64 = phases.iter().map(|p| p["ms"].as_u64().unwrap()).sum();
    let sync_ms = timing["syncMs"].as_u64().unwrap();
    assert!(manifest > 0, "{timing}");
    // The phases are parts of the sync; the manifest built during it is one of
    // them. Counting it twice would put syncMs at least one manifest above them.
    assert!(
        sync_ms + phases.len() as u64 >= all,
        "syncMs {sync_ms} below its phases {all}: {timing}"
    );
    assert!(
        sync_ms < all + manifest,
        "syncMs {sync_ms} counts the manifest ({manifest} ms) twice: {timing}"
    );
    sandbox.expect(0, &["stop", &lease]);
}
