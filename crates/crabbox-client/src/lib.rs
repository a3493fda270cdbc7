//! Typed client of the coordinator HTTP API: one method per route, bearer auth,
//! bounded timeouts, and errors that keep the API's code and message; plus the
//! control WebSocket.

mod account;
mod client;
mod control;
mod error;
mod leases;
mod runs;

pub use account::UsageQuery;
pub use client::{Client, CONNECT_TIMEOUT, FINISH_TIMEOUT, REQUEST_TIMEOUT};
pub use control::{control_url, ControlError, ControlSocket, HeartbeatAck, CONTROL_DIAL_TIMEOUT};
pub use crabbox_proto::ErrorClass;
pub use error::ClientError;
pub use leases::{CancelCreateResponse, CanceledCreate, LeaseFilter};
pub use runs::RunFilter;
