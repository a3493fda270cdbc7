//! A checkout's own config is untrusted: it cannot choose where the user's
//! secrets, keys or runs go, and forwarded values never show in `ps`.

use crabbox_testkit::{eventually, Sandbox, SshdFixture};

use crate::common;

const SECRET: &str = "ghp_trust_test_value_never_leaks_1234";

/// The audit's hostile `.crabbox.yaml`: a host the repository picked (here a
/// loopback sshd standing in for the collector) and an allowlist for secrets.
fn hostile_config(fixture: &SshdFixture) -> String {
    format!(
        "provider: ssh\nstatic:\n  host: 127.0.0.1\n  port: {}\n  user: {}\n  workRoot: {}\n\
         env:\n  allow: [\"GITHUB_TOKEN\", \"CRABBOX_*\"]\n",
        fixture.port,
        fixture.user,
        fixture.dir().join("work").display()
    )
}

/// A sandbox whose default SSH identity is accepted by `fixture`, as a user's
/// `~/.ssh/id_ed25519` would be by their own hosts.
fn sandbox_with_identity(fixture: &SshdFixture) -> Sandbox {
    let mut sandbox = common::sandbox();
    let ssh_dir = sandbox.home().join(".ssh");
    std::fs::create_dir_all(&ssh_dir).unwrap();
    std::fs::copy(&fixture.client_key, ssh_dir.join("id_ed25519")).unwrap();
    sandbox.set_env("GITHUB_TOKEN", SECRET);
    sandbox.set_env("CRABBOX_COORDINATOR_TOKEN", SECRET);
    sandbox
}

#[test]
fn a_checkout_cannot_send_secrets_to_a_host_it_picked() {
    let fixture = SshdFixture::start();
    let sandbox = sandbox_with_identity(&fixture);
    std::fs::write(
        sandbox.repo().join(".crabbox.yaml"),
        hostile_config(&fixture),
    )
    .unwrap();

    let output = sandbox.run(&["run", "--", "printenv", "GITHUB_TOKEN"]);
    assert_eq!(output.code, 2, "{output:?}");
    assert!(!output.stdout.contains(SECRET), "{output:?}");
    assert!(!output.stderr.contains(SECRET), "{output:?}");
    assert!(
        output.stderr.contains("env.allow")
            && output.stderr.contains("static.host")
            && output.stderr.contains("which decide where your data"),
        "{}",
        output.stderr
    );
    assert!(
        output.stderr.contains("hint:") && output.stderr.contains("--trust-repo"),
        "{}",
        output.stderr
    );
    assert_eq!(
        fixture.handshakes(),
        0,
        "nothing connected to the repo's host"
    );
    assert!(sandbox.claimed_ids().is_empty(), "no claim was written");

    // `config show` says what was refused, without acting on it.
    let shown = sandbox.expect(0, &["config", "show", "--json"]).json();
    assert_eq!(shown["values"]["static.host"]["trust"], "refused");
    assert_eq!(shown["values"]["env.allow"]["trust"], "refused");
    assert_eq!(shown["values"]["provider"]["trust"], "trusted");

    // The user trusts the checkout for one command: the run goes ahead, and
    // Crabbox's own variables are still never forwarded.
    let output = sandbox.run(&[
        "run",
        "--trust-repo",
        "--",
        "sh",
        "-c",
        "printenv GITHUB_TOKEN; printenv CRABBOX_COORDINATOR_TOKEN || echo no-crabbox-vars",
    ]);
    assert_eq!(output.code, 0, "{output:?}");
    assert_eq!(output.stdout, format!("{SECRET}\nno-crabbox-vars\n"));
}

#[test]
fn the_default_provider_refuses_a_repository_env_allowlist() {
    let sandbox = sandbox_with_identity(&SshdFixture::start());
    std::fs::write(
        sandbox.repo().join(".crabbox.yaml"),
        "env:\n  allow: [GITHUB_TOKEN]\nclass: big\n",
    )
    .unwrap();
    let output = sandbox.run(&["run", "--", "printenv", "GITHUB_TOKEN"]);
    assert_eq!(output.code, 2, "{output:?}");
    assert!(!output.stdout.contains(SECRET));
    assert!(output.stderr.contains("env.allow"), "{}", output.stderr);
    assert!(
        !sandbox.state_dir().join("local").exists()
            || std::fs::read_dir(sandbox.state_dir().join("local"))
                .unwrap()
                .next()
                .is_none(),
        "no lease was created"
    );

    // The same allowlist in the user's own config is the user's choice.
    let config_dir = sandbox.home().join(".config/crabbox");
    std::fs::create_dir_all(&config_dir).unwrap();
    std::fs::write(
        config_dir.join("config.yaml"),
        format!(
            "trust:\n  repos: [{}]\n",
            sandbox.repo().canonicalize().unwrap().display()
        ),
    )
    .unwrap();
    let output = sandbox.expect(0, &["run", "--", "printenv", "GITHUB_TOKEN"]);
    assert_eq!(output.stdout, format!("{SECRET}\n"));
}

#[test]
fn forwarded_values_never_appear_in_process_arguments() {
    let mut sandbox = common::sandbox();
    sandbox.set_env("DEPLOY_SECRET", SECRET);
    let mut child = sandbox
        .command(&[
            "run",
            "--allow-env",
            "DEPLOY_SECRET",
            "--",
            "sh",
            "-c",
            "sleep 2; printenv DEPLOY_SECRET",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut seen_in_argv = Vec::new();
    let mut command_seen = false;
    // Watches every process's argv (the local ssh, the runner's shells) for the
    // whole run.
    eventually(30, || {
        for entry in std::fs::read_dir("/proc").unwrap().flatten() {
            let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
                continue;
            };
            let text = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            if text.contains("sleep 2; printenv") {
                command_seen = true;
            }
            if text.contains(SECRET) {
                seen_in_argv.push(text);
            }
        }
        matches!(child.try_wait(), Ok(Some(_)))
    });
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "{output:?}");
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        format!("{SECRET}\n")
    );
    assert!(command_seen, "the watcher saw the running command");
    assert!(
        seen_in_argv.is_empty(),
        "secret in process arguments: {seen_in_argv:?}"
    );
}
