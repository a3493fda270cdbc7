//! Versioned schema migrations, tracked in SQLite's `user_version` header field.

use rusqlite::{Connection, Transaction, TransactionBehavior};

/// Migration `n` (1-based) is `MIGRATIONS[n - 1]`; append new ones, never edit old
/// ones, because files written by older releases replay only the missing tail.
const MIGRATIONS: &[&str] = &[
    // 1: runs, their ordered events and their retained output.
    "
    CREATE TABLE runs (
        id            TEXT PRIMARY KEY NOT NULL,
        lease_id      TEXT NOT NULL,
        slug          TEXT NOT NULL,
        provider      TEXT NOT NULL,
        target        TEXT NOT NULL,
        class         TEXT NOT NULL,
        server_type   TEXT NOT NULL,
        command_json  TEXT NOT NULL,
        label         TEXT NOT NULL,
        state         TEXT NOT NULL
                      CHECK (state IN ('running', 'succeeded', 'failed', 'canceled')),
        phase         TEXT NOT NULL,
        exit_code     INTEGER,
        sync_ms       INTEGER NOT NULL DEFAULT 0,
        command_ms    INTEGER NOT NULL DEFAULT 0,
        duration_ms   INTEGER NOT NULL DEFAULT 0,
        sync_skipped  INTEGER NOT NULL DEFAULT 0,
        files_sent    INTEGER NOT NULL DEFAULT 0,
        bytes_sent    INTEGER NOT NULL DEFAULT 0,
        log_bytes     INTEGER NOT NULL DEFAULT 0,
        log_truncated INTEGER NOT NULL DEFAULT 0,
        started_at    INTEGER NOT NULL,
        last_event_at INTEGER NOT NULL,
        ended_at      INTEGER
    );
    CREATE INDEX runs_by_started_at ON runs (started_at);
    CREATE TABLE run_events (
        run_id     TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        seq        INTEGER NOT NULL,
        type       TEXT NOT NULL,
        phase      TEXT NOT NULL,
        stream     TEXT NOT NULL,
        message    TEXT NOT NULL,
        data_json  TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        PRIMARY KEY (run_id, seq)
    ) WITHOUT ROWID;
    CREATE TABLE run_logs (
        run_id    TEXT PRIMARY KEY NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        bytes     BLOB NOT NULL,
        truncated INTEGER NOT NULL
    );
    ",
    // 2: the process that records each run, so a run whose CLI was killed is
    // recognised as lost once that process is gone (start time tells a reused pid).
    "
    ALTER TABLE runs ADD COLUMN owner_pid INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE runs ADD COLUMN owner_start INTEGER NOT NULL DEFAULT 0;
    ",
];

/// The schema version this build writes.
pub(crate) const LATEST_VERSION: i64 = MIGRATIONS.len() as i64;

/// What `migrate` found on disk, for error reporting by the caller.
pub(crate) enum Outcome {
    Current,
    Newer(i64),
}

/// Brings the schema up to `LATEST_VERSION`.
///
/// The common case, an up-to-date file, costs one header read and no lock.
pub(crate) fn migrate(connection: &Connection) -> rusqlite::Result<Outcome> {
    let version = user_version(connection)?;
    if version == LATEST_VERSION {
        return Ok(Outcome::Current);
    }
    if version > LATEST_VERSION {
        return Ok(Outcome::Newer(version));
    }
    // Two processes may open a fresh file at once; the write lock plus a second
    // read makes exactly one of them apply each migration.
    let transaction = Transaction::new_unchecked(connection, TransactionBehavior::Immediate)?;
    let version = user_version(&transaction)?;
    if version > LATEST_VERSION {
        return Ok(Outcome::Newer(version));
    }
    let applied = usize::try_from(version).unwrap_or(0);
    for migration in MIGRATIONS.iter().skip(applied) {
        transaction.execute_batch(migration)?;
    }
    transaction.pragma_update(None, "user_version", LATEST_VERSION)?;
    transaction.commit()?;
    Ok(Outcome::Current)
}

fn user_version(connection: &Connection) -> rusqlite::Result<i64> {
    connection.pragma_query_value(None, "user_version", |row| row.get(0))
}
