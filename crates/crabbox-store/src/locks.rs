//! Named cross-replica locks with a holder and an expiry, so only one
//! coordinator replica runs a maintenance pass at a time.

use crate::{Store, StoreError, Timestamp};

impl Store {
    /// Acquires or renews `name` for `holder` until `now + ttl_ms`. Succeeds when the
    /// lock is free, expired, or already held by `holder`; one conditional upsert, so
    /// concurrent callers in any number of processes see exactly one winner.
    pub async fn try_lock(
        &self,
        name: &str,
        holder: &str,
        now: Timestamp,
        ttl_ms: i64,
    ) -> Result<bool, StoreError> {
        let expires_at = now.0.saturating_add(ttl_ms.max(0));
        self.retrying(|| async {
            let result = sqlx::query(
                "INSERT INTO locks (name, holder, expires_at) VALUES ($1, $2, $3)
                 ON CONFLICT (name) DO UPDATE SET holder = excluded.holder,
                    expires_at = excluded.expires_at
                 WHERE locks.holder = excluded.holder OR locks.expires_at <= $4",
            )
            .bind(name)
            .bind(holder)
            .bind(expires_at)
            .bind(now.0)
            .execute(self.pool())
            .await?;
            Ok(result.rows_affected() == 1)
        })
        .await
    }

    /// Releases `name` if `holder` holds it; a lock taken over by another holder stays.
    pub async fn unlock(&self, name: &str, holder: &str) -> Result<(), StoreError> {
        self.retrying(|| async {
            sqlx::query("DELETE FROM locks WHERE name = $1 AND holder = $2")
                .bind(name)
                .bind(holder)
                .execute(self.pool())
                .await?;
            Ok(())
        })
        .await
    }
}
