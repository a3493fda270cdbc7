//! Leases: the public record, the request bodies that create and change one, and
//! the `{lease}` / `{leases}` envelopes.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::fields::{port_strings, server_id, string_or_number};
use super::{is_false, is_zero, Timestamp};

/// The five coordinator lease statuses; `provisioning` and `active` are live.
/// (A provider's own view of a lease uses `crabbox_providers::LeaseState`.)
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LeaseStatus {
    #[default]
    Provisioning,
    Active,
    Released,
    Expired,
    Failed,
}

impl LeaseStatus {
    pub const ALL: [LeaseStatus; 5] = [
        LeaseStatus::Provisioning,
        LeaseStatus::Active,
        LeaseStatus::Released,
        LeaseStatus::Expired,
        LeaseStatus::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            LeaseStatus::Provisioning => "provisioning",
            LeaseStatus::Active => "active",
            LeaseStatus::Released => "released",
            LeaseStatus::Expired => "expired",
            LeaseStatus::Failed => "failed",
        }
    }

    pub fn parse(text: &str) -> Option<LeaseStatus> {
        LeaseStatus::ALL
            .into_iter()
            .find(|state| state.as_str() == text)
    }

    pub fn is_live(self) -> bool {
        matches!(self, LeaseStatus::Provisioning | LeaseStatus::Active)
    }
}

/// The coordinator's lease record as clients see it (the provider-neutral lease
/// is `crabbox_providers::Lease`). The coordinator's private bookkeeping (create
/// attempts, cleanup claims) lives beside it in the store, never in this struct.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct LeaseRecord {
    pub id: String,
    pub slug: String,
    pub provider: String,
    /// `managed` (the coordinator created the machine) or `registered`.
    pub lifecycle: String,
    pub owner: String,
    /// The org label; empty when the owner has none.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub org: String,
    pub state: LeaseStatus,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub target: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub class: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub server_type: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub profile: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub pond: String,
    #[serde(skip_serializing_if = "Vec::is_empty", with = "port_strings")]
    pub exposed_ports: Vec<u16>,
    #[serde(rename = "cloudID", skip_serializing_if = "String::is_empty")]
    pub cloud_id: String,
    /// The provider's numeric server id; always present, 0 when there is none.
    #[serde(rename = "serverID", with = "server_id")]
    pub server_id: i64,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub server_name: String,
    /// The provider key a managed lease was created with; empty (and then not
    /// sent) for registered leases, which the Node coordinator sends as `""`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub provider_key: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub windows_mode: String,
    #[serde(skip_serializing_if = "is_false")]
    pub desktop: bool,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub desktop_env: String,
    #[serde(skip_serializing_if = "is_false")]
    pub browser: bool,
    #[serde(skip_serializing_if = "is_false")]
    pub code: bool,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub host: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub ssh_user: String,
    #[serde(
        skip_serializing_if = "String::is_empty",
        deserialize_with = "string_or_number"
    )]
    pub ssh_port: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ssh_fallback_ports: Vec<String>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub ssh_host_key: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub work_root: String,
    pub keep: bool,
    pub ttl_seconds: i64,
    pub idle_timeout_seconds: i64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub last_touched_at: Timestamp,
    pub expires_at: Timestamp,
    /// When a registered lease was first recorded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registered_at: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub released_at: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<Timestamp>,
    #[serde(rename = "estimatedHourlyUSD")]
    pub estimated_hourly_usd: f64,
    #[serde(rename = "maxEstimatedUSD")]
    pub max_estimated_usd: f64,
    #[serde(skip_serializing_if = "is_false")]
    pub release_deletes_server: bool,
    /// The machine is owed a delete that has not succeeded yet (a failed or
    /// handed-off delete stays visible here until the machine is gone).
    #[serde(skip_serializing_if = "is_false")]
    pub cleanup_pending: bool,
    #[serde(skip_serializing_if = "is_zero")]
    pub cleanup_attempts: i64,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub cleanup_error: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub failure_error: String,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// The runner's latest heartbeat telemetry.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub telemetry: Option<super::TelemetrySample>,
    /// Heartbeat telemetry, one sample per capture time, the latest 60.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub telemetry_history: Vec<super::TelemetrySample>,
}

impl LeaseRecord {
    /// `min(created + ttl, touched + idle)`, each at least one second.
    pub fn compute_expires_at(&self) -> Timestamp {
        let ttl = self.ttl_seconds.max(1);
        let idle = if self.idle_timeout_seconds > 0 {
            self.idle_timeout_seconds
        } else {
            ttl
        };
        if self.lifecycle == "registered" {
            return self.last_touched_at.plus_seconds(ttl.min(idle));
        }
        self.created_at
            .plus_seconds(ttl)
            .min(self.last_touched_at.plus_seconds(idle))
    }
}

