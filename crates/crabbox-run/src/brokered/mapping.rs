//! Translating between the coordinator's wire records and the provider-neutral
//! lease, and coordinator failures into provider errors.

use crabbox_client::{ClientError, ErrorClass};
use crabbox_proto::{wire, Timestamp};
use crabbox_providers::{Lease, LeaseState, ProviderError};

/// `provisioning` → leased, `active` → ready, `released` → released,
/// `expired`/`failed` → expired.
pub fn state_from_wire(state: wire::LeaseStatus) -> LeaseState {
    match state {
        wire::LeaseStatus::Provisioning => LeaseState::Leased,
        wire::LeaseStatus::Active => LeaseState::Ready,
        wire::LeaseStatus::Released => LeaseState::Released,
        wire::LeaseStatus::Expired | wire::LeaseStatus::Failed => LeaseState::Expired,
    }
}

fn seconds(timestamp: Timestamp) -> i64 {
    timestamp.millis().div_euclid(1000)
}

/// Refuses a coordinator answer whose identity or connection values could be
/// used as a path, an ssh option or a shell word: they are data, checked here
/// before anything builds a directory or a command line from them.
fn check_wire_lease(record: &wire::LeaseRecord) -> Result<(), String> {
    use crabbox_core::remote;
    if crabbox_core::LeaseId::parse(&record.id).is_none() {
        return Err(format!(
            "lease id {:?} is not cbx_ followed by 12 lowercase hex digits",
            record.id
        ));
    }
    if !record.slug.is_empty() && !remote::is_safe_slug(&record.slug) {
        return Err(format!("slug {:?} is not a valid slug", record.slug));
    }
    if !record.host.is_empty() && !remote::is_safe_host(&record.host) {
        return Err(format!(
            "host {:?} is not a hostname or address",
            record.host
        ));
    }
    if !record.ssh_user.is_empty() && !remote::is_safe_user(&record.ssh_user) {
        return Err(format!(
            "ssh user {:?} is not a login name",
            record.ssh_user
        ));
    }
    let port_ok = |port: &str| port.trim().parse::<u16>().is_ok_and(|port| port > 0);
    if !record.ssh_port.trim().is_empty() && !port_ok(&record.ssh_port) {
        return Err(format!("ssh port {:?} is not 1-65535", record.ssh_port));
    }
    if !record.work_root.is_empty() && !remote::is_safe_remote_dir(&record.work_root) {
        return Err(format!(
            "work root {:?} is not an absolute directory",
            record.work_root
        ));
    }
    Ok(())
}

/// The provider-neutral view of a coordinator lease, after checking its values.
/// The coordinator's host key becomes the pinned host key.
pub fn lease_from_wire(record: &wire::LeaseRecord) -> Result<Lease, ProviderError> {
    check_wire_lease(record).map_err(|problem| ProviderError::Failed {
        message: format!("refusing the coordinator's lease record: {problem}"),
    })?;
    Ok(unchecked_lease(record))
}

fn unchecked_lease(record: &wire::LeaseRecord) -> Lease {
    // The provider's id: its text form (`cloudID`), else the numeric serverID.
    let server_id = if !record.cloud_id.is_empty() {
        record.cloud_id.clone()
    } else if record.server_id != 0 {
        record.server_id.to_string()
    } else {
        String::new()
    };
    Lease {
        id: record.id.clone(),
        slug: record.slug.clone(),
        provider: record.provider.clone(),
        state: state_from_wire(record.state),
        server_id,
        name: record.server_name.clone(),
        server_type: record.server_type.clone(),
        host: record.host.clone(),
        user: record.ssh_user.clone(),
        port: record.ssh_port.trim().parse().unwrap_or(22),
        fallback_ports: record
            .ssh_fallback_ports
            .iter()
            .filter_map(|port| port.trim().parse().ok())
            .collect(),
        work_root: record.work_root.clone(),
        host_key: Some(record.ssh_host_key.trim().to_string()).filter(|key| !key.is_empty()),
        ssh_key: None,
        created_at: seconds(record.created_at),
        last_touched_at: seconds(record.last_touched_at),
        idle_timeout_secs: record.idle_timeout_seconds,
        ttl_secs: record.ttl_seconds,
        keep: record.keep,
        pond: record.pond.clone(),
        labels: pond_labels(record),
    }
}

/// The record's labels plus `pond` and `crabbox_exposed_ports` synthesized from its
/// fields, as provider labels carry them.
fn pond_labels(record: &wire::LeaseRecord) -> std::collections::BTreeMap<String, String> {
    let mut labels = record.labels.clone();
    if !record.pond.is_empty() {
        labels.insert(crabbox_pond::POND_LABEL.into(), record.pond.clone());
    }
    if !record.exposed_ports.is_empty() {
        labels.insert(
            crabbox_pond::EXPOSED_PORTS_LABEL.into(),
            crabbox_pond::encode_ports_label(&record.exposed_ports),
        );
    }
    labels
}

