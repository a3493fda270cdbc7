//! The Devbox manifest Crabbox creates, its identity labels and scope
//! annotations, and the in-scope test applied to everything read back.

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::cluster::API_VERSION;
use super::config::{Route, SealosSettings};

pub const MANAGED_BY: &str = "app.kubernetes.io/managed-by";
pub const PROVIDER_LABEL: &str = "crabbox.dev/provider";
pub const LEASE_LABEL: &str = "crabbox.dev/lease-id";
pub const SLUG_LABEL: &str = "crabbox.dev/slug";
pub const POND_LABEL: &str = "crabbox.dev/pond";
pub const SCOPE_LABEL: &str = "crabbox.dev/provider-scope";
pub const SCOPE_ANNOTATION: &str = "crabbox.dev/provider-scope";
pub const SCOPE_ID_ANNOTATION: &str = "crabbox.dev/provider_scope_id";
pub const LEGACY_SCOPE_ANNOTATION: &str = "crabbox.dev/provider_scope";

/// What a new devbox is made from.
pub struct NewDevbox<'a> {
    pub lease_id: &'a str,
    pub slug: &'a str,
    pub scope_id: &'a str,
    pub labels: &'a [(String, String)],
}

/// `crabbox-<slug>-<8 hex>`, the hex derived from lease and scope.
pub fn devbox_name(slug: &str, lease_id: &str, scope_id: &str) -> String {
    let digest = Sha256::digest(format!("{lease_id}|{scope_id}").as_bytes());
    let hex: String = digest
        .iter()
        .take(4)
        .map(|byte| format!("{byte:02x}"))
        .collect();
    format!("crabbox-{slug}-{hex}")
}

/// The full manifest. The raw scope and the route hosts are never written.
pub fn build(settings: &SealosSettings, route: &Route, image: &str, new: &NewDevbox<'_>) -> Value {
    let name = devbox_name(new.slug, new.lease_id, new.scope_id);
    let mut annotations = serde_json::Map::new();
    for (key, value) in new.labels {
        annotations.insert(format!("crabbox.dev/{key}"), json!(value));
    }
    annotations.insert(
        "crabbox.dev/devbox_namespace".into(),
        json!(settings.namespace),
    );
    annotations.insert("crabbox.dev/devbox_name".into(), json!(name));
    annotations.insert("crabbox.dev/network".into(), json!(route.network()));
    annotations.insert(SCOPE_ANNOTATION.into(), json!(new.scope_id));
    annotations.insert(SCOPE_ID_ANNOTATION.into(), json!(new.scope_id));
    let scheduling_key = "devbox.sealos.io/node";
    let mut labels = json!({
        MANAGED_BY: "crabbox",
        PROVIDER_LABEL: "sealos-devbox",
        LEASE_LABEL: new.lease_id,
        SLUG_LABEL: new.slug,
        SCOPE_LABEL: &new.scope_id[..63],
    });
    // A normalized pond name is a valid label value: ponds are label-selectable.
    if let Some((_, pond)) = new.labels.iter().find(|(key, _)| key == "pond") {
        labels[POND_LABEL] = json!(pond);
    }
    json!({
        "apiVersion": API_VERSION,
        "kind": "Devbox",
        "metadata": {
            "name": name,
            "namespace": settings.namespace,
            "labels": labels,
            "annotations": annotations,
        },
        "spec": {
            "state": "Running",
            "resource": {"cpu": settings.cpu, "memory": settings.memory, "ephemeral-storage": settings.storage_limit},
            "image": image,
            "templateID": settings.template_id.clone().unwrap_or_default(),
            "mergeBaseImageTopLayer": true,
            "config": {
                "user": settings.ssh_user,
                "workingDir": settings.work_root,
                "ports": [{"name": "devbox-ssh-port", "containerPort": 22, "protocol": "TCP"}],
            },
            "runtimeClassName": "devbox-runtime",
            "storageLimit": settings.storage_limit,
            "network": {"type": route.network()},
            "tolerations": [{"key": scheduling_key, "operator": "Exists", "effect": "NoSchedule"}],
            "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
                {"matchExpressions": [{"key": scheduling_key, "operator": "Exists"}]}
            ]}}},
        },
    })
}

pub fn label<'a>(devbox: &'a Value, key: &str) -> &'a str {
    devbox["metadata"]["labels"][key].as_str().unwrap_or("")
}

pub fn annotation<'a>(devbox: &'a Value, key: &str) -> &'a str {
    devbox["metadata"]["annotations"][key]
        .as_str()
        .unwrap_or("")
}

pub fn name(devbox: &Value) -> &str {
    devbox["metadata"]["name"].as_str().unwrap_or("")
}

/// Managed by Crabbox, provider `sealos-devbox` (blank tolerated outside cleanup)
/// and one scope marker matching this scope.
pub fn in_scope(devbox: &Value, scope_id: &str, raw_scope: &str, cleanup: bool) -> bool {
    if label(devbox, MANAGED_BY) != "crabbox" {
        return false;
    }
    match label(devbox, PROVIDER_LABEL) {
        "sealos-devbox" => {}
        "" if !cleanup => {}
        _ => return false,
    }
    annotation(devbox, SCOPE_ANNOTATION) == scope_id
        || annotation(devbox, SCOPE_ID_ANNOTATION) == scope_id
        || label(devbox, SCOPE_LABEL) == &scope_id[..63]
        || annotation(devbox, LEGACY_SCOPE_ANNOTATION) == raw_scope
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> SealosSettings {
        SealosSettings {
            context: Some("ctx".into()),
            network: "NodePort".into(),
            node_host: Some("node.example".into()),
            ..SealosSettings::default()
        }
    }

    #[test]
    fn manifest_carries_identity_but_never_the_raw_scope_or_hosts() {
        let route = settings().validate().unwrap();
        let raw = settings().raw_scope(&route);
        let scope = super::super::config::scope_id(&raw);
        let labels = vec![("ttl".to_string(), "5400".to_string())];
        let new = NewDevbox {
            lease_id: "cbx_0123456789ab",
            slug: "swift-crab",
            scope_id: &scope,
            labels: &labels,
        };
        let manifest = build(&settings(), &route, "ghcr.io/img:1", &new);
        let text = manifest.to_string();
        assert!(
            !text.contains("node.example") && !text.contains(&raw),
            "{text}"
        );
        assert!(
            name(&manifest).starts_with("crabbox-swift-crab-")
                && name(&manifest).len() == "crabbox-swift-crab-".len() + 8
        );
        assert_eq!(label(&manifest, LEASE_LABEL), "cbx_0123456789ab");
        assert_eq!(label(&manifest, SCOPE_LABEL).len(), 63);
        assert_eq!(annotation(&manifest, "crabbox.dev/ttl"), "5400");
        assert_eq!(manifest["spec"]["config"]["ports"][0]["containerPort"], 22);
        assert_eq!(manifest["spec"]["network"]["type"], "NodePort");
        assert!(in_scope(&manifest, &scope, &raw, true));
        let other = super::super::config::scope_id("other");
        assert!(!in_scope(&manifest, &other, "other", false));
        let mut legacy = manifest.clone();
        legacy["metadata"]["annotations"] = json!({LEGACY_SCOPE_ANNOTATION: raw});
        legacy["metadata"]["labels"][SCOPE_LABEL] = json!("");
        legacy["metadata"]["labels"][PROVIDER_LABEL] = json!("");
        assert!(
            in_scope(&legacy, &scope, &raw, false),
            "legacy raw scope accepted"
        );
        assert!(
            !in_scope(&legacy, &scope, &raw, true),
            "blank provider refused during cleanup"
        );
    }
}
