//! The stored lease document: the public lease plus the coordinator's private
//! bookkeeping, and when maintenance must next look at it.

use serde::{Deserialize, Serialize};

use crate::{LeaseRecord, LeaseStatus, Timestamp};

/// How long a create may stay between reserve (or the provider call) and
/// finalize before maintenance assumes its coordinator died.
const PROVISIONING_GRACE_MILLIS: i64 = 10 * 60 * 1000;

/// Everything the coordinator stores about a lease: the public record plus private bookkeeping.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StoredLease {
    pub lease: LeaseRecord,
    #[serde(default)]
    pub private: LeasePrivate,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct LeasePrivate {
    pub create_attempt_id: String,
    /// sha256 of the normalized create request (fixed-ID PUT idempotency).
    pub intent_hash: String,
    /// The per-lease client public key the machine was created for.
    pub ssh_public_key: String,
    /// A machine delete is owed (release with delete, expiry, failed create that may have left a machine).
    pub cleanup_pending: bool,
    /// Claim token of the replica deleting the machine right now (cleanupStartedAt) and when that claim goes stale.
    pub cleanup_claim: Option<Timestamp>,
    pub cleanup_claim_expires_at: Option<Timestamp>,
    /// Earliest time a failed delete may be retried.
    pub cleanup_retry_at: Option<Timestamp>,
    /// Set when the provider create call starts; with `provisioning_instance` (the coordinator process UUID) it lets
    /// maintenance recover a create whose coordinator died between reserve and finalize.
    pub provisioning_started_at: Option<Timestamp>,
    /// The replica that reserved the lease (stamped at reserve, so a replica that
    /// dies before calling the provider is recovered too).
    pub provisioning_instance: String,
    /// The provider inventory the machine lives in, as the creating replica's
    /// provider named it; empty when every replica sees the same inventory. Only
    /// a replica whose provider reports the same scope may delete the machine.
    pub inventory_scope: String,
}

impl StoredLease {
    /// When maintenance must next look at this lease (stored in the indexed `next_action_at` column; the store
    /// recomputes it on every write, callers never set it):
    /// - cleanup_pending: max(cleanup_retry_at, cleanup_claim_expires_at) if either is set, else
    ///   `lease.updated_at`;
    /// - else live (provisioning|active): `lease.expires_at`; additionally for provisioning:
    ///   min(that, (provisioning_started_at, else created_at) + 10 min);
    /// - else None.
    pub fn next_action_at(&self) -> Option<Timestamp> {
        let private = &self.private;
        if private.cleanup_pending {
            let waits = private
                .cleanup_retry_at
                .into_iter()
                .chain(private.cleanup_claim_expires_at);
            return Some(waits.max().unwrap_or(self.lease.updated_at));
        }
        if !self.lease.state.is_live() {
            return None;
        }
        let expiry = self.lease.expires_at;
        if self.lease.state != LeaseStatus::Provisioning {
            return Some(expiry);
        }
        let started = private
            .provisioning_started_at
            .unwrap_or(self.lease.created_at);
        Some(expiry.min(Timestamp(
            started.0.saturating_add(PROVISIONING_GRACE_MILLIS),
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(state: LeaseStatus) -> StoredLease {
        let mut record = StoredLease::default();
        record.lease.state = state;
        record.lease.updated_at = Timestamp(1_000);
        record.lease.expires_at = Timestamp(9_000_000);
        record
    }

    #[test]
    fn next_action_follows_cleanup_then_expiry_then_provisioning_grace() {
        let mut pending = record(LeaseStatus::Released);
        pending.private.cleanup_pending = true;
        assert_eq!(pending.next_action_at(), Some(Timestamp(1_000)));
        pending.private.cleanup_retry_at = Some(Timestamp(5_000));
        assert_eq!(pending.next_action_at(), Some(Timestamp(5_000)));
        pending.private.cleanup_claim_expires_at = Some(Timestamp(7_000));
        assert_eq!(pending.next_action_at(), Some(Timestamp(7_000)));

        assert_eq!(
            record(LeaseStatus::Active).next_action_at(),
            Some(Timestamp(9_000_000))
        );
        assert_eq!(record(LeaseStatus::Failed).next_action_at(), None);

        let mut provisioning = record(LeaseStatus::Provisioning);
        provisioning.lease.created_at = Timestamp(1_000);
        assert_eq!(
            provisioning.next_action_at(),
            Some(Timestamp(601_000)),
            "a reserve that never reached the provider is looked at after the grace too"
        );
        provisioning.private.provisioning_started_at = Some(Timestamp(2_000));
        assert_eq!(provisioning.next_action_at(), Some(Timestamp(602_000)));
        let mut active = record(LeaseStatus::Active);
        active.private.provisioning_started_at = Some(Timestamp(2_000));
        assert_eq!(active.next_action_at(), Some(Timestamp(9_000_000)));
    }

    #[test]
    fn private_fields_use_camel_case_and_default_when_missing() {
        let mut record = record(LeaseStatus::Active);
        record.private.create_attempt_id = "attempt".into();
        record.private.cleanup_claim = Some(Timestamp(42));
        let json = serde_json::to_value(&record).unwrap();
        assert_eq!(json["private"]["createAttemptId"], "attempt");
        let back: StoredLease = serde_json::from_value(json).unwrap();
        assert_eq!(back, record);
        let bare: StoredLease = serde_json::from_str(r#"{"lease":{"id":"cbx_1"}}"#).unwrap();
        assert_eq!(bare.private, LeasePrivate::default());
    }
}
