//! Run rows: creation with the first event, reads and listing with visibility,
//! the indexed columns every run write refreshes, and pruning old runs.

use sqlx::{AssertSqlSafe, Row};

use crate::backend::{abandon, WriteLock};
use crate::document::decode;
use crate::filter::{clamp_limit, Where};
use crate::rows::{fetch_run, insert_event, write_run, SELECT_RUN};
use crate::{Run, RunEventRecord, RunState, Store, StoreError, Timestamp, Update};

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
        mut first_event: RunEventRecord,
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
