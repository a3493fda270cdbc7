//! The schema as an ordered list of migrations, applied by `Store::open` under a
//! lock so several coordinator processes may open one database at once.

use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyPool, AssertSqlSafe, Connection};

use crate::dialect::Backend;
use crate::StoreError;

/// Session lock held while migrating a PostgreSQL database ("crabbox" + 0).
const MIGRATION_LOCK_KEY: i64 = 0x6372_6162_626f_7800;

/// Migration `n` is `MIGRATIONS[n - 1]`. `{bytes}` becomes the dialect's binary type.
/// Timestamps are Unix milliseconds; `document` holds the full record as JSON.
const MIGRATIONS: &[&[&str]] = &[&[
    "CREATE TABLE leases (
        id TEXT PRIMARY KEY,
        slug TEXT NOT NULL,
        owner TEXT NOT NULL,
        org TEXT NOT NULL,
        state TEXT NOT NULL,
        provider TEXT NOT NULL,
        lifecycle TEXT NOT NULL,
        max_estimated_usd DOUBLE PRECISION NOT NULL,
        created_at BIGINT NOT NULL,
        expires_at BIGINT NOT NULL,
        next_action_at BIGINT,
        document TEXT NOT NULL
    )",
    "CREATE INDEX leases_by_slug ON leases (slug, state)",
    "CREATE INDEX leases_by_owner ON leases (owner, org, state)",
    "CREATE INDEX leases_by_state ON leases (state, created_at)",
    "CREATE INDEX leases_by_created ON leases (created_at)",
    "CREATE INDEX leases_by_next_action ON leases (next_action_at)",
    "CREATE TABLE create_attempts (
        lease_id TEXT NOT NULL,
        token TEXT NOT NULL,
        owner TEXT NOT NULL,
        org TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        PRIMARY KEY (lease_id, token)
    )",
    "CREATE TABLE runs (
        id TEXT PRIMARY KEY,
        lease_id TEXT NOT NULL,
        owner TEXT NOT NULL,
        org TEXT NOT NULL,
        state TEXT NOT NULL,
        started_at BIGINT NOT NULL,
        terminal_at BIGINT NOT NULL,
        document TEXT NOT NULL
    )",
    "CREATE INDEX runs_by_started ON runs (started_at)",
    "CREATE INDEX runs_by_lease ON runs (lease_id, started_at)",
    "CREATE INDEX runs_by_owner ON runs (owner, org, started_at)",
    "CREATE INDEX runs_by_terminal ON runs (terminal_at)",
    "CREATE TABLE run_lease_owners (
        run_id TEXT NOT NULL REFERENCES runs (id),
        owner TEXT NOT NULL,
        org TEXT NOT NULL,
        PRIMARY KEY (run_id, owner, org)
    )",
    "CREATE INDEX run_lease_owners_by_owner ON run_lease_owners (owner, org)",
    "CREATE TABLE run_events (
        run_id TEXT NOT NULL REFERENCES runs (id),
        seq BIGINT NOT NULL,
        kind TEXT NOT NULL,
        phase TEXT NOT NULL,
        stream TEXT NOT NULL,
        message TEXT NOT NULL,
        data TEXT NOT NULL,
        lease_id TEXT NOT NULL,
        slug TEXT NOT NULL,
        provider TEXT NOT NULL,
        target TEXT NOT NULL,
        windows_mode TEXT NOT NULL,
        class TEXT NOT NULL,
        server_type TEXT NOT NULL,
        exit_code BIGINT,
        created_at BIGINT NOT NULL,
        PRIMARY KEY (run_id, seq)
    )",
    "CREATE TABLE run_log_chunks (
        run_id TEXT NOT NULL REFERENCES runs (id),
        idx BIGINT NOT NULL,
        bytes {bytes} NOT NULL,
        PRIMARY KEY (run_id, idx)
    )",
    "CREATE TABLE locks (
        name TEXT PRIMARY KEY,
        holder TEXT NOT NULL,
        expires_at BIGINT NOT NULL
    )",
]];

pub(crate) async fn run(pool: &AnyPool, backend: Backend) -> Result<(), StoreError> {
    let mut connection = pool.acquire().await?;
    match backend {
        Backend::Sqlite => apply_pending(&mut connection, Backend::Sqlite).await,
        Backend::Postgres => {
            sqlx::query("SELECT pg_advisory_lock($1)")
                .bind(MIGRATION_LOCK_KEY)
                .execute(&mut *connection)
                .await?;
            let applied = apply_pending(&mut connection, Backend::Postgres).await;
            let unlocked = sqlx::query("SELECT pg_advisory_unlock($1)")
                .bind(MIGRATION_LOCK_KEY)
                .execute(&mut *connection)
                .await;
            if unlocked.is_err() {
                // Ending the session is the only other way to release the lock.
                connection.close_on_drop();
            }
            applied?;
            unlocked?;
            Ok(())
        }
    }
}

async fn apply_pending(
    connection: &mut PoolConnection<Any>,
    backend: Backend,
) -> Result<(), StoreError> {
    sqlx::query("CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY)")
        .execute(&mut **connection)
        .await?;
    let known = MIGRATIONS.len() as i64;
    let found: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(version), 0) FROM schema_migrations")
        .fetch_one(&mut **connection)
        .await?;
    if found > known {
        return Err(StoreError::SchemaTooNew { found, known });
    }
    for (version, statements) in (1..).zip(MIGRATIONS) {
        if version <= found {
            continue;
        }
        apply(connection, backend, version, statements)
            .await
            .map_err(|source| StoreError::Migration { version, source })?;
    }
    Ok(())
}

/// One migration in its own transaction; on SQLite the check for whether another
/// process applied it meanwhile happens under the write lock.
async fn apply(
    connection: &mut PoolConnection<Any>,
    backend: Backend,
    version: i64,
    statements: &[&str],
) -> Result<(), sqlx::Error> {
    let mut tx = match backend {
        Backend::Sqlite => connection.begin_with("BEGIN IMMEDIATE").await?,
        Backend::Postgres => connection.begin().await?,
    };
    let applied: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM schema_migrations WHERE version = $1")
            .bind(version)
            .fetch_one(&mut *tx)
            .await?;
    if applied > 0 {
        return tx.rollback().await;
    }
    for statement in statements {
        let statement = statement.replace("{bytes}", backend.bytes_type());
        sqlx::query(AssertSqlSafe(statement))
            .execute(&mut *tx)
            .await?;
    }
    sqlx::query("INSERT INTO schema_migrations (version) VALUES ($1)")
        .bind(version)
        .execute(&mut *tx)
        .await?;
    tx.commit().await
}
