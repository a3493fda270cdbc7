//! The on-box `hosts.cbx` refresher, run for real with `sh` and `jq` against a
//! stand-in `tailscale` command that prints a canned `status --json`.

use std::path::Path;
use std::process::Command;

use crabbox_pond::tailnet::refresher_script;

const TAG: &str = "tag:cbx-pond-ann-alpha";

const STATUS: &str = r#"{
  "Self": {"HostName": "crabbox-self", "TailscaleIPs": ["100.64.0.1"], "Tags": ["tag:cbx-pond-ann-alpha"]},
  "Peer": {
    "k1": {"HostName": "crabbox-web", "TailscaleIPs": ["100.64.0.2", "fd7a::2"], "Tags": ["tag:cbx-pond-ann-alpha"]},
    "k2": {"HostName": "db", "TailscaleIPs": ["100.64.0.3"], "Tags": ["tag:other", "tag:cbx-pond-ann-alpha"]},
    "k3": {"HostName": "crabbox-stranger", "TailscaleIPs": ["100.64.0.4"], "Tags": ["tag:cbx-pond-ann-beta"]},
    "k4": {"HostName": "crabbox-noip", "TailscaleIPs": [], "Tags": ["tag:cbx-pond-ann-alpha"]},
    "k5": {"HostName": "crabbox-web-again", "TailscaleIPs": ["100.64.0.2"], "Tags": ["tag:cbx-pond-ann-alpha"]},
    "k6": {"HostName": "untagged", "TailscaleIPs": ["100.64.0.6"]}
  }
}"#;

fn tools_available() -> bool {
    ["sh", "jq", "awk"].iter().all(|tool| {
        Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .output()
            .is_ok_and(|output| output.status.success())
    })
}

/// A bin directory with the refresher and a `tailscale` that prints `status`
/// (or fails when `status` is `None`).
fn install(dir: &Path, status: Option<&str>) {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::write(bin.join("crabbox-pond-hosts"), refresher_script()).unwrap();
    let fake = match status {
        Some(status) => {
            std::fs::write(dir.join("status.json"), status).unwrap();
            format!("#!/bin/sh\ncat '{}'\n", dir.join("status.json").display())
        }
        None => "#!/bin/sh\necho 'tailscaled is not running' >&2\nexit 1\n".to_string(),
    };
    std::fs::write(bin.join("tailscale"), fake).unwrap();
    for name in ["crabbox-pond-hosts", "tailscale"] {
        let status = Command::new("chmod")
            .arg("0755")
            .arg(bin.join(name))
            .status()
            .unwrap();
        assert!(status.success());
    }
}

fn refresh(dir: &Path) {
    let path = format!(
        "{}:{}",
        dir.join("bin").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let status = Command::new(dir.join("bin/crabbox-pond-hosts"))
        .args([TAG, "hosts.cbx", "hosts"])
        .current_dir(dir)
        .env("PATH", path)
        .status()
        .unwrap();
    assert!(status.success(), "refresher exited {status}");
}

#[test]
fn writes_tagged_peers_and_replaces_its_hosts_block() {
    if !tools_available() {
        eprintln!("SKIPPED: sh, jq and awk are needed to run the hosts refresher");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    install(dir.path(), Some(STATUS));
    std::fs::write(dir.path().join("hosts"), "127.0.0.1 localhost\n").unwrap();
    refresh(dir.path());
    refresh(dir.path());

    let cbx = std::fs::read_to_string(dir.path().join("hosts.cbx")).unwrap();
    assert_eq!(
        cbx,
        "# managed by crabbox-pond-hosts; do not edit\n100.64.0.2 web.cbx\n100.64.0.3 db.cbx\n"
    );
    let hosts = std::fs::read_to_string(dir.path().join("hosts")).unwrap();
    assert_eq!(
        hosts,
        "127.0.0.1 localhost\n# crabbox pond hosts begin\n100.64.0.2 web.cbx\n100.64.0.3 db.cbx\n# crabbox pond hosts end\n",
        "a second run replaces the block instead of appending another"
    );
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .filter(|entry| entry.file_name().to_string_lossy().contains(".tmp."))
        .collect();
    assert!(leftovers.is_empty(), "temp files left: {leftovers:?}");
}

#[test]
fn a_failing_tailscale_leaves_files_untouched() {
    if !tools_available() {
        eprintln!("SKIPPED: sh, jq and awk are needed to run the hosts refresher");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    install(dir.path(), None);
    std::fs::write(dir.path().join("hosts"), "127.0.0.1 localhost\n").unwrap();
    std::fs::write(dir.path().join("hosts.cbx"), "old\n").unwrap();
    refresh(dir.path());
    assert_eq!(
        std::fs::read_to_string(dir.path().join("hosts.cbx")).unwrap(),
        "old\n"
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("hosts")).unwrap(),
        "127.0.0.1 localhost\n"
    );
}
