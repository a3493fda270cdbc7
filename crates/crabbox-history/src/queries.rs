//! Reading runs, events and logs back out, in the JSON shapes the CLI prints.

use crabbox_core::format_rfc3339;
use rusqlite::{params, OptionalExtension, Row};
use serde::{Deserialize, Serialize};

use crate::error::HistoryError;
use crate::store::History;

/// A run as `crabbox history --json` prints it; field names match the coordinator.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RunRecord {
    pub id: String,
    #[serde(rename = "leaseID")]
    pub lease_id: String,
    pub slug: String,
    pub provider: String,
    pub target: String,
    pub class: String,
    pub server_type: String,
    pub command: Vec<String>,
    pub label: String,
    pub state: String,
    pub phase: String,
    pub exit_code: Option<i32>,
    pub sync_ms: u64,
    pub command_ms: u64,
    pub duration_ms: u64,
    pub sync_skipped: bool,
    pub files_sent: u64,
    pub bytes_sent: u64,
    pub log_bytes: u64,
    pub log_truncated: bool,
    pub started_at: String,
    pub last_event_at: String,
    pub event_count: u64,
    pub ended_at: Option<String>,
}

/// An event as `crabbox events --json` prints it, with its run's lease attached.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct EventRecord {
    #[serde(rename = "runID")]
    pub run_id: String,
    pub seq: u64,
    #[serde(rename = "type")]
    pub kind: String,
    pub phase: String,
    pub stream: String,
    pub message: String,
    pub data: serde_json::Value,
    #[serde(rename = "leaseID")]
    pub lease_id: String,
    pub slug: String,
    pub provider: String,
    #[serde(rename = "createdAt")]
    pub created_at: String,
}

/// Which runs `list_runs` returns.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunFilter {
    /// Matches either the lease id or the lease slug.
    pub lease: Option<String>,
    pub state: Option<String>,
    /// At most this many runs; 0 means no limit.
    pub limit: usize,
}

const RUN_COLUMNS: &str = "
    r.id, r.lease_id, r.slug, r.provider, r.target, r.class, r.server_type,
    r.command_json, r.label, r.state, r.phase, r.exit_code, r.sync_ms, r.command_ms,
    r.duration_ms, r.sync_skipped, r.files_sent, r.bytes_sent, r.log_bytes,
    r.log_truncated, r.started_at, r.last_event_at,
    (SELECT COUNT(*) FROM run_events e WHERE e.run_id = r.id), r.ended_at";

/// A run row before its command JSON is decoded, which can fail outside rusqlite.
struct RunRow {
    record: RunRecord,
    command_json: String,
}

impl History {
    /// Runs newest first, narrowed by `filter`.
    pub fn list_runs(&self, filter: &RunFilter) -> Result<Vec<RunRecord>, HistoryError> {
        let sql = format!(
            "SELECT {RUN_COLUMNS} FROM runs r
             WHERE (?1 IS NULL OR r.lease_id = ?1 OR r.slug = ?1)
               AND (?2 IS NULL OR r.state = ?2)
             ORDER BY r.started_at DESC, r.rowid DESC
             LIMIT ?3"
        );
        let mut statement = self
            .connection
            .prepare_cached(&sql)
            .map_err(|error| self.database_error(error))?;
        let rows = statement
            .query_map(
                params![filter.lease, filter.state, sql_limit(filter.limit)],
                run_row,
            )
            .map_err(|error| self.database_error(error))?;
        let mut runs = Vec::new();
        for row in rows {
            let row = row.map_err(|error| self.database_error(error))?;
            runs.push(self.decode_run(row)?);
        }
        Ok(runs)
    }

    pub fn get_run(&self, id: &str) -> Result<Option<RunRecord>, HistoryError> {
        let row = self
            .connection
            .query_row(
                &format!("SELECT {RUN_COLUMNS} FROM runs r WHERE r.id = ?1"),
                [id],
                run_row,
            )
            .optional()
            .map_err(|error| self.database_error(error))?;
        row.map(|row| self.decode_run(row)).transpose()
    }

