//! Keeping a lease's idle clock moving while a command or a shell runs on it.
//! Brokered leases beat over the coordinator's control socket and, when the socket
//! fails in any way, over HTTP in the same tick; direct leases are touched through
//! their provider.

use std::sync::Arc;
use std::time::Duration;

use crabbox_client::{Client, ControlError, ControlSocket};
use crabbox_proto::wire::HeartbeatRequest;
use crabbox_providers::{Lease, Provider};

/// One heartbeat attempt (socket or HTTP) gives up after this long.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(20);
/// The interval when the idle timeout is unknown.
const UNKNOWN_IDLE_INTERVAL: Duration = Duration::from_secs(60);

/// A third of the idle timeout, clamped to 5–60 s, so two beats may be lost
/// before the lease expires; 60 s when the idle timeout is unknown.
pub fn heartbeat_interval(idle_timeout_secs: i64) -> Duration {
    if idle_timeout_secs <= 0 {
        return UNKNOWN_IDLE_INTERVAL;
    }
    Duration::from_secs((idle_timeout_secs / 3).clamp(5, 60) as u64)
}

/// Which path carried a brokered heartbeat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Carried {
    Socket,
    Http,
}

/// Heartbeats of one brokered lease; holds at most one control socket, opened
/// on first use and dropped after any failure (the next tick dials again).
pub struct BrokeredHeartbeat {
    client: Client,
    lease_id: String,
    provider: String,
    socket: Option<ControlSocket>,
}

impl BrokeredHeartbeat {
    pub fn new(client: Client, lease_id: &str, provider: &str) -> BrokeredHeartbeat {
        BrokeredHeartbeat {
            client,
            lease_id: lease_id.to_string(),
            provider: provider.to_string(),
            socket: None,
        }
    }

    /// One tick: the socket first; on any socket failure close it and send the
    /// HTTP heartbeat right away. Errs only when HTTP failed too.
    pub async fn beat(&mut self) -> Result<Carried, String> {
        let socket_failure = match self.over_socket().await {
            Ok(()) => return Ok(Carried::Socket),
            Err(error) => error,
        };
        if let Some(socket) = self.socket.take() {
            socket.close().await;
        }
        let request = HeartbeatRequest {
            expected_provider: Some(self.provider.clone()),
            ..HeartbeatRequest::default()
        };
        match tokio::time::timeout(
            ATTEMPT_TIMEOUT,
            self.client.heartbeat(&self.lease_id, &request),
        )
        .await
        {
            Ok(Ok(_)) => Ok(Carried::Http),
            Ok(Err(error)) => Err(format!("{error} (control socket: {socket_failure})")),
            Err(_) => Err(format!(
                "no answer within {}s (control socket: {socket_failure})",
                ATTEMPT_TIMEOUT.as_secs()
            )),
        }
    }

    async fn over_socket(&mut self) -> Result<(), ControlError> {
        let socket = match &mut self.socket {
            Some(socket) => socket,
            None => self.socket.insert(self.client.control().await?),
        };
        let beat = socket.heartbeat(&self.lease_id, Some(&self.provider), None);
        match tokio::time::timeout(ATTEMPT_TIMEOUT, beat).await {
            Ok(result) => result.map(|_| ()),
            Err(_) => Err(ControlError::Transport {
                message: format!("no reply within {}s", ATTEMPT_TIMEOUT.as_secs()),
            }),
        }
    }
}

