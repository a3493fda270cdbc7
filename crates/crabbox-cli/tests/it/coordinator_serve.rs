//! `crabbox coordinator serve` as a process: a flood of half-open connections
//! past its open-file limit neither stops service nor blocks SIGTERM, and a
//! database password never appears in its messages.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::Duration;

use crabbox_testkit::Sandbox;

use crate::common::*;

/// The coordinator's open-file limit in the flood test.
const DESCRIPTORS: usize = 256;
/// Half-open connections opened against it: well past the limit.
const FLOOD: usize = 600;

fn have(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// `command` run through `prlimit`, which execs it (same pid) with `limit`
/// open files.
fn with_file_limit(command: Command, limit: usize) -> Command {
    let mut limited = Command::new("prlimit");
    limited
        .arg(format!("--nofile={limit}:{limit}"))
        .arg("--")
        .arg(command.get_program())
        .args(command.get_args());
    for (name, value) in command.get_envs() {
        match value {
            Some(value) => limited.env(name, value),
            None => limited.env_remove(name),
        };
    }
    if let Some(dir) = command.get_current_dir() {
        limited.current_dir(dir);
    }
    limited.stdin(Stdio::null());
    limited
}

/// `GET /v1/health` from 127.0.0.1 on a fresh connection: the status line, or
/// the failure.
fn health(url: &str) -> Result<String, std::io::Error> {
    let address = url.trim_start_matches("http://");
    let mut stream = TcpStream::connect(address)?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    stream
        .write_all(b"GET /v1/health HTTP/1.1\r\nhost: coordinator\r\nconnection: close\r\n\r\n")?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    Ok(response.lines().next().unwrap_or_default().to_string())
}

#[test]
fn a_half_open_flood_past_the_file_limit_neither_stops_service_nor_shutdown() {
    if !have("prlimit") {
        eprintln!("SKIP: prlimit (util-linux) is not installed");
        return;
    }
    let sandbox = sandbox();
    let coordinator = Coordinator::start_with(&sandbox, |mut command| {
        // Long enough that the flood is still open at SIGTERM.
        command.env("CRABBOX_HTTP_HEADER_TIMEOUT_MS", "600000");
        with_file_limit(command, DESCRIPTORS)
    });
    assert_eq!(health(&coordinator.url).unwrap(), "HTTP/1.1 200 OK");

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let address: std::net::SocketAddr = coordinator
        .url
        .trim_start_matches("http://")
        .parse()
        .unwrap();
    let (flood, closed) = runtime.block_on(async {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut flood = Vec::new();
        for index in 0..FLOOD {
            let socket = tokio::net::TcpSocket::new_v4().unwrap();
            socket.bind("127.0.0.2:0".parse().unwrap()).unwrap();
            // A coordinator that stopped accepting fills its backlog; stop there.
            let connecting = tokio::time::timeout(Duration::from_secs(5), socket.connect(address));
            let Ok(Ok(mut stream)) = connecting.await else {
                break;
            };
            if index % 2 == 0 {
                let _ = stream
                    .write_all(b"GET /v1/health HTTP/1.1\r\nhost: c")
                    .await;
            }
            flood.push(stream);
        }
        // Which of them the coordinator closed (end of file or reset).
        let mut closed = 0;
        let mut checks = tokio::task::JoinSet::new();
        for mut stream in flood.drain(..) {
            checks.spawn(async move {
                let mut byte = [0u8; 1];
                let read = tokio::time::timeout(Duration::from_secs(3), stream.read(&mut byte));
                let gone = matches!(read.await, Ok(Ok(0) | Err(_)));
                (gone, stream)
            });
        }
        while let Some(checked) = checks.join_next().await {
            let (gone, stream) = checked.unwrap();
            closed += usize::from(gone);
            flood.push(stream);
        }
        (flood, closed)
    });
    assert_eq!(flood.len(), FLOOD, "the coordinator keeps accepting");
    assert!(
        closed >= FLOOD - DESCRIPTORS,
        "the coordinator sheds connections it has no room for ({closed} of {FLOOD} closed)"
    );
    assert_eq!(
        health(&coordinator.url).expect("health answers during the flood"),
        "HTTP/1.1 200 OK"
    );
    // SIGTERM with the rest of the flood still connected: exits within 20 s.
    coordinator.stop();
    drop(flood);
}

/// Runs `serve` with `args` and `env` until it exits (it cannot reach a
/// database), returning its stderr.
fn failed_serve(sandbox: &Sandbox, args: &[&str], env: &[(&str, &str)]) -> String {
    let mut all = vec!["coordinator", "serve", "--listen", "127.0.0.1:0"];
    all.extend_from_slice(args);
    let mut command = sandbox.command(&all);
    command.envs(env.iter().copied());
    let output = command.output().expect("run crabbox");
    assert!(!output.status.success(), "{args:?} {env:?} should fail");
    String::from_utf8_lossy(&output.stderr).into_owned()
}

type Environment<'a> = Vec<(&'a str, &'a str)>;

#[test]
fn database_passwords_never_reach_messages() {
    let mut sandbox = sandbox();
    sandbox.set_env("CRABBOX_SHARED_TOKEN", "token-for-password-tests");
    let secret = "Sup3rSecretPw";
    // Nothing listens on port 1: the connection is refused at once.
    let refused = format!("postgres://crabbox:{secret}@127.0.0.1:1/crabbox");
    let file = sandbox.root().join("database-url");
    let file_arg = file.to_str().unwrap();

    let stderr = failed_serve(&sandbox, &["--database", &refused], &[]);
    assert!(
        stderr.contains("warning: --database puts the database password"),
        "{stderr}"
    );
    assert!(
        stderr.contains("hint: put the URL in CRABBOX_DATABASE_URL"),
        "{stderr}"
    );
    assert!(stderr.contains("crabbox:***@127.0.0.1:1"), "{stderr}");

    let cases: Vec<(String, Vec<&str>, Environment)> = vec![
        (
            refused.clone(),
            vec![],
            vec![("CRABBOX_DATABASE_URL", refused.as_str())],
        ),
        (
            format!("postgres://crabbox:{secret}%40x@127.0.0.1:1/crabbox\n"),
            vec!["--database-file", file_arg],
            vec![],
        ),
        (
            format!("postgres://127.0.0.1:1/crabbox?user=crabbox&password={secret}"),
            vec![],
            vec![("CRABBOX_DATABASE_URL_FILE", file_arg)],
        ),
        (
            format!("mysql://crabbox:{secret}@127.0.0.1/crabbox"),
            vec!["--database-file", file_arg],
            vec![],
        ),
        (
            refused.clone(),
            vec![],
            vec![
                ("CRABBOX_DATABASE_URL", refused.as_str()),
                ("CRABBOX_DATABASE_URL_FILE", file_arg),
            ],
        ),
    ];
    for (url, args, env) in cases {
        std::fs::write(&file, &url).unwrap();
        let stderr = failed_serve(&sandbox, &args, &env);
        assert!(!stderr.contains(secret), "{args:?} {env:?}: {stderr}");
        assert!(
            !stderr.contains("warning:"),
            "only --database warns: {stderr}"
        );
        assert!(!stderr.is_empty());
    }

    if let Some(admin) = std::env::var("CRABBOX_TEST_POSTGRES_URL")
        .ok()
        .filter(|url| !url.is_empty())
    {
        if have("psql") {
            real_postgres_logins_keep_the_password_out(&sandbox, &admin);
        } else {
            eprintln!("SKIP real PostgreSQL login: psql is not installed");
        }
    } else {
        eprintln!("SKIP real PostgreSQL login: CRABBOX_TEST_POSTGRES_URL is not set");
    }
}

fn psql(admin: &str, sql: &str) {
    let status = Command::new("psql")
        .args([admin, "-q", "-v", "ON_ERROR_STOP=1", "-c", sql])
        .stdout(Stdio::null())
        .status()
        .expect("psql");
    assert!(status.success(), "psql {sql}");
}

/// A role of its own with a distinctive password: a wrong password fails
/// without echoing it, the right one serves, and neither shows up in stderr.
fn real_postgres_logins_keep_the_password_out(sandbox: &Sandbox, admin: &str) {
    let name = format!("cbx_pw_{}", &crabbox_core::RunId::generate().as_str()[4..]);
    let secret = "Pg0nlyS3cret";
    psql(
        admin,
        &format!("CREATE ROLE {name} LOGIN PASSWORD '{secret}'"),
    );
    psql(admin, &format!("CREATE DATABASE {name} OWNER {name}"));
    let rest = admin.split_once('@').map_or(admin, |(_, rest)| rest);
    let server = &rest[..rest.find('/').unwrap_or(rest.len())];
    let url = |password: &str| format!("postgres://{name}:{password}@{server}/{name}");
    let file = sandbox.root().join("real-database-url");
    let file_arg = file.to_str().unwrap();

    std::fs::write(&file, url("Wr0ngS3cret")).unwrap();
    let stderr = failed_serve(sandbox, &["--database-file", file_arg], &[]);
    assert!(!stderr.contains("Wr0ngS3cret"), "{stderr}");
    assert!(stderr.contains("cannot open the database"), "{stderr}");

    std::fs::write(&file, url(secret)).unwrap();
    let mut child = sandbox
        .command(&["coordinator", "serve", "--listen", "127.0.0.1:0"])
        .env("CRABBOX_DATABASE_URL_FILE", &file)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let mut seen = String::new();
    let mut buffer = [0u8; 1024];
    while !seen.contains("listening on") {
        let read = stderr.read(&mut buffer).unwrap();
        assert!(read > 0, "the coordinator exited: {seen}");
        seen.push_str(&String::from_utf8_lossy(&buffer[..read]));
    }
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    stderr.read_to_string(&mut seen).unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "{seen}");
    assert!(!seen.contains(secret), "{seen}");
    psql(admin, &format!("DROP DATABASE {name} WITH (FORCE)"));
    psql(admin, &format!("DROP ROLE {name}"));
}
