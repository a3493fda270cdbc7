//! Run telemetry: samples posted while a run goes (`POST /v1/runs/{id}/telemetry`)
//! and the summary sent with its finish, sanitized as the Node coordinator does
//! and kept to the latest 60 samples, one per capture time.

use crabbox_proto::time::{format_rfc3339_millis, parse_rfc3339_millis};
use crabbox_proto::wire::{Run, RunTelemetry, RunTelemetryRequest, TelemetrySample, Timestamp};

use super::writable;
use crate::auth::Principal;
use crate::error::{updated, ApiError, ApiResult};
use crate::state::Coordinator;

/// A run keeps at most this many samples.
pub const MAX_SAMPLES: usize = 60;
const SOURCE_CHARS: usize = 32;
const MAX_LOAD: f64 = 10_000.0;
const MAX_PERCENT: f64 = 100.0;
const MAX_CPUS: i64 = 1_000_000;
/// JavaScript's largest exact integer, the Node coordinator's bound.
const MAX_SAFE_INTEGER: i64 = (1 << 53) - 1;

fn fraction(value: Option<f64>, max: f64) -> Option<f64> {
    value
        .filter(|value| value.is_finite() && *value >= 0.0)
        .map(|value| value.min(max))
}

fn whole(value: Option<i64>, min: i64, max: i64) -> Option<i64> {
    value
        .filter(|value| *value >= min)
        .map(|value| value.min(max))
}

/// Negative values are dropped and the rest capped; an unreadable capture time
/// becomes `now`. A sample without any metric is `None`.
pub fn sanitize_sample(sample: TelemetrySample, now: Timestamp) -> Option<TelemetrySample> {
    let captured = parse_rfc3339_millis(sample.captured_at.trim()).unwrap_or(now.millis());
    let clean = TelemetrySample {
        captured_at: format_rfc3339_millis(captured),
        source: sample.source.trim().chars().take(SOURCE_CHARS).collect(),
        load1: fraction(sample.load1, MAX_LOAD),
        load5: fraction(sample.load5, MAX_LOAD),
        load15: fraction(sample.load15, MAX_LOAD),
        cpu_count: whole(sample.cpu_count, 1, MAX_CPUS),
        memory_used_bytes: whole(sample.memory_used_bytes, 0, MAX_SAFE_INTEGER),
        memory_total_bytes: whole(sample.memory_total_bytes, 0, MAX_SAFE_INTEGER),
        memory_percent: fraction(sample.memory_percent, MAX_PERCENT),
        disk_used_bytes: whole(sample.disk_used_bytes, 0, MAX_SAFE_INTEGER),
        disk_total_bytes: whole(sample.disk_total_bytes, 0, MAX_SAFE_INTEGER),
        disk_percent: fraction(sample.disk_percent, MAX_PERCENT),
        uptime_seconds: whole(sample.uptime_seconds, 0, MAX_SAFE_INTEGER),
    };
    let metric = clean.load1.is_some()
        || clean.load5.is_some()
        || clean.load15.is_some()
        || clean.cpu_count.is_some()
        || clean.memory_used_bytes.is_some()
        || clean.memory_total_bytes.is_some()
        || clean.memory_percent.is_some()
        || clean.disk_used_bytes.is_some()
        || clean.disk_total_bytes.is_some()
        || clean.disk_percent.is_some()
        || clean.uptime_seconds.is_some();
    metric.then_some(clean)
}

/// One sample per capture time (the later one wins), oldest first, the latest
/// `MAX_SAMPLES`.
pub fn bounded_samples(samples: Vec<TelemetrySample>) -> Vec<TelemetrySample> {
    let mut by_time = std::collections::BTreeMap::new();
    for sample in samples {
        if !sample.captured_at.is_empty() {
            by_time.insert(sample.captured_at.clone(), sample);
        }
    }
    let skip = by_time.len().saturating_sub(MAX_SAMPLES);
    by_time.into_values().skip(skip).collect()
}

/// A finish's telemetry summary, sanitized; `None` when nothing usable is left.
pub fn sanitize_run_telemetry(telemetry: RunTelemetry, now: Timestamp) -> Option<RunTelemetry> {
    let clean = RunTelemetry {
        start: telemetry
            .start
            .and_then(|sample| sanitize_sample(sample, now)),
        end: telemetry
            .end
            .and_then(|sample| sanitize_sample(sample, now)),
        samples: bounded_samples(
            telemetry
                .samples
                .into_iter()
                .filter_map(|sample| sanitize_sample(sample, now))
                .collect(),
        ),
    };
    (clean.start.is_some() || clean.end.is_some() || !clean.samples.is_empty()).then_some(clean)
}

