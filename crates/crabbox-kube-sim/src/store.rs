//! The object store: resourceVersion and uid bookkeeping, and the create, update,
//! patch and delete semantics (NotFound, AlreadyExists, Conflict, preconditions).

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use crate::patch::{self, PatchKind};
use crate::resources::ResourceKind;
use crate::selector::Selector;
use crate::status::ApiError;
use crate::time::now_rfc3339;

type Key = (String, String, String);

/// All stored objects, keyed by (plural, namespace, name); cluster objects use "".
#[derive(Debug, Default)]
pub struct Store {
    objects: BTreeMap<Key, Value>,
    revision: u64,
    uids: u64,
}

/// `DeleteOptions.preconditions`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Preconditions {
    pub uid: Option<String>,
    pub resource_version: Option<String>,
}

fn key(kind: &ResourceKind, namespace: Option<&str>, name: &str) -> Key {
    (
        kind.plural.to_string(),
        namespace.unwrap_or("").to_string(),
        name.to_string(),
    )
}

fn metadata(object: &mut Value) -> &mut Map<String, Value> {
    if !object["metadata"].is_object() {
        object["metadata"] = json!({});
    }
    object["metadata"].as_object_mut().expect("metadata object")
}

impl Store {
    pub fn revision(&self) -> u64 {
        self.revision
    }

    fn next_revision(&mut self) -> String {
        self.revision += 1;
        self.revision.to_string()
    }

    fn next_uid(&mut self) -> String {
        self.uids += 1;
        format!(
            "{:08x}-5ea1-4d0b-8000-{:012x}",
            std::process::id(),
            self.uids
        )
    }

    pub fn namespace_exists(&self, namespace: &str) -> bool {
        self.objects.contains_key(&(
            "namespaces".to_string(),
            String::new(),
            namespace.to_string(),
        ))
    }

    fn require_namespace(
        &self,
        kind: &ResourceKind,
        namespace: Option<&str>,
    ) -> Result<(), ApiError> {
        match namespace {
            Some(namespace) if kind.namespaced && !self.namespace_exists(namespace) => Err(
                ApiError::not_found(&crate::resources::catalog("v1")[0], namespace),
            ),
            _ => Ok(()),
        }
    }

    pub fn get(
        &self,
        kind: &ResourceKind,
        namespace: Option<&str>,
        name: &str,
    ) -> Result<Value, ApiError> {
        self.objects
            .get(&key(kind, namespace, name))
            .cloned()
            .ok_or_else(|| ApiError::not_found(kind, name))
    }

    pub fn list(
        &self,
        kind: &ResourceKind,
        namespace: Option<&str>,
        labels: &Selector,
        fields: &Selector,
    ) -> Vec<Value> {
        self.objects
            .iter()
            .filter(|((plural, object_namespace, _), _)| {
                plural == kind.plural && namespace.is_none_or(|wanted| wanted == object_namespace)
            })
            .map(|(_, object)| object.clone())
            .filter(|object| labels.matches_labels(object) && fields.matches_fields(object))
            .collect()
    }

    pub fn create(
        &mut self,
        kind: &ResourceKind,
        namespace: Option<&str>,
        mut object: Value,
    ) -> Result<Value, ApiError> {
        self.require_namespace(kind, namespace)?;
        let name = match object["metadata"]["name"].as_str() {
            Some(name) if !name.is_empty() => name.to_string(),
            _ => match object["metadata"]["generateName"].as_str() {
                Some(prefix) => format!("{prefix}{:05x}", self.revision + 1),
                None => {
                    return Err(ApiError::invalid(
                        kind,
                        "",
                        "metadata.name: Required value: name or generateName is required",
                    ))
                }
            },
        };
        if let Some(body_namespace) = object["metadata"]["namespace"].as_str() {
            if Some(body_namespace) != namespace && kind.namespaced {
                return Err(ApiError::bad_request("the namespace of the provided object does not match the namespace sent on the request"));
            }
        }
        let key = key(kind, namespace, &name);
        if self.objects.contains_key(&key) {
            return Err(ApiError::already_exists(kind, &name));
        }
        let uid = self.next_uid();
        let revision = self.next_revision();
        object["apiVersion"] = json!(kind.api_version());
        object["kind"] = json!(kind.kind);
        let meta = metadata(&mut object);
        meta.insert("name".into(), json!(name));
        if let Some(namespace) = namespace {
            meta.insert("namespace".into(), json!(namespace));
        }
        meta.insert("uid".into(), json!(uid));
        meta.insert("resourceVersion".into(), json!(revision));
        meta.insert("generation".into(), json!(1));
        meta.insert("creationTimestamp".into(), json!(now_rfc3339()));
        meta.remove("deletionTimestamp");
        if kind.is_devbox() {
            object.as_object_mut().expect("object").remove("status");
        }
        self.objects.insert(key, object.clone());
        Ok(object)
    }

