//! Lease lifecycle shared by the commands: resolve an ID or slug, acquire, claim,
//! connect over SSH and release, plus the lines every command prints about one.

mod acquire;
mod connect;
mod handle;
mod heartbeat;
mod home;
mod resolve;

use std::time::Duration;

use crabbox_core::format_rfc3339;
use crabbox_providers::Lease;

pub use acquire::{acquire, claim, release, LeaseSettings};
pub use connect::{connect, connect_reporting, readiness_line, target};
pub use handle::{interrupted_or, LeaseHandle, LeaseSource};
pub use heartbeat::spawn_heartbeats;
pub use home::LeaseHome;
pub use resolve::{
    claim_coordinator, lease_value, other_scope, resolve, resolve_as, selected_provider_name,
    Access,
};

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

/// RFC 3339 of a unix time, `-` for zero.
pub fn timestamp(unix: i64) -> String {
    if unix <= 0 {
        "-".into()
    } else {
        format_rfc3339(unix)
    }
}
