//! One control socket's wire: server frames out as JSON text, messages in, and
//! closing with a code and reason.

use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket};
use crabbox_proto::wire::ServerFrame;

use crate::runs::truncate_utf8;

/// How long a close waits for the client's close frame.
const CLOSE_WAIT: Duration = Duration::from_secs(2);
/// Error messages are cut to this many bytes (they may quote client input).
const MESSAGE_LIMIT: usize = 256;

/// The client is gone: writing failed.
#[derive(Debug)]
pub struct Gone;

pub struct Link {
    socket: WebSocket,
}

impl Link {
    pub fn new(socket: WebSocket) -> Link {
        Link { socket }
    }

    pub async fn send(&mut self, frame: &ServerFrame) -> Result<(), Gone> {
        let text = serde_json::to_string(frame).map_err(|_| Gone)?;
        self.socket
            .send(Message::Text(text.into()))
            .await
            .map_err(|_| Gone)
    }

    pub async fn error(&mut self, code: &str, message: &str) -> Result<(), Gone> {
        let message = message.lines().next().unwrap_or_default();
        self.send(&ServerFrame::Error {
            code: code.to_string(),
            message: truncate_utf8(message, MESSAGE_LIMIT).to_string(),
        })
        .await
    }

    pub async fn ping(&mut self) -> Result<(), Gone> {
        self.socket
            .send(Message::Ping(Default::default()))
            .await
            .map_err(|_| Gone)
    }

    pub async fn recv(&mut self) -> Option<Result<Message, axum::Error>> {
        self.socket.recv().await
    }

    /// Sends a close frame and waits briefly for the client's, so the frame is
    /// read before the connection goes away.
    pub async fn close(mut self, code: u16, reason: &str) {
        let frame = CloseFrame {
            code,
            reason: reason.into(),
        };
        if self.socket.send(Message::Close(Some(frame))).await.is_err() {
            return;
        }
        let _ = tokio::time::timeout(CLOSE_WAIT, async {
            while let Some(Ok(_)) = self.socket.recv().await {}
        })
        .await;
    }
}
