//! A TCP proxy between a CLI and its coordinator that passes HTTP through but can
//! refuse or cut the control WebSocket (`GET /v1/control`), and records every
//! request line it forwards.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What happens to connections whose first request is `GET /v1/control`.
#[derive(Debug, Clone, Copy)]
pub enum ControlPolicy {
    Forward,
    /// Answer `503` without reaching the coordinator.
    Refuse,
    /// Forward, then drop both sides after this long.
    CutAfter(Duration),
}

#[derive(Default)]
struct Shared {
    requests: Mutex<Vec<(Instant, String)>>,
    control_connections: AtomicUsize,
    /// Bytes the coordinator sent down control connections.
    control_bytes: AtomicUsize,
    stopped: AtomicBool,
}

pub struct Proxy {
    pub url: String,
    shared: Arc<Shared>,
    address: String,
}

const METHODS: [&str; 5] = ["GET /", "POST /", "PUT /", "DELETE /", "HEAD /"];

impl Proxy {
    /// Listens on a free loopback port and forwards to `upstream` (`http://host:port`).
    pub fn start(upstream: &str, policy: ControlPolicy) -> Proxy {
        let upstream = upstream
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_string();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap().to_string();
        let shared = Arc::new(Shared::default());
        let accepting = shared.clone();
        std::thread::spawn(move || {
            for client in listener.incoming() {
                if accepting.stopped.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(client) = client else { continue };
                let shared = accepting.clone();
                let upstream = upstream.clone();
                std::thread::spawn(move || serve(client, &upstream, policy, &shared));
            }
        });
        Proxy {
            url: format!("http://{address}"),
            shared,
            address,
        }
    }

    /// `(when, request line)` of every request forwarded or refused, in order.
    pub fn requests(&self) -> Vec<(Instant, String)> {
        self.shared.requests.lock().unwrap().clone()
    }

    /// Request lines that start with `prefix`, with their times.
    pub fn requests_to(&self, prefix: &str) -> Vec<Instant> {
        self.requests()
            .into_iter()
            .filter(|(_, line)| line.starts_with(prefix))
            .map(|(at, _)| at)
            .collect()
    }

    pub fn control_connections(&self) -> usize {
        self.shared.control_connections.load(Ordering::SeqCst)
    }

    pub fn control_bytes_from_coordinator(&self) -> usize {
        self.shared.control_bytes.load(Ordering::SeqCst)
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.shared.stopped.store(true, Ordering::SeqCst);
        // Wakes the accept loop so it sees the flag.
        let _ = TcpStream::connect(&self.address);
    }
}

fn record(shared: &Shared, chunk: &[u8]) {
    let text = String::from_utf8_lossy(chunk);
    let mut requests = shared.requests.lock().unwrap();
    for line in text.split("\r\n") {
        if METHODS.iter().any(|method| line.starts_with(method)) && line.ends_with(" HTTP/1.1") {
            requests.push((Instant::now(), line.to_string()));
        }
    }
}

/// Reads until the first request line is complete.
fn first_line(client: &mut TcpStream) -> Option<Vec<u8>> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 8192];
    while !buffer.windows(2).any(|pair| pair == b"\r\n") {
        let read = client.read(&mut chunk).ok().filter(|read| *read > 0)?;
        buffer.extend_from_slice(&chunk[..read]);
    }
    Some(buffer)
}

fn serve(mut client: TcpStream, upstream: &str, policy: ControlPolicy, shared: &Arc<Shared>) {
    let Some(head) = first_line(&mut client) else {
        return;
    };
    let control = head.starts_with(b"GET /v1/control");
    if control {
        shared.control_connections.fetch_add(1, Ordering::SeqCst);
    }
    record(shared, &head);
    if control && matches!(policy, ControlPolicy::Refuse) {
        let body = r#"{"error":"unavailable","message":"the proxy refuses the control socket"}"#;
        let _ = write!(
            client,
            "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
        return;
    }
    let Ok(mut server) = TcpStream::connect(upstream) else {
        return;
    };
    if server.write_all(&head).is_err() {
        return;
    }
    if let (true, ControlPolicy::CutAfter(after)) = (control, policy) {
        let (client, server) = (client.try_clone().unwrap(), server.try_clone().unwrap());
        std::thread::spawn(move || {
            std::thread::sleep(after);
            let _ = client.shutdown(Shutdown::Both);
            let _ = server.shutdown(Shutdown::Both);
        });
    }
    let upward = {
        let (mut from, mut to) = (client.try_clone().unwrap(), server.try_clone().unwrap());
        let shared = shared.clone();
        std::thread::spawn(move || copy(&mut from, &mut to, |chunk| record(&shared, chunk)))
    };
    let counter = shared.clone();
    copy(&mut server, &mut client, |chunk| {
        if control {
            counter
                .control_bytes
                .fetch_add(chunk.len(), Ordering::SeqCst);
        }
    });
    let _ = upward.join();
}

/// Copies until either side ends, then shuts both down.
fn copy(from: &mut TcpStream, to: &mut TcpStream, mut seen: impl FnMut(&[u8])) {
    let mut chunk = [0u8; 16 * 1024];
    loop {
        match from.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(read) => {
                seen(&chunk[..read]);
                if to.write_all(&chunk[..read]).is_err() {
                    break;
                }
            }
        }
    }
    let _ = from.shutdown(Shutdown::Both);
    let _ = to.shutdown(Shutdown::Both);
}