    /// PUT: the body's resourceVersion must match; status and spec are kept apart
    /// as with a CRD that has the status subresource.
    pub fn replace(
        &mut self,
        kind: &ResourceKind,
        namespace: Option<&str>,
        name: &str,
        body: Value,
        status_only: bool,
    ) -> Result<Value, ApiError> {
        let current = self.get(kind, namespace, name)?;
        match body["metadata"]["resourceVersion"].as_str() {
            Some(version) if version != current["metadata"]["resourceVersion"] => {
                return Err(ApiError::modified(kind, name))
            }
            None if kind.is_devbox() => {
                return Err(ApiError::invalid(
                    kind,
                    name,
                    "metadata.resourceVersion: Invalid value: 0x0: must be specified for an update",
                ))
            }
            _ => {}
        }
        if body["metadata"]["name"]
            .as_str()
            .is_some_and(|body_name| body_name != name)
        {
            return Err(ApiError::bad_request(
                "the name of the object does not match the name on the URL",
            ));
        }
        self.store_update(kind, namespace, name, current, body, status_only)
    }

    pub fn patch(
        &mut self,
        kind: &ResourceKind,
        namespace: Option<&str>,
        name: &str,
        patch_kind: PatchKind,
        body: &[u8],
        status_only: bool,
    ) -> Result<Value, ApiError> {
        if patch_kind == PatchKind::Apply {
            let applied = patch::parse_apply(body)?;
            if self.get(kind, namespace, name).is_err() {
                return self.create(kind, namespace, applied);
            }
            return self.merge_into(kind, namespace, name, &applied, status_only);
        }
        let parsed: Value = serde_json::from_slice(body)
            .map_err(|error| ApiError::bad_request(format!("invalid patch body: {error}")))?;
        match patch_kind {
            PatchKind::Strategic if kind.is_devbox() => Err(ApiError::unsupported_media_type(
                "application/strategic-merge-patch+json",
            )),
            PatchKind::Json => {
                let current = self.get(kind, namespace, name)?;
                let mut updated = current.clone();
                patch::json_patch(&mut updated, &parsed)?;
                self.check_patched_version(kind, name, &current, &updated)?;
                self.store_update(kind, namespace, name, current, updated, status_only)
            }
            _ => self.merge_into(kind, namespace, name, &parsed, status_only),
        }
    }

    fn merge_into(
        &mut self,
        kind: &ResourceKind,
        namespace: Option<&str>,
        name: &str,
        patch_body: &Value,
        status_only: bool,
    ) -> Result<Value, ApiError> {
        let current = self.get(kind, namespace, name)?;
        let mut updated = current.clone();
        patch::merge(&mut updated, patch_body);
        self.check_patched_version(kind, name, &current, &updated)?;
        self.store_update(kind, namespace, name, current, updated, status_only)
    }

    /// A patch that carries a resourceVersion is an optimistic-concurrency precondition.
    fn check_patched_version(
        &self,
        kind: &ResourceKind,
        name: &str,
        current: &Value,
        updated: &Value,
    ) -> Result<(), ApiError> {
        let wanted = &updated["metadata"]["resourceVersion"];
        if !wanted.is_null() && wanted != &current["metadata"]["resourceVersion"] {
            return Err(ApiError::modified(kind, name));
        }
        Ok(())
    }

