//! Identity, health, errors and the usage report.

use serde::{Deserialize, Serialize};

use super::Timestamp;

/// Every API failure: a stable machine code and a human message.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ErrorBody {
    pub error: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub message: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Health {
    pub ok: bool,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub service: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub error: String,
}

/// `GET /v1/whoami`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Whoami {
    pub owner: String,
    pub org: String,
    /// `bearer`, `github`, `proxy` or `device`.
    pub auth: String,
    pub admin: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_expires_at: Option<Timestamp>,
}

/// One row of a usage breakdown.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct UsageGroup {
    pub key: String,
    pub leases: i64,
    pub active_leases: i64,
    pub runtime_seconds: i64,
    #[serde(rename = "estimatedUSD")]
    pub estimated_usd: f64,
    #[serde(rename = "reservedUSD")]
    pub reserved_usd: f64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Usage {
    pub month: String,
    pub scope: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub org: Option<String>,
    pub leases: i64,
    pub active_leases: i64,
    pub runtime_seconds: i64,
    #[serde(rename = "estimatedUSD")]
    pub estimated_usd: f64,
    #[serde(rename = "reservedUSD")]
    pub reserved_usd: f64,
    pub by_owner: Vec<UsageGroup>,
    pub by_org: Vec<UsageGroup>,
    pub by_provider: Vec<UsageGroup>,
    pub by_server_type: Vec<UsageGroup>,
}

/// The caps in force; zero means off.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct UsageLimits {
    pub max_active_leases: i64,
    pub max_active_leases_per_owner: i64,
    pub max_active_leases_per_org: i64,
    pub capacity_admin_owners: Vec<String>,
    pub max_active_leases_per_capacity_admin: i64,
    #[serde(rename = "maxMonthlyUSD")]
    pub max_monthly_usd: f64,
    #[serde(rename = "maxMonthlyUSDPerOwner")]
    pub max_monthly_usd_per_owner: f64,
    #[serde(rename = "maxMonthlyUSDPerOrg")]
    pub max_monthly_usd_per_org: f64,
}

/// `GET /v1/usage`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct UsageReport {
    pub usage: Usage,
    pub limits: UsageLimits,
}
