//! The control socket against small in-test servers: one speaking the protocol,
//! one refusing the upgrade, one that never answers.

use std::time::{Duration, Instant};

use crabbox_proto::wire::{ClientFrame, RunEventRecord, ServerFrame, Timestamp};
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

use super::*;
use crate::Client;

const TOKEN: &str = "secret-token-never-printed";

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

async fn listener() -> (TcpListener, String) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    (listener, url)
}

fn text(frame: &ServerFrame) -> Message {
    Message::text(serde_json::to_string(frame).unwrap())
}

fn event(seq: i64) -> RunEventRecord {
    RunEventRecord {
        run_id: "run_1".into(),
        seq,
        kind: "stdout".into(),
        data: format!("line {seq}\n"),
        created_at: Timestamp(1_700_000_000_000),
        ..RunEventRecord::default()
    }
}

/// Accepts one socket, reports its handshake headers, sends `hello`, then answers
/// frames like the coordinator and reports every client frame.
// The handshake callback's error type is the library's HTTP response.
#[allow(clippy::result_large_err)]
async fn protocol_server(
    listener: TcpListener,
    headers: mpsc::UnboundedSender<Vec<(String, String)>>,
    frames: mpsc::UnboundedSender<ClientFrame>,
) {
    let (stream, _) = listener.accept().await.unwrap();
    let mut socket = tokio_tungstenite::accept_hdr_async(stream, |request: &Request, response| {
        let seen = request
            .headers()
            .iter()
            .map(|(name, value)| {
                (
                    name.as_str().to_string(),
                    value.to_str().unwrap_or_default().to_string(),
                )
            })
            .collect();
        let _ = headers.send(seen);
        Ok::<Response, _>(response)
    })
    .await
    .unwrap();
    let hello = ServerFrame::Hello {
        protocol: 1,
        client_id: "client-7".into(),
    };
    socket.send(text(&hello)).await.unwrap();
    while let Some(Ok(Message::Text(body))) = socket.next().await {
        let frame: ClientFrame = serde_json::from_str(body.as_str()).unwrap();
        let _ = frames.send(frame.clone());
        answer(&mut socket, frame).await;
    }
}

async fn answer(socket: &mut WebSocketStream<TcpStream>, frame: ClientFrame) {
    match frame {
        ClientFrame::SubscribeRun { run_id, after, .. } => {
            let events: Vec<RunEventRecord> = (after + 1..=after + 2).map(event).collect();
            let reply = ServerFrame::RunEvents {
                run_id,
                next_seq: after + 2,
                events,
            };
            socket.send(text(&reply)).await.unwrap();
        }
        ClientFrame::Heartbeat { lease_id, .. } if lease_id == "cbx_gone" => {
            let reply = ServerFrame::Heartbeat {
                lease_id,
                ok: false,
                expires_at: None,
                error: Some("lease_expired".into()),
            };
            socket.send(text(&reply)).await.unwrap();
        }
        ClientFrame::Heartbeat { lease_id, .. } => {
            // A push that races the reply must not be lost.
            let push = ServerFrame::RunEvents {
                run_id: "run_1".into(),
                events: vec![event(9)],
                next_seq: 9,
            };
            socket.send(text(&push)).await.unwrap();
            let reply = ServerFrame::Heartbeat {
                lease_id,
                ok: true,
                expires_at: Some(Timestamp(1_700_000_060_000)),
                error: None,
            };
            socket.send(text(&reply)).await.unwrap();
        }
        ClientFrame::Ping => socket.send(text(&ServerFrame::Pong)).await.unwrap(),
        ClientFrame::Ack { .. } => {}
    }
}

#[test]
fn urls_follow_the_base_scheme() {
    assert_eq!(
        control_url("http://127.0.0.1:8787"),
        "ws://127.0.0.1:8787/v1/control"
    );
    assert_eq!(
        control_url("https://crabbox.example.com/api"),
        "wss://crabbox.example.com/api/v1/control"
    );
}

