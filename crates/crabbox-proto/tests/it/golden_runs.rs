//! Golden run, event and control-frame bodies (`golden/runs/`), written from
//! the Go CLI's types and the Node coordinator's answers. Each one must decode
//! into our proto type, keep every field it carries, and, as sent and as we
//! re-encode it, give every field the JSON type of the Go struct's field.

use std::path::{Path, PathBuf};

use crabbox_proto::wire::{
    AppendEventRequest, ClientFrame, CreateRunRequest, EventEnvelope, EventsEnvelope,
    FinishRunRequest, RunEnvelope, RunTelemetryRequest, RunsEnvelope, ServerFrame,
};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

/// The JSON type a Go field encodes to. Slices, maps and struct pointers may
/// also be `null` (Go's nil); `Nullable` marks a pointer to a scalar.
#[derive(Debug)]
enum Ty {
    Str,
    /// A Go integer: a JSON number without a fraction.
    Int,
    /// A Go float64: any JSON number.
    Num,
    Bool,
    List(&'static Ty),
    Object(&'static [(&'static str, Ty)]),
    Nullable(&'static Ty),
}

use Ty::*;

/// `LeaseTelemetry`.
const TELEMETRY: &[(&str, Ty)] = &[
    ("capturedAt", Str),
    ("source", Str),
    ("load1", Num),
    ("load5", Num),
    ("load15", Num),
    ("cpuCount", Int),
    ("memoryUsedBytes", Int),
    ("memoryTotalBytes", Int),
    ("memoryPercent", Num),
    ("diskUsedBytes", Int),
    ("diskTotalBytes", Int),
    ("diskPercent", Num),
    ("uptimeSeconds", Int),
];

/// `RunTelemetrySummary`.
const RUN_TELEMETRY: &[(&str, Ty)] = &[
    ("start", Object(TELEMETRY)),
    ("end", Object(TELEMETRY)),
    ("samples", List(&Object(TELEMETRY))),
];

/// `TestFailure`.
const TEST_FAILURE: &[(&str, Ty)] = &[
    ("suite", Str),
    ("name", Str),
    ("classname", Str),
    ("file", Str),
    ("message", Str),
    ("type", Str),
    ("kind", Str),
];

/// `TestResultSummary`.
const TEST_RESULTS: &[(&str, Ty)] = &[
    ("format", Str),
    ("files", List(&Str)),
    ("suites", Int),
    ("tests", Int),
    ("failures", Int),
    ("errors", Int),
    ("skipped", Int),
    ("timeSeconds", Num),
    ("failed", List(&Object(TEST_FAILURE))),
];

/// `CoordinatorRunLeaseOwner`.
const LEASE_OWNER: &[(&str, Ty)] = &[("owner", Str), ("org", Str)];

/// `CoordinatorRun`.
const RUN: &[(&str, Ty)] = &[
    ("id", Str),
    ("leaseID", Str),
    ("leaseIDs", List(&Str)),
    ("slug", Str),
    ("owner", Str),
    ("org", Str),
    ("leaseOwners", List(&Object(LEASE_OWNER))),
    ("provider", Str),
    ("target", Str),
    ("windowsMode", Str),
    ("class", Str),
    ("serverType", Str),
    ("command", List(&Str)),
    ("label", Str),
    ("state", Str),
    ("phase", Str),
    ("exitCode", Nullable(&Int)),
    ("syncMs", Int),
    ("commandMs", Int),
    ("durationMs", Int),
    ("logBytes", Int),
    ("logTruncated", Bool),
    ("blockedStage", Str),
    ("retryLikely", Str),
    ("results", Object(TEST_RESULTS)),
    ("telemetry", Object(RUN_TELEMETRY)),
    ("startedAt", Str),
    ("lastEventAt", Str),
    ("eventCount", Int),
    ("endedAt", Str),
];

/// `CoordinatorRunEvent`.
const EVENT: &[(&str, Ty)] = &[
    ("runID", Str),
    ("seq", Int),
    ("type", Str),
    ("phase", Str),
    ("stream", Str),
    ("message", Str),
    ("data", Str),
    ("leaseID", Str),
    ("slug", Str),
    ("provider", Str),
    ("target", Str),
    ("windowsMode", Str),
    ("class", Str),
    ("serverType", Str),
    ("exitCode", Nullable(&Int)),
    ("createdAt", Str),
];