/// Beats every `heartbeat_interval` until the handle is aborted: through the
/// coordinator when it brokers the lease, else by touching it via its provider.
/// Failures go to `on_failure` as warnings; the command goes on.
pub fn spawn_heartbeats(
    provider: Arc<dyn Provider>,
    coordinator: Option<Client>,
    lease: &Lease,
    on_failure: impl Fn(String) + Send + 'static,
) -> tokio::task::JoinHandle<()> {
    let interval = heartbeat_interval(lease.idle_timeout_secs);
    let lease_id = lease.id.clone();
    match coordinator {
        Some(client) => {
            let mut heartbeat = BrokeredHeartbeat::new(client, &lease.id, &lease.provider);
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(interval).await;
                    if let Err(error) = heartbeat.beat().await {
                        on_failure(format!("heartbeat failed for {lease_id}: {error}"));
                    }
                }
            })
        }
        None => tokio::spawn(async move {
            loop {
                tokio::time::sleep(interval).await;
                if let Err(error) = provider.touch(&lease_id, None, None).await {
                    on_failure(format!("heartbeat failed for {lease_id}: {error}"));
                }
            }
        }),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::time::Instant;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};

    use super::*;

    type Seen = Arc<Mutex<Vec<(Instant, String)>>>;

    /// Reads one request (head and body) and returns its request line.
    async fn request_line(stream: &mut TcpStream) -> String {
        let mut buffer = Vec::new();
        let mut chunk = [0u8; 4096];
        loop {
            let read = stream.read(&mut chunk).await.unwrap_or(0);
            if read == 0 {
                break;
            }
            buffer.extend_from_slice(&chunk[..read]);
            let text = String::from_utf8_lossy(&buffer).to_string();
            if let Some(end) = text.find("\r\n\r\n") {
                let length = text[..end]
                    .lines()
                    .find_map(|line| {
                        let (name, value) = line.split_once(':')?;
                        name.eq_ignore_ascii_case("content-length")
                            .then(|| value.trim().parse::<usize>().ok())?
                    })
                    .unwrap_or(0);
                if buffer.len() >= end + 4 + length {
                    break;
                }
            }
        }
        String::from_utf8_lossy(&buffer)
            .lines()
            .next()
            .unwrap_or_default()
            .to_string()
    }

    /// A coordinator stand-in whose control socket is down (503) while the HTTP
    /// heartbeat works; it records every request line.
    async fn socketless_coordinator(listener: TcpListener, seen: Seen) {
        loop {
            let (mut stream, _) = listener.accept().await.unwrap();
            let line = request_line(&mut stream).await;
            seen.lock().unwrap().push((Instant::now(), line.clone()));
            let (status, body) = if line.starts_with("GET /v1/control") {
                (
                    "503 Service Unavailable",
                    r#"{"error":"unavailable","message":"down"}"#,
                )
            } else {
                (
                    "200 OK",
                    r#"{"lease":{"id":"cbx_000000000001","state":"active"}}"#,
                )
            };
            let response = format!(
                "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(response.as_bytes()).await;
        }
    }

    #[test]
    fn a_failed_socket_falls_back_to_http_in_the_same_tick() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let url = format!("http://{}", listener.local_addr().unwrap());
            let seen: Seen = Arc::default();
            tokio::spawn(socketless_coordinator(listener, seen.clone()));
            let client = Client::new(&url, Some("token".into())).unwrap();
            let mut heartbeat = BrokeredHeartbeat::new(client, "cbx_000000000001", "local");
            for _ in 0..2 {
                let started = Instant::now();
                assert_eq!(heartbeat.beat().await, Ok(Carried::Http));
                assert!(started.elapsed() < Duration::from_secs(2));
            }
            let lines: Vec<String> = seen
                .lock()
                .unwrap()
                .iter()
                .map(|(_, line)| line.clone())
                .collect();
            assert_eq!(
                lines,
                [
                    "GET /v1/control HTTP/1.1",
                    "POST /v1/leases/cbx_000000000001/heartbeat HTTP/1.1",
                    "GET /v1/control HTTP/1.1",
                    "POST /v1/leases/cbx_000000000001/heartbeat HTTP/1.1",
                ]
            );
        });
    }

    #[test]
    fn a_beat_fails_only_when_http_fails_too() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let url = format!("http://{}", listener.local_addr().unwrap());
            drop(listener);
            let client = Client::new(&url, Some("token".into())).unwrap();
            let mut heartbeat = BrokeredHeartbeat::new(client, "cbx_000000000001", "local");
            let error = heartbeat.beat().await.unwrap_err();
            assert!(error.contains("cannot reach the coordinator"), "{error}");
            assert!(error.contains("control socket: cannot open"), "{error}");
            assert!(!error.contains("token"), "{error}");
        });
    }

    #[test]
    fn the_interval_is_a_third_of_the_idle_timeout_within_bounds() {
        let table = [
            (0, 60),
            (-5, 60),
            (1, 5),
            (15, 5),
            (16, 5),
            (18, 6),
            (90, 30),
            (179, 59),
            (180, 60),
            (1800, 60),
            (86_400, 60),
        ];
        for (idle, seconds) in table {
            assert_eq!(
                heartbeat_interval(idle),
                Duration::from_secs(seconds),
                "idle {idle}"
            );
        }
    }
}