    fn store_update(
        &mut self,
        kind: &ResourceKind,
        namespace: Option<&str>,
        name: &str,
        current: Value,
        mut updated: Value,
        status_only: bool,
    ) -> Result<Value, ApiError> {
        if status_only {
            let status = updated["status"].clone();
            updated = current.clone();
            updated["status"] = status;
        } else if kind.is_devbox() {
            updated["status"] = current["status"].clone();
            if updated["status"].is_null() {
                updated.as_object_mut().expect("object").remove("status");
            }
        }
        // Identity fields are server-owned.
        for field in [
            "uid",
            "creationTimestamp",
            "name",
            "namespace",
            "deletionTimestamp",
        ] {
            let meta = metadata(&mut updated);
            match current["metadata"].get(field) {
                Some(value) => meta.insert(field.into(), value.clone()),
                None => meta.remove(field),
            };
        }
        updated["apiVersion"] = json!(kind.api_version());
        updated["kind"] = json!(kind.kind);
        let mut comparable = updated.clone();
        metadata(&mut comparable).insert(
            "resourceVersion".into(),
            current["metadata"]["resourceVersion"].clone(),
        );
        metadata(&mut comparable).insert(
            "generation".into(),
            current["metadata"]["generation"].clone(),
        );
        if comparable == current {
            return Ok(current);
        }
        let generation = current["metadata"]["generation"].as_u64().unwrap_or(1)
            + u64::from(updated["spec"] != current["spec"]);
        let revision = self.next_revision();
        let meta = metadata(&mut updated);
        meta.insert("resourceVersion".into(), json!(revision));
        meta.insert("generation".into(), json!(generation));
        self.objects
            .insert(key(kind, namespace, name), updated.clone());
        Ok(updated)
    }

    /// DELETE with optional uid/resourceVersion preconditions; dependents whose
    /// ownerReferences name the deleted uid are collected in the background style.
    pub fn delete(
        &mut self,
        kind: &ResourceKind,
        namespace: Option<&str>,
        name: &str,
        preconditions: &Preconditions,
    ) -> Result<Value, ApiError> {
        let current = self.get(kind, namespace, name)?;
        let meta = &current["metadata"];
        if let Some(uid) = &preconditions.uid {
            if meta["uid"].as_str() != Some(uid) {
                let why = format!(
                    "Precondition failed: UID in precondition: {uid}, UID in object meta: {}",
                    meta["uid"].as_str().unwrap_or("")
                );
                return Err(ApiError::conflict(kind, name, &why));
            }
        }
        if let Some(version) = &preconditions.resource_version {
            if meta["resourceVersion"].as_str() != Some(version) {
                let why = format!(
                    "Precondition failed: ResourceVersion in precondition: {version}, ResourceVersion in object meta: {}",
                    meta["resourceVersion"].as_str().unwrap_or("")
                );
                return Err(ApiError::conflict(kind, name, &why));
            }
        }
        let uid = meta["uid"].as_str().unwrap_or("").to_string();
        self.objects.remove(&key(kind, namespace, name));
        self.next_revision();
        if kind.plural == "namespaces" {
            self.objects
                .retain(|(_, object_namespace, _), _| object_namespace != name);
        }
        self.objects.retain(|_, object| {
            !object["metadata"]["ownerReferences"]
                .as_array()
                .is_some_and(|owners| owners.iter().any(|owner| owner["uid"] == json!(uid)))
        });
        Ok(current)
    }
}

impl Store {
    /// What the status subresource does: replaces `status` only.
    pub fn set_status(
        &mut self,
        kind: &ResourceKind,
        namespace: Option<&str>,
        name: &str,
        status: Value,
    ) -> Result<Value, ApiError> {
        let current = self.get(kind, namespace, name)?;
        let mut updated = current.clone();
        updated["status"] = status;
        self.store_update(kind, namespace, name, current, updated, true)
    }
}
