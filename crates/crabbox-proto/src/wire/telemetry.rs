//! Machine telemetry samples as the Go CLI collects them, and a run's telemetry
//! summary (first sample, last sample, and up to 60 samples in between).

use serde::{Deserialize, Serialize};

use super::run_fields::{null_as_default, whole_number};

/// One sample of a machine's load, memory and disk (Go `LeaseTelemetry`).
/// Integer metrics are read from any JSON number and written as integers.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TelemetrySample {
    #[serde(
        skip_serializing_if = "String::is_empty",
        deserialize_with = "null_as_default"
    )]
    pub captured_at: String,
    #[serde(
        skip_serializing_if = "String::is_empty",
        deserialize_with = "null_as_default"
    )]
    pub source: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub load1: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub load5: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub load15: Option<f64>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        deserialize_with = "whole_number"
    )]
    pub cpu_count: Option<i64>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        deserialize_with = "whole_number"
    )]
    pub memory_used_bytes: Option<i64>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        deserialize_with = "whole_number"
    )]
    pub memory_total_bytes: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory_percent: Option<f64>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        deserialize_with = "whole_number"
    )]
    pub disk_used_bytes: Option<i64>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        deserialize_with = "whole_number"
    )]
    pub disk_total_bytes: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disk_percent: Option<f64>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        deserialize_with = "whole_number"
    )]
    pub uptime_seconds: Option<i64>,
}

/// A run's telemetry (Go `RunTelemetrySummary`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RunTelemetry {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start: Option<TelemetrySample>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end: Option<TelemetrySample>,
    #[serde(
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "null_as_default"
    )]
    pub samples: Vec<TelemetrySample>,
}

/// `POST /v1/runs/{id}/telemetry`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RunTelemetryRequest {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub telemetry: Option<TelemetrySample>,
}
