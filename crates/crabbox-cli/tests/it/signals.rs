//! SIGINT or SIGTERM at any millisecond of `warmup` or `run` leaves nothing
//! behind: no sshd, no lease directory, no claim without a lease, no network
//! namespace — or, when the signal came after a warmup finished, a complete
//! lease that `stop` removes.

use std::process::Stdio;
use std::time::Duration;

use crabbox_testkit::{eventually, is_root, Sandbox};

use crate::common;

/// Processes whose command line points into the sandbox's state directory
/// (lease sshds, their sessions, checkout watchers).
fn leftover_processes(sandbox: &Sandbox) -> Vec<String> {
    let marker = sandbox.state_dir().display().to_string();
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        if !entry
            .file_name()
            .to_string_lossy()
            .chars()
            .all(|c| c.is_ascii_digit())
        {
            continue;
        }
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        if stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z'))
        {
            continue;
        }
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        let text = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        if text.contains(&marker) {
            found.push(text);
        }
    }
    found
}

fn lease_dirs(sandbox: &Sandbox) -> Vec<String> {
    std::fs::read_dir(sandbox.state_dir().join("local"))
        .into_iter()
        .flatten()
        .flatten()
        .filter(|entry| entry.path().is_dir())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect()
}

/// Registry entries (and so network namespaces) owned by this sandbox.
fn leftover_namespaces(sandbox: &Sandbox) -> Vec<String> {
    let marker = sandbox.state_dir().display().to_string();
    std::fs::read_dir("/run/crabbox/netns")
        .into_iter()
        .flatten()
        .flatten()
        .filter(|entry| {
            std::fs::read_to_string(entry.path()).is_ok_and(|text| text.contains(&marker))
        })
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .chain(
            std::fs::read_dir("/run/netns")
                .into_iter()
                .flatten()
                .flatten()
                .map(|entry| entry.file_name().to_string_lossy().into_owned())
                .filter(|name| {
                    lease_dirs(sandbox)
                        .iter()
                        .any(|lease| lease.replacen("cbx_", "cbx-", 1) == *name)
                }),
        )
        .collect()
}

/// Starts `crabbox args`, signals it after `delay`, and returns its exit code.
fn signal_after(sandbox: &Sandbox, args: &[&str], delay: Duration, signal: &str) -> i32 {
    let mut child = sandbox
        .command(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start crabbox");
    std::thread::sleep(delay);
    let _ = std::process::Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status();
    let mut code = None;
    assert!(
        eventually(60, || match child.try_wait() {
            Ok(Some(status)) => {
                use std::os::unix::process::ExitStatusExt;
                code = Some(status.code().unwrap_or(128 + status.signal().unwrap_or(0)));
                true
            }
            _ => false,
        }),
        "crabbox {args:?} did not exit after {signal}"
    );
    code.unwrap()
}

/// Checks the invariant after one interrupted command and resets the sandbox.
fn check_and_reset(sandbox: &Sandbox, what: &str, code: i32) {
    assert!(
        [0, 130, 143].contains(&code),
        "{what}: unexpected exit code {code}"
    );
    let claims = sandbox.claimed_ids();
    let dirs = lease_dirs(sandbox);
    if code == 0 && what.starts_with("warmup") {
        // Finished before the signal: one complete lease, then stop it.
        assert_eq!(claims.len(), 1, "{what}: claims {claims:?}");
        assert_eq!(dirs, claims, "{what}: every lease has its claim");
        sandbox.expect(0, &["stop", &claims[0]]);
    } else {
        assert!(claims.is_empty(), "{what}: claims left {claims:?}");
    }
    // Anything still here is an orphan, whatever the exit code said.
    assert!(
        eventually(5, || lease_dirs(sandbox).is_empty()),
        "{what}: lease directories left {:?}",
        lease_dirs(sandbox)
    );
    assert!(
        eventually(5, || leftover_processes(sandbox).is_empty()),
        "{what}: processes left {:?}",
        leftover_processes(sandbox)
    );
    assert!(
        leftover_namespaces(sandbox).is_empty(),
        "{what}: network namespaces left {:?}",
        leftover_namespaces(sandbox)
    );
    assert!(
        sandbox.claimed_ids().is_empty(),
        "{what}: claims after stop"
    );
}

fn sweep(sandbox: &Sandbox, command: &[&str]) {
    for step in 0..=20u64 {
        let delay = Duration::from_millis(step * 5);
        let signal = if step % 2 == 0 { "-INT" } else { "-TERM" };
        let code = signal_after(sandbox, command, delay, signal);
        let what = format!("{} {signal} after {delay:?}", command.join(" "));
        check_and_reset(sandbox, &what, code);
    }
}

#[test]
fn a_signal_at_any_millisecond_of_warmup_or_run_leaves_nothing_behind() {
    let sandbox = common::sandbox();
    sweep(&sandbox, &["warmup"]);
    sweep(&sandbox, &["run", "--", "true"]);
}

#[test]
fn a_signal_during_a_namespaced_warmup_leaves_no_namespace() {
    if !is_root() {
        eprintln!("skipped: network namespaces need root");
        return;
    }
    let sandbox = common::sandbox();
    sweep(&sandbox, &["warmup", "--local-netns"]);
}

#[test]
fn cleanup_removes_what_a_killed_create_left() {
    let sandbox = common::sandbox();
    let mut netns = vec![];
    if is_root() {
        netns.push("--local-netns");
    }
    // SIGKILL cannot be handled: the pending claim is what finds the remains.
    for delay in [20u64, 60, 100, 150, 200, 250, 300] {
        let mut args = vec!["warmup"];
        args.extend_from_slice(&netns);
        let mut child = sandbox
            .command(&args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay));
        let _ = child.kill();
        let _ = child.wait();
        let output = sandbox.expect(0, &["cleanup"]);
        // A warmup that had finished left a complete lease; stop it the normal way.
        for id in sandbox.claimed_ids() {
            sandbox.expect(0, &["stop", &id]);
        }
        let what = format!("kill -9 after {delay}ms ({})", output.stderr.trim());
        assert!(
            lease_dirs(&sandbox).is_empty(),
            "{what}: {:?}",
            lease_dirs(&sandbox)
        );
        assert!(
            eventually(5, || leftover_processes(&sandbox).is_empty()),
            "{what}: {:?}",
            leftover_processes(&sandbox)
        );
        assert!(
            leftover_namespaces(&sandbox).is_empty(),
            "{what}: {:?}",
            leftover_namespaces(&sandbox)
        );
    }
}

#[test]
fn a_run_whose_cli_was_killed_shows_as_lost_in_history() {
    let sandbox = common::sandbox();
    let mut child = sandbox
        .command(&["run", "--", "sleep", "47.93"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let running = |sandbox: &Sandbox| {
        let runs = sandbox.expect(0, &["history", "--json"]).json();
        runs.as_array()
            .and_then(|runs| runs.first())
            .map(|run| (run["state"].as_str().unwrap_or("").to_string(), run.clone()))
    };
    assert!(
        eventually(30, || running(&sandbox)
            .is_some_and(|(state, _)| state == "running")
            && crabbox_testkit::process_running("sleep 47.93")),
        "the run never showed as running"
    );
    child.kill().unwrap();
    child.wait().unwrap();
    let (state, run) = running(&sandbox).unwrap();
    assert_eq!(state, "failed", "{run}");
    assert_eq!(run["phase"], "lost", "{run}");
    // The lease it left is still claimed, and stops normally.
    for id in sandbox.claimed_ids() {
        sandbox.expect(0, &["stop", &id]);
    }
}
