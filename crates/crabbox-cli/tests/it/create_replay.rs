//! A create whose answer is lost on the way (the connection drops after the
//! coordinator made the machine) is replayed with the same body and attempt ID,
//! so the CLI gets that lease instead of an error and nothing is made twice.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use crabbox_client::LeaseFilter;
use crabbox_proto::wire::LeaseStatus;

use crate::common::{sandbox, Coordinator};

/// One HTTP/1.1 request: its head (with `connection: close` added) and body.
fn read_request(reader: &mut BufReader<TcpStream>) -> Option<(String, Vec<u8>)> {
    let mut head = String::new();
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        if line == "\r\n" {
            break;
        }
        let lower = line.to_ascii_lowercase();
        if let Some(value) = lower.strip_prefix("content-length:") {
            length = value.trim().parse().ok()?;
        }
        if !lower.starts_with("connection:") {
            head.push_str(&line);
        }
    }
    head.push_str("connection: close\r\n\r\n");
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some((head, body))
}

/// A proxy that forwards each request on its own upstream connection and cuts
/// the client off, unanswered, after forwarding the first lease create.
struct Proxy {
    url: String,
    creates: Arc<AtomicUsize>,
    cut: Arc<Mutex<bool>>,
}

impl Proxy {
    fn start(upstream: &str) -> Proxy {
        let upstream = upstream.trim_start_matches("http://").to_string();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let creates = Arc::new(AtomicUsize::new(0));
        let cut = Arc::new(Mutex::new(false));
        let (counting, cutting) = (creates.clone(), cut.clone());
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let (upstream, creates, cut) =
                    (upstream.clone(), counting.clone(), cutting.clone());
                std::thread::spawn(move || {
                    let mut writer = client.try_clone().unwrap();
                    let mut reader = BufReader::new(client);
                    let Some((head, body)) = read_request(&mut reader) else {
                        return;
                    };
                    let mut server = TcpStream::connect(&upstream).unwrap();
                    server.write_all(head.as_bytes()).unwrap();
                    server.write_all(&body).unwrap();
                    let mut answer = Vec::new();
                    let _ = server.read_to_end(&mut answer);
                    if head.starts_with("POST /v1/leases ") {
                        creates.fetch_add(1, Ordering::SeqCst);
                        let mut cut = cut.lock().unwrap();
                        if !*cut {
                            // The coordinator finished the create; its answer is lost.
                            *cut = true;
                            return;
                        }
                    }
                    // Tell the client not to reuse a connection this proxy closes.
                    let text = String::from_utf8_lossy(&answer);
                    let answer = text.replacen("\r\n", "\r\nconnection: close\r\n", 1);
                    let _ = writer.write_all(answer.as_bytes());
                });
            }
        });
        Proxy { url, creates, cut }
    }
}

#[test]
fn a_create_whose_answer_was_lost_is_replayed_not_repeated() {
    let mut sandbox = sandbox();
    let coordinator = Coordinator::start(&sandbox);
    let proxy = Proxy::start(&coordinator.url);
    coordinator.configure(&mut sandbox);
    sandbox.set_env("CRABBOX_COORDINATOR", &proxy.url);

    let (id, _) = sandbox.warmup(&[]);
    assert!(*proxy.cut.lock().unwrap(), "the first answer was dropped");
    assert_eq!(proxy.creates.load(Ordering::SeqCst), 2, "one replay");
    let (client, runtime) = coordinator.client();
    let leases = runtime
        .block_on(client.list_leases(&LeaseFilter::default()))
        .unwrap();
    assert_eq!(leases.len(), 1, "one lease, one machine: {leases:?}");
    assert_eq!(leases[0].id, id);
    assert_eq!(leases[0].state, LeaseStatus::Active);
    let machines = std::fs::read_dir(sandbox.state_dir().join("local"))
        .unwrap()
        .flatten()
        .filter(|entry| entry.path().is_dir())
        .count();
    assert_eq!(machines, 1);
    sandbox.expect(0, &["stop", &id]);
}
