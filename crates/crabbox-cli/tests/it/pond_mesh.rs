//! The foreground SSH mesh: every teardown signal exits 0 with no process left,
//! a SIGKILLed CLI leaves no tunnel, and a dead member fails the mesh by name.

use std::process::Command;

use crabbox_testkit::{eventually, matching_processes, Sandbox};

use crate::common;
use crate::common::pond::{local_member, start_mesh, PondGuard};

#[test]
fn foreground_mesh_tears_down_on_every_signal() {
    let sandbox = common::sandbox();
    let _guard = PondGuard::new(&sandbox, "signals");
    local_member(&sandbox, "signals");
    for signal in ["INT", "TERM", "HUP", "QUIT", "TSTP"] {
        let (mut child, address) = start_mesh(&sandbox, "signals");
        let spec = format!("{address}:127.0.0.1:");
        assert!(!matching_processes(&spec).is_empty());
        let status = Command::new("kill")
            .args([&format!("-{signal}"), &child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let exit = child.wait().unwrap();
        assert_eq!(exit.code(), Some(0), "SIG{signal} must exit 0");
        assert!(
            eventually(5, || matching_processes(&spec).is_empty()),
            "ssh for {spec} outlived SIG{signal}"
        );
    }
    // Even a CLI killed outright leaves no tunnel: the anchors see their pipe close.
    let (mut child, address) = start_mesh(&sandbox, "signals");
    let spec = format!("{address}:127.0.0.1:");
    child.kill().unwrap();
    let _ = child.wait();
    assert!(
        eventually(5, || matching_processes(&spec).is_empty()),
        "ssh for {spec} outlived a SIGKILLed pond connect"
    );
}

/// The lease's sshd listener and every session it forked.
fn kill_lease_sshd(sandbox: &Sandbox, lease: &str) {
    let config = sandbox.lease_dir(lease).join("sshd_config");
    let listeners = matching_processes(&config.display().to_string());
    assert!(!listeners.is_empty());
    let mut doomed = listeners.clone();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
        let parent = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1))
            .and_then(|field| field.parse::<u32>().ok());
        if parent.is_some_and(|parent| listeners.contains(&parent)) {
            doomed.push(pid);
        }
    }
    for pid in doomed {
        let _ = Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .status();
    }
}

#[test]
fn a_dead_member_fails_the_foreground_mesh() {
    let sandbox = common::sandbox();
    let _guard = PondGuard::new(&sandbox, "dies");
    let (id, _) = local_member(&sandbox, "dies");
    let (child, address) = start_mesh(&sandbox, "dies");
    kill_lease_sshd(&sandbox, &id);
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(7), "{stderr}");
    assert!(stderr.contains("ssh forwards for "), "{stderr}");
    let slug = sandbox.expect(0, &["claims", "list", "--json"]).json()["claims"][0]["slug"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(stderr.contains(&slug), "the failure names {slug}: {stderr}");
    let spec = format!("{address}:127.0.0.1:");
    assert!(eventually(5, || matching_processes(&spec).is_empty()));
}