#[test]
fn frames_flow_both_ways_with_the_client_credentials() {
    runtime().block_on(async {
        let (listener, url) = listener().await;
        let (headers_sender, mut headers) = mpsc::unbounded_channel();
        let (frames_sender, mut frames) = mpsc::unbounded_channel();
        tokio::spawn(protocol_server(listener, headers_sender, frames_sender));
        let client = Client::new(&url, Some(TOKEN.into()))
            .unwrap()
            .with_identity(Some("alice".into()), Some("acme".into()));

        let mut socket = client.control().await.unwrap();
        assert_eq!(socket.client_id(), "client-7");
        assert!(!format!("{socket:?}").contains(TOKEN));
        let headers = headers.recv().await.unwrap();
        let header = |name: &str| {
            headers
                .iter()
                .find(|(key, _)| key.eq_ignore_ascii_case(name))
                .map(|(_, value)| value.clone())
        };
        assert_eq!(header("authorization"), Some(format!("Bearer {TOKEN}")));
        assert_eq!(header("x-crabbox-owner").as_deref(), Some("alice"));
        assert_eq!(header("x-crabbox-org").as_deref(), Some("acme"));

        socket.subscribe("run_1", 4, Some(100)).await.unwrap();
        match socket.recv().await.unwrap() {
            ServerFrame::RunEvents {
                events, next_seq, ..
            } => {
                assert_eq!(events.iter().map(|e| e.seq).collect::<Vec<_>>(), [5, 6]);
                assert_eq!(next_seq, 6);
            }
            other => panic!("{other:?}"),
        }
        socket.ack("run_1", 6).await.unwrap();

        let ack = socket
            .heartbeat("cbx_1", Some("local"), Some(90))
            .await
            .unwrap();
        assert_eq!(ack.lease_id, "cbx_1");
        assert_eq!(ack.expires_at, Some(Timestamp(1_700_000_060_000)));
        // The push that arrived before the reply is still there.
        match socket.recv().await.unwrap() {
            ServerFrame::RunEvents { next_seq, .. } => assert_eq!(next_seq, 9),
            other => panic!("{other:?}"),
        }
        let refused = socket.heartbeat("cbx_gone", None, None).await.unwrap_err();
        assert_eq!(refused.code(), Some("lease_expired"));
        socket.ping().await.unwrap();

        let sent: Vec<ClientFrame> = std::iter::from_fn(|| frames.try_recv().ok()).collect();
        assert_eq!(
            sent[..3],
            [
                ClientFrame::SubscribeRun {
                    run_id: "run_1".into(),
                    after: 4,
                    limit: Some(100),
                },
                ClientFrame::Ack {
                    run_id: "run_1".into(),
                    seq: 6,
                },
                ClientFrame::Heartbeat {
                    lease_id: "cbx_1".into(),
                    expected_provider: Some("local".into()),
                    idle_timeout_seconds: Some(90),
                    telemetry: None,
                },
            ]
        );
        assert_eq!(sent.last(), Some(&ClientFrame::Ping));
        socket.close().await;
    });
}

#[test]
fn a_refused_upgrade_keeps_the_code_but_never_the_token() {
    runtime().block_on(async {
        let (listener, url) = listener().await;
        tokio::spawn(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            let mut request = vec![0u8; 4096];
            let _ = stream.read(&mut request).await;
            let body = r#"{"error":"unauthorized","message":"bad token"}"#;
            let response = format!(
                "HTTP/1.1 401 Unauthorized\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            stream.write_all(response.as_bytes()).await.unwrap();
        });
        let client = Client::new(&url, Some(TOKEN.into())).unwrap();
        let error = client.control().await.unwrap_err();
        assert!(
            matches!(&error, ControlError::Rejected { status: 401, .. }),
            "{error:?}"
        );
        assert_eq!(error.code(), Some("unauthorized"));
        for text in [error.to_string(), format!("{error:?}")] {
            assert!(!text.contains(TOKEN), "{text}");
            assert!(text.contains("401"), "{text}");
        }
    });
}

#[test]
fn a_silent_server_fails_the_dial_within_its_timeout() {
    runtime().block_on(async {
        let (listener, url) = listener().await;
        tokio::spawn(async move {
            // Accepts and holds the connection without ever answering.
            let (stream, _) = listener.accept().await.unwrap();
            tokio::time::sleep(Duration::from_secs(30)).await;
            drop(stream);
        });
        let client = Client::new(&url, Some(TOKEN.into())).unwrap();
        let started = Instant::now();
        let error = client.control().await.unwrap_err();
        let took = started.elapsed();
        assert!(matches!(error, ControlError::Dial { .. }), "{error:?}");
        assert!(took >= CONTROL_DIAL_TIMEOUT, "{took:?}");
        assert!(
            took < CONTROL_DIAL_TIMEOUT + Duration::from_secs(1),
            "{took:?}"
        );
    });
}

#[test]
fn a_refused_connection_is_a_dial_error() {
    runtime().block_on(async {
        let (listener, url) = listener().await;
        drop(listener);
        let client = Client::new(&url, Some(TOKEN.into())).unwrap();
        let error = client.control().await.unwrap_err();
        assert!(matches!(error, ControlError::Dial { .. }), "{error:?}");
    });
}

#[test]
fn close_frames_and_binary_frames_end_the_socket() {
    runtime().block_on(async {
        let (listener, url) = listener().await;
        tokio::spawn(async move {
            for ending in [Message::binary(vec![1, 2, 3]), Message::Close(None)] {
                let (stream, _) = listener.accept().await.unwrap();
                let mut socket = tokio_tungstenite::accept_async(stream).await.unwrap();
                let hello = ServerFrame::Hello {
                    protocol: 1,
                    client_id: "c".into(),
                };
                socket.send(text(&hello)).await.unwrap();
                socket.send(ending).await.unwrap();
                let _ = socket.next().await;
            }
        });
        let client = Client::new(&url, Some(TOKEN.into())).unwrap();
        let mut socket = client.control().await.unwrap();
        let error = socket.recv().await.unwrap_err();
        assert!(matches!(error, ControlError::Decode { .. }), "{error:?}");
        drop(socket);
        let mut socket = client.control().await.unwrap();
        let error = socket.recv().await.unwrap_err();
        assert!(matches!(error, ControlError::Closed { .. }), "{error:?}");
    });
}
