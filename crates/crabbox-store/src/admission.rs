//! The admission snapshot a lease reserve decides on, read inside the
//! serialized reserve transaction.

use std::collections::HashSet;

use crate::backend::Tx;
use crate::filter::LIVE_STATES;
use crate::{StoreError, StoredLease, Timestamp};

/// Snapshot computed inside the admission transaction.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Admission {
    /// Live (provisioning|active) leases with lifecycle != "registered", regardless of expires_at: total, same owner
    /// (lease.owner), same org (lease.org, only when the candidate's org is non-empty; else 0).
    pub active_total: i64,
    pub active_owner: i64,
    pub active_org: i64,
    /// Sum of lease.max_estimated_usd over non-registered leases that are live OR whose created_at >= month_start:
    /// total, same owner, same org (as above).
    pub reserved_usd_total: f64,
    pub reserved_usd_owner: f64,
    pub reserved_usd_org: f64,
    /// Slugs of live, unexpired (expires_at > now) leases of any owner: a slug
    /// names at most one such lease, so no tenant can take another's.
    pub taken_slugs: HashSet<String>,
    /// A cancel tombstone exists for (candidate id, candidate private.create_attempt_id) (only when that is non-empty).
    pub attempt_canceled: bool,
}

type Totals = (i64, i64, i64, f64, f64, f64);

pub(crate) async fn snapshot(
    tx: &mut Tx,
    candidate: &StoredLease,
    now: Timestamp,
    month_start: Timestamp,
) -> Result<Admission, StoreError> {
    let lease = &candidate.lease;
    let totals_sql = format!(
        "SELECT
            COALESCE(SUM(CASE WHEN live = 1 THEN 1 ELSE 0 END), 0),
            COALESCE(SUM(CASE WHEN live = 1 AND owner = $1 THEN 1 ELSE 0 END), 0),
            COALESCE(SUM(CASE WHEN live = 1 AND org = $2 THEN 1 ELSE 0 END), 0),
            CAST(COALESCE(SUM(max_estimated_usd), 0) AS DOUBLE PRECISION),
            CAST(COALESCE(SUM(CASE WHEN owner = $1 THEN max_estimated_usd ELSE 0 END), 0)
                AS DOUBLE PRECISION),
            CAST(COALESCE(SUM(CASE WHEN org = $2 THEN max_estimated_usd ELSE 0 END), 0)
                AS DOUBLE PRECISION)
         FROM (
            SELECT owner, org, max_estimated_usd,
                CASE WHEN state IN {LIVE_STATES} THEN 1 ELSE 0 END AS live
            FROM leases
            WHERE lifecycle <> 'registered' AND (state IN {LIVE_STATES} OR created_at >= $3)
         ) AS counted"
    );
    let (total, owner, org, usd_total, usd_owner, usd_org): Totals =
        sqlx::query_as(sqlx::AssertSqlSafe(totals_sql))
            .bind(&lease.owner)
            .bind(&lease.org)
            .bind(month_start.0)
            .fetch_one(&mut **tx)
            .await?;
    let slugs_sql =
        format!("SELECT slug FROM leases WHERE state IN {LIVE_STATES} AND expires_at > $1");
    let taken_slugs: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(slugs_sql))
        .bind(now.0)
        .fetch_all(&mut **tx)
        .await?;
    let attempt = &candidate.private.create_attempt_id;
    let attempt_canceled = !attempt.is_empty()
        && sqlx::query_scalar::<_, i64>(
            "SELECT COUNT(*) FROM create_attempts WHERE lease_id = $1 AND token = $2",
        )
        .bind(&lease.id)
        .bind(attempt)
        .fetch_one(&mut **tx)
        .await?
            > 0;
    let has_org = !lease.org.is_empty();
    Ok(Admission {
        active_total: total,
        active_owner: owner,
        active_org: if has_org { org } else { 0 },
        reserved_usd_total: usd_total,
        reserved_usd_owner: usd_owner,
        reserved_usd_org: if has_org { usd_org } else { 0.0 },
        taken_slugs: taken_slugs.into_iter().collect(),
        attempt_canceled,
    })
}
