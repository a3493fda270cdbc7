//! The rows runs and their events are stored as: binding a run's indexed
//! columns and an event's columns, writing a run row, inserting an event row.
//! Run writes and event appends both build on these, so neither depends on the
//! other.

use sqlx::{Any, AssertSqlSafe, Executor};

use crate::backend::Tx;
use crate::document::{decode, encode};
use crate::{Run, RunEventRecord, Store, StoreError};

pub(crate) const SELECT_RUN: &str = "SELECT id, document FROM runs WHERE id = $1";

pub(crate) const EVENT_COLUMNS: &str =
    "run_id, seq, kind, phase, stream, message, data, lease_id, slug,
    provider, target, windows_mode, class, server_type, exit_code, created_at";

/// Loads and row-locks the run `id` inside `tx`.
pub(crate) async fn lock_run(
    store: &Store,
    tx: &mut Tx,
    id: &str,
) -> Result<Option<Run>, StoreError> {
    fetch_run(&mut **tx, store.backend().locking(SELECT_RUN), id).await
}

pub(crate) async fn fetch_run<'e>(
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

/// Inserts `run`, or updates it when `previous` (the stored version) is given,
/// refreshing the indexed columns and, when they changed, the lease owners who may read it.
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

pub(crate) async fn insert_event(tx: &mut Tx, event: &RunEventRecord) -> Result<(), StoreError> {
    let sql = format!(
        "INSERT INTO run_events ({EVENT_COLUMNS})
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)"
    );
    bind_event(sqlx::query(sqlx::AssertSqlSafe(sql)), event)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Binds an event's sixteen columns, in `EVENT_COLUMNS` order, after whatever
/// the query already binds.
pub(crate) fn bind_event<'q>(query: AnyQuery<'q>, event: &RunEventRecord) -> AnyQuery<'q> {
    query
        .bind(event.run_id.clone())
        .bind(event.seq)
        .bind(storable(&event.kind))
        .bind(storable(&event.phase))
        .bind(storable(&event.stream))
        .bind(storable(&event.message))
        .bind(storable(&event.data))
        .bind(storable(&event.lease_id))
        .bind(storable(&event.slug))
        .bind(storable(&event.provider))
        .bind(storable(&event.target))
        .bind(storable(&event.windows_mode))
        .bind(storable(&event.class))
        .bind(storable(&event.server_type))
        .bind(event.exit_code)
        .bind(event.created_at.0)
}

/// PostgreSQL text cannot hold NUL, which command output may contain; both
/// backends store it as U+FFFD so they read back the same.
fn storable(text: &str) -> String {
    text.replace('\0', "\u{fffd}")
}
