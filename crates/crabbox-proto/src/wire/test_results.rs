//! A run's parsed test results as the Go CLI reports them (JUnit summaries).

use serde::{Deserialize, Serialize};

use super::run_fields::null_as_default;

/// Go `TestResultSummary`; lists sent as `null` read as empty.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TestResults {
    #[serde(deserialize_with = "null_as_default")]
    pub format: String,
    #[serde(deserialize_with = "null_as_default")]
    pub files: Vec<String>,
    pub suites: i64,
    pub tests: i64,
    pub failures: i64,
    pub errors: i64,
    pub skipped: i64,
    pub time_seconds: f64,
    #[serde(deserialize_with = "null_as_default")]
    pub failed: Vec<TestFailure>,
}

/// Go `TestFailure`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TestFailure {
    #[serde(deserialize_with = "null_as_default")]
    pub suite: String,
    #[serde(deserialize_with = "null_as_default")]
    pub name: String,
    #[serde(
        skip_serializing_if = "String::is_empty",
        deserialize_with = "null_as_default"
    )]
    pub classname: String,
    #[serde(
        skip_serializing_if = "String::is_empty",
        deserialize_with = "null_as_default"
    )]
    pub file: String,
    #[serde(
        skip_serializing_if = "String::is_empty",
        deserialize_with = "null_as_default"
    )]
    pub message: String,
    #[serde(
        rename = "type",
        skip_serializing_if = "String::is_empty",
        deserialize_with = "null_as_default"
    )]
    pub error_type: String,
    #[serde(deserialize_with = "null_as_default")]
    pub kind: String,
}
