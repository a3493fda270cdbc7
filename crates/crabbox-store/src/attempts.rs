//! Create-attempt cancel tombstones: a client that gave up on a create records
//! (lease id, attempt token) so a reserve arriving later is refused.

use crate::backend::WriteLock;
use crate::{Store, StoreError, Timestamp};

impl Store {
    /// Under the admission lock that `reserve_lease` takes: inserts the tombstone
    /// `(lease_id, token, owner, org, now)` unless one exists, and returns the
    /// tombstone's `(owner, org)` — the existing one's when present, so the caller
    /// can detect a foreign attempt.
    pub async fn cancel_attempt(
        &self,
        lease_id: &str,
        token: &str,
        owner: &str,
        org: &str,
        now: Timestamp,
    ) -> Result<(String, String), StoreError> {
        self.retrying(|| async {
            let mut tx = self.begin_write(WriteLock::Admission).await?;
            sqlx::query(
                "INSERT INTO create_attempts (lease_id, token, owner, org, created_at)
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (lease_id, token) DO NOTHING",
            )
            .bind(lease_id)
            .bind(token)
            .bind(owner)
            .bind(org)
            .bind(now.0)
            .execute(&mut *tx)
            .await?;
            let tombstone: (String, String) = sqlx::query_as(
                "SELECT owner, org FROM create_attempts WHERE lease_id = $1 AND token = $2",
            )
            .bind(lease_id)
            .bind(token)
            .fetch_one(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(tombstone)
        })
        .await
    }
}