    /// Events with `seq > after`, in order, at most `limit` of them (0 means all).
    pub fn events(
        &self,
        run_id: &str,
        after: u64,
        limit: usize,
    ) -> Result<Vec<EventRecord>, HistoryError> {
        let mut statement = self
            .connection
            .prepare_cached(
                "SELECT e.run_id, e.seq, e.type, e.phase, e.stream, e.message, e.data_json,
                        r.lease_id, r.slug, r.provider, e.created_at
                 FROM run_events e JOIN runs r ON r.id = e.run_id
                 WHERE e.run_id = ?1 AND e.seq > ?2
                 ORDER BY e.seq
                 LIMIT ?3",
            )
            .map_err(|error| self.database_error(error))?;
        let after = i64::try_from(after).unwrap_or(i64::MAX);
        let rows = statement
            .query_map(params![run_id, after, sql_limit(limit)], |row| {
                let data_json: String = row.get(6)?;
                let record = EventRecord {
                    run_id: row.get(0)?,
                    seq: unsigned(row, 1)?,
                    kind: row.get(2)?,
                    phase: row.get(3)?,
                    stream: row.get(4)?,
                    message: row.get(5)?,
                    data: serde_json::Value::Null,
                    lease_id: row.get(7)?,
                    slug: row.get(8)?,
                    provider: row.get(9)?,
                    created_at: format_rfc3339(row.get(10)?),
                };
                Ok((record, data_json))
            })
            .map_err(|error| self.database_error(error))?;
        let mut events = Vec::new();
        for row in rows {
            let (mut record, data_json) = row.map_err(|error| self.database_error(error))?;
            record.data =
                serde_json::from_str(&data_json).map_err(|source| HistoryError::Corrupt {
                    path: self.path.clone(),
                    run_id: record.run_id.clone(),
                    what: "event data",
                    source,
                })?;
            events.push(record);
        }
        Ok(events)
    }

    /// The retained output of a finished run and whether older output was dropped;
    /// `None` while the run is still going or when it is unknown.
    pub fn log(&self, run_id: &str) -> Result<Option<(Vec<u8>, bool)>, HistoryError> {
        self.connection
            .query_row(
                "SELECT bytes, truncated FROM run_logs WHERE run_id = ?1",
                [run_id],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .optional()
            .map_err(|error| self.database_error(error))
    }

    fn decode_run(&self, row: RunRow) -> Result<RunRecord, HistoryError> {
        let RunRow {
            mut record,
            command_json,
        } = row;
        record.command =
            serde_json::from_str(&command_json).map_err(|source| HistoryError::Corrupt {
                path: self.path.clone(),
                run_id: record.id.clone(),
                what: "command",
                source,
            })?;
        Ok(record)
    }
}

fn run_row(row: &Row<'_>) -> rusqlite::Result<RunRow> {
    let record = RunRecord {
        id: row.get(0)?,
        lease_id: row.get(1)?,
        slug: row.get(2)?,
        provider: row.get(3)?,
        target: row.get(4)?,
        class: row.get(5)?,
        server_type: row.get(6)?,
        command: Vec::new(),
        label: row.get(8)?,
        state: row.get(9)?,
        phase: row.get(10)?,
        exit_code: row.get(11)?,
        sync_ms: unsigned(row, 12)?,
        command_ms: unsigned(row, 13)?,
        duration_ms: unsigned(row, 14)?,
        sync_skipped: row.get(15)?,
        files_sent: unsigned(row, 16)?,
        bytes_sent: unsigned(row, 17)?,
        log_bytes: unsigned(row, 18)?,
        log_truncated: row.get(19)?,
        started_at: format_rfc3339(row.get(20)?),
        last_event_at: format_rfc3339(row.get(21)?),
        event_count: unsigned(row, 22)?,
        ended_at: row.get::<_, Option<i64>>(23)?.map(format_rfc3339),
    };
    Ok(RunRow {
        record,
        command_json: row.get(7)?,
    })
}

/// SQLite stores signed integers; every unsigned column is written from a `u64` or
/// a count, so a negative value cannot occur and reads as 0 rather than failing.
fn unsigned(row: &Row<'_>, index: usize) -> rusqlite::Result<u64> {
    Ok(u64::try_from(row.get::<_, i64>(index)?).unwrap_or(0))
}

/// SQLite reads a negative LIMIT as "no limit".
fn sql_limit(limit: usize) -> i64 {
    if limit == 0 {
        -1
    } else {
        i64::try_from(limit).unwrap_or(i64::MAX)
    }
}
