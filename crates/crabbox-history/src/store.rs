//! Opening the history file and recording runs as they start, progress and finish.

use std::fs::{self, DirBuilder, OpenOptions};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crabbox_core::ProcessMark;
use rusqlite::{params, Connection, ErrorCode, OpenFlags, Transaction, TransactionBehavior};

use crate::error::HistoryError;
use crate::output::OutputLog;
use crate::schema::{self, Outcome};

const PRIVATE_DIR_MODE: u32 = 0o700;
const PRIVATE_FILE_MODE: u32 = 0o600;
/// Another crabbox process may hold the write lock while it appends an event.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// A run that has been silent this long lost its process; see `mark_abandoned`.
pub const ABANDON_AFTER_SECONDS: i64 = 24 * 60 * 60;
const FINAL_STATES: [&str; 3] = ["succeeded", "failed", "canceled"];

/// The local run history: one SQLite connection to `<state>/history.sqlite`.
#[derive(Debug)]
pub struct History {
    pub(crate) connection: Connection,
    pub(crate) path: PathBuf,
}

/// What is known about a run when it starts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewRun {
    pub id: String,
    pub lease_id: String,
    pub slug: String,
    pub provider: String,
    pub target: String,
    pub class: String,
    pub server_type: String,
    pub command: Vec<String>,
    pub label: String,
}

/// One step in a run's life, such as `sync.started` or `command.finished`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NewEvent {
    pub kind: String,
    /// Becomes the run's current phase unless empty.
    pub phase: String,
    pub stream: String,
    pub message: String,
    pub data: serde_json::Value,
}

/// How a run ended and what its sync and command cost.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Finish {
    /// One of `succeeded`, `failed` or `canceled`.
    pub state: String,
    /// `None` when the command never ran or its status is unknown.
    pub exit_code: Option<i32>,
    pub sync_ms: u64,
    pub command_ms: u64,
    pub duration_ms: u64,
    pub sync_skipped: bool,
    pub files_sent: u64,
    pub bytes_sent: u64,
}

