//! The resource types the simulator serves and how request paths map onto them.

/// One served resource type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceKind {
    pub group: &'static str,
    pub version: String,
    pub plural: &'static str,
    pub kind: &'static str,
    pub namespaced: bool,
}

impl ResourceKind {
    fn core(plural: &'static str, kind: &'static str, namespaced: bool) -> ResourceKind {
        ResourceKind {
            group: "",
            version: "v1".into(),
            plural,
            kind,
            namespaced,
        }
    }

    /// `devboxes.devbox.sealos.io`, or just `secrets` for the core group.
    pub fn qualified(&self) -> String {
        if self.group.is_empty() {
            self.plural.to_string()
        } else {
            format!("{}.{}", self.plural, self.group)
        }
    }

    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    pub fn is_devbox(&self) -> bool {
        self.plural == DEVBOXES
    }
}

pub const DEVBOX_GROUP: &str = "devbox.sealos.io";
pub const DEVBOXES: &str = "devboxes";

/// Every resource type served, with the Devbox CRD at `devbox_version`.
pub fn catalog(devbox_version: &str) -> Vec<ResourceKind> {
    vec![
        ResourceKind::core("namespaces", "Namespace", false),
        ResourceKind::core("secrets", "Secret", true),
        ResourceKind::core("events", "Event", true),
        ResourceKind::core("pods", "Pod", true),
        ResourceKind {
            group: DEVBOX_GROUP,
            version: devbox_version.to_string(),
            plural: DEVBOXES,
            kind: "Devbox",
            namespaced: true,
        },
    ]
}

/// A parsed resource request path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub kind: ResourceKind,
    pub namespace: Option<String>,
    pub name: Option<String>,
    pub subresource: Option<String>,
}

/// Maps `/api/v1/...` and `/apis/<group>/<version>/...` onto a served resource.
pub fn parse_path(path: &str, catalog: &[ResourceKind]) -> Option<Target> {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let (group, version, rest) = match segments.as_slice() {
        ["api", version, rest @ ..] => ("", *version, rest),
        ["apis", group, version, rest @ ..] => (*group, *version, rest),
        _ => return None,
    };
    let (namespace, rest) = match rest {
        ["namespaces", namespace, resource, rest @ ..] => {
            (Some(*namespace), prepend(resource, rest))
        }
        _ => (None, rest.to_vec()),
    };
    let (namespace, rest) = match (namespace, rest.as_slice()) {
        // `/api/v1/namespaces/<name>` addresses the namespace object itself.
        (None, ["namespaces", name, rest @ ..]) => {
            (None, prepend("namespaces", &prepend(name, rest)))
        }
        _ => (namespace, rest),
    };
    let resource = *rest.first()?;
    let kind = catalog
        .iter()
        .find(|kind| kind.group == group && kind.version == version && kind.plural == resource)?
        .clone();
    if kind.namespaced != namespace.is_some() && rest.len() > 1 {
        return None;
    }
    Some(Target {
        kind,
        namespace: namespace.map(str::to_string),
        name: rest.get(1).map(|name| name.to_string()),
        subresource: rest.get(2).map(|name| name.to_string()),
    })
}

fn prepend<'a>(first: &'a str, rest: &[&'a str]) -> Vec<&'a str> {
    std::iter::once(first).chain(rest.iter().copied()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_core_custom_and_cluster_paths() {
        let catalog = catalog("v1alpha2");
        let devbox = parse_path(
            "/apis/devbox.sealos.io/v1alpha2/namespaces/ns/devboxes/a",
            &catalog,
        )
        .unwrap();
        assert_eq!(
            (
                devbox.kind.plural,
                devbox.namespace.as_deref(),
                devbox.name.as_deref()
            ),
            ("devboxes", Some("ns"), Some("a"))
        );
        let status = parse_path(
            "/apis/devbox.sealos.io/v1alpha2/namespaces/ns/devboxes/a/status",
            &catalog,
        )
        .unwrap();
        assert_eq!(status.subresource.as_deref(), Some("status"));
        let all = parse_path("/apis/devbox.sealos.io/v1alpha2/devboxes", &catalog).unwrap();
        assert_eq!((all.namespace, all.name), (None, None));
        let namespace = parse_path("/api/v1/namespaces/ns", &catalog).unwrap();
        assert_eq!(
            (namespace.kind.plural, namespace.name.as_deref()),
            ("namespaces", Some("ns"))
        );
        let secrets = parse_path("/api/v1/namespaces/ns/secrets", &catalog).unwrap();
        assert_eq!((secrets.kind.plural, secrets.name), ("secrets", None));
        assert!(parse_path(
            "/apis/devbox.sealos.io/v1alpha1/namespaces/ns/devboxes",
            &catalog
        )
        .is_none());
        assert!(parse_path("/healthz", &catalog).is_none());
    }
}
