//! Discovery documents: `/version`, `/api`, `/apis` and the per-version resource lists.

use serde_json::{json, Value};

use crate::resources::ResourceKind;

const VERBS: [&str; 8] = [
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
];

pub fn version() -> Value {
    json!({
        "major": "1", "minor": "32", "gitVersion": "v1.32.0-crabbox-sim",
        "gitCommit": "0000000000000000000000000000000000000000", "gitTreeState": "clean",
        "buildDate": "2026-01-01T00:00:00Z", "goVersion": "go1.23", "compiler": "gc", "platform": "linux/amd64"
    })
}

pub fn core_versions(server: &str) -> Value {
    json!({
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server}],
    })
}

fn group(name: &str, version: &str) -> Value {
    let group_version = format!("{name}/{version}");
    json!({
        "name": name,
        "versions": [{"groupVersion": group_version, "version": version}],
        "preferredVersion": {"groupVersion": group_version, "version": version},
    })
}

pub fn groups(devbox_version: &str) -> Value {
    json!({
        "kind": "APIGroupList",
        "apiVersion": "v1",
        "groups": [group("authorization.k8s.io", "v1"), group(crate::resources::DEVBOX_GROUP, devbox_version)],
    })
}

/// The APIResourceList for one group version, or None when nothing is served there.
pub fn resources(catalog: &[ResourceKind], group: &str, version: &str) -> Option<Value> {
    let group_version = if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    };
    let mut resources: Vec<Value> = Vec::new();
    for kind in catalog
        .iter()
        .filter(|kind| kind.group == group && kind.version == version)
    {
        let singular = kind.kind.to_lowercase();
        let short_names: &[&str] = match kind.plural {
            "namespaces" => &["ns"],
            "events" => &["ev"],
            "pods" => &["po"],
            _ => &[],
        };
        resources.push(json!({
            "name": kind.plural, "singularName": singular, "namespaced": kind.namespaced,
            "kind": kind.kind, "verbs": VERBS, "shortNames": short_names,
        }));
        if kind.is_devbox() {
            resources.push(json!({"name": "devboxes/status", "singularName": "", "namespaced": true, "kind": "Devbox", "verbs": ["get", "patch", "update"]}));
        }
    }
    if group == "authorization.k8s.io" && version == "v1" {
        resources.push(json!({"name": "selfsubjectrulesreviews", "singularName": "selfsubjectrulesreview", "namespaced": false, "kind": "SelfSubjectRulesReview", "verbs": ["create"]}));
        resources.push(json!({"name": "selfsubjectaccessreviews", "singularName": "selfsubjectaccessreview", "namespaced": false, "kind": "SelfSubjectAccessReview", "verbs": ["create"]}));
    }
    if resources.is_empty() {
        return None;
    }
    Some(
        json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version, "resources": resources}),
    )
}
