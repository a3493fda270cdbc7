//! `PUT /v1/leases/{id}/registration`: a machine provisioned outside the
//! coordinator, recorded for visibility. Validation, defaults and the fields kept
//! follow the Node coordinator so a Go CLI's registration reads back the same.

use axum::http::StatusCode;
use crabbox_proto::wire::{LeaseRecord, LeaseStatus, RegistrationRequest};
use crabbox_store::{StoredLease, Update};

use crate::auth::Principal;
use crate::error::{updated, ApiError, ApiResult};
use crate::state::Coordinator;

/// Registered leases live at most a day without a heartbeat, by default too.
const REGISTERED_LIFETIME_SECS: i64 = 86_400;
const MAX_TEXT: usize = 256;
const MAX_PORTS: usize = 10;

/// Trimmed and bounded, as the Node side keeps registration text.
fn text(value: &str) -> String {
    value.trim().chars().take(MAX_TEXT).collect()
}

fn or_default(value: &str, default: &str) -> String {
    let value = text(value);
    if value.is_empty() {
        default.to_string()
    } else {
        value
    }
}

/// `[a-z0-9][a-z0-9-]{1,63}` after lowercasing; `None` otherwise.
pub fn provider_name(value: &str) -> Option<String> {
    let provider = text(value).to_lowercase();
    let bytes = provider.as_bytes();
    let valid = (2..=64).contains(&bytes.len())
        && bytes[0].is_ascii_alphanumeric()
        && bytes
            .iter()
            .all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || *byte == b'-');
    valid.then_some(provider)
}

/// A host name or address of `[A-Za-z0-9._:[]%-]`, at most 255 bytes.
fn host(value: &str) -> Option<String> {
    let host = text(value);
    let valid = !host.is_empty()
        && host.len() <= 255
        && host
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || b"._:[]%-".contains(&byte));
    valid.then_some(host)
}

/// A port 1-65535 as text; anything else is dropped.
fn port(value: &serde_json::Value) -> Option<String> {
    let raw = match value {
        serde_json::Value::String(text) => text.trim().to_string(),
        serde_json::Value::Number(number) => number.to_string(),
        _ => return None,
    };
    let number: u32 = raw.parse().ok()?;
    (1..=65_535).contains(&number).then(|| number.to_string())
}

/// Valid ports, first occurrence kept, at most ten.
fn ports(values: &[serde_json::Value]) -> Vec<String> {
    let mut kept: Vec<String> = Vec::new();
    for candidate in values.iter().filter_map(port) {
        if !kept.contains(&candidate) {
            kept.push(candidate);
        }
    }
    kept.truncate(MAX_PORTS);
    kept
}

fn lifetime(requested: i64) -> i64 {
    if requested <= 0 {
        REGISTERED_LIFETIME_SECS
    } else {
        requested.min(REGISTERED_LIFETIME_SECS)
    }
}

/// What the request makes of a registered lease (new or refreshed).
struct Registered {
    provider: String,
    target: String,
    host: String,
}

fn validate(request: &RegistrationRequest) -> ApiResult<Registered> {
    let provider = provider_name(&request.provider)
        .ok_or_else(|| ApiError::bad_request("invalid_provider", "provider must be [a-z0-9-]"))?;
    let target = match request.target.as_str() {
        "linux" | "macos" | "windows" => request.target.clone(),
        _ => {
            return Err(ApiError::bad_request(
                "invalid_target",
                "target must be linux, macos, or windows",
            ))
        }
    };
    let host = host(&request.host).ok_or_else(|| {
        ApiError::bad_request("host_required", "host must be a hostname or address")
    })?;
    Ok(Registered {
        provider,
        target,
        host,
    })
}

fn apply(lease: &mut LeaseRecord, request: &RegistrationRequest, valid: &Registered) {
    let now = lease.updated_at;
    lease.target = valid.target.clone();
    lease.windows_mode = if valid.target == "windows" {
        if request.windows_mode == "wsl2" {
            "wsl2"
        } else {
            "normal"
        }
        .into()
    } else {
        String::new()
    };
    lease.desktop = request.desktop;
    lease.desktop_env = text(&request.desktop_env);
    lease.browser = request.browser;
    lease.code = request.code;
    lease.cloud_id = text(&request.cloud_id);
    lease.profile = or_default(&request.profile, "default");
    lease.class = or_default(&request.class, "registered");
    lease.server_type = or_default(&request.server_type, "registered");
    lease.server_id = request.server_id.max(0);
    lease.server_name = or_default(&request.server_name, &lease.slug);
    lease.provider_key = String::new();
    lease.host = valid.host.clone();
    lease.ssh_user = or_default(&request.ssh_user, "crabbox");
    lease.ssh_port =
        port(&serde_json::Value::String(request.ssh_port.clone())).unwrap_or_else(|| "22".into());
    lease.ssh_fallback_ports = ports(&request.ssh_fallback_ports);
    lease.work_root = or_default(&request.work_root, "/workspaces/crabbox");
    lease.pond = text(&request.pond);
    lease.exposed_ports = ports(&request.exposed_ports)
        .iter()
        .filter_map(|port| port.parse().ok())
        .collect();
    lease.keep = true;
    lease.ttl_seconds = lifetime(request.ttl_seconds);
    lease.idle_timeout_seconds = lifetime(request.idle_timeout_seconds);
    lease.estimated_hourly_usd = 0.0;
    lease.max_estimated_usd = 0.0;
    lease.state = LeaseStatus::Active;
    lease.last_touched_at = now;
    lease.ended_at = None;
    lease.released_at = None;
    lease.release_deletes_server = false;
    lease.registered_at.get_or_insert(now);
    lease.expires_at = lease.compute_expires_at();
}

