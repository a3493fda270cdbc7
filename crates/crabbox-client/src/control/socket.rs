//! Dialing `/v1/control` with the client's credentials, sending client frames and
//! reading server frames.

use std::collections::VecDeque;
use std::fmt;
use std::time::Duration;

use crabbox_proto::wire::{ClientFrame, ErrorBody, ServerFrame, Timestamp};
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use super::error::ControlError;
use crate::client::Client;

/// How long opening the socket (connect, upgrade and `hello`) may take; past it
/// callers fall back to HTTP.
pub const CONTROL_DIAL_TIMEOUT: Duration = Duration::from_millis(1500);
/// A close frame is a courtesy; never wait long for it.
const CLOSE_TIMEOUT: Duration = Duration::from_millis(500);

/// `ws://…/v1/control` for `http://…`, `wss://` for `https://`.
pub fn control_url(base_url: &str) -> String {
    let socket_base = match base_url.strip_prefix("https://") {
        Some(rest) => format!("wss://{rest}"),
        None => format!(
            "ws://{}",
            base_url.strip_prefix("http://").unwrap_or(base_url)
        ),
    };
    format!("{socket_base}/v1/control")
}

/// The coordinator accepted a heartbeat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeartbeatAck {
    pub lease_id: String,
    pub expires_at: Option<Timestamp>,
}

/// An open control socket after `hello`. Sending is sequential; `recv` is
/// cancel-safe, so it can race a timer in `select!`.
pub struct ControlSocket {
    stream: WebSocketStream<MaybeTlsStream<TcpStream>>,
    url: String,
    client_id: String,
    /// Frames that arrived while `heartbeat` or `ping` waited for their reply.
    queued: VecDeque<ServerFrame>,
}

impl fmt::Debug for ControlSocket {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("ControlSocket")
            .field("url", &self.url)
            .field("client_id", &self.client_id)
            .finish()
    }
}

fn transport(error: tungstenite::Error) -> ControlError {
    match error {
        tungstenite::Error::ConnectionClosed | tungstenite::Error::AlreadyClosed => {
            ControlError::Closed {
                reason: "the connection ended".into(),
            }
        }
        other => ControlError::Transport {
            message: other.to_string(),
        },
    }
}

/// Turns a failed upgrade into an error that keeps the status and the API's code
/// (the request, and with it the token, is never part of it).
fn dial_error(url: &str, error: tungstenite::Error) -> ControlError {
    match error {
        tungstenite::Error::Http(response) => {
            let status = response.status();
            let body = response.body().as_deref().unwrap_or_default();
            let parsed = serde_json::from_slice::<ErrorBody>(body)
                .ok()
                .filter(|body| !body.error.is_empty());
            let (code, message) = match parsed {
                Some(body) => (body.error, body.message),
                None => (
                    status
                        .canonical_reason()
                        .unwrap_or("unexpected status")
                        .to_string(),
                    String::new(),
                ),
            };
            ControlError::Rejected {
                url: url.to_string(),
                status: status.as_u16(),
                code,
                message,
            }
        }
        tungstenite::Error::Io(error) => ControlError::Dial {
            url: url.to_string(),
            message: error.to_string(),
        },
        other => ControlError::Dial {
            url: url.to_string(),
            message: other.to_string(),
        },
    }
}

impl Client {
    /// Opens the control socket with this client's token and identity headers
    /// and reads the coordinator's `hello`, all within `CONTROL_DIAL_TIMEOUT`.
    pub async fn control(&self) -> Result<ControlSocket, ControlError> {
        let url = control_url(self.base_url());
        match tokio::time::timeout(CONTROL_DIAL_TIMEOUT, self.dial(&url)).await {
            Ok(result) => result,
            Err(_) => Err(ControlError::Dial {
                url,
                message: format!("no answer within {} ms", CONTROL_DIAL_TIMEOUT.as_millis()),
            }),
        }
    }

    async fn dial(&self, url: &str) -> Result<ControlSocket, ControlError> {
        let mut request = url
            .into_client_request()
            .map_err(|error| dial_error(url, error))?;
        for (name, value) in self.credential_headers() {
            let value = HeaderValue::from_str(&value).map_err(|_| ControlError::Dial {
                url: url.to_string(),
                message: format!("the {name} header is not valid HTTP"),
            })?;
            request.headers_mut().insert(name, value);
        }
        let (stream, _) = tokio_tungstenite::connect_async_with_config(request, None, true)
            .await
            .map_err(|error| dial_error(url, error))?;
        let mut socket = ControlSocket {
            stream,
            url: url.to_string(),
            client_id: String::new(),
            queued: VecDeque::new(),
        };
        match socket.read().await? {
            ServerFrame::Hello { client_id, .. } => {
                socket.client_id = client_id;
                Ok(socket)
            }
            other => Err(ControlError::Decode {
                message: format!("expected hello, got {}", frame_name(&other)),
            }),
        }
    }
}

