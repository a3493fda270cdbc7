//! One control socket from accept to close: `hello`, then one loop that reads
//! client frames, delivers notices, pings the client and closes on shutdown, an
//! expired token, an oversized frame or a client that stopped answering.

use std::time::Duration;

use axum::extract::ws::{Message, WebSocket};
use crabbox_proto::wire::{ClientFrame, HeartbeatRequest, ServerFrame, CONTROL_PROTOCOL};
use tokio::sync::broadcast::error::RecvError;
use tokio::time::{interval_at, Instant, MissedTickBehavior};

use super::frames::{self, Parsed};
use super::hub::{raised, Notice};
use super::link::{Gone, Link};
use super::subscriptions::Subscriptions;
use crate::auth::Principal;
use crate::leases::lifecycle;
use crate::state::Coordinator;

/// Messages larger than this close the socket (1009).
pub const MAX_MESSAGE_BYTES: usize = 1 << 20;
/// How soon a failed catch-up is retried.
const STALE_RETRY: Duration = Duration::from_secs(1);

const GOING_AWAY_RESTART: u16 = 1012;
const POLICY_VIOLATION: u16 = 1008;
const MESSAGE_TOO_BIG: u16 = 1009;

/// Why the loop ended.
enum End {
    /// The client left, or cannot be written to.
    Gone,
    Close(u16, &'static str),
}

impl From<Gone> for End {
    fn from(_: Gone) -> End {
        End::Gone
    }
}

/// What woke the loop.
enum Input {
    Closing,
    Message(Option<Result<Message, axum::Error>>),
    Notice(Result<Notice, RecvError>),
    PingDue,
    RetryDue,
}

/// Serves one accepted socket until it closes.
pub async fn serve(socket: WebSocket, coordinator: Coordinator, principal: Principal) {
    let hub = coordinator.control().clone();
    let _open = hub.opened();
    // Subscribed before `hello`, so nothing committed after it is missed.
    let mut notices = hub.notices();
    let mut closing = hub.closing();
    let mut session = Session {
        link: Link::new(socket),
        subscriptions: Subscriptions::new(coordinator.clone()),
        coordinator,
        principal,
        awaiting_pong: false,
    };
    let hello = ServerFrame::Hello {
        protocol: CONTROL_PROTOCOL,
        client_id: client_id(),
    };
    if session.link.send(&hello).await.is_err() {
        return;
    }
    let every = Duration::from_millis(
        session
            .coordinator
            .settings()
            .control_ping_interval_ms
            .max(10) as u64,
    );
    let mut pings = interval_at(Instant::now() + every, every);
    pings.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let end = loop {
        let input = tokio::select! {
            _ = raised(&mut closing) => Input::Closing,
            message = session.link.recv() => Input::Message(message),
            notice = notices.recv() => Input::Notice(notice),
            _ = pings.tick() => Input::PingDue,
            _ = tokio::time::sleep(STALE_RETRY), if session.subscriptions.has_stale() => {
                Input::RetryDue
            }
        };
        if let Err(end) = session.step(input).await {
            break end;
        }
    };
    if let End::Close(code, reason) = end {
        session.link.close(code, reason).await;
    }
}

struct Session {
    link: Link,
    subscriptions: Subscriptions,
    coordinator: Coordinator,
    principal: Principal,
    awaiting_pong: bool,
}

impl Session {
    async fn step(&mut self, input: Input) -> Result<(), End> {
        match input {
            Input::Closing | Input::Notice(Err(RecvError::Closed)) => {
                Err(End::Close(GOING_AWAY_RESTART, "coordinator restarting"))
            }
            Input::Message(None | Some(Ok(Message::Close(_)))) => Err(End::Gone),
            Input::Message(Some(Err(error))) => Err(read_failure(&error)),
            Input::Message(Some(Ok(Message::Pong(_)))) => {
                self.awaiting_pong = false;
                Ok(())
            }
            // The WebSocket layer answers pings itself.
            Input::Message(Some(Ok(Message::Ping(_)))) => Ok(()),
            Input::Message(Some(Ok(Message::Binary(_)))) => {
                self.check_token()?;
                Ok(self
                    .link
                    .error("invalid_message", "frames must be JSON text, not binary")
                    .await?)
            }
            Input::Message(Some(Ok(Message::Text(text)))) => {
                self.check_token()?;
                Ok(self.handle(text.as_str()).await?)
            }
            Input::Notice(Ok(notice)) => {
                Ok(self.subscriptions.deliver(&mut self.link, notice).await?)
            }
            Input::Notice(Err(RecvError::Lagged(_))) => {
                Ok(self.subscriptions.catch_up_all(&mut self.link).await?)
            }
            Input::PingDue => {
                if self.awaiting_pong {
                    return Err(End::Gone);
                }
                self.check_token()?;
                self.awaiting_pong = true;
                Ok(self.link.ping().await?)
            }
            Input::RetryDue => Ok(self.subscriptions.retry_stale(&mut self.link).await?),
        }
    }