/// `CoordinatorRunEventInput`.
const EVENT_INPUT: &[(&str, Ty)] = &[
    ("type", Str),
    ("phase", Str),
    ("stream", Str),
    ("message", Str),
    ("data", Str),
    ("leaseID", Str),
    ("slug", Str),
    ("provider", Str),
    ("target", Str),
    ("windowsMode", Str),
    ("class", Str),
    ("serverType", Str),
    ("exitCode", Nullable(&Int)),
];

/// The map `CreateRun` sends.
const CREATE_RUN: &[(&str, Ty)] = &[
    ("leaseID", Str),
    ("provider", Str),
    ("target", Str),
    ("windowsMode", Str),
    ("class", Str),
    ("serverType", Str),
    ("command", List(&Str)),
    ("label", Str),
];

/// The map `FinishRun` sends.
const FINISH_RUN: &[(&str, Ty)] = &[
    ("exitCode", Int),
    ("syncMs", Int),
    ("commandMs", Int),
    ("log", Str),
    ("logChunks", List(&Str)),
    ("logTruncated", Bool),
    ("results", Object(TEST_RESULTS)),
    ("telemetry", Object(RUN_TELEMETRY)),
    ("blockedStage", Str),
    ("retryLikely", Str),
];

/// The map `AppendRunTelemetry` sends.
const RUN_TELEMETRY_REQUEST: &[(&str, Ty)] = &[("telemetry", Object(TELEMETRY))];

const RUN_ENVELOPE: &[(&str, Ty)] = &[("run", Object(RUN))];
const RUNS_ENVELOPE: &[(&str, Ty)] = &[("runs", List(&Object(RUN)))];
const EVENT_ENVELOPE: &[(&str, Ty)] = &[("event", Object(EVENT))];
const EVENTS_ENVELOPE: &[(&str, Ty)] = &[("events", List(&Object(EVENT)))];

/// `coordinatorControlMessage`, plus the `after`, `limit` and `seq` integers
/// of the maps the Go CLI sends for `subscribe_run` and `ack`.
const CONTROL: &[(&str, Ty)] = &[
    ("type", Str),
    ("protocol", Int),
    ("clientID", Str),
    ("runID", Str),
    ("events", List(&Object(EVENT))),
    ("nextSeq", Int),
    ("leaseID", Str),
    ("expectedProvider", Str),
    ("ok", Bool),
    ("expiresAt", Str),
    ("code", Str),
    ("message", Str),
    ("error", Str),
    ("idleTimeoutSeconds", Int),
    ("telemetry", Object(TELEMETRY)),
    ("after", Int),
    ("limit", Int),
    ("seq", Int),
];

type Reencode = fn(&Value) -> Result<Value, String>;
/// A Go struct's fields.
type Fields = &'static [(&'static str, Ty)];

/// Whether re-encoding may leave out a field the golden sends empty. Requests
/// may (Go, Node and we read an absent field as the empty one); responses and
/// frames keep every field, empty or not, as the Node coordinator sends it.
#[derive(Clone, Copy, PartialEq)]
enum Empties {
    MayOmit,
    Keep,
}

use Empties::*;

/// Decodes `value` as `T` and encodes it again.
fn reencode<T: DeserializeOwned + Serialize>(value: &Value) -> Result<Value, String> {
    let decoded: T = serde_json::from_value(value.clone()).map_err(|error| error.to_string())?;
    serde_json::to_value(&decoded).map_err(|error| error.to_string())
}

