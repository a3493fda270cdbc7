//! Run rows: creation with the first event, reads and listing with visibility,
//! the indexed columns every run write refreshes, and pruning old runs.

use sqlx::{Any, AssertSqlSafe, Executor, Row};

use crate::backend::{abandon, Tx, WriteLock};
use crate::document::{decode, encode};
use crate::events::insert_event;
use crate::filter::{clamp_limit, Where};
use crate::{Run, RunEvent, RunState, Store, StoreError, Timestamp, Update};

const SELECT_RUN: &str = "SELECT id, document FROM runs WHERE id = $1";

#[derive(Debug, Clone, Default)]
pub struct RunFilter {
    pub lease_id: Option<String>,
    pub owner: Option<String>,
    pub org: Option<String>,
    pub state: Option<RunState>,
    /// Non-admin visibility: the run's (owner, org) equals this, or one of run.lease_owners equals it.
    pub readable_by: Option<(String, String)>,
    /// Clamped to 1..=500; 0 means 50.
    pub limit: i64,
}

impl Store {
    /// Inserts `run` (event count 1, last event at the first event's time) and its
    /// first event as seq 1, atomically.
    pub async fn create_run(
        &self,
        mut run: Run,
        mut first_event: RunEvent,
    ) -> Result<Run, StoreError> {
        first_event.run_id = run.id.clone();
        first_event.seq = 1;
        run.event_count = 1;
        run.last_event_at = Some(first_event.created_at);
        let run = &run;
        let first_event = &first_event;
        self.retrying(|| async {
            let mut tx = self.begin_write(WriteLock::Rows).await?;
            write_run(&mut tx, run, None).await?;
            insert_event(&mut tx, first_event).await?;
            tx.commit().await?;
            Ok(())
        })
        .await?;
        Ok(run.clone())
    }

    /// Row-locks the run, lets `apply` change it and writes it back, without an
    /// event (telemetry samples).
    pub async fn update_run<E: Send>(
        &self,
        run_id: &str,
        apply: impl FnOnce(&mut Run) -> Result<(), E> + Send,
    ) -> Result<Run, Update<E>> {
        let (mut tx, stored) = self.locked_run(run_id).await?;
        let Some(stored) = stored else {
            abandon(tx).await;
            return Err(Update::NotFound);
        };
        let mut run = stored.clone();
        if let Err(error) = apply(&mut run) {
            abandon(tx).await;
            return Err(Update::Rejected(error));
        }
        run.id = stored.id.clone();
        write_run(&mut tx, &run, Some(&stored)).await?;
        tx.commit().await?;
        Ok(run)
    }

    pub async fn get_run(&self, id: &str) -> Result<Option<Run>, StoreError> {
        fetch_run(self.pool(), SELECT_RUN.into(), id).await
    }

    /// Newest `started_at` first.
    pub async fn list_runs(&self, filter: &RunFilter) -> Result<Vec<Run>, StoreError> {
        let mut conditions = Where::default();
        conditions.equals("lease_id", filter.lease_id.as_deref());
        conditions.equals("owner", filter.owner.as_deref());
        conditions.equals("org", filter.org.as_deref());
        conditions.equals("state", filter.state.map(RunState::as_str));
        if let Some((owner, org)) = &filter.readable_by {
            conditions.clause(
                "((runs.owner = ? AND runs.org = ?) OR EXISTS (
                    SELECT 1 FROM run_lease_owners AS readers
                    WHERE readers.run_id = runs.id AND readers.owner = ? AND readers.org = ?))",
                &[owner, org, owner, org],
            );
        }
        let query = conditions.query(
            "SELECT id, document FROM runs",
            "started_at DESC, id DESC",
            clamp_limit(filter.limit, 50),
        );
        let rows = query.fetch_all(self.pool()).await?;
        rows.iter()
            .map(|row| {
                let id: String = row.try_get(0)?;
                decode("run", &id, &row.try_get::<String, _>(1)?)
            })
            .collect()
    }

    /// Deletes up to `limit` runs, with their events and log chunks, whose terminal
    /// time (ended_at, else last_event_at, else started_at) is before `before`.
    pub async fn prune_runs(&self, before: Timestamp, limit: i64) -> Result<u64, StoreError> {
        let select = self.backend().locking(
            "SELECT id FROM runs WHERE terminal_at < $1 ORDER BY terminal_at, id LIMIT $2",
        );
        self.retrying(|| async {
            let mut tx = self.begin_write(WriteLock::Rows).await?;
            let ids: Vec<String> = sqlx::query_scalar(AssertSqlSafe(select.clone()))
                .bind(before.0)
                .bind(limit.max(0))
                .fetch_all(&mut *tx)
                .await?;
            for id in &ids {
                for table in ["run_events", "run_log_chunks", "run_lease_owners"] {
                    let sql = format!("DELETE FROM {table} WHERE run_id = $1");
                    sqlx::query(AssertSqlSafe(sql))
                        .bind(id)
                        .execute(&mut *tx)
                        .await?;
                }
                sqlx::query("DELETE FROM runs WHERE id = $1")
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            Ok(ids.len() as u64)
        })
        .await
    }
}

