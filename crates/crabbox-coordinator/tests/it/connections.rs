//! Slow, silent and greedy clients: connections that never finish a request
//! head, stall a body or sit idle are closed, one address cannot take every
//! connection, and a shutdown does not wait for connections with no request in
//! flight.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use crabbox_coordinator::{Connections, Settings, SystemClock};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

use crate::common::*;

/// Far longer than any timeout these tests configure: reaching it means the
/// server kept the connection open.
const HUNG: Duration = Duration::from_secs(20);

async fn start(dir: &std::path::Path, connections: Connections) -> Running {
    let settings = Settings {
        connections,
        ..settings()
    };
    let url = database_url("sqlite", dir).await;
    Running::start(&url, settings, local_providers(dir), Arc::new(SystemClock)).await
}

fn address(server: &Running) -> SocketAddr {
    server.url.trim_start_matches("http://").parse().unwrap()
}

/// A connection to the server from the loopback address `from`.
async fn connect_from(from: &str, server: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket
        .bind(format!("{from}:0").parse().unwrap())
        .expect("bind a loopback source address");
    socket.connect(server).await.expect("connect")
}

/// Whether the server closes `stream` (end of file or reset) within `wait`;
/// whatever it sends first is read and dropped.
async fn closed_within(stream: &mut TcpStream, wait: Duration) -> bool {
    let mut buffer = [0u8; 4096];
    let reading = async {
        loop {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    };
    tokio::time::timeout(wait, reading).await.is_ok()
}

/// One `GET /v1/health` on `stream`, kept alive; returns the status line.
async fn health_on(stream: &mut TcpStream) -> String {
    stream
        .write_all(b"GET /v1/health HTTP/1.1\r\nhost: coordinator\r\n\r\n")
        .await
        .unwrap();
    status_line(stream).await
}

/// Reads one response from `stream` and returns its status line.
async fn status_line(stream: &mut TcpStream) -> String {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    let reading = async {
        while !head.ends_with(b"\r\n\r\n") {
            assert_eq!(stream.read(&mut byte).await.unwrap(), 1, "response head");
            head.push(byte[0]);
        }
        let text = String::from_utf8_lossy(&head).to_string();
        let length: usize = text
            .lines()
            .find_map(|line| line.strip_prefix("content-length: "))
            .expect("content-length")
            .trim()
            .parse()
            .unwrap();
        let mut body = vec![0u8; length];
        stream.read_exact(&mut body).await.unwrap();
        text.lines().next().unwrap_or_default().to_string()
    };
    tokio::time::timeout(HUNG, reading)
        .await
        .expect("the server answers")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_slow_and_idle_connections_are_closed() {
    let dir = temp_dir();
    let server = start(
        dir.path(),
        Connections {
            header_timeout: Duration::from_millis(600),
            idle_timeout: Duration::from_millis(900),
            ..Connections::default()
        },
    )
    .await;
    let address = address(&server);

    let mut silent = TcpStream::connect(address).await.unwrap();
    let mut partial = TcpStream::connect(address).await.unwrap();
    partial
        .write_all(b"GET /v1/health HTTP/1.1\r\nhost: coordinator\r\n")
        .await
        .unwrap();
    let mut kept_alive = TcpStream::connect(address).await.unwrap();
    assert_eq!(health_on(&mut kept_alive).await, "HTTP/1.1 200 OK");
    assert!(closed_within(&mut silent, HUNG).await, "a silent client");
    assert!(closed_within(&mut partial, HUNG).await, "a partial head");
    assert!(
        closed_within(&mut kept_alive, HUNG).await,
        "an idle keep-alive"
    );

    // A head trickled one byte at a time does not extend its deadline.
    let mut trickle = TcpStream::connect(address).await.unwrap();
    let head = b"GET /v1/health HTTP/1.1\r\nhost: coordinator\r\nx-padding: ";
    let mut closed = false;
    for byte in head.iter().chain(std::iter::repeat_n(&b'a', 200)) {
        if trickle.write_all(&[*byte]).await.is_err()
            || closed_within(&mut trickle, Duration::from_millis(100)).await
        {
            closed = true;
            break;
        }
    }
    assert!(closed, "a trickled head is cut off at the header timeout");

    let mut fresh = TcpStream::connect(address).await.unwrap();
    assert_eq!(health_on(&mut fresh).await, "HTTP/1.1 200 OK");
    // A second request on the same connection within the idle timeout.
    assert_eq!(health_on(&mut fresh).await, "HTTP/1.1 200 OK");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_request_body_is_refused_but_a_slow_one_is_not() {
    let dir = temp_dir();
    let server = start(
        dir.path(),
        Connections {
            idle_timeout: Duration::from_millis(800),
            ..Connections::default()
        },
    )
    .await;
    let address = address(&server);
    let body = br#"{"command": ["true"], "label": "slow"}"#;
    let head = format!(
        "POST /v1/runs HTTP/1.1\r\nhost: coordinator\r\nauthorization: Bearer {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
        user_token("alice", "acme"),
        body.len()
    );

    let mut stalled = TcpStream::connect(address).await.unwrap();
    stalled.write_all(head.as_bytes()).await.unwrap();
    stalled.write_all(&body[..10]).await.unwrap();
    assert_eq!(
        status_line(&mut stalled).await,
        "HTTP/1.1 408 Request Timeout"
    );
    assert!(
        closed_within(&mut stalled, HUNG).await,
        "the connection closes"
    );

    // Bytes that keep coming, each well within the stall limit.
    let mut slow = TcpStream::connect(address).await.unwrap();
    slow.write_all(head.as_bytes()).await.unwrap();
    for chunk in body.chunks(4) {
        tokio::time::sleep(Duration::from_millis(150)).await;
        slow.write_all(chunk).await.unwrap();
    }
    assert_eq!(status_line(&mut slow).await, "HTTP/1.1 201 Created");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_address_cannot_take_every_connection() {
    let dir = temp_dir();
    let server = start(
        dir.path(),
        Connections {
            header_timeout: Duration::from_secs(120),
            max_connections: 8,
            max_connections_per_peer: 3,
            ..Connections::default()
        },
    )
    .await;
    let address = address(&server);
    let mut greedy = Vec::new();
    for _ in 0..20 {
        greedy.push(connect_from("127.0.0.2", address).await);
    }
    let mut shed = 0;
    for stream in &mut greedy {
        if closed_within(stream, Duration::from_millis(500)).await {
            shed += 1;
        }
    }
    assert_eq!(
        shed, 17,
        "all but three connections from 127.0.0.2 are closed"
    );
    let mut other = connect_from("127.0.0.3", address).await;
    assert_eq!(health_on(&mut other).await, "HTTP/1.1 200 OK");
    let (status, _) = server.api("").get("/v1/health").await;
    assert_eq!(status, 200, "127.0.0.1 is served too");

    // Closed connections give their places back (once the server has seen
    // them close, hence the bounded retries).
    drop(greedy);
    let mut again = Vec::new();
    for _ in 0..100 {
        let mut stream = connect_from("127.0.0.2", address).await;
        if !closed_within(&mut stream, Duration::from_millis(100)).await {
            again.push(stream);
            if again.len() == 3 {
                break;
            }
        }
    }
    assert_eq!(again.len(), 3, "127.0.0.2 gets its three places back");
    assert_eq!(health_on(&mut again[0]).await, "HTTP/1.1 200 OK");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_does_not_wait_for_silent_or_idle_connections() {
    let dir = temp_dir();
    let server = start(
        dir.path(),
        Connections {
            header_timeout: Duration::from_secs(300),
            idle_timeout: Duration::from_secs(300),
            ..Connections::default()
        },
    )
    .await;
    let address = address(&server);
    let mut held = Vec::new();
    for _ in 0..5 {
        held.push(TcpStream::connect(address).await.unwrap());
    }
    let mut partial = TcpStream::connect(address).await.unwrap();
    partial.write_all(b"POST /v1/runs HTT").await.unwrap();
    held.push(partial);
    let mut idle = TcpStream::connect(address).await.unwrap();
    assert_eq!(health_on(&mut idle).await, "HTTP/1.1 200 OK");
    held.push(idle);
    let mut control = server.control(SHARED).await;
    control.hello().await;

    tokio::time::timeout(HUNG, server.stop())
        .await
        .expect("the server stops without waiting for idle connections");
    for stream in &mut held {
        assert!(closed_within(stream, HUNG).await, "dropped at shutdown");
    }
    assert_eq!(
        control.closed().await.map(|(code, _)| code),
        Some(1012),
        "control sockets close as restarting"
    );
}
