//! The JSON type of every field the Go CLI's coordinator structs declare
//! (`internal/cli/coordinator*.go`), so tests can check that a body we send or
//! accept decodes on the Go side: Go's decoder rejects a number where a string
//! is declared, and the other way round.

use serde_json::Value;

/// A JSON type as a Go struct field declares it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonType {
    String,
    Number,
    Bool,
    Object,
    Array,
    /// `[]string`
    Strings,
}

impl JsonType {
    fn accepts(self, value: &Value) -> bool {
        match (self, value) {
            // Go decodes null into any field as its zero value.
            (_, Value::Null) => true,
            (JsonType::String, Value::String(_)) => true,
            (JsonType::Number, Value::Number(_)) => true,
            (JsonType::Bool, Value::Bool(_)) => true,
            (JsonType::Object, Value::Object(_)) => true,
            (JsonType::Array, Value::Array(_)) => true,
            (JsonType::Strings, Value::Array(items)) => items.iter().all(Value::is_string),
            _ => false,
        }
    }
}

use JsonType::{Array, Bool, Number, Object, Strings};
const STRING: JsonType = JsonType::String;

/// `CoordinatorLease`.
pub const LEASE: &[(&str, JsonType)] = &[
    ("id", STRING),
    ("slug", STRING),
    ("provider", STRING),
    ("lifecycle", STRING),
    ("runtimeAdapterID", STRING),
    ("runtimeAdapterWorkspaceID", STRING),
    ("runtimeAdapterRegistrationID", STRING),
    ("target", STRING),
    ("windowsMode", STRING),
    ("desktop", Bool),
    ("desktopEnv", STRING),
    ("browser", Bool),
    ("code", Bool),
    ("tailscale", Object),
    ("region", STRING),
    ("owner", STRING),
    ("org", STRING),
    ("share", Object),
    ("profile", STRING),
    ("class", STRING),
    ("pond", STRING),
    ("exposedPorts", Strings),
    ("serverType", STRING),
    ("requestedServerType", STRING),
    ("hostId", STRING),
    ("hostID", STRING),
    ("market", STRING),
    ("provisioningAttempts", Array),
    ("image", Object),
    ("provisioningTiming", Object),
    ("capacityHints", Array),
    ("serverID", Number),
    ("cloudID", STRING),
    ("serverName", STRING),
    ("host", STRING),
    ("sshUser", STRING),
    ("sshPort", STRING),
    ("sshHostKey", STRING),
    ("sshFallbackPorts", Strings),
    ("workRoot", STRING),
    ("keep", Bool),
    ("state", STRING),
    ("ttlSeconds", Number),
    ("idleTimeoutSeconds", Number),
    ("createdAt", STRING),
    ("updatedAt", STRING),
    ("lastTouchedAt", STRING),
    ("expiresAt", STRING),
    ("telemetry", Object),
    ("telemetryHistory", Array),
    ("cleanupAttempts", Number),
    ("cleanupStartedAt", STRING),
    ("cleanupError", STRING),
    ("cleanupRetryAt", STRING),
    ("releaseDeletesServer", Bool),
    ("failureError", STRING),
    ("providerMetadata", Object),
];

/// `CoordinatorLeaseRegistration`.
pub const REGISTRATION: &[(&str, JsonType)] = &[
    ("slug", STRING),
    ("provider", STRING),
    ("target", STRING),
    ("windowsMode", STRING),
    ("desktop", Bool),
    ("desktopEnv", STRING),
    ("browser", Bool),
    ("code", Bool),
    ("cloudID", STRING),
    ("serverID", Number),
    ("serverName", STRING),
    ("serverType", STRING),
    ("host", STRING),
    ("sshUser", STRING),
    ("sshPort", STRING),
    ("sshFallbackPorts", Strings),
    ("workRoot", STRING),
    ("profile", STRING),
    ("class", STRING),
    ("pond", STRING),
    ("exposedPorts", Strings),
    ("ttlSeconds", Number),
    ("idleTimeoutSeconds", Number),
];

/// The heartbeat body (`expectedProvider`, `idleTimeoutSeconds`, `telemetry`).
pub const HEARTBEAT: &[(&str, JsonType)] = &[
    ("expectedProvider", STRING),
    ("idleTimeoutSeconds", Number),
    ("telemetry", Object),
];

/// Fields of `body` (an object) whose JSON type differs from `table`'s, as
/// `field: expected …, got …`. Fields the table does not name are ignored, as
/// Go ignores them.
pub fn mismatches(body: &Value, table: &[(&str, JsonType)]) -> Vec<String> {
    let Some(object) = body.as_object() else {
        return vec!["the body is not an object".into()];
    };
    table
        .iter()
        .filter_map(|(field, expected)| {
            let value = object.get(*field)?;
            (!expected.accepts(value))
                .then(|| format!("{field}: expected {expected:?}, got {value}"))
        })
        .collect()
}
