//! Lease rows: the serialized reserve with its admission snapshot, row-locked
//! updates, and the reads the API and maintenance need.

use sqlx::any::AnyArguments;
use sqlx::query::Query;
use sqlx::{Any, AssertSqlSafe, Executor};

use crate::backend::{abandon, WriteLock};
use crate::document::{decode, encode};
use crate::filter::{clamp_limit, Where, LIVE_STATES};
use crate::{admission, Admission, LeaseStatus, Reserve, Store, StoreError, StoredLease};
use crate::{Timestamp, Update};

const SELECT_LEASES: &str = "SELECT id, document FROM leases";
const SELECT_LEASE: &str = "SELECT id, document FROM leases WHERE id = $1";

#[derive(Debug, Clone, Default)]
pub struct LeaseFilter {
    pub state: Option<LeaseStatus>,
    pub provider: Option<String>,
    pub owner: Option<String>,
    pub org: Option<String>,
    /// Clamped to 1..=500; 0 means 100.
    pub limit: i64,
}

impl Store {
    /// In one serialized write transaction: returns `Reserve::Conflict` when a lease
    /// with `record.lease.id` exists; otherwise computes the [`Admission`] snapshot,
    /// lets `admit` decide (and fill in slug, cost, state…), inserts and commits.
    pub async fn reserve_lease<E: Send>(
        &self,
        mut record: StoredLease,
        now: Timestamp,
        month_start: Timestamp,
        admit: impl FnOnce(&Admission, &mut StoredLease) -> Result<(), E> + Send,
    ) -> Result<StoredLease, Reserve<E>> {
        let id = record.lease.id.clone();
        let candidate = &record;
        let (mut tx, existing, admission) = self
            .retrying(|| async {
                let mut tx = self.begin_write(WriteLock::Admission).await?;
                if let Some(existing) = fetch_lease(&mut *tx, SELECT_LEASE.into(), &id).await? {
                    return Ok((tx, Some(existing), Admission::default()));
                }
                let admission = admission::snapshot(&mut tx, candidate, now, month_start).await?;
                Ok((tx, None, admission))
            })
            .await?;
        if let Some(existing) = existing {
            abandon(tx).await;
            return Err(Reserve::Conflict(existing));
        }
        if let Err(error) = admit(&admission, &mut record) {
            abandon(tx).await;
            return Err(Reserve::Rejected(error));
        }
        prepare(&mut record, &id);
        bind_columns(sqlx::query(INSERT_LEASE), &record)?
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(record)
    }

    pub async fn get_lease(&self, id: &str) -> Result<Option<StoredLease>, StoreError> {
        fetch_lease(self.pool(), SELECT_LEASE.into(), id).await
    }

    /// Live leases whose slug equals `slug` (any owner; the caller filters visibility).
    pub async fn leases_with_slug(&self, slug: &str) -> Result<Vec<StoredLease>, StoreError> {
        let sql = format!(
            "{SELECT_LEASES} WHERE slug = $1 AND state IN {LIVE_STATES} ORDER BY created_at DESC, id"
        );
        self.fetch_leases(sqlx::query(AssertSqlSafe(sql)).bind(slug))
            .await
    }

    /// Newest `created_at` first.
    pub async fn list_leases(&self, filter: &LeaseFilter) -> Result<Vec<StoredLease>, StoreError> {
        let mut conditions = Where::default();
        conditions.equals("state", filter.state.map(LeaseStatus::as_str));
        conditions.equals("provider", filter.provider.as_deref());
        conditions.equals("owner", filter.owner.as_deref());
        conditions.equals("org", filter.org.as_deref());
        let query = conditions.query(
            SELECT_LEASES,
            "created_at DESC, id DESC",
            clamp_limit(filter.limit, 100),
        );
        self.fetch_leases(query).await
    }

    /// Row-locked read-modify-write: load, `change(&mut record)`, write back with the
    /// indexed columns (including `next_action_at`) recomputed, commit. The lease id
    /// is the key and cannot change.
    pub async fn update_lease<T: Send, E: Send>(
        &self,
        id: &str,
        change: impl FnOnce(&mut StoredLease) -> Result<T, E> + Send,
    ) -> Result<T, Update<E>> {
        let locking = self.backend().locking(SELECT_LEASE);
        let (mut tx, record) = self
            .retrying(|| async {
                let mut tx = self.begin_write(WriteLock::Rows).await?;
                let record = fetch_lease(&mut *tx, locking.clone(), id).await?;
                Ok((tx, record))
            })
            .await?;
        let Some(mut record) = record else {
            abandon(tx).await;
            return Err(Update::NotFound);
        };
        let value = match change(&mut record) {
            Ok(value) => value,
            Err(error) => {
                abandon(tx).await;
                return Err(Update::Rejected(error));
            }
        };
        prepare(&mut record, id);
        bind_columns(sqlx::query(UPDATE_LEASE), &record)?
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(value)
    }

