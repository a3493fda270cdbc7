//! Devbox ↔ lease: the annotations a lease's bookkeeping lives in, and the
//! provider-neutral lease view of a devbox.

use std::collections::BTreeMap;

use serde_json::Value;

use super::config::{Route, SealosSettings};
use super::manifest::{annotation, label, name, LEASE_LABEL, SLUG_LABEL};
use super::status::{node_port, state, DevboxState};
use crate::{AcquireRequest, Lease, LeaseState};

pub const PROVIDER: &str = "sealos-devbox";

const ANNOTATION_PREFIX: &str = "crabbox.dev/";

/// Scope annotations (some legacy), never copied into lease labels.
const SCOPE_KEYS: [&str; 7] = [
    "provider-scope",
    "provider_scope_id",
    "provider_scope",
    "gateway_host",
    "gateway_port",
    "node_host",
    "devbox_namespace",
];

/// The `--expose` label: ports joined with `-` (what pond code decodes).
const EXPOSED_PORTS_KEY: &str = "crabbox_exposed_ports";

fn encode_ports(ports: &[u16]) -> String {
    ports
        .iter()
        .map(u16::to_string)
        .collect::<Vec<_>>()
        .join("-")
}

/// The `crabbox.dev/<key>` annotations written for a new lease.
pub fn request_annotations(request: &AcquireRequest, now: i64) -> Vec<(String, String)> {
    let mut pairs = vec![
        ("created_at", now.to_string()),
        ("last_touched_at", now.to_string()),
        ("ttl_secs", request.ttl_secs.to_string()),
        ("idle_timeout_secs", request.idle_timeout_secs.to_string()),
        ("keep", request.keep.to_string()),
        ("class", request.class.clone()),
        ("profile", request.profile.clone()),
        ("state", "leased".to_string()),
    ];
    if !request.pond.is_empty() {
        pairs.push(("pond", request.pond.clone()));
    }
    if !request.exposed_ports.is_empty() {
        pairs.push((EXPOSED_PORTS_KEY, encode_ports(&request.exposed_ports)));
    }
    pairs
        .into_iter()
        .map(|(key, value)| (key.to_string(), value))
        .collect()
}

fn number(devbox: &Value, key: &str, fallback: i64) -> i64 {
    annotation(devbox, &format!("crabbox.dev/{key}"))
        .parse()
        .unwrap_or(fallback)
}

/// `<namespace>/<name>`.
pub fn cloud_id(devbox: &Value) -> String {
    format!(
        "{}/{}",
        devbox["metadata"]["namespace"].as_str().unwrap_or(""),
        name(devbox)
    )
}

pub fn to_lease(devbox: &Value, settings: &SealosSettings, route: &Route) -> Lease {
    let (host, port) = match route {
        Route::Gateway { host, port } => (host.clone(), *port),
        Route::Node { host } => (host.clone(), node_port(devbox).unwrap_or(0)),
    };
    let lease_state = match state(devbox) {
        DevboxState::Running => LeaseState::Ready,
        DevboxState::Pending => LeaseState::Leased,
        DevboxState::Paused | DevboxState::Stopped => LeaseState::Paused,
        _ => LeaseState::Released,
    };
    let created = number(devbox, "created_at", 0);
    // The lease bookkeeping annotations double as the lease's labels (pond,
    // exposed ports, state, …), as direct providers' labels do; scope markers stay out.
    let mut labels: BTreeMap<String, String> = devbox["metadata"]["annotations"]
        .as_object()
        .into_iter()
        .flatten()
        .filter_map(|(key, value)| {
            let key = key.strip_prefix(ANNOTATION_PREFIX)?;
            let value = value.as_str()?;
            (!SCOPE_KEYS.contains(&key)).then(|| (key.to_string(), value.to_string()))
        })
        .collect();
    labels.insert("crabbox".to_string(), "true".to_string());
    labels.insert("provider".to_string(), PROVIDER.to_string());
    labels.insert("lease".to_string(), label(devbox, LEASE_LABEL).to_string());
    labels.insert("slug".to_string(), label(devbox, SLUG_LABEL).to_string());
    labels.insert(
        "devbox_state".to_string(),
        state(devbox).as_str().to_string(),
    );
    Lease {
        id: label(devbox, LEASE_LABEL).to_string(),
        slug: label(devbox, SLUG_LABEL).to_string(),
        provider: PROVIDER.into(),
        state: lease_state,
        server_id: cloud_id(devbox),
        name: name(devbox).to_string(),
        server_type: "devbox".into(),
        host,
        user: settings.ssh_user.clone(),
        port,
        fallback_ports: Vec::new(),
        work_root: settings.work_root.clone(),
        host_key: None,
        ssh_key: None,
        created_at: created,
        last_touched_at: number(devbox, "last_touched_at", created),
        idle_timeout_secs: number(devbox, "idle_timeout_secs", 30 * 60),
        ttl_secs: number(devbox, "ttl_secs", 90 * 60),
        keep: annotation(devbox, "crabbox.dev/keep") == "true",
        pond: annotation(devbox, "crabbox.dev/pond").to_string(),
        labels,
    }
}
