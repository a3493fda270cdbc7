//! Lease operations: lookup with visibility, the brokered create pipeline,
//! lifecycle changes, the machine-delete protocol and the admin's forced delete.

pub mod access;
pub mod admin;
pub mod cleanup;
pub mod create;
pub mod lifecycle;
pub mod registration;
pub mod request;

/// Provider text as stored on a lease or sent to a client: first line, bounded.
pub fn redact(text: &str) -> String {
    let line = text.lines().next().unwrap_or_default().trim();
    line.chars().take(500).collect()
}