fn frame_name(frame: &ServerFrame) -> &'static str {
    match frame {
        ServerFrame::Hello { .. } => "hello",
        ServerFrame::RunEvents { .. } => "run_events",
        ServerFrame::Heartbeat { .. } => "heartbeat",
        ServerFrame::Pong => "pong",
        ServerFrame::Error { .. } => "error",
    }
}

impl ControlSocket {
    /// The ID the coordinator gave this connection in `hello`.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// Sends one frame.
    pub async fn send(&mut self, frame: &ClientFrame) -> Result<(), ControlError> {
        let text = serde_json::to_string(frame).expect("client frames serialize");
        self.stream
            .send(Message::text(text))
            .await
            .map_err(transport)
    }

    /// `subscribe_run`: the coordinator answers with one page, the events after
    /// `after` (at most `limit`). After a full page, subscribe again from its
    /// last seq for the next one (the Node coordinator and ours both send one
    /// page per request); after a shorter one new events are pushed as they are
    /// recorded.
    pub async fn subscribe(
        &mut self,
        run_id: &str,
        after: i64,
        limit: Option<i64>,
    ) -> Result<(), ControlError> {
        self.send(&ClientFrame::SubscribeRun {
            run_id: run_id.to_string(),
            after,
            limit,
        })
        .await
    }

    /// `ack`: everything up to `seq` has been handled.
    pub async fn ack(&mut self, run_id: &str, seq: i64) -> Result<(), ControlError> {
        self.send(&ClientFrame::Ack {
            run_id: run_id.to_string(),
            seq,
        })
        .await
    }

    /// Sends a `heartbeat` and waits for its reply; frames that arrive meanwhile
    /// stay queued for `recv`. Dropping the future mid-wait leaves the reply
    /// unread, so close the socket after a timeout.
    pub async fn heartbeat(
        &mut self,
        lease_id: &str,
        expected_provider: Option<&str>,
        idle_timeout_seconds: Option<i64>,
    ) -> Result<HeartbeatAck, ControlError> {
        self.send(&ClientFrame::Heartbeat {
            lease_id: lease_id.to_string(),
            expected_provider: expected_provider.map(str::to_string),
            idle_timeout_seconds,
            telemetry: None,
        })
        .await?;
        loop {
            match self.read().await? {
                ServerFrame::Heartbeat {
                    lease_id: answered,
                    ok,
                    expires_at,
                    error,
                } => {
                    return if ok {
                        Ok(HeartbeatAck {
                            lease_id: answered,
                            expires_at,
                        })
                    } else {
                        Err(ControlError::HeartbeatRefused {
                            lease_id: lease_id.to_string(),
                            code: error.unwrap_or_else(|| "refused".into()),
                        })
                    };
                }
                ServerFrame::Error { code, message } => {
                    return Err(ControlError::Server { code, message })
                }
                other => self.queued.push_back(other),
            }
        }
    }

    /// `ping`, then waits for `pong` (other frames stay queued for `recv`).
    pub async fn ping(&mut self) -> Result<(), ControlError> {
        self.send(&ClientFrame::Ping).await?;
        loop {
            match self.read().await? {
                ServerFrame::Pong => return Ok(()),
                ServerFrame::Error { code, message } => {
                    return Err(ControlError::Server { code, message })
                }
                other => self.queued.push_back(other),
            }
        }
    }

    /// The next server frame. An `error` frame is returned as a frame; a closed
    /// connection or an undecodable frame is an error.
    pub async fn recv(&mut self) -> Result<ServerFrame, ControlError> {
        match self.queued.pop_front() {
            Some(frame) => Ok(frame),
            None => self.read().await,
        }
    }

    /// Reads the next text frame off the wire; pings are answered by the library.
    async fn read(&mut self) -> Result<ServerFrame, ControlError> {
        loop {
            let message = match self.stream.next().await {
                Some(Ok(message)) => message,
                Some(Err(error)) => return Err(transport(error)),
                None => {
                    return Err(ControlError::Closed {
                        reason: "the connection ended".into(),
                    })
                }
            };
            match message {
                Message::Text(text) => {
                    return serde_json::from_str(text.as_str()).map_err(|error| {
                        ControlError::Decode {
                            message: error.to_string(),
                        }
                    })
                }
                Message::Binary(_) => {
                    return Err(ControlError::Decode {
                        message: "a binary frame".into(),
                    })
                }
                Message::Close(frame) => {
                    return Err(ControlError::Closed {
                        reason: close_reason(frame.as_ref()),
                    })
                }
                Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => continue,
            }
        }
    }

    /// Sends a close frame (best effort, briefly) and drops the connection.
    pub async fn close(mut self) {
        let _ = tokio::time::timeout(CLOSE_TIMEOUT, self.stream.close(None)).await;
    }
}

fn close_reason(frame: Option<&CloseFrame>) -> String {
    match frame {
        Some(frame) if !frame.reason.is_empty() => {
            format!("code {} ({})", u16::from(frame.code), frame.reason)
        }
        Some(frame) => format!("code {}", u16::from(frame.code)),
        None => "no close code".into(),
    }
}
