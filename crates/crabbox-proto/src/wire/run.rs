//! Runs, their ordered events and the request bodies that write them.

use serde::{Deserialize, Serialize};

use super::run_fields::{integral_when_whole, null_as_default, retry_likely};
use super::{is_false, RunTelemetry, TestResults, Timestamp};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunState {
    #[default]
    Running,
    Succeeded,
    Failed,
}

impl RunState {
    pub fn as_str(self) -> &'static str {
        match self {
            RunState::Running => "running",
            RunState::Succeeded => "succeeded",
            RunState::Failed => "failed",
        }
    }

    pub fn parse(text: &str) -> Option<RunState> {
        [RunState::Running, RunState::Succeeded, RunState::Failed]
            .into_iter()
            .find(|state| state.as_str() == text)
    }
}

/// An owner who backed a run with a lease and may therefore read it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct LeaseOwner {
    pub owner: String,
    pub org: String,
}

/// A run record. The fields the Node coordinator always sends are always
/// written (`leaseID: ""`, `leaseIDs: []`, `leaseOwners: []`, `eventCount`, …).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Run {
    pub id: String,
    #[serde(rename = "leaseID", deserialize_with = "null_as_default")]
    pub lease_id: String,
    /// The existing leases the run was attached to.
    #[serde(rename = "leaseIDs", deserialize_with = "null_as_default")]
    pub lease_ids: Vec<String>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub slug: String,
    pub owner: String,
    #[serde(deserialize_with = "null_as_default")]
    pub org: String,
    #[serde(deserialize_with = "null_as_default")]
    pub lease_owners: Vec<LeaseOwner>,
    #[serde(deserialize_with = "null_as_default")]
    pub provider: String,
    #[serde(deserialize_with = "null_as_default")]
    pub target: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub windows_mode: String,
    #[serde(deserialize_with = "null_as_default")]
    pub class: String,
    #[serde(deserialize_with = "null_as_default")]
    pub server_type: String,
    #[serde(deserialize_with = "null_as_default")]
    pub command: Vec<String>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub label: String,
    pub state: RunState,
    #[serde(deserialize_with = "null_as_default")]
    pub phase: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sync_ms: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command_ms: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<i64>,
    pub log_bytes: i64,
    pub log_truncated: bool,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub blocked_stage: String,
    /// `"true"`, `"false"` or `"unknown"` (a boolean is read as its text).
    #[serde(
        skip_serializing_if = "String::is_empty",
        deserialize_with = "retry_likely"
    )]
    pub retry_likely: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub results: Option<TestResults>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub telemetry: Option<RunTelemetry>,
    pub started_at: Timestamp,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_event_at: Option<Timestamp>,
    pub event_count: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<Timestamp>,
}

/// One stored entry of a run's event stream; `seq` is dense and starts at 1.
/// (The run engine's typed events are `crabbox_run::engine::RunEvent`.)
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RunEventRecord {
    #[serde(rename = "runID")]
    pub run_id: String,
    pub seq: i64,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub phase: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub stream: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub message: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub data: String,
    #[serde(rename = "leaseID", skip_serializing_if = "String::is_empty")]
    pub lease_id: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub slug: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub provider: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub target: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub windows_mode: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub class: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub server_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i64>,
    pub created_at: Timestamp,
}

/// `POST /v1/runs`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct CreateRunRequest {
    #[serde(rename = "leaseID", skip_serializing_if = "String::is_empty")]
    pub lease_id: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub provider: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub target: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub windows_mode: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub class: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub server_type: String,
    #[serde(deserialize_with = "null_as_default")]
    pub command: Vec<String>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub label: String,
}

/// `POST /v1/runs/{id}/events`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct AppendEventRequest {
    #[serde(rename = "type", skip_serializing_if = "String::is_empty")]
    pub kind: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub phase: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub stream: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub message: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub data: String,
    #[serde(rename = "leaseID", skip_serializing_if = "String::is_empty")]
    pub lease_id: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub slug: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub provider: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub target: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub windows_mode: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub class: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub server_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i64>,
}

/// `POST /v1/runs/{id}/finish`. A non-finite or missing exit code counts as 1.
/// The Go CLI sends `logChunks` and `results` as `null` when it has none.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct FinishRunRequest {
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "integral_when_whole"
    )]
    pub exit_code: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sync_ms: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command_ms: Option<i64>,
    #[serde(
        skip_serializing_if = "String::is_empty",
        deserialize_with = "null_as_default"
    )]
    pub log: String,
    #[serde(
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "null_as_default"
    )]
    pub log_chunks: Vec<String>,
    #[serde(skip_serializing_if = "is_false")]
    pub log_truncated: bool,
    #[serde(
        skip_serializing_if = "String::is_empty",
        deserialize_with = "null_as_default"
    )]
    pub blocked_stage: String,
    /// `"true"`, `"false"` or `"unknown"`; a boolean is read as its text.
    #[serde(
        skip_serializing_if = "String::is_empty",
        deserialize_with = "retry_likely"
    )]
    pub retry_likely: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub results: Option<TestResults>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub telemetry: Option<RunTelemetry>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RunEnvelope {
    pub run: Run,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RunsEnvelope {
    #[serde(default)]
    pub runs: Vec<Run>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EventEnvelope {
    pub event: RunEventRecord,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EventsEnvelope {
    #[serde(default)]
    pub events: Vec<RunEventRecord>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_reads_the_reference_shape() {
        let body = r#"{"runID":"run_123","seq":1,"type":"stdout","stream":"stdout","data":"hello ws\n","createdAt":"2026-05-02T00:00:00Z"}"#;
        let event: RunEventRecord = serde_json::from_str(body).unwrap();
        assert_eq!(event.kind, "stdout");
        assert_eq!(event.data, "hello ws\n");
        assert_eq!(event.seq, 1);
        let json = serde_json::to_value(&event).unwrap();
        assert_eq!(json["runID"], "run_123");
        assert_eq!(json["type"], "stdout");
    }
}
