//! `cleanup`: expired in-scope devboxes are deleted with preconditions; anything
//! out of scope or without a lease label is skipped.

use super::lifecycle::Session;
use super::manifest::{label, name, LEASE_LABEL};
use super::status::{state, DevboxState};
use crate::{CleanupDecision, ProviderError};

/// A running devbox gets this much grace past its expiry.
const RUNNING_GRACE_SECS: i64 = 12 * 3600;

pub async fn reap(
    session: &Session,
    now: i64,
    dry_run: bool,
) -> Result<Vec<CleanupDecision>, ProviderError> {
    let mut decisions = Vec::new();
    for devbox in session.in_scope_devboxes(true).await? {
        let lease_id = label(&devbox, LEASE_LABEL).to_string();
        let lease = session.lease(&devbox);
        let grace = if state(&devbox) == DevboxState::Running {
            RUNNING_GRACE_SECS
        } else {
            0
        };
        let (delete, reason) = if lease_id.is_empty() {
            (false, "missing-lease-label".to_string())
        } else if now < lease.expires_at() + grace {
            (false, "not-expired".to_string())
        } else {
            (true, format!("expired state={}", state(&devbox).as_str()))
        };
        if delete && !dry_run {
            session.delete(&devbox).await?;
        }
        decisions.push(CleanupDecision {
            lease_id,
            name: name(&devbox).to_string(),
            delete,
            reason,
        });
    }
    Ok(decisions)
}
