//! The coordinator's control WebSocket (`/v1/control`): live run events and lease
//! heartbeats over one long-lived connection.

mod error;
mod socket;
#[cfg(test)]
mod tests;

pub use error::ControlError;
pub use socket::{control_url, ControlSocket, HeartbeatAck, CONTROL_DIAL_TIMEOUT};
