//! Golden lease bodies of the Go CLI and the Node coordinator (written from
//! their types and behaviour, under `tests/golden/leases/`): each decodes
//! strictly into our wire types, and what we encode has the JSON type of every
//! field the Go structs declare.

use std::path::PathBuf;

use crabbox_proto::wire::{
    from_json_slice, go_types, CancelCreateRequest, CreateLeaseRequest, HeartbeatRequest,
    LeaseEnvelope, LeaseStatus, RegistrationRequest, ReleaseRequest, Whoami,
};
use serde_json::Value;

fn golden(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden/leases")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

fn json(name: &str) -> Value {
    serde_json::from_slice(&golden(name)).unwrap()
}

fn assert_go_types(body: &Value, table: &[(&str, go_types::JsonType)], what: &str) {
    let wrong = go_types::mismatches(body, table);
    assert!(wrong.is_empty(), "{what}: {wrong:?}");
}

#[test]
fn node_leases_decode_and_reencode_in_go_types() {
    for name in ["node-lease-managed.json", "node-lease-registered.json"] {
        // The golden itself is what the Go CLI would decode.
        assert_go_types(&json(name)["lease"], go_types::LEASE, name);
        let envelope: LeaseEnvelope = from_json_slice(&golden(name)).unwrap();
        let ours = serde_json::to_value(&envelope).unwrap();
        assert_go_types(&ours["lease"], go_types::LEASE, name);
        // Every field both sides know survives the round trip with its value.
        let theirs = json(name);
        for (field, _) in go_types::LEASE {
            if let (Some(sent), Some(kept)) =
                (theirs["lease"].get(*field), ours["lease"].get(*field))
            {
                if matches!(
                    *field,
                    "createdAt" | "updatedAt" | "lastTouchedAt" | "expiresAt"
                ) {
                    continue; // millisecond formatting may differ; the instant is checked below
                }
                assert_eq!(sent, kept, "{name}: {field}");
            }
        }
    }
    let managed: LeaseEnvelope = from_json_slice(&golden("node-lease-managed.json")).unwrap();
    let lease = managed.lease;
    assert_eq!(lease.server_id, 58_316_224);
    assert_eq!(lease.exposed_ports, vec![5432, 8080]);
    assert_eq!(lease.state, LeaseStatus::Active);
    assert_eq!(lease.provider_key, "crabbox-cbx-0123456789ab");
    assert_eq!(
        crabbox_proto::time::format_rfc3339(lease.expires_at.millis().div_euclid(1000)),
        "2026-12-04T10:35:00Z"
    );
    let registered: LeaseEnvelope = from_json_slice(&golden("node-lease-registered.json")).unwrap();
    assert_eq!(registered.lease.server_id, 0);
    assert!(registered.lease.registered_at.is_some());
    assert!(registered.lease.desktop);
    assert_eq!(registered.lease.windows_mode, "wsl2");
}

#[test]
fn go_request_bodies_decode() {
    let create: CreateLeaseRequest = from_json_slice(&golden("go-create-request.json")).unwrap();
    assert_eq!(create.lease_id, "cbx_00000000b0b1");
    assert_eq!(create.exposed_ports, vec![5432]);
    assert_eq!(create.ssh_fallback_ports, vec!["22"]);
    assert_eq!(create.ttl_seconds, 5400);
    // Our CLI's create encodes ports as the Go CLI does: strings.
    let ours = serde_json::to_value(&create).unwrap();
    assert_eq!(ours["exposedPorts"], serde_json::json!(["5432"]));
    assert_eq!(ours["sshPort"], "2222");

    let registration: RegistrationRequest =
        from_json_slice(&golden("go-registration-request.json")).unwrap();
    assert_eq!(registration.server_id, 4242);
    assert_eq!(registration.class, "fast");
    let ours = serde_json::to_value(&registration).unwrap();
    assert_go_types(&ours, go_types::REGISTRATION, "registration");

    let heartbeat: HeartbeatRequest = from_json_slice(&golden("heartbeat-request.json")).unwrap();
    assert_eq!(heartbeat.expected_provider.as_deref(), Some("hetzner"));
    assert_go_types(
        &serde_json::to_value(&heartbeat).unwrap(),
        go_types::HEARTBEAT,
        "heartbeat",
    );
}

#[test]
fn the_424_body_names_the_provider_and_what_it_lacks() {
    let body = json("provider-not-configured.json");
    assert_eq!(body["error"], "provider_not_configured");
    assert!(body["provider"].is_string());
    assert!(body["missing"]
        .as_array()
        .unwrap()
        .iter()
        .all(Value::is_string));
}

#[test]
fn wrong_json_types_name_their_field() {
    let error = from_json_slice::<LeaseEnvelope>(br#"{"lease":{"serverID":"abc"}}"#).unwrap_err();
    assert_eq!(error.path, "lease.serverID");
    let error =
        from_json_slice::<CreateLeaseRequest>(br#"{"exposedPorts":["8080","http"]}"#).unwrap_err();
    assert_eq!(error.path, "exposedPorts");
}

#[test]
fn release_cancel_create_and_whoami_bodies() {
    let release: ReleaseRequest = from_json_slice(&golden("go-release-request.json")).unwrap();
    assert_eq!(release.delete, Some(true));
    assert_eq!(release.expected_provider.as_deref(), Some("hetzner"));
    assert_eq!(
        serde_json::to_value(&release).unwrap(),
        json("go-release-request.json")
    );
    let cancel: CancelCreateRequest =
        from_json_slice(&golden("go-cancel-create-request.json")).unwrap();
    assert_eq!(
        cancel.create_attempt_id,
        "cat_0123456789abcdef0123456789abcdef"
    );
    assert_eq!(
        serde_json::to_value(&cancel).unwrap(),
        json("go-cancel-create-request.json")
    );
    let whoami: Whoami = from_json_slice(&golden("node-whoami.json")).unwrap();
    assert_eq!(
        (whoami.owner.as_str(), whoami.auth.as_str()),
        ("alice@example.com", "github")
    );
    let ours = serde_json::to_value(&whoami).unwrap();
    for field in ["owner", "org", "auth", "tokenExpiresAt"] {
        assert!(ours[field].is_string(), "{field}: {ours}");
    }
    assert!(ours["admin"].is_boolean());
}
