//! Ctrl-C during a remote command kills the remote process group, then releases
//! the lease by policy.

use std::process::Stdio;

use crabbox_testkit::{eventually, process_running, Sandbox};

fn interrupt_run(sandbox: &Sandbox, args: &[&str], marker: &str) -> (i32, String) {
    let child = sandbox
        .command(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn crabbox");
    assert!(
        eventually(30, || process_running(marker)),
        "the remote command started"
    );
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let output = child.wait_with_output().unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn sigint_kills_the_remote_command_and_releases_a_fresh_lease() {
    let sandbox = Sandbox::new(env!("CARGO_BIN_EXE_crabbox"));
    // A child of the remote shell, so killing only the top process would not do.
    // The number is assembled remotely so the marker never matches the local CLI.
    let marker = "sleep 4711";
    let (code, stderr) = interrupt_run(
        &sandbox,
        &["run", "--", "sh", "-c", "n=47; sleep ${n}11; echo never"],
        marker,
    );
    assert_eq!(code, 130, "{stderr}");
    assert!(stderr.contains("lease cleanup stopped=true"), "{stderr}");
    assert!(
        eventually(5, || !process_running(marker)),
        "remote sleep gone"
    );
    let listed = sandbox.expect(0, &["list", "--json"]).json();
    assert_eq!(
        listed,
        serde_json::json!([]),
        "the fresh lease was released"
    );
}

#[test]
fn sigint_on_a_reused_lease_kills_the_command_but_keeps_the_lease() {
    let sandbox = Sandbox::new(env!("CARGO_BIN_EXE_crabbox"));
    let (id, _) = sandbox.warmup(&[]);
    let marker = "sleep 4712";
    let (code, stderr) = interrupt_run(
        &sandbox,
        &[
            "run",
            "--id",
            &id,
            "--",
            "sh",
            "-c",
            "n=47; sleep ${n}12 & sleep ${n}12; wait",
        ],
        marker,
    );
    assert_eq!(code, 130, "{stderr}");
    // The lease is kept, so only the process-group kill can have ended the sleeps.
    assert!(
        eventually(5, || !process_running(marker)),
        "remote sleeps gone"
    );
    assert!(sandbox.lease_dir(&id).exists(), "reused lease kept");
    sandbox.expect(0, &["run", "--id", &id, "--no-sync", "--", "true"]);
    sandbox.expect(0, &["stop", &id]);
}