/// `POST /v1/leases` and `PUT /v1/leases/{id}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct CreateLeaseRequest {
    #[serde(rename = "leaseID", skip_serializing_if = "String::is_empty")]
    pub lease_id: String,
    #[serde(rename = "createAttemptID", skip_serializing_if = "String::is_empty")]
    pub create_attempt_id: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub slug: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub provider: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub target: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub class: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub server_type: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub profile: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub ssh_user: String,
    #[serde(
        skip_serializing_if = "String::is_empty",
        deserialize_with = "string_or_number"
    )]
    pub ssh_port: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ssh_fallback_ports: Vec<String>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub ssh_public_key: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub provider_key: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub work_root: String,
    #[serde(skip_serializing_if = "is_zero")]
    pub ttl_seconds: i64,
    #[serde(skip_serializing_if = "is_zero")]
    pub idle_timeout_seconds: i64,
    pub keep: bool,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub pond: String,
    #[serde(skip_serializing_if = "Vec::is_empty", with = "port_strings")]
    pub exposed_ports: Vec<u16>,
}

/// `POST /v1/leases/{id}/heartbeat` (the body is optional).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct HeartbeatRequest {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected_provider: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub idle_timeout_seconds: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub telemetry: Option<serde_json::Value>,
}

/// `POST /v1/leases/{id}/release`; `delete` defaults to `!keep`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ReleaseRequest {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delete: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected_provider: Option<String>,
}

/// `POST /v1/leases/{id}/cancel-create`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct CancelCreateRequest {
    #[serde(rename = "createAttemptID")]
    pub create_attempt_id: String,
}

/// `PUT /v1/leases/{id}/registration`: a machine provisioned outside the
/// coordinator, recorded for visibility.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RegistrationRequest {
    pub provider: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub target: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub windows_mode: String,
    #[serde(skip_serializing_if = "is_false")]
    pub desktop: bool,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub desktop_env: String,
    #[serde(skip_serializing_if = "is_false")]
    pub browser: bool,
    #[serde(skip_serializing_if = "is_false")]
    pub code: bool,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub host: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub slug: String,
    #[serde(rename = "cloudID", skip_serializing_if = "String::is_empty")]
    pub cloud_id: String,
    #[serde(
        rename = "serverID",
        skip_serializing_if = "is_zero",
        with = "server_id"
    )]
    pub server_id: i64,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub server_name: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub server_type: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub class: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub profile: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub ssh_user: String,
    #[serde(
        skip_serializing_if = "String::is_empty",
        deserialize_with = "string_or_number"
    )]
    pub ssh_port: String,
    /// Kept as sent: the coordinator drops invalid entries itself, as the Node
    /// coordinator does, rather than refusing the registration.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ssh_fallback_ports: Vec<serde_json::Value>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub work_root: String,
    #[serde(skip_serializing_if = "is_zero")]
    pub ttl_seconds: i64,
    #[serde(skip_serializing_if = "is_zero")]
    pub idle_timeout_seconds: i64,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub pond: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub exposed_ports: Vec<serde_json::Value>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LeaseEnvelope {
    pub lease: LeaseRecord,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LeasesEnvelope {
    #[serde(default)]
    pub leases: Vec<LeaseRecord>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_ports_as_numbers_or_text_and_ignores_unknown_fields() {
        let body = r#"{"leaseID":"cbx_0123456789ab","sshPort":2222,"futureField":{"x":1}}"#;
        let request: CreateLeaseRequest = serde_json::from_str(body).unwrap();
        assert_eq!(request.lease_id, "cbx_0123456789ab");
        assert_eq!(request.ssh_port, "2222");
        let request: CreateLeaseRequest = serde_json::from_str(r#"{"sshPort":"22"}"#).unwrap();
        assert_eq!(request.ssh_port, "22");
    }

    #[test]
    fn lease_uses_the_reference_field_names() {
        let lease = LeaseRecord {
            id: "cbx_0123456789ab".into(),
            cloud_id: "4242".into(),
            estimated_hourly_usd: 0.5,
            state: LeaseStatus::Active,
            ..LeaseRecord::default()
        };
        let json = serde_json::to_value(&lease).unwrap();
        assert_eq!(json["cloudID"], "4242");
        assert_eq!(json["estimatedHourlyUSD"], 0.5);
        assert_eq!(json["state"], "active");
        assert!(json.get("releasedAt").is_none());
        let back: LeaseRecord = serde_json::from_value(json).unwrap();
        assert_eq!(back, lease);
    }

    #[test]
    fn expiry_is_the_earlier_of_ttl_and_idle() {
        let mut lease = LeaseRecord {
            ttl_seconds: 3600,
            idle_timeout_seconds: 600,
            created_at: Timestamp(0),
            last_touched_at: Timestamp(0),
            lifecycle: "managed".into(),
            ..LeaseRecord::default()
        };
        assert_eq!(lease.compute_expires_at(), Timestamp(600_000));
        lease.last_touched_at = Timestamp(3_500_000);
        assert_eq!(lease.compute_expires_at(), Timestamp(3_600_000));
        lease.idle_timeout_seconds = 0;
        assert_eq!(lease.compute_expires_at(), Timestamp(3_600_000));
    }
}