/// Loads and row-locks the run `id` inside `tx`.
pub(crate) async fn lock_run(
    store: &Store,
    tx: &mut Tx,
    id: &str,
) -> Result<Option<Run>, StoreError> {
    fetch_run(&mut **tx, store.backend().locking(SELECT_RUN), id).await
}

async fn fetch_run<'e>(
    executor: impl Executor<'e, Database = Any>,
    sql: String,
    id: &str,
) -> Result<Option<Run>, StoreError> {
    let row: Option<(String, String)> = sqlx::query_as(AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(executor)
        .await?;
    row.map(|(id, document)| decode("run", &id, &document))
        .transpose()
}

/// Inserts `run`, or updates it when `previous` (the stored version) is given,
/// refreshing the indexed columns and, when they changed, the lease owners who may read it.
pub(crate) type AnyQuery<'q> = sqlx::query::Query<'q, Any, sqlx::any::AnyArguments>;

/// Binds a run's columns as `$1..$8` (id, lease_id, owner, org, state,
/// started_at, terminal_at, document).
pub(crate) fn bind_run<'q>(query: AnyQuery<'q>, run: &Run) -> Result<AnyQuery<'q>, StoreError> {
    let terminal_at = run.ended_at.or(run.last_event_at).unwrap_or(run.started_at);
    Ok(query
        .bind(run.id.clone())
        .bind(run.lease_id.clone())
        .bind(run.owner.clone())
        .bind(run.org.clone())
        .bind(run.state.as_str())
        .bind(run.started_at.0)
        .bind(terminal_at.0)
        .bind(encode("run", &run.id, run)?))
}

pub(crate) async fn write_run(
    tx: &mut Tx,
    run: &Run,
    previous: Option<&Run>,
) -> Result<(), StoreError> {
    let sql = match previous {
        None => {
            "INSERT INTO runs (id, lease_id, owner, org, state, started_at, terminal_at, document)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
        }
        Some(_) => {
            "UPDATE runs SET lease_id = $2, owner = $3, org = $4, state = $5, started_at = $6,
             terminal_at = $7, document = $8 WHERE id = $1"
        }
    };
    bind_run(sqlx::query(sql), run)?.execute(&mut **tx).await?;
    if previous.is_some_and(|previous| previous.lease_owners == run.lease_owners) {
        return Ok(());
    }
    if previous.is_some() {
        sqlx::query("DELETE FROM run_lease_owners WHERE run_id = $1")
            .bind(&run.id)
            .execute(&mut **tx)
            .await?;
    }
    for reader in &run.lease_owners {
        sqlx::query(
            "INSERT INTO run_lease_owners (run_id, owner, org) VALUES ($1, $2, $3)
             ON CONFLICT (run_id, owner, org) DO NOTHING",
        )
        .bind(&run.id)
        .bind(&reader.owner)
        .bind(&reader.org)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}
