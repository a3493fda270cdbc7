//! Pond bad input: names, ports, missing flags, empty ponds, a corrupt or
//! stale `daemon.json`, and `--local-netns` without root.

use std::process::Command;
use std::time::Duration;

use crabbox_testkit::is_root;

use crate::common;

#[test]
fn bad_pond_input_is_refused() {
    let sandbox = common::sandbox();
    for (args, needle) in [
        (
            vec!["warmup", "--pond", "!!"],
            "at least one letter or digit",
        ),
        (vec!["warmup", "--pond", &"a".repeat(42)], "at most 41"),
        (vec!["warmup", "--expose", "70000"], "1 to 65535"),
        (
            vec!["warmup", "--expose", "1,2,3,4,5,6,7,8,9,10,11"],
            "at most 10",
        ),
        (vec!["run", "--expose", "http", "--", "true"], "1 to 65535"),
        (vec!["pond", "peers"], "--pond is required"),
        (
            vec!["pond", "peers", "--pond", "a", "--share-port", "70000"],
            "--share-port",
        ),
        (vec!["list", "--pond", "??"], "at least one letter or digit"),
    ] {
        let output = sandbox.expect(2, &args);
        assert!(
            output.stderr.contains(needle),
            "{args:?}: {}",
            output.stderr
        );
        assert!(
            output.stderr.contains("hint:") || args[0] == "pond",
            "{}",
            output.stderr
        );
    }
    assert!(
        !sandbox.state_dir().join("crabbox/local").exists() || {
            let dirs = std::fs::read_dir(sandbox.state_dir().join("crabbox/local")).unwrap();
            dirs.flatten()
                .all(|entry| !entry.file_name().to_string_lossy().starts_with("cbx_"))
        },
        "nothing was leased"
    );

    let empty = sandbox.expect(0, &["pond", "peers", "--pond", "empty"]);
    assert_eq!(empty.stdout, "no peers found\n");
    let json = sandbox
        .expect(0, &["pond", "peers", "--pond", "empty", "--json"])
        .json();
    assert_eq!(json, serde_json::json!({"members": []}));
    let connect = sandbox.expect(0, &["pond", "connect", "empty"]);
    assert!(
        connect.stderr.contains("no SSH-mesh-capable members"),
        "{}",
        connect.stderr
    );
    let release = sandbox.expect(0, &["pond", "release", "empty"]);
    assert!(release.stdout.contains("has no active leases"));
    let none = sandbox.expect(0, &["pond", "disconnect", "empty"]);
    assert!(none.stdout.contains("no recorded SSH-mesh daemons"));
}

#[test]
fn disconnect_never_kills_what_it_did_not_start() {
    let sandbox = common::sandbox();
    let dir = sandbox.home().join(".crabbox/pond/stale");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("daemon.json"), "{not json").unwrap();
    let corrupt = sandbox.expect(2, &["pond", "disconnect", "stale"]);
    assert!(
        corrupt.stderr.contains("corrupt pond daemon state"),
        "{}",
        corrupt.stderr
    );

    // A recorded pid now belongs to an unrelated process.
    let mut unrelated = Command::new("sleep").arg("300").spawn().unwrap();
    let state = serde_json::json!({
        "pond": "stale",
        "startedAt": "2026-01-01T00:00:00Z",
        "pids": [unrelated.id()],
        "processes": [{"pid": unrelated.id(), "command": "ssh -N -L 127.0.0.1:51820:127.0.0.1:80 x",
            "forward": {"peer": "x", "remotePort": 80, "localPort": 51820, "leaseID": "cbx_000000000000"}}],
        "forwards": [],
    });
    std::fs::write(dir.join("daemon.json"), state.to_string()).unwrap();
    let output = sandbox.expect(0, &["pond", "disconnect", "stale"]);
    assert!(
        output.stdout.contains("disconnected 0 SSH-mesh daemon(s)"),
        "{}",
        output.stdout
    );
    std::thread::sleep(Duration::from_millis(100));
    assert!(
        unrelated.try_wait().unwrap().is_none(),
        "the unrelated process lives"
    );
    assert!(!dir.join("daemon.json").exists());
    unrelated.kill().unwrap();
    let _ = unrelated.wait();
}

#[test]
fn local_netns_needs_root() {
    if is_root() {
        eprintln!("SKIP local_netns_needs_root: running as root, where --local-netns works");
        return;
    }
    let sandbox = common::sandbox();
    let output = sandbox.expect(3, &["warmup", "--local-netns"]);
    assert!(output.stderr.contains("needs root"), "{}", output.stderr);
    assert!(output.stderr.contains("hint:"), "{}", output.stderr);
}