    /// Leases with `next_action_at <= now`, earliest first, at most `limit`.
    pub async fn due_leases(
        &self,
        now: Timestamp,
        limit: i64,
    ) -> Result<Vec<StoredLease>, StoreError> {
        let query = sqlx::query(
            "SELECT id, document FROM leases WHERE next_action_at <= $1
             ORDER BY next_action_at, id LIMIT $2",
        );
        self.fetch_leases(query.bind(now.0).bind(limit.max(0)))
            .await
    }

    /// The earliest `next_action_at` over all leases.
    pub async fn next_deadline(&self) -> Result<Option<Timestamp>, StoreError> {
        let earliest: Option<i64> = sqlx::query_scalar("SELECT MIN(next_action_at) FROM leases")
            .fetch_one(self.pool())
            .await?;
        Ok(earliest.map(Timestamp))
    }

    /// For usage reports: non-registered leases created at or after `since`, or live.
    pub async fn leases_for_usage(&self, since: Timestamp) -> Result<Vec<StoredLease>, StoreError> {
        let sql = format!(
            "{SELECT_LEASES} WHERE lifecycle <> 'registered'
             AND (created_at >= $1 OR state IN {LIVE_STATES}) ORDER BY created_at, id"
        );
        self.fetch_leases(sqlx::query(AssertSqlSafe(sql)).bind(since.0))
            .await
    }

    async fn fetch_leases(
        &self,
        query: Query<'_, Any, AnyArguments>,
    ) -> Result<Vec<StoredLease>, StoreError> {
        use sqlx::Row;
        let rows = query.fetch_all(self.pool()).await?;
        rows.iter()
            .map(|row| from_row((row.try_get(0)?, row.try_get(1)?)))
            .collect()
    }
}

async fn fetch_lease<'e>(
    executor: impl Executor<'e, Database = Any>,
    sql: String,
    id: &str,
) -> Result<Option<StoredLease>, StoreError> {
    let row: Option<(String, String)> = sqlx::query_as(AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(executor)
        .await?;
    row.map(from_row).transpose()
}

fn from_row((id, document): (String, String)) -> Result<StoredLease, StoreError> {
    decode("lease", &id, &document)
}

const INSERT_LEASE: &str = "INSERT INTO leases (id, slug, owner, org, state, provider, lifecycle,
    max_estimated_usd, created_at, expires_at, next_action_at, document)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)";

const UPDATE_LEASE: &str = "UPDATE leases SET slug = $2, owner = $3, org = $4, state = $5,
    provider = $6, lifecycle = $7, max_estimated_usd = $8, created_at = $9, expires_at = $10,
    next_action_at = $11, document = $12 WHERE id = $1";

/// Keeps the row key, mirrors the owed delete into the public lease, and makes
/// the record storable: JSON has no NaN or infinity, so a non-finite cost would
/// come back as an unreadable `null`.
fn prepare(record: &mut StoredLease, id: &str) {
    record.lease.id = id.to_string();
    record.lease.cleanup_pending = record.private.cleanup_pending;
    for cost in [
        &mut record.lease.estimated_hourly_usd,
        &mut record.lease.max_estimated_usd,
    ] {
        if !cost.is_finite() {
            *cost = 0.0;
        }
    }
}

/// Binds the indexed columns, derived from `record` on every write, and the document.
fn bind_columns<'q>(
    query: Query<'q, Any, AnyArguments>,
    record: &StoredLease,
) -> Result<Query<'q, Any, AnyArguments>, StoreError> {
    let lease = &record.lease;
    let document = encode("lease", &lease.id, record)?;
    Ok(query
        .bind(&lease.id)
        .bind(&lease.slug)
        .bind(&lease.owner)
        .bind(&lease.org)
        .bind(lease.state.as_str())
        .bind(&lease.provider)
        .bind(&lease.lifecycle)
        .bind(lease.max_estimated_usd)
        .bind(lease.created_at.0)
        .bind(lease.expires_at.0)
        .bind(record.next_action_at().map(|at| at.0))
        .bind(document))
}
