//! A run's event stream and log: appends with dense per-run sequence numbers,
//! the finishing write that stores the log in chunks, and the reads of both.

use sqlx::any::AnyRow;
use sqlx::Row;

use crate::backend::{abandon, Tx, WriteLock};
use crate::filter::clamp_limit;
use crate::notify::{announce, payload, APPENDS_CHANNEL};
use crate::rows::{bind_event, bind_run, insert_event, lock_run, write_run, EVENT_COLUMNS};
use crate::{Backend, Run, RunEventRecord, Store, StoreError, Timestamp, Update};

/// Logs are stored in pieces of this size.
const LOG_CHUNK_BYTES: usize = 64 * 1024;

impl Store {
    /// Row-locks the run, numbers `event` as the run's next seq, lets `apply` update
    /// the run from it, then writes both. Concurrent appends, from any number of
    /// processes, get dense unique seqs. On PostgreSQL the commit announces
    /// `runID:seq` to every [`AppendListener`](crate::AppendListener).
    pub async fn append_event<E: Send>(
        &self,
        run_id: &str,
        mut event: RunEventRecord,
        apply: impl FnOnce(&mut Run, &RunEventRecord) -> Result<(), E> + Send,
    ) -> Result<RunEventRecord, Update<E>> {
        let (mut tx, stored) = self.locked_run(run_id).await?;
        let Some(stored) = stored else {
            abandon(tx).await;
            return Err(Update::NotFound);
        };
        let mut run = stored.clone();
        number(&mut event, &run);
        if let Err(error) = apply(&mut run, &event) {
            abandon(tx).await;
            return Err(Update::Rejected(error));
        }
        record(&mut tx, self.backend(), &mut run, &stored, &event).await?;
        tx.commit().await?;
        Ok(event)
    }

    /// Events with `seq > after`, ascending, at most `limit` (clamped to 1..=500; 0
    /// means 500): a range read on the primary key.
    pub async fn list_events(
        &self,
        run_id: &str,
        after: i64,
        limit: i64,
    ) -> Result<Vec<RunEventRecord>, StoreError> {
        let limit = clamp_limit(limit, 500);
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM run_events WHERE run_id = $1 AND seq > $2
             ORDER BY seq LIMIT $3"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(run_id)
            .bind(after)
            .bind(limit)
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(event_from_row).collect()
    }

    /// In one transaction: `apply` to the run, replace its log with `log` (stored in
    /// 64 KiB chunks), append `final_event` as `append_event` would (announcement
    /// included), write the run.
    pub async fn finish_run<E: Send>(
        &self,
        run_id: &str,
        log: &[u8],
        mut final_event: RunEventRecord,
        apply: impl FnOnce(&mut Run) -> Result<(), E> + Send,
    ) -> Result<(Run, RunEventRecord), Update<E>> {
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
        sqlx::query("DELETE FROM run_log_chunks WHERE run_id = $1")
            .bind(run_id)
            .execute(&mut *tx)
            .await?;
        for (index, chunk) in (0_i64..).zip(log.chunks(LOG_CHUNK_BYTES)) {
            sqlx::query("INSERT INTO run_log_chunks (run_id, idx, bytes) VALUES ($1, $2, $3)")
                .bind(run_id)
                .bind(index)
                .bind(chunk)
                .execute(&mut *tx)
                .await?;
        }
        number(&mut final_event, &run);
        record(&mut tx, self.backend(), &mut run, &stored, &final_event).await?;
        tx.commit().await?;
        Ok((run, final_event))
    }

    /// The run's whole log: None when the run does not exist, empty when it has none.
    pub async fn read_log(&self, run_id: &str) -> Result<Option<Vec<u8>>, StoreError> {
        // One statement, so the run check and the chunks come from one snapshot.
        let rows = sqlx::query(
            "SELECT chunks.bytes FROM runs
             LEFT JOIN run_log_chunks AS chunks ON chunks.run_id = runs.id
             WHERE runs.id = $1 ORDER BY chunks.idx",
        )
        .bind(run_id)
        .fetch_all(self.pool())
        .await?;
        if rows.is_empty() {
            return Ok(None);
        }
        let mut log = Vec::new();
        for row in &rows {
            if let Some(chunk) = row.try_get::<Option<Vec<u8>>, _>(0)? {
                log.extend_from_slice(&chunk);
            }
        }
        Ok(Some(log))
    }

    /// A write transaction holding the run's row lock, and the run as stored.
    pub(crate) async fn locked_run(&self, run_id: &str) -> Result<(Tx, Option<Run>), StoreError> {
        self.retrying(|| async {
            let mut tx = self.begin_write(WriteLock::Rows).await?;
            let run = lock_run(self, &mut tx, run_id).await?;
            Ok((tx, run))
        })
        .await
    }
}

/// Gives `event` the run's id and next sequence number.
fn number(event: &mut RunEventRecord, run: &Run) {
    event.run_id = run.id.clone();
    event.seq = run.event_count + 1;
}

/// Counts `event` into `run`, writes both and queues the append's announcement;
/// `stored` is the run as loaded.
async fn record(
    tx: &mut Tx,
    backend: Backend,
    run: &mut Run,
    stored: &Run,
    event: &RunEventRecord,
) -> Result<(), StoreError> {
    run.id = stored.id.clone();
    run.event_count = event.seq;
    run.last_event_at = Some(event.created_at);
    if backend == Backend::Postgres && run.lease_owners == stored.lease_owners {
        // The hot path in one round trip: run update, event insert and the
        // announcement (delivered on commit) as one statement.
        let sql = format!(
            "WITH updated AS (
                UPDATE runs SET lease_id = $2, owner = $3, org = $4, state = $5,
                    started_at = $6, terminal_at = $7, document = $8 WHERE id = $1
             ), inserted AS (
                INSERT INTO run_events ({EVENT_COLUMNS})
                VALUES ($9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24)
             )
             SELECT pg_notify($25, $26)"
        );
        let query = bind_event(bind_run(sqlx::query(sqlx::AssertSqlSafe(sql)), run)?, event);
        query
            .bind(APPENDS_CHANNEL)
            .bind(payload(event))
            .execute(&mut **tx)
            .await?;
        return Ok(());
    }
    write_run(tx, run, Some(stored)).await?;
    insert_event(tx, event).await?;
    announce(tx, backend, event).await
}

fn event_from_row(row: &AnyRow) -> Result<RunEventRecord, StoreError> {
    Ok(RunEventRecord {
        run_id: row.try_get(0)?,
        seq: row.try_get(1)?,
        kind: row.try_get(2)?,
        phase: row.try_get(3)?,
        stream: row.try_get(4)?,
        message: row.try_get(5)?,
        data: row.try_get(6)?,
        lease_id: row.try_get(7)?,
        slug: row.try_get(8)?,
        provider: row.try_get(9)?,
        target: row.try_get(10)?,
        windows_mode: row.try_get(11)?,
        class: row.try_get(12)?,
        server_type: row.try_get(13)?,
        exit_code: row.try_get(14)?,
        created_at: Timestamp(row.try_get(15)?),
    })
}