    /// User tokens are re-checked on every frame; an expired one closes the socket.
    fn check_token(&self) -> Result<(), End> {
        match self.principal.token_expires_at {
            Some(expires_at) if expires_at <= self.coordinator.now() => {
                Err(End::Close(POLICY_VIOLATION, "token expired"))
            }
            _ => Ok(()),
        }
    }

    async fn handle(&mut self, text: &str) -> Result<(), Gone> {
        let frame = match frames::parse(text) {
            Parsed::Frame(frame) => frame,
            Parsed::Ignored => return Ok(()),
            Parsed::Invalid { code, message } => return self.link.error(code, &message).await,
        };
        let link = &mut self.link;
        match frame {
            ClientFrame::SubscribeRun {
                run_id,
                after,
                limit,
            } => {
                self.subscriptions
                    .subscribe(link, &self.principal, run_id, after, limit)
                    .await
            }
            ClientFrame::Ack { run_id, seq } => self.subscriptions.ack(link, &run_id, seq).await,
            ClientFrame::Heartbeat {
                lease_id,
                expected_provider,
                idle_timeout_seconds,
                telemetry,
            } => {
                let request = HeartbeatRequest {
                    expected_provider,
                    idle_timeout_seconds,
                    telemetry,
                };
                let reply = heartbeat(&self.coordinator, &self.principal, lease_id, &request).await;
                link.send(&reply).await
            }
            ClientFrame::Ping => link.send(&ServerFrame::Pong).await,
        }
    }
}

fn read_failure(error: &axum::Error) -> End {
    use std::error::Error;
    use tokio_tungstenite::tungstenite;
    let too_big = error
        .source()
        .and_then(|source| source.downcast_ref::<tungstenite::Error>())
        .is_some_and(|error| matches!(error, tungstenite::Error::Capacity(_)));
    if too_big {
        End::Close(MESSAGE_TOO_BIG, "frames are limited to 1 MiB")
    } else {
        End::Gone
    }
}

/// The HTTP heartbeat's rules (only the owner or an admin, never reviving), as
/// a frame; a refused heartbeat changes nothing.
async fn heartbeat(
    coordinator: &Coordinator,
    principal: &Principal,
    lease_id: String,
    request: &HeartbeatRequest,
) -> ServerFrame {
    match lifecycle::heartbeat(coordinator, principal, &lease_id, request).await {
        Ok(lease) => ServerFrame::Heartbeat {
            lease_id: lease.id,
            ok: true,
            expires_at: Some(lease.expires_at),
            error: None,
        },
        Err(error) => ServerFrame::Heartbeat {
            lease_id,
            ok: false,
            expires_at: None,
            error: Some(error.code.to_string()),
        },
    }
}

/// A random UUID-shaped (version 4) client id.
fn client_id() -> String {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).expect("the system random source");
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex: String = bytes.iter().map(|byte| format!("{byte:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_ids_are_random_version_4_uuids() {
        let first = client_id();
        assert_eq!(first.len(), 36);
        assert_eq!(first.as_bytes()[14], b'4');
        assert!(matches!(first.as_bytes()[19], b'8' | b'9' | b'a' | b'b'));
        assert_ne!(first, client_id());
    }
}
