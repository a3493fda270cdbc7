//! The `ssh` (static) provider against a real sshd whose configured primary port is
//! closed: the fallback port is used and pinned, exit 255 is not re-run, and
//! `stop` only drops the claim.

use crabbox_testkit::{free_port, Sandbox, SshdFixture};

fn static_sandbox(fixture: &SshdFixture) -> (Sandbox, Vec<String>) {
    let mut sandbox = Sandbox::new(env!("CARGO_BIN_EXE_crabbox"));
    sandbox.set_env("CRABBOX_SSH_KEY", fixture.client_key.display().to_string());
    sandbox.set_env("CRABBOX_SSH_FALLBACK_PORTS", fixture.port.to_string());
    let flags = vec![
        "--provider".to_string(),
        "static".to_string(),
        "--static-host".to_string(),
        "127.0.0.1".to_string(),
        "--static-port".to_string(),
        free_port().to_string(),
        "--static-user".to_string(),
        fixture.user.clone(),
        "--static-work-root".to_string(),
        fixture.dir().join("work").display().to_string(),
    ];
    (sandbox, flags)
}

fn args<'a>(head: &[&'a str], flags: &'a [String], tail: &[&'a str]) -> Vec<&'a str> {
    head.iter()
        .copied()
        .chain(flags.iter().map(String::as_str))
        .chain(tail.iter().copied())
        .collect()
}

#[test]
fn static_host_on_a_fallback_port() {
    let fixture = SshdFixture::start();
    let (sandbox, flags) = static_sandbox(&fixture);

    let output = sandbox.expect(0, &args(&["run"], &flags, &["--", "cat", "README.txt"]));
    assert_eq!(output.stdout, "hello from the checkout\n");
    assert!(
        output
            .stderr
            .contains(&format!("using ssh port {} for 127.0.0.1", fixture.port)),
        "{}",
        output.stderr
    );
    assert!(
        output.stderr.contains("lease=static_127-0-0-1"),
        "{}",
        output.stderr
    );
    let synced = fixture.dir().join("work/static_127-0-0-1/repo/README.txt");
    assert!(
        synced.is_file(),
        "checkout synced under the static work root"
    );

    // A command exiting 255 looks like an OpenSSH failure; it must not run twice.
    let counter = fixture.dir().join("counter");
    let script = format!("echo ran >> {}; exit 255", counter.display());
    let failed = sandbox.run(&args(&["run"], &flags, &["--no-sync", "--", &script]));
    assert_eq!(failed.code, 255, "{}", failed.stderr);
    assert_eq!(std::fs::read_to_string(&counter).unwrap(), "ran\n");

    // warmup claims the host; stop drops only the claim.
    let warm = sandbox.expect(0, &args(&["warmup"], &flags, &[]));
    assert!(
        warm.stdout.contains("leased static_127-0-0-1"),
        "{}",
        warm.stdout
    );
    assert!(sandbox.claim_file("static_127-0-0-1").exists());
    let stop = sandbox.expect(0, &args(&["stop"], &flags, &["static_127-0-0-1"]));
    assert!(
        stop.stderr
            .contains("released static lease=static_127-0-0-1"),
        "{}",
        stop.stderr
    );
    assert!(!sandbox.claim_file("static_127-0-0-1").exists());
    let still_there = std::net::TcpStream::connect(("127.0.0.1", fixture.port));
    assert!(still_there.is_ok(), "the host itself is untouched");

    let cleanup = sandbox.run(&args(&["cleanup"], &flags, &[]));
    assert_eq!(cleanup.code, 2, "{}", cleanup.stderr);
    assert!(cleanup.stderr.contains("not supported for provider=ssh"));
}

#[test]
fn static_provider_needs_a_host() {
    let sandbox = Sandbox::new(env!("CARGO_BIN_EXE_crabbox"));
    let output = sandbox.run(&["run", "--provider", "ssh", "--", "true"]);
    assert_eq!(output.code, 2, "{}", output.stderr);
    assert!(output.stderr.contains("needs a host"), "{}", output.stderr);
}
