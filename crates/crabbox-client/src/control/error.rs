//! Why the control socket could not be opened or stopped working. No variant ever
//! carries the token: handshake failures keep only the status and the body's code.

/// A control socket failure. Every variant means the socket is unusable except
/// `Server` and `HeartbeatRefused`, which are answers on a healthy socket.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    /// No connection: refused, reset, timed out, or a TLS failure.
    #[error("cannot open the control socket at {url}: {message}")]
    Dial { url: String, message: String },
    /// The coordinator answered the upgrade request with an error status.
    #[error("{}", rejected_text(url, *status, code, message))]
    Rejected {
        url: String,
        status: u16,
        code: String,
        message: String,
    },
    /// The coordinator (or something in between) closed the connection.
    #[error("the control socket closed: {reason}")]
    Closed { reason: String },
    /// Reading or writing a frame failed.
    #[error("the control socket failed: {message}")]
    Transport { message: String },
    /// A frame that is not one the protocol defines.
    #[error("unexpected control frame: {message}")]
    Decode { message: String },
    /// An `error` frame.
    #[error("the coordinator answered {code} on the control socket: {message}")]
    Server { code: String, message: String },
    /// A `heartbeat` reply with `ok: false`.
    #[error("heartbeat for {lease_id} refused: {code}")]
    HeartbeatRefused { lease_id: String, code: String },
}

fn rejected_text(url: &str, status: u16, code: &str, message: &str) -> String {
    let mut text = format!("the coordinator refused the control socket at {url}: {status} {code}");
    if !message.is_empty() {
        text.push_str(": ");
        text.push_str(message);
    }
    text
}

impl ControlError {
    /// The API error code of a rejected upgrade, an `error` frame or a refused
    /// heartbeat (`unauthorized`, `not_found`, `lease_expired`, …).
    pub fn code(&self) -> Option<&str> {
        match self {
            ControlError::Rejected { code, .. }
            | ControlError::Server { code, .. }
            | ControlError::HeartbeatRefused { code, .. } => Some(code),
            _ => None,
        }
    }
}
