//! Just enough OpenAPI v3 for kubectl: every served type's PATCH operation
//! accepts `fieldValidation`, so kubectl validates on the server (which this
//! simulator does not do) instead of needing full schemas.

use serde_json::{json, Map, Value};

use crate::resources::ResourceKind;

fn group_version_path(kind: &ResourceKind) -> String {
    if kind.group.is_empty() {
        format!("api/{}", kind.version)
    } else {
        format!("apis/{}/{}", kind.group, kind.version)
    }
}

/// `/openapi/v3`: one entry per served group version.
pub fn root(catalog: &[ResourceKind]) -> Value {
    let mut paths = Map::new();
    for kind in catalog {
        let path = group_version_path(kind);
        paths.insert(
            path.clone(),
            json!({"serverRelativeURL": format!("/openapi/v3/{path}?hash=sim")}),
        );
    }
    json!({"paths": paths})
}

/// `/openapi/v3/<group version>`, or None when nothing is served there.
pub fn group_version(catalog: &[ResourceKind], requested: &str) -> Option<Value> {
    let mut paths = Map::new();
    for kind in catalog
        .iter()
        .filter(|kind| group_version_path(kind) == requested)
    {
        let namespace = if kind.namespaced {
            "/namespaces/{namespace}"
        } else {
            ""
        };
        let operation = json!({
            "x-kubernetes-group-version-kind": {"group": kind.group, "version": kind.version, "kind": kind.kind},
            "parameters": [{"name": "fieldValidation", "in": "query", "schema": {"type": "string", "uniqueItems": true}}],
            "responses": {"200": {"description": "OK"}},
        });
        paths.insert(
            format!("/{requested}{namespace}/{}/{{name}}", kind.plural),
            json!({"patch": operation}),
        );
    }
    if paths.is_empty() {
        return None;
    }
    Some(json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": "v1.32.0-crabbox-sim"},
        "paths": paths,
        "components": {"schemas": {}},
    }))
}