/// Records (or refreshes) a registration. A refresh must come from the same
/// owner and org exactly — an admin acting as someone else is another identity
/// here (409 `lease_id_conflict`), as on the Node side — and cannot change the
/// provider (409 `provider_conflict`).
pub async fn register(
    coordinator: &Coordinator,
    principal: &Principal,
    lease_id: &str,
    request: &RegistrationRequest,
) -> ApiResult<(StatusCode, LeaseRecord)> {
    if crabbox_core::LeaseId::parse(lease_id).is_none() && !valid_external_id(lease_id) {
        return Err(ApiError::bad_request(
            "invalid_lease_id",
            "registered ids are cbx_ ids or 3-128 characters of [A-Za-z0-9_.:-]",
        ));
    }
    let valid = validate(request)?;
    let now = coordinator.now();
    let refreshed = coordinator
        .store()
        .update_lease(lease_id, |record| {
            let lease = &mut record.lease;
            if lease.owner != principal.owner
                || lease.org != principal.org
                || lease.lifecycle != "registered"
            {
                return Err(ApiError::conflict(
                    "lease_id_conflict",
                    "lease id belongs to another lifecycle or owner",
                ));
            }
            if lease.provider != valid.provider {
                return Err(ApiError::conflict(
                    "provider_conflict",
                    "registered lease provider cannot change",
                ));
            }
            lease.updated_at = now;
            apply(lease, request, &valid);
            Ok(lease.clone())
        })
        .await;
    match refreshed {
        Ok(lease) => return Ok((StatusCode::OK, lease)),
        Err(Update::NotFound) => {}
        other => return updated(other, "lease").map(|lease| (StatusCode::OK, lease)),
    }
    let requested_slug = crabbox_core::normalize_slug(&request.slug);
    let lease = LeaseRecord {
        id: lease_id.to_string(),
        provider: valid.provider.clone(),
        lifecycle: "registered".into(),
        owner: principal.owner.clone(),
        org: principal.org.clone(),
        created_at: now,
        updated_at: now,
        ..LeaseRecord::default()
    };
    let mut lease = lease;
    apply(&mut lease, request, &valid);
    let record = StoredLease {
        lease,
        ..StoredLease::default()
    };
    match coordinator
        .store()
        .reserve_lease(record, now, now, |admission, record| {
            // A registration never takes a slug a live lease of any owner holds.
            let requested = (!requested_slug.is_empty()).then_some(requested_slug.as_str());
            record.lease.slug = crabbox_core::allocate_slug(&record.lease.id, requested, |slug| {
                admission.taken_slugs.contains(slug)
            })
            .map_err(|error| ApiError::conflict("slug_unavailable", error.to_string()))?;
            if text(&request.server_name).is_empty() {
                record.lease.server_name = record.lease.slug.clone();
            }
            Ok(())
        })
        .await
    {
        Ok(record) => Ok((StatusCode::CREATED, record.lease)),
        Err(crabbox_store::Reserve::Conflict(_)) => Err(ApiError::conflict(
            "lease_id_conflict",
            "the lease was registered concurrently; retry",
        )),
        Err(crabbox_store::Reserve::Rejected(error)) => Err(error),
        Err(crabbox_store::Reserve::Store(error)) => Err(error.into()),
    }
}

fn valid_external_id(id: &str) -> bool {
    let bytes = id.as_bytes();
    (3..=128).contains(&bytes.len())
        && bytes[0].is_ascii_alphanumeric()
        && bytes
            .iter()
            .all(|byte| byte.is_ascii_alphanumeric() || b"_.:-".contains(byte))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn providers_hosts_and_ports_follow_the_node_rules() {
        assert_eq!(provider_name(" Hetzner ").as_deref(), Some("hetzner"));
        for bad in ["", "x", "-x", "bad provider", "a_b"] {
            assert_eq!(provider_name(bad), None, "{bad:?}");
        }
        assert_eq!(host("10.0.0.5").as_deref(), Some("10.0.0.5"));
        assert_eq!(host("[fe80::1%eth0]").as_deref(), Some("[fe80::1%eth0]"));
        for bad in ["", "bad host;rm", "a b", "$(id)"] {
            assert_eq!(host(bad), None, "{bad:?}");
        }
        let sent = [
            json!("22"),
            json!(2222),
            json!("70000"),
            json!("x"),
            json!("22"),
            json!(0),
        ];
        assert_eq!(ports(&sent), vec!["22", "2222"]);
        assert_eq!(lifetime(0), 86_400);
        assert_eq!(lifetime(90_000), 86_400);
        assert_eq!(lifetime(600), 600);
    }
}
