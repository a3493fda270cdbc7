//! The `crabbox-kube-sim` binary runs by hand: it writes a working kubeconfig and
//! stops cleanly on SIGTERM.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[test]
fn binary_writes_a_kubeconfig_that_kubectl_can_use() {
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kube").join("config");
    let mut child = Command::new(env!("CARGO_BIN_EXE_crabbox-kube-sim"))
        .args([
            "--listen",
            "127.0.0.1:0",
            "--namespace",
            "team",
            "--kubeconfig-out",
        ])
        .arg(&kubeconfig)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !kubeconfig.exists() {
        assert!(Instant::now() < deadline, "no kubeconfig written");
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(100));
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(&kubeconfig).unwrap().permissions(),
    );
    assert_eq!(mode & 0o777, 0o600);
    let has_kubectl = Command::new("kubectl")
        .arg("version")
        .arg("--client")
        .output()
        .is_ok();
    if has_kubectl {
        let output = Command::new("kubectl")
            .arg("--kubeconfig")
            .arg(&kubeconfig)
            .args([
                "--context",
                "crabbox-sim",
                "get",
                "namespace",
                "team",
                "-o",
                "name",
            ])
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&output.stdout).trim(),
            "namespace/team",
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    } else {
        eprintln!("SKIP (kubectl part): kubectl is not installed");
    }
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let status = child.wait().unwrap();
    assert!(
        status.success(),
        "SIGTERM ends the simulator cleanly: {status:?}"
    );
}

#[test]
fn binary_rejects_unknown_flags_with_usage() {
    let output = Command::new(env!("CARGO_BIN_EXE_crabbox-kube-sim"))
        .arg("--bogus")
        .arg("x")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("usage: crabbox-kube-sim"));
}

#[test]
fn binary_denies_every_rule_given() {
    let found = Command::new("kubectl")
        .args(["version", "--client"])
        .output()
        .is_ok();
    if !found {
        eprintln!("SKIP: kubectl is not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("config");
    let mut child = Command::new(env!("CARGO_BIN_EXE_crabbox-kube-sim"))
        .args(["--listen", "127.0.0.1:0", "--netns", "off"])
        .args([
            "--deny",
            "patch:devboxes",
            "--deny",
            "get:secrets,list:pods",
        ])
        .arg("--kubeconfig-out")
        .arg(&kubeconfig)
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !kubeconfig.exists() {
        assert!(Instant::now() < deadline, "no kubeconfig written");
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(100));
    let can = |verb: &str, resource: &str| {
        let output = Command::new("kubectl")
            .arg("--kubeconfig")
            .arg(&kubeconfig)
            .args(["--context", "crabbox-sim", "auth", "can-i", verb, resource])
            .output()
            .unwrap();
        String::from_utf8_lossy(&output.stdout).trim().to_string()
    };
    let answers = [
        can("patch", "devboxes.devbox.sealos.io"),
        can("get", "secrets"),
        can("list", "pods"),
        can("list", "secrets"),
    ];
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    child.wait().unwrap();
    assert_eq!(answers, ["no", "no", "no", "yes"]);
}
