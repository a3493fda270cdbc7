//! Finishing a run: the exit code and timings, the retained log (the last
//! 8 MiB), failure classification, bounded test results, merged telemetry and
//! the closing `command.finished` event.

use crabbox_proto::wire::{
    FinishRunRequest, Run, RunEventRecord, RunState, TestFailure, TestResults,
};

use super::telemetry::{merge_run_telemetry, sanitize_run_telemetry};
use super::{committed, tail_utf8, truncate_utf8, writable};
use crate::auth::Principal;
use crate::error::{updated, ApiError, ApiResult};
use crate::state::Coordinator;

/// The coordinator keeps the last 8 MiB of a run's output.
const LOG_LIMIT: usize = 8 << 20;
const RESULT_FILES: usize = 50;
const RESULT_FAILURES: usize = 100;
const RESULT_STRING: usize = 4096;

/// `^[a-z0-9][a-z0-9_-]{0,63}$`, the shape of `blockedStage` and `retryLikely`.
fn valid_classification(value: &str) -> bool {
    let bytes = value.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 64
        && (bytes[0].is_ascii_lowercase() || bytes[0].is_ascii_digit())
        && bytes.iter().all(|byte| {
            byte.is_ascii_lowercase() || byte.is_ascii_digit() || *byte == b'_' || *byte == b'-'
        })
}

/// A classification field: trimmed, empty when not sent, 400 when malformed.
fn classification(value: &str, field: &str, code: &'static str) -> ApiResult<String> {
    let value = value.trim();
    if value.is_empty() || valid_classification(value) {
        Ok(value.to_string())
    } else {
        Err(ApiError::bad_request(
            code,
            format!("{field} must match ^[a-z0-9][a-z0-9_-]{{0,63}}$"),
        ))
    }
}

fn bounded(text: &str) -> String {
    truncate_utf8(text, RESULT_STRING).to_string()
}

/// Results are bounded: ≤50 files, ≤100 failures, strings ≤4 KiB.
fn bound_results(mut results: TestResults) -> TestResults {
    results.files.truncate(RESULT_FILES);
    results.files = results.files.iter().map(|file| bounded(file)).collect();
    results.failed.truncate(RESULT_FAILURES);
    results.failed = results
        .failed
        .iter()
        .map(|failure| TestFailure {
            suite: bounded(&failure.suite),
            name: bounded(&failure.name),
            classname: bounded(&failure.classname),
            file: bounded(&failure.file),
            message: bounded(&failure.message),
            error_type: bounded(&failure.error_type),
            kind: bounded(&failure.kind),
        })
        .collect();
    results
}

pub async fn finish(
    coordinator: &Coordinator,
    principal: &Principal,
    run_id: &str,
    request: FinishRunRequest,
) -> ApiResult<Run> {
    writable(coordinator, principal, run_id).await?;
    let blocked_stage = classification(
        &request.blocked_stage,
        "blockedStage",
        "invalid_blocked_stage",
    )?;
    let retry_likely =
        classification(&request.retry_likely, "retryLikely", "invalid_retry_likely")?;
    let request = FinishRunRequest {
        blocked_stage,
        retry_likely,
        ..request
    };
    let writer = coordinator.clone();
    let run_id = run_id.to_string();
    committed(async move {
        let (run, final_event) = record_finish(&writer, &run_id, request).await?;
        writer.control().publish(final_event);
        Ok(run)
    })
    .await
}

/// Stores the log and the `command.finished` event and closes the run. Optional
/// fields the request leaves out keep their stored values.
async fn record_finish(
    coordinator: &Coordinator,
    run_id: &str,
    request: FinishRunRequest,
) -> ApiResult<(Run, RunEventRecord)> {
    let exit_code = request
        .exit_code
        .filter(|code| code.is_finite())
        .map(|code| code as i64)
        .unwrap_or(1);
    let raw = if request.log_chunks.is_empty() {
        request.log
    } else {
        request.log_chunks.concat()
    };
    let kept = tail_utf8(raw.as_bytes(), LOG_LIMIT);
    let truncated = request.log_truncated || kept.len() < raw.len();
    let state = if exit_code == 0 {
        RunState::Succeeded
    } else {
        RunState::Failed
    };
    let now = coordinator.now();
    let final_event = RunEventRecord {
        kind: "command.finished".into(),
        phase: state.as_str().into(),
        exit_code: Some(exit_code),
        created_at: now,
        ..RunEventRecord::default()
    };
    let results = request.results.map(bound_results);
    let telemetry = request
        .telemetry
        .and_then(|telemetry| sanitize_run_telemetry(telemetry, now));
    let log_bytes = kept.len() as i64;
    updated(
        coordinator
            .store()
            .finish_run(run_id, kept, final_event, |run| {
                run.exit_code = Some(exit_code);
                run.state = state;
                run.phase = state.as_str().into();
                if request.sync_ms.is_some() {
                    run.sync_ms = request.sync_ms;
                }
                if request.command_ms.is_some() {
                    run.command_ms = request.command_ms;
                }
                run.duration_ms = Some((now.millis() - run.started_at.millis()).max(0));
                run.log_bytes = log_bytes;
                run.log_truncated = truncated;
                if !request.blocked_stage.is_empty() {
                    run.blocked_stage = request.blocked_stage.clone();
                }
                if !request.retry_likely.is_empty() {
                    run.retry_likely = request.retry_likely.clone();
                }
                if results.is_some() {
                    run.results = results.clone();
                }
                if let Some(incoming) = telemetry.clone() {
                    run.telemetry = Some(merge_run_telemetry(run.telemetry.take(), incoming));
                }
                run.ended_at = Some(now);
                Ok(())
            })
            .await,
        "run",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification_fields_are_checked_and_trimmed() {
        assert!(valid_classification("sync-timeout_2"));
        assert!(!valid_classification("Sync"));
        assert!(!valid_classification(""));
        assert_eq!(
            classification(" unknown ", "retryLikely", "invalid_retry_likely").unwrap(),
            "unknown"
        );
        assert_eq!(classification("", "retryLikely", "x").unwrap(), "");
        let error = classification("Maybe!", "retryLikely", "invalid_retry_likely").unwrap_err();
        assert_eq!(error.code, "invalid_retry_likely");
        assert!(error.message.contains("retryLikely"), "{}", error.message);
    }

    #[test]
    fn results_are_bounded() {
        let results = TestResults {
            files: (0..80).map(|index| index.to_string()).collect(),
            failed: vec![
                TestFailure {
                    message: "x".repeat(9000),
                    ..TestFailure::default()
                };
                150
            ],
            ..TestResults::default()
        };
        let results = bound_results(results);
        assert_eq!(results.files.len(), RESULT_FILES);
        assert_eq!(results.failed.len(), RESULT_FAILURES);
        assert_eq!(results.failed[0].message.len(), RESULT_STRING);
    }
}
