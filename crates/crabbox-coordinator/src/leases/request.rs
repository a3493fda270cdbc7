//! Validation and normalization of a create request into a provisioning lease
//! record: pure logic, no I/O.

use crabbox_core::{validate_requested_slug, LeaseId};
use crabbox_proto::wire::{CreateLeaseRequest, LeaseRecord, LeaseStatus};
use crabbox_proto::Timestamp;
use crabbox_store::{LeasePrivate, StoredLease};
use sha2::{Digest, Sha256};

use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};

pub const DEFAULT_TTL_SECS: i64 = 5400;
pub const DEFAULT_IDLE_SECS: i64 = 1800;
pub const MAX_LIFETIME_SECS: i64 = 86_400;
const MAX_EXPOSED_PORTS: usize = 10;
const MAX_POND_LEN: usize = 41;

/// How the lease ID was chosen.
pub enum IdSource<'a> {
    /// `POST /v1/leases`: from the body, or generated.
    Body,
    /// `PUT /v1/leases/{id}`.
    Path(&'a str),
}

fn is_attempt_token(token: &str) -> bool {
    token.strip_prefix("cat_").is_some_and(|hex| {
        hex.len() == 32
            && hex
                .bytes()
                .all(|byte| matches!(byte, b'0'..=b'9' | b'a'..=b'f'))
    })
}

/// A requested lifetime in seconds: non-positive means the default, capped at a day.
pub fn lifetime_or(requested: i64, default: i64) -> i64 {
    if requested <= 0 {
        default
    } else {
        requested.min(MAX_LIFETIME_SECS)
    }
}

/// A public key fit for one authorized_keys line: no options, no line breaks.
fn valid_public_key(key: &str) -> bool {
    let mut fields = key.split_whitespace();
    let kind_ok = fields.next().is_some_and(|kind| {
        kind.starts_with("ssh-") || kind.starts_with("ecdsa-") || kind.starts_with("sk-")
    });
    let body_ok = fields.next().is_some_and(|body| {
        !body.is_empty()
            && body
                .bytes()
                .all(|byte| byte.is_ascii_alphanumeric() || b"+/=".contains(&byte))
    });
    kind_ok && body_ok && !key.contains(['\n', '\r', '\0'])
}

fn normalize_pond(pond: &str) -> ApiResult<String> {
    let pond = pond.trim().to_lowercase();
    let valid = pond.len() <= MAX_POND_LEN
        && pond
            .bytes()
            .all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'-');
    if !valid {
        return Err(ApiError::bad_request(
            "invalid_pond",
            format!("pond must be at most {MAX_POND_LEN} characters of a-z, 0-9 and '-'"),
        ));
    }
    Ok(pond)
}

/// The idempotency fingerprint of a fixed-ID create: everything but `keep`.
pub fn intent_hash(request: &CreateLeaseRequest) -> String {
    let mut normalized = request.clone();
    normalized.keep = false;
    normalized.create_attempt_id.clear();
    let json = serde_json::to_vec(&normalized).unwrap_or_default();
    let digest = Sha256::digest(json);
    format!(
        "v1:{}",
        digest
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect::<String>()
    )
}

/// Builds the provisioning record for `request`. `provider` is the canonical
/// provider name; `needs_key` whether it installs the caller's public key.
pub fn lease_record(
    principal: &Principal,
    request: &CreateLeaseRequest,
    id_source: IdSource<'_>,
    provider: &str,
    needs_key: bool,
    now: Timestamp,
) -> ApiResult<StoredLease> {
    let token = request.create_attempt_id.trim();
    let lease_id = match id_source {
        IdSource::Path(id) => {
            if !token.is_empty() {
                return Err(ApiError::bad_request(
                    "create_attempt_not_allowed",
                    "fixed-id creates are idempotent by themselves and take no createAttemptID",
                ));
            }
            let id = LeaseId::parse(id).ok_or_else(|| {
                ApiError::bad_request(
                    "invalid_lease_id",
                    "lease id must be cbx_ followed by 12 lowercase hex digits",
                )
            })?;
            if !request.lease_id.is_empty() && request.lease_id != id.as_str() {
                return Err(ApiError::bad_request(
                    "lease_id_mismatch",
                    "leaseID in the body differs from the path",
                ));
            }
            id.as_str().to_string()
        }
        IdSource::Body => {
            if !token.is_empty() && !is_attempt_token(token) {
                return Err(ApiError::bad_request(
                    "invalid_create_attempt_id",
                    "createAttemptID must be cat_ followed by 32 lowercase hex digits",
                ));
            }
            match LeaseId::parse(&request.lease_id) {
                Some(id) => id.as_str().to_string(),
                None if !token.is_empty() => {
                    return Err(ApiError::bad_request(
                        "invalid_lease_id",
                        "a create with createAttemptID needs a valid leaseID (cbx_ + 12 hex)",
                    ))
                }
                None => LeaseId::generate().as_str().to_string(),
            }
        }
    };
    if !request.slug.is_empty() {
        validate_requested_slug(&request.slug)
            .map_err(|error| ApiError::bad_request("invalid_slug", error.to_string()))?;
    }
    let public_key = request.ssh_public_key.trim();
    if needs_key && !valid_public_key(public_key) {
        return Err(ApiError::bad_request(
            "invalid_ssh_public_key",
            "sshPublicKey must be one OpenSSH public key line (type and base64 body)",
        ));
    }
    if request.exposed_ports.len() > MAX_EXPOSED_PORTS || request.exposed_ports.contains(&0) {
        return Err(ApiError::bad_request(
            "invalid_exposed_ports",
            format!("at most {MAX_EXPOSED_PORTS} exposed ports, each 1-65535"),
        ));
    }
    let ttl = lifetime_or(request.ttl_seconds, DEFAULT_TTL_SECS);
    let idle = lifetime_or(request.idle_timeout_seconds, DEFAULT_IDLE_SECS);
    let mut lease = LeaseRecord {
        id: lease_id,
        slug: request.slug.clone(),
        provider: provider.to_string(),
        lifecycle: "managed".into(),
        owner: principal.owner.clone(),
        org: principal.org.clone(),
        state: LeaseStatus::Provisioning,
        target: non_empty(&request.target, "linux"),
        class: non_empty(&request.class, "standard"),
        server_type: request.server_type.clone(),
        profile: non_empty(&request.profile, "default"),
        pond: normalize_pond(&request.pond)?,
        exposed_ports: request.exposed_ports.clone(),
        ssh_user: request.ssh_user.clone(),
        work_root: request.work_root.clone(),
        keep: request.keep,
        ttl_seconds: ttl,
        idle_timeout_seconds: idle,
        created_at: now,
        updated_at: now,
        last_touched_at: now,
        ..LeaseRecord::default()
    };
    lease.exposed_ports.sort_unstable();
    lease.exposed_ports.dedup();
    lease.expires_at = lease.compute_expires_at();
    Ok(StoredLease {
        lease,
        private: LeasePrivate {
            create_attempt_id: token.to_string(),
            intent_hash: intent_hash(request),
            ssh_public_key: public_key.to_string(),
            ..LeasePrivate::default()
        },
    })
}