/// Every golden file, the proto type that reads it and the Go type it follows.
const GOLDENS: &[(&str, Reencode, Fields, Empties)] = &[
    (
        "create_run.request.json",
        reencode::<CreateRunRequest>,
        CREATE_RUN,
        MayOmit,
    ),
    (
        "create_run_before_lease.request.json",
        reencode::<CreateRunRequest>,
        CREATE_RUN,
        MayOmit,
    ),
    (
        "append_lease_created.request.json",
        reencode::<AppendEventRequest>,
        EVENT_INPUT,
        MayOmit,
    ),
    (
        "append_output.request.json",
        reencode::<AppendEventRequest>,
        EVENT_INPUT,
        MayOmit,
    ),
    (
        "append_truncated.request.json",
        reencode::<AppendEventRequest>,
        EVENT_INPUT,
        MayOmit,
    ),
    (
        "append_run_failed.request.json",
        reencode::<AppendEventRequest>,
        EVENT_INPUT,
        MayOmit,
    ),
    (
        "finish_failed.request.json",
        reencode::<FinishRunRequest>,
        FINISH_RUN,
        MayOmit,
    ),
    (
        "finish_without_output.request.json",
        reencode::<FinishRunRequest>,
        FINISH_RUN,
        MayOmit,
    ),
    (
        "finish_succeeded.request.json",
        reencode::<FinishRunRequest>,
        FINISH_RUN,
        MayOmit,
    ),
    (
        "telemetry.request.json",
        reencode::<RunTelemetryRequest>,
        RUN_TELEMETRY_REQUEST,
        MayOmit,
    ),
    (
        "run_created.response.json",
        reencode::<RunEnvelope>,
        RUN_ENVELOPE,
        Keep,
    ),
    (
        "run_unknown_lease.response.json",
        reencode::<RunEnvelope>,
        RUN_ENVELOPE,
        Keep,
    ),
    (
        "run_finished.response.json",
        reencode::<RunEnvelope>,
        RUN_ENVELOPE,
        Keep,
    ),
    (
        "telemetry.response.json",
        reencode::<RunEnvelope>,
        RUN_ENVELOPE,
        Keep,
    ),
    (
        "runs.response.json",
        reencode::<RunsEnvelope>,
        RUNS_ENVELOPE,
        Keep,
    ),
    (
        "event.response.json",
        reencode::<EventEnvelope>,
        EVENT_ENVELOPE,
        Keep,
    ),
    (
        "events.response.json",
        reencode::<EventsEnvelope>,
        EVENTS_ENVELOPE,
        Keep,
    ),
    (
        "control/hello.server.json",
        reencode::<ServerFrame>,
        CONTROL,
        Keep,
    ),
    (
        "control/run_events.server.json",
        reencode::<ServerFrame>,
        CONTROL,
        Keep,
    ),
    (
        "control/run_events_empty.server.json",
        reencode::<ServerFrame>,
        CONTROL,
        Keep,
    ),
    (
        "control/heartbeat_ok.server.json",
        reencode::<ServerFrame>,
        CONTROL,
        Keep,
    ),
    (
        "control/heartbeat_refused.server.json",
        reencode::<ServerFrame>,
        CONTROL,
        Keep,
    ),
    (
        "control/pong.server.json",
        reencode::<ServerFrame>,
        CONTROL,
        Keep,
    ),
    (
        "control/error_not_found.server.json",
        reencode::<ServerFrame>,
        CONTROL,
        Keep,
    ),
    (
        "control/error_unknown_type.server.json",
        reencode::<ServerFrame>,
        CONTROL,
        Keep,
    ),
    (
        "control/subscribe_run.client.json",
        reencode::<ClientFrame>,
        CONTROL,
        Keep,
    ),
    (
        "control/ack.client.json",
        reencode::<ClientFrame>,
        CONTROL,
        Keep,
    ),
    (
        "control/heartbeat.client.json",
        reencode::<ClientFrame>,
        CONTROL,
        Keep,
    ),
    (
        "control/ping.client.json",
        reencode::<ClientFrame>,
        CONTROL,
        Keep,
    ),
];

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/runs")
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Every field of `value` exists in the Go type and has its JSON type.
fn check_go_types(ty: &Ty, value: &Value, path: &str, problems: &mut Vec<String>) {
    let fits = match (ty, value) {
        (Nullable(_) | List(_) | Object(_), Value::Null) => true,
        (Nullable(inner), _) => return check_go_types(inner, value, path, problems),
        (Str, Value::String(_)) | (Bool, Value::Bool(_)) | (Num, Value::Number(_)) => true,
        (Int, Value::Number(number)) => number.is_i64() || number.is_u64(),
        (List(item), Value::Array(items)) => {
            for (index, element) in items.iter().enumerate() {
                check_go_types(item, element, &format!("{path}[{index}]"), problems);
            }
            true
        }
        (Object(fields), Value::Object(map)) => {
            for (key, field) in map {
                match fields.iter().find(|(name, _)| name == key) {
                    Some((_, ty)) => check_go_types(ty, field, &format!("{path}.{key}"), problems),
                    None => problems.push(format!("{path}.{key} is not a field of the Go type")),
                }
            }
            true
        }
        _ => false,
    };
    if !fits {
        problems.push(format!(
            "{path} is a {} where Go has {ty:?}",
            json_type(value)
        ));
    }
}