/// The finish's summary over what the run had: its start and end win, samples
/// are merged.
pub fn merge_run_telemetry(existing: Option<RunTelemetry>, incoming: RunTelemetry) -> RunTelemetry {
    let existing = existing.unwrap_or_default();
    let mut samples = existing.samples;
    samples.extend(incoming.samples);
    RunTelemetry {
        start: incoming.start.or(existing.start),
        end: incoming.end.or(existing.end),
        samples: bounded_samples(samples),
    }
}

/// One more sample; the first one also becomes the run's `start`.
fn append_sample(existing: Option<RunTelemetry>, sample: TelemetrySample) -> RunTelemetry {
    let mut telemetry = existing.unwrap_or_default();
    if telemetry.start.is_none() {
        telemetry.start = Some(sample.clone());
    }
    telemetry.samples.push(sample);
    telemetry.samples = bounded_samples(std::mem::take(&mut telemetry.samples));
    telemetry
}

/// `POST /v1/runs/{id}/telemetry`: folds one sample into the run.
pub async fn append_telemetry(
    coordinator: &Coordinator,
    principal: &Principal,
    run_id: &str,
    request: RunTelemetryRequest,
) -> ApiResult<Run> {
    writable(coordinator, principal, run_id).await?;
    let sample = request
        .telemetry
        .and_then(|sample| sanitize_sample(sample, coordinator.now()))
        .ok_or_else(|| {
            ApiError::bad_request(
                "invalid_telemetry",
                "telemetry needs at least one metric (load, cpuCount, memory, disk or uptime)",
            )
        })?;
    updated(
        coordinator
            .store()
            .update_run(run_id, move |run| {
                run.telemetry = Some(append_sample(run.telemetry.take(), sample));
                Ok(())
            })
            .await,
        "run",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(at: &str, load: f64) -> TelemetrySample {
        TelemetrySample {
            captured_at: at.into(),
            load1: Some(load),
            ..TelemetrySample::default()
        }
    }

    #[test]
    fn samples_are_sanitized() {
        let now = Timestamp(1_795_388_880_123);
        let raw = TelemetrySample {
            captured_at: "yesterday".into(),
            source: format!("  {}  ", "s".repeat(40)),
            load1: Some(-1.0),
            cpu_count: Some(0),
            memory_percent: Some(250.0),
            disk_used_bytes: Some(-5),
            ..TelemetrySample::default()
        };
        let clean = sanitize_sample(raw, now).expect("memoryPercent is a metric");
        assert_eq!(clean.captured_at, "2026-11-22T23:08:00.123Z");
        assert_eq!(clean.source.len(), SOURCE_CHARS);
        assert_eq!(
            (
                clean.load1,
                clean.cpu_count,
                clean.memory_percent,
                clean.disk_used_bytes
            ),
            (None, None, Some(100.0), None)
        );
        let empty = TelemetrySample {
            source: "ssh-linux".into(),
            load1: Some(-2.0),
            ..TelemetrySample::default()
        };
        assert_eq!(sanitize_sample(empty, now), None);
    }

    #[test]
    fn runs_keep_the_latest_sixty_samples_once_per_capture_time() {
        let mut telemetry = None;
        for second in 0..70 {
            let at = format!("2026-11-22T23:{:02}:{:02}.000Z", second / 60, second % 60);
            telemetry = Some(append_sample(telemetry, sample(&at, 1.0)));
        }
        let again = sample("2026-11-22T23:01:09.000Z", 7.0);
        let telemetry = append_sample(telemetry, again.clone());
        assert_eq!(telemetry.samples.len(), MAX_SAMPLES);
        assert_eq!(telemetry.samples.last(), Some(&again));
        assert_eq!(
            telemetry.start.map(|start| start.captured_at),
            Some("2026-11-22T23:00:00.000Z".to_string()),
            "the first sample stays the start"
        );
        let merged = merge_run_telemetry(
            Some(RunTelemetry {
                start: Some(sample("2026-11-22T23:00:00.000Z", 1.0)),
                samples: vec![sample("2026-11-22T23:00:00.000Z", 1.0)],
                ..RunTelemetry::default()
            }),
            RunTelemetry {
                end: Some(sample("2026-11-22T23:00:05.000Z", 2.0)),
                samples: vec![sample("2026-11-22T23:00:05.000Z", 2.0)],
                ..RunTelemetry::default()
            },
        );
        assert!(merged.start.is_some() && merged.end.is_some());
        assert_eq!(merged.samples.len(), 2);
    }
}
