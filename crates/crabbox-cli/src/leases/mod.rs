//! Lease lifecycle shared by the commands: resolve an ID or slug, acquire, claim,
//! connect over SSH and release, plus the lines every command prints about one.

mod acquire;
mod connect;
mod resolve;

use std::sync::Arc;
use std::time::Duration;

use crabbox_core::format_rfc3339;
use crabbox_providers::{Lease, Provider};

pub use acquire::{acquire, claim, release, LeaseSettings};
pub use connect::{connect, target};
pub use resolve::{lease_value, resolve, Resolved};

/// `crabbox stop --id <slug>` style follow-up command.
pub fn stop_command(lease: &Lease) -> String {
    format!(
        "crabbox stop --provider {} --id {}",
        lease.provider,
        if lease.slug.is_empty() {
            &lease.id
        } else {
            &lease.slug
        }
    )
}

/// `leased cbx_… slug=… …`, printed when a lease is created.
pub fn leased_line(lease: &Lease) -> String {
    format!(
        "leased {} slug={} provider={} server={} type={} ip={} idle_timeout={} expires={}",
        lease.id,
        lease.slug,
        lease.provider,
        lease.server_id,
        lease.server_type,
        lease.host,
        seconds_text(lease.idle_timeout_secs),
        timestamp(lease.expires_at()),
    )
}

/// Go-style duration of a number of seconds, `-` when negative.
pub fn seconds_text(seconds: i64) -> String {
    if seconds < 0 {
        "-".into()
    } else {
        crabbox_core::format_duration(Duration::from_secs(seconds as u64))
    }
}

/// Keeps a lease's idle clock moving while something long runs on it: a touch every
/// idle/3, clamped to 5–60 s. Abort the handle to stop.
pub fn spawn_touch_loop(provider: Arc<dyn Provider>, lease: &Lease) -> tokio::task::JoinHandle<()> {
    let interval = Duration::from_secs((lease.idle_timeout_secs / 3).clamp(5, 60) as u64);
    let lease_id = lease.id.clone();
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(interval).await;
            let _ = provider.touch(&lease_id, None, None).await;
        }
    })
}

/// RFC 3339 of a unix time, `-` for zero.
pub fn timestamp(unix: i64) -> String {
    if unix <= 0 {
        "-".into()
    } else {
        format_rfc3339(unix)
    }
}
