//! The transport against a real sshd: fallback ports and pinning, separate streams,
//! exit codes, and cancellation killing the remote process group.

use std::time::Duration;

use crabbox_ssh::{
    control_dir_for, kill_command, wait_ready, HostTrust, OutputSink, Readiness, ReadinessEvent,
    RemoteCommand, Stdin, Stream, StreamOutcome, Target,
};
use crabbox_testkit::{eventually, free_port, process_running, SshdFixture};

fn target(fixture: &SshdFixture, lease: &str, primary: u16, fallback: Vec<u16>) -> Target {
    Target {
        lease_id: lease.to_string(),
        user: fixture.user.clone(),
        host: "127.0.0.1".into(),
        port: primary,
        fallback_ports: fallback,
        key: Some(fixture.client_key.clone()),
        known_hosts: fixture.dir().join("known_hosts"),
        trust: HostTrust::AcceptNew,
        control_dir: control_dir_for(lease).unwrap(),
    }
}

fn readiness() -> Readiness<'static> {
    Readiness {
        ready_check: None,
        timeout: Duration::from_secs(20),
        retry_every: Duration::from_millis(200),
    }
}

#[derive(Default)]
struct Collected {
    stdout: Vec<u8>,
    stderr: Vec<u8>,
}

impl OutputSink for Collected {
    fn output(&mut self, stream: Stream, bytes: &[u8]) {
        match stream {
            Stream::Stdout => self.stdout.extend_from_slice(bytes),
            Stream::Stderr => self.stderr.extend_from_slice(bytes),
        }
    }
}

fn command(workdir: &str, script: &str, pid_file: &str) -> RemoteCommand {
    RemoteCommand {
        workdir: workdir.to_string(),
        argv: vec![script.to_string()],
        shell: true,
        // Root's login profile on test machines is slow; these tests are about
        // the transport, not the profile.
        login_shell: false,
        env: vec![("GREETING".into(), "it's here".into())],
        pid_file: pid_file.to_string(),
        prologue: None,
        epilogue: None,
    }
}

#[tokio::test(flavor = "current_thread")]
async fn closed_primary_falls_back_and_pins_the_working_port() {
    let fixture = SshdFixture::start();
    let closed = free_port();
    let target = target(&fixture, "cbx_7e57000000a1", closed, vec![fixture.port]);
    let mut events = Vec::new();
    let connection = wait_ready(&target, &readiness(), &mut |event| events.push(event))
        .await
        .expect("ready on the fallback port");
    assert_eq!(connection.port, fixture.port);
    assert!(events.iter().any(|event| matches!(
        event,
        ReadinessEvent::Fallback { port, primary } if *port == fixture.port && *primary == closed
    )));
    // accept-new recorded the host key in the per-lease known_hosts.
    let known = std::fs::read_to_string(fixture.dir().join("known_hosts")).unwrap();
    assert!(known.contains(fixture.host_key.split_whitespace().nth(1).unwrap()));

    // A command exiting 255 is reported once and never re-run on another port.
    let counter = fixture.dir().join("counter");
    let workdir = fixture.dir().join("work").display().to_string();
    let script = format!("echo run >> {}; exit 255", counter.display());
    let pid_file = fixture.dir().join("pids/one").display().to_string();
    let remote = command(&workdir, &script, &pid_file);
    let outcome = connection
        .stream(
            &remote.render(),
            &remote.input(),
            Stdin::Closed,
            &kill_command(&pid_file),
            &mut Collected::default(),
            std::future::pending(),
        )
        .await
        .unwrap();
    assert_eq!(outcome, StreamOutcome::Exited(255));
    assert_eq!(std::fs::read_to_string(&counter).unwrap(), "run\n");

    // A second readiness round reuses the master: no new handshake.
    let before = fixture.handshakes();
    let again = wait_ready(&target, &readiness(), &mut |_| {})
        .await
        .unwrap();
    assert_eq!(again.port, fixture.port);
    assert_eq!(fixture.handshakes(), before);
    again.close().await;
}

#[tokio::test(flavor = "current_thread")]
async fn streams_stay_separate_and_exit_codes_pass_through() {
    let fixture = SshdFixture::start();
    let target = target(&fixture, "cbx_7e57000000a2", fixture.port, vec![]);
    let connection = wait_ready(&target, &readiness(), &mut |_| {})
        .await
        .unwrap();
    let workdir = fixture.dir().join("work dir").display().to_string();
    let pid_file = fixture.dir().join("pids/two").display().to_string();
    let mut sink = Collected::default();
    let remote = command(
        &workdir,
        "echo \"$GREETING\"; pwd; echo oops >&2; exit 3",
        &pid_file,
    );
    let outcome = connection
        .stream(
            &remote.render(),
            &remote.input(),
            Stdin::Closed,
            &kill_command(&pid_file),
            &mut sink,
            std::future::pending(),
        )
        .await
        .unwrap();
    assert_eq!(outcome, StreamOutcome::Exited(3));
    assert_eq!(
        String::from_utf8_lossy(&sink.stdout),
        format!("it's here\n{workdir}\n")
    );
    assert_eq!(String::from_utf8_lossy(&sink.stderr), "oops\n");
    assert!(
        !std::path::Path::new(&pid_file).exists(),
        "pid file cleaned up"
    );
    connection.close().await;
}

#[tokio::test(flavor = "current_thread")]
async fn cancelling_kills_the_remote_process_group() {
    let fixture = SshdFixture::start();
    let target = target(&fixture, "cbx_7e57000000a3", fixture.port, vec![]);
    let connection = wait_ready(&target, &readiness(), &mut |_| {})
        .await
        .unwrap();
    let workdir = fixture.dir().join("work").display().to_string();
    let pid_file = fixture.dir().join("pids/three").display().to_string();
    // Grandchildren in the background and foreground; the marker is built remotely.
    let script = "n=98; sleep ${n}76 & sleep ${n}76; wait";
    let outcome = connection
        .stream(
            &command(&workdir, script, &pid_file).render(),
            &command(&workdir, script, &pid_file).input(),
            Stdin::Closed,
            &kill_command(&pid_file),
            &mut Collected::default(),
            async {
                assert!(eventually(20, || process_running("sleep 9876")));
            },
        )
        .await
        .unwrap();
    assert_eq!(outcome, StreamOutcome::Cancelled);
    assert!(
        eventually(5, || !process_running("sleep 9876")),
        "remote sleeps were killed"
    );
    connection.close().await;
}