impl History {
    /// Opens or creates the history file, creating its directory if needed.
    ///
    /// Cheap on an existing file: the CLI opens it for every run.
    pub fn open(path: &Path) -> Result<History, HistoryError> {
        let io_error = |source| HistoryError::Io {
            path: path.to_owned(),
            source,
        };
        if let Some(parent) = path
            .parent()
            .filter(|parent| !parent.as_os_str().is_empty())
        {
            DirBuilder::new()
                .recursive(true)
                .mode(PRIVATE_DIR_MODE)
                .create(parent)
                .map_err(io_error)?;
        }
        // Created here rather than by SQLite so the mode is private from the first
        // byte; SQLite gives its `-wal` and `-shm` files the same mode.
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(PRIVATE_FILE_MODE)
            .open(path)
            .map_err(io_error)?;
        let mode = file.metadata().map_err(io_error)?.permissions().mode();
        if mode & 0o777 != PRIVATE_FILE_MODE {
            // The file holds command output, which may contain secrets.
            fs::set_permissions(path, fs::Permissions::from_mode(PRIVATE_FILE_MODE))
                .map_err(io_error)?;
        }
        drop(file);

        let database_error = |source| HistoryError::Database {
            path: path.to_owned(),
            source,
        };
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let connection = Connection::open_with_flags(path, flags).map_err(database_error)?;
        connection
            .busy_timeout(BUSY_TIMEOUT)
            .map_err(database_error)?;
        // WAL lets `crabbox history` read while a run writes. With WAL, NORMAL
        // sync cannot corrupt the file and saves an fsync per appended event.
        connection
            .execute_batch(
                "PRAGMA journal_mode = WAL;
                 PRAGMA synchronous = NORMAL;
                 PRAGMA foreign_keys = ON;",
            )
            .map_err(database_error)?;
        match schema::migrate(&connection).map_err(database_error)? {
            Outcome::Current => {}
            Outcome::Newer(found) => {
                return Err(HistoryError::NewerSchema {
                    path: path.to_owned(),
                    found,
                    supported: schema::LATEST_VERSION,
                })
            }
        }
        Ok(History {
            connection,
            path: path.to_owned(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Records a new run in state `running`, phase `starting`.
    /// The calling process is recorded as the run's owner.
    pub fn start_run(&self, run: &NewRun, now: i64) -> Result<(), HistoryError> {
        self.start_run_owned(run, now, ProcessMark::current())
    }

    /// `start_run` with an explicit owner process.
    pub fn start_run_owned(
        &self,
        run: &NewRun,
        now: i64,
        owner: ProcessMark,
    ) -> Result<(), HistoryError> {
        let command_json = serde_json::to_string(&run.command)
            .expect("a list of strings always serializes to JSON");
        let inserted = self.connection.execute(
            "INSERT INTO runs (id, lease_id, slug, provider, target, class, server_type,
                               command_json, label, state, phase, started_at, last_event_at,
                               owner_pid, owner_start)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 'running', 'starting', ?10, ?10,
                     ?11, ?12)",
            params![
                run.id,
                run.lease_id,
                run.slug,
                run.provider,
                run.target,
                run.class,
                run.server_type,
                command_json,
                run.label,
                now,
                owner.pid,
                to_sql_integer(owner.start_ticks),
            ],
        );
        match inserted {
            Ok(_) => Ok(()),
            Err(error) if error.sqlite_error_code() == Some(ErrorCode::ConstraintViolation) => {
                Err(HistoryError::DuplicateRun {
                    run_id: run.id.clone(),
                })
            }
            Err(error) => Err(self.database_error(error)),
        }
    }

    /// Appends an event and returns its sequence number, starting at 1 per run.
    ///
    /// The number is chosen under SQLite's write lock, so concurrent writers (the
    /// run itself, a second terminal) never hand out the same one twice.
    pub fn append_event(
        &self,
        run_id: &str,
        event: &NewEvent,
        now: i64,
    ) -> Result<u64, HistoryError> {
        let data_json = event.data.to_string();
        let transaction = self.immediate_transaction()?;
        let updated = transaction
            .execute(
                "UPDATE runs
                 SET phase = CASE WHEN ?2 <> '' THEN ?2 ELSE phase END,
                     last_event_at = MAX(last_event_at, ?3)
                 WHERE id = ?1",
                params![run_id, event.phase, now],
            )
            .map_err(|error| self.database_error(error))?;
        if updated == 0 {
            return Err(unknown_run(run_id));
        }
        let seq: i64 = transaction
            .query_row(
                "SELECT COALESCE(MAX(seq), 0) + 1 FROM run_events WHERE run_id = ?1",
                [run_id],
                |row| row.get(0),
            )
            .map_err(|error| self.database_error(error))?;
        transaction
            .execute(
                "INSERT INTO run_events (run_id, seq, type, phase, stream, message, data_json,
                                         created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    run_id,
                    seq,
                    event.kind,
                    event.phase,
                    event.stream,
                    event.message,
                    data_json,
                    now,
                ],
            )
            .map_err(|error| self.database_error(error))?;
        transaction
            .commit()
            .map_err(|error| self.database_error(error))?;
        Ok(u64::try_from(seq).unwrap_or(0))
    }

    /// Records how a run ended and stores the retained tail of its output.
    pub fn finish_run(
        &self,
        run_id: &str,
        finish: &Finish,
        log: &OutputLog,
        now: i64,
    ) -> Result<(), HistoryError> {
        if !FINAL_STATES.contains(&finish.state.as_str()) {
            return Err(HistoryError::InvalidState {
                state: finish.state.clone(),
            });
        }
        let contents = log.contents();
        let transaction = self.immediate_transaction()?;
        let updated = transaction
            .execute(
                "UPDATE runs
                 SET state = ?2, exit_code = ?3, sync_ms = ?4, command_ms = ?5,
                     duration_ms = ?6, sync_skipped = ?7, files_sent = ?8, bytes_sent = ?9,
                     log_bytes = ?10, log_truncated = ?11,
                     last_event_at = MAX(last_event_at, ?12), ended_at = ?12
                 WHERE id = ?1",
                params![
                    run_id,
                    finish.state,
                    finish.exit_code,
                    to_sql_integer(finish.sync_ms),
                    to_sql_integer(finish.command_ms),
                    to_sql_integer(finish.duration_ms),
                    finish.sync_skipped,
                    to_sql_integer(finish.files_sent),
                    to_sql_integer(finish.bytes_sent),
                    to_sql_integer(log.total_bytes()),
                    log.truncated(),
                    now,
                ],
            )
            .map_err(|error| self.database_error(error))?;
        if updated == 0 {
            return Err(unknown_run(run_id));
        }
        transaction
            .execute(
                "INSERT INTO run_logs (run_id, bytes, truncated) VALUES (?1, ?2, ?3)
                 ON CONFLICT (run_id) DO UPDATE
                 SET bytes = excluded.bytes, truncated = excluded.truncated",
                params![run_id, contents, log.truncated()],
            )
            .map_err(|error| self.database_error(error))?;
        transaction
            .commit()
            .map_err(|error| self.database_error(error))
    }

    /// Fails runs still `running` whose recording process is gone (phase
    /// `lost`: the CLI was killed before it could finish them), and runs from
    /// before owners were recorded that have been silent for
    /// `ABANDON_AFTER_SECONDS` (phase `abandoned`). Returns how many were marked.
    ///
    /// `ended_at` becomes the last event time, the latest moment the run was
    /// known to be alive.
    pub fn mark_abandoned(&self, now: i64) -> Result<usize, HistoryError> {
        let owned: Vec<(String, i64, i64)> = {
            let mut statement = self
                .connection
                .prepare(
                    "SELECT id, owner_pid, owner_start FROM runs
                     WHERE state = 'running' AND owner_pid > 0",
                )
                .map_err(|error| self.database_error(error))?;
            let rows = statement
                .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
                .map_err(|error| self.database_error(error))?;
            rows.collect::<Result<_, _>>()
                .map_err(|error| self.database_error(error))?
        };
        let mut marked = 0;
        for (id, pid, start) in owned {
            let owner = ProcessMark {
                pid: i32::try_from(pid).unwrap_or(0),
                start_ticks: u64::try_from(start).unwrap_or(0),
            };
            if owner.is_alive() {
                continue;
            }
            marked += self
                .connection
                .execute(
                    "UPDATE runs SET state = 'failed', phase = 'lost', ended_at = last_event_at
                     WHERE id = ?1 AND state = 'running'",
                    [&id],
                )
                .map_err(|error| self.database_error(error))?;
        }
        marked += self
            .connection
            .execute(
                "UPDATE runs
                 SET state = 'failed', phase = 'abandoned', ended_at = last_event_at
                 WHERE state = 'running' AND owner_pid = 0 AND last_event_at < ?1",
                [now.saturating_sub(ABANDON_AFTER_SECONDS)],
            )
            .map_err(|error| self.database_error(error))?;
        Ok(marked)
    }

    /// Takes the write lock up front: a deferred transaction that reads and then
    /// writes could fail with SQLITE_BUSY instead of waiting for the lock.
    fn immediate_transaction(&self) -> Result<Transaction<'_>, HistoryError> {
        Transaction::new_unchecked(&self.connection, TransactionBehavior::Immediate)
            .map_err(|error| self.database_error(error))
    }

    pub(crate) fn database_error(&self, source: rusqlite::Error) -> HistoryError {
        HistoryError::Database {
            path: self.path.clone(),
            source,
        }
    }
}

fn unknown_run(run_id: &str) -> HistoryError {
    HistoryError::UnknownRun {
        run_id: run_id.to_owned(),
    }
}

/// SQLite integers are signed; counters past `i64::MAX` are not physically possible.
fn to_sql_integer(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}