fn non_empty(value: &str, default: &str) -> String {
    let value = value.trim();
    if value.is_empty() { default } else { value }.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::AuthKind;

    const KEY: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB0 me@host";

    fn principal() -> Principal {
        Principal {
            owner: "me".into(),
            org: "acme".into(),
            admin: false,
            auth: AuthKind::Bearer,
            token_expires_at: None,
        }
    }

    fn request() -> CreateLeaseRequest {
        CreateLeaseRequest {
            ssh_public_key: KEY.into(),
            ..CreateLeaseRequest::default()
        }
    }

    #[test]
    fn defaults_and_clamps() {
        let mut body = request();
        body.ttl_seconds = 999_999;
        let record = lease_record(
            &principal(),
            &body,
            IdSource::Body,
            "local",
            true,
            Timestamp(0),
        )
        .unwrap();
        assert!(LeaseId::parse(&record.lease.id).is_some());
        assert_eq!(record.lease.ttl_seconds, MAX_LIFETIME_SECS);
        assert_eq!(record.lease.idle_timeout_seconds, DEFAULT_IDLE_SECS);
        assert_eq!(record.lease.expires_at, Timestamp(DEFAULT_IDLE_SECS * 1000));
        assert_eq!(record.lease.state, LeaseStatus::Provisioning);
        assert_eq!(record.lease.owner, "me");
    }

    #[test]
    fn rejects_bad_input_with_stable_codes() {
        let cases: Vec<(CreateLeaseRequest, &str)> = vec![
            (
                CreateLeaseRequest {
                    create_attempt_id: "cat_nothex".into(),
                    ..request()
                },
                "invalid_create_attempt_id",
            ),
            (
                CreateLeaseRequest {
                    create_attempt_id: format!("cat_{}", "a".repeat(32)),
                    lease_id: "bad".into(),
                    ..request()
                },
                "invalid_lease_id",
            ),
            (
                CreateLeaseRequest {
                    slug: "!!".into(),
                    ..request()
                },
                "invalid_slug",
            ),
            (
                CreateLeaseRequest {
                    ssh_public_key: format!("{KEY}\ncommand=\"x\" {KEY}"),
                    ..request()
                },
                "invalid_ssh_public_key",
            ),
            (
                CreateLeaseRequest {
                    ssh_public_key: String::new(),
                    ..request()
                },
                "invalid_ssh_public_key",
            ),
            (
                CreateLeaseRequest {
                    exposed_ports: vec![0],
                    ..request()
                },
                "invalid_exposed_ports",
            ),
            (
                CreateLeaseRequest {
                    pond: "No Spaces".into(),
                    ..request()
                },
                "invalid_pond",
            ),
        ];
        for (body, code) in cases {
            let error = lease_record(
                &principal(),
                &body,
                IdSource::Body,
                "local",
                true,
                Timestamp(0),
            )
            .unwrap_err();
            assert_eq!(error.code, code, "{body:?}");
        }
        let body = CreateLeaseRequest {
            lease_id: "cbx_000000000001".into(),
            ..request()
        };
        let error = lease_record(
            &principal(),
            &body,
            IdSource::Path("cbx_000000000002"),
            "local",
            true,
            Timestamp(0),
        )
        .unwrap_err();
        assert_eq!(error.code, "lease_id_mismatch");
    }

    #[test]
    fn intent_ignores_keep() {
        let mut kept = request();
        kept.keep = true;
        assert_eq!(intent_hash(&kept), intent_hash(&request()));
        kept.class = "large".into();
        assert_ne!(intent_hash(&kept), intent_hash(&request()));
    }
}