fn is_empty(value: &Value) -> bool {
    match value {
        Value::Null | Value::Bool(false) => true,
        Value::String(text) => text.is_empty(),
        Value::Array(items) => items.is_empty(),
        _ => false,
    }
}

/// Every field the golden carries survives our decode and re-encode with the
/// same JSON type (a `null` may come back empty or absent).
fn check_kept(
    sent: &Value,
    again: &Value,
    empties: Empties,
    path: &str,
    problems: &mut Vec<String>,
) {
    match (sent, again) {
        (Value::Object(sent), Value::Object(again)) => {
            for (key, value) in sent {
                let field = format!("{path}.{key}");
                match again.get(key) {
                    None if value.is_null() => {}
                    None if empties == MayOmit && is_empty(value) => {}
                    None => problems.push(format!("{field} was dropped")),
                    Some(kept) => check_kept(value, kept, empties, &field, problems),
                }
            }
        }
        (Value::Array(sent), Value::Array(again)) => {
            if sent.len() != again.len() {
                problems.push(format!(
                    "{path} has {} items, not {}",
                    again.len(),
                    sent.len()
                ));
            }
            for (index, (value, kept)) in sent.iter().zip(again).enumerate() {
                check_kept(value, kept, empties, &format!("{path}[{index}]"), problems);
            }
        }
        (Value::Null, Value::Array(items)) if items.is_empty() => {}
        (Value::Number(sent), Value::Number(again)) if sent.is_i64() != again.is_i64() => {
            problems.push(format!("{path} changed from {sent} to {again}"));
        }
        (sent, again) if json_type(sent) != json_type(again) => problems.push(format!(
            "{path} changed from a {} to a {}",
            json_type(sent),
            json_type(again)
        )),
        _ => {}
    }
}

#[test]
fn every_golden_decodes_and_keeps_the_go_types() {
    let mut problems = Vec::new();
    for (name, reencode, fields, empties) in GOLDENS {
        let text = std::fs::read_to_string(golden_dir().join(name))
            .unwrap_or_else(|error| panic!("reading {name}: {error}"));
        let sent: Value = serde_json::from_str(&text).expect("goldens are JSON");
        let ty = Object(fields);
        check_go_types(&ty, &sent, &format!("{name} (as sent)"), &mut problems);
        match reencode(&sent) {
            Err(error) => problems.push(format!("{name} does not decode: {error}")),
            Ok(again) => {
                check_go_types(&ty, &again, &format!("{name} (re-encoded)"), &mut problems);
                check_kept(&sent, &again, *empties, name, &mut problems);
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn every_golden_file_is_checked() {
    let mut found = Vec::new();
    for dir in [golden_dir(), golden_dir().join("control")] {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|ext| ext == "json") {
                let relative = path.strip_prefix(golden_dir()).unwrap();
                found.push(relative.to_string_lossy().into_owned());
            }
        }
    }
    found.sort();
    let mut listed: Vec<String> = GOLDENS.iter().map(|(name, ..)| name.to_string()).collect();
    listed.sort();
    assert_eq!(found, listed);
}

#[test]
fn the_checks_catch_a_wrong_type() {
    let mut problems = Vec::new();
    let sent = serde_json::json!({"exitCode": 1.5, "retryLikely": true, "logChunks": null});
    check_go_types(&Object(FINISH_RUN), &sent, "finish", &mut problems);
    assert_eq!(problems.len(), 2, "{problems:?}");
    let mut problems = Vec::new();
    check_kept(
        &serde_json::json!({"leaseIDs": [], "seq": 1}),
        &serde_json::json!({"seq": 1.0}),
        Keep,
        "run",
        &mut problems,
    );
    assert_eq!(problems.len(), 2, "{problems:?}");
}
