//! Reading a devbox back: normalized state (from `status` only, never `spec`)
//! and the NodePort found deterministically in `status.network`.

use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DevboxState {
    Running,
    Pending,
    Paused,
    Stopped,
    Shutdown,
    Error,
}

impl DevboxState {
    pub fn as_str(self) -> &'static str {
        match self {
            DevboxState::Running => "Running",
            DevboxState::Pending => "Pending",
            DevboxState::Paused => "Paused",
            DevboxState::Stopped => "Stopped",
            DevboxState::Shutdown => "Shutdown",
            DevboxState::Error => "Error",
        }
    }
}

/// `status.state`, then `status.phase`; unknown values count as Pending.
pub fn state(devbox: &Value) -> DevboxState {
    let status = &devbox["status"];
    let observed = status["state"]
        .as_str()
        .filter(|s| !s.is_empty())
        .or_else(|| status["phase"].as_str())
        .unwrap_or("");
    match observed.to_ascii_lowercase().as_str() {
        "running" | "ready" => DevboxState::Running,
        "paused" | "pausing" => DevboxState::Paused,
        "stopped" | "stopping" => DevboxState::Stopped,
        "shutdown" | "shuttingdown" | "shutting-down" => DevboxState::Shutdown,
        "error" | "failed" | "failure" | "crashloopbackoff" | "unknown" => DevboxState::Error,
        _ => DevboxState::Pending,
    }
}

fn port(value: &Value) -> Option<u16> {
    let number = match value {
        Value::Number(number) => number.as_u64()?,
        Value::String(text) => text.trim().parse().ok()?,
        _ => return None,
    };
    u16::try_from(number).ok().filter(|port| *port > 0)
}

fn is_ssh_entry(map: &serde_json::Map<String, Value>) -> bool {
    let named_ssh = ["name", "protocol", "app", "service"].iter().any(|key| {
        map.get(*key)
            .and_then(Value::as_str)
            .is_some_and(|v| v.eq_ignore_ascii_case("ssh"))
    });
    let port_22 = ["port", "targetPort", "containerPort"]
        .iter()
        .any(|key| map.get(*key).and_then(port) == Some(22));
    named_ssh || port_22
}

/// Searches in sorted key order so the result never depends on map order; an
/// `sshNodePort` key wins, then the first SSH entry (name/protocol ssh or port 22).
fn search(value: &Value) -> Option<u16> {
    match value {
        Value::Object(map) => {
            if let Some(found) = map.get("sshNodePort").and_then(port) {
                return Some(found);
            }
            if is_ssh_entry(map) {
                if let Some(found) = ["nodePort", "sshNodePort", "port"]
                    .iter()
                    .find_map(|key| map.get(*key).and_then(port))
                {
                    return Some(found);
                }
            }
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            keys.into_iter().find_map(|key| search(&map[key]))
        }
        Value::Array(items) => items.iter().find_map(search),
        _ => None,
    }
}

/// The SSH NodePort: a top-level `nodePort` (v1alpha2 shape) wins, then the search.
pub fn node_port(devbox: &Value) -> Option<u16> {
    let network = &devbox["status"]["network"];
    network
        .get("nodePort")
        .and_then(port)
        .or_else(|| search(network))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn states_normalize_from_status_only() {
        for (status, expected) in [
            (json!({"state": "Running"}), DevboxState::Running),
            (json!({"phase": "ready"}), DevboxState::Running),
            (json!({"phase": "Scheduling"}), DevboxState::Pending),
            (json!({"phase": "Pausing"}), DevboxState::Paused),
            (json!({"phase": "shutting-down"}), DevboxState::Shutdown),
            (json!({"phase": "CrashLoopBackOff"}), DevboxState::Error),
            (json!({"phase": "whatever"}), DevboxState::Pending),
            (json!({}), DevboxState::Pending),
        ] {
            let devbox = json!({"spec": {"state": "Running"}, "status": status});
            assert_eq!(state(&devbox), expected, "{status}");
        }
    }

    #[test]
    fn node_port_prefers_top_level_then_ssh_entries_over_http() {
        assert_eq!(
            node_port(&json!({"status": {"network": {"type": "NodePort", "nodePort": 30022}}})),
            Some(30022)
        );
        let ports = json!({"status": {"network": {"ports": [
            {"name": "http", "port": 80, "nodePort": 30080},
            {"name": "ssh", "port": 22, "nodePort": "30022"}
        ]}}});
        assert_eq!(node_port(&ports), Some(30022));
        let by_port = json!({"status": {"network": {"a": {"targetPort": 22, "nodePort": 31000}}}});
        assert_eq!(node_port(&by_port), Some(31000));
        assert_eq!(
            node_port(&json!({"status": {"network": {"x": {"sshNodePort": 32000}}}})),
            Some(32000)
        );
        assert_eq!(
            node_port(
                &json!({"status": {"network": {"ports": [{"name": "http", "nodePort": 30080}]}}})
            ),
            None
        );
        assert_eq!(
            node_port(&json!({"status": {"network": {"nodePort": 70000}}})),
            None
        );
        assert_eq!(node_port(&json!({"status": {}})), None);
    }
}