/// The error for a lease the coordinator reports ended: proof that it is gone.
pub fn ended(record: &wire::LeaseRecord) -> ProviderError {
    match record.state {
        wire::LeaseStatus::Expired => ProviderError::Expired {
            lease: record.id.clone(),
        },
        state => ProviderError::NotFound {
            lease: record.id.clone(),
            provider: record.provider.clone(),
            hint: Some(format!(
                "the coordinator reports it {}; start a new lease with `crabbox warmup`",
                state.as_str()
            )),
        },
    }
}

/// Carries the coordinator's failure inside a provider error so the CLI can map
/// it to the exact exit code (see `error.rs`). A 409 saying the lease ended
/// becomes `Expired`.
pub fn provider_error(error: ClientError, lease_id: &str) -> ProviderError {
    if error.class() == ErrorClass::Conflict
        && matches!(error.code(), Some("lease_expired" | "lease_ended"))
    {
        return ProviderError::Expired {
            lease: lease_id.to_string(),
        };
    }
    let context = if lease_id.is_empty() {
        "coordinator".to_string()
    } else {
        format!("lease {lease_id}")
    };
    ProviderError::io(context, std::io::Error::other(error))
}

/// The coordinator failure inside a provider error made by `provider_error`.
pub fn client_error(error: &ProviderError) -> Option<&ClientError> {
    match error {
        ProviderError::Io { source, .. } => source.get_ref()?.downcast_ref::<ClientError>(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_leases_map_to_provider_leases() {
        let record = wire::LeaseRecord {
            id: "cbx_0123456789ab".into(),
            slug: "swift-crab".into(),
            provider: "local".into(),
            state: wire::LeaseStatus::Active,
            cloud_id: "4242".into(),
            host: "127.0.0.1".into(),
            ssh_user: "crab".into(),
            ssh_port: "2200".into(),
            ssh_fallback_ports: vec!["22".into(), "bad".into()],
            ssh_host_key: "ssh-ed25519 AAAA".into(),
            ttl_seconds: 5400,
            idle_timeout_seconds: 1800,
            created_at: Timestamp(1_000_000),
            last_touched_at: Timestamp(1_500_999),
            ..wire::LeaseRecord::default()
        };
        let lease = lease_from_wire(&record).unwrap();
        assert_eq!(lease.state, LeaseState::Ready);
        assert_eq!(lease.server_id, "4242");
        assert_eq!((lease.port, lease.fallback_ports.clone()), (2200, vec![22]));
        assert_eq!(lease.host_key.as_deref(), Some("ssh-ed25519 AAAA"));
        assert_eq!((lease.created_at, lease.last_touched_at), (1000, 1500));
        assert_eq!(lease.expires_at(), 1500 + 1800);
        for (state, expected) in [
            (wire::LeaseStatus::Provisioning, LeaseState::Leased),
            (wire::LeaseStatus::Released, LeaseState::Released),
            (wire::LeaseStatus::Expired, LeaseState::Expired),
            (wire::LeaseStatus::Failed, LeaseState::Expired),
        ] {
            assert_eq!(state_from_wire(state), expected);
        }
    }

    #[test]
    fn hostile_records_are_refused() {
        let good = wire::LeaseRecord {
            id: "cbx_0123456789ab".into(),
            slug: "swift-crab".into(),
            host: "10.0.0.5".into(),
            ssh_user: "crab".into(),
            ssh_port: "22".into(),
            work_root: "/work/crabbox".into(),
            ..wire::LeaseRecord::default()
        };
        assert!(lease_from_wire(&good).is_ok());
        type Spoil = fn(&mut wire::LeaseRecord);
        let cases: [(&str, Spoil); 6] = [
            ("lease id", |r| r.id = "../../x".into()),
            ("slug", |r| r.slug = "../evil".into()),
            ("host", |r| r.host = "-oProxyCommand=sh".into()),
            ("ssh user", |r| r.ssh_user = "root -x".into()),
            ("ssh port", |r| r.ssh_port = "70000".into()),
            ("work root", |r| r.work_root = "/work/../../home".into()),
        ];
        for (field, spoil) in cases {
            let mut record = good.clone();
            spoil(&mut record);
            let error = lease_from_wire(&record).unwrap_err().to_string();
            assert!(error.contains(field), "{field}: {error}");
        }
    }

    #[test]
    fn coordinator_failures_survive_the_provider_error() {
        let error = ClientError::Api {
            status: 429,
            code: "cost_limit_exceeded".into(),
            message: "active lease limit exceeded: 2/1".into(),
        };
        let wrapped = provider_error(error, "cbx_0123456789ab");
        assert_eq!(client_error(&wrapped).unwrap().class(), ErrorClass::Limit);
        assert!(wrapped.to_string().contains("2/1"), "{wrapped}");
        assert_eq!(crate::error::CliError::from(wrapped).code(), 3);
        let ended = ClientError::Api {
            status: 409,
            code: "lease_expired".into(),
            message: String::new(),
        };
        assert!(matches!(
            provider_error(ended, "cbx_0123456789ab"),
            ProviderError::Expired { .. }
        ));
    }
}
