//! The control WebSocket (`/v1/control`): run-event subscriptions with
//! contiguous, exactly-once pushes, lease heartbeats and pings over one socket,
//! fed by an in-process broadcast of appends and, on PostgreSQL, by `LISTEN`
//! across replicas.

mod frames;
mod hub;
mod link;
pub mod relay;
mod session;
mod subscriptions;

pub use hub::Hub;
pub use session::{serve, MAX_MESSAGE_BYTES};
