//! Patch bodies: JSON merge patch (RFC 7386), JSON patch (RFC 6902) and apply YAML.

use serde_json::Value;

use crate::status::ApiError;

/// How a PATCH body is to be applied, from its content type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchKind {
    Merge,
    Json,
    Strategic,
    Apply,
}

impl PatchKind {
    pub fn from_content_type(content_type: &str) -> Result<PatchKind, ApiError> {
        let media = content_type.split(';').next().unwrap_or("").trim();
        match media {
            "application/merge-patch+json" => Ok(PatchKind::Merge),
            "application/json-patch+json" => Ok(PatchKind::Json),
            "application/strategic-merge-patch+json" => Ok(PatchKind::Strategic),
            "application/apply-patch+yaml" | "application/apply-patch+json" => Ok(PatchKind::Apply),
            other => Err(ApiError::unsupported_media_type(other)),
        }
    }
}

/// RFC 7386: objects merge recursively, `null` removes, anything else replaces.
pub fn merge(target: &mut Value, patch: &Value) {
    let Value::Object(patch_map) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Default::default());
    }
    let target_map = target.as_object_mut().expect("object");
    for (key, value) in patch_map {
        if value.is_null() {
            target_map.remove(key);
        } else {
            merge(target_map.entry(key.clone()).or_insert(Value::Null), value);
        }
    }
}

/// RFC 6902 with the operations clients send: add, remove, replace, test, copy, move.
pub fn json_patch(target: &mut Value, operations: &Value) -> Result<(), ApiError> {
    let operations = operations
        .as_array()
        .ok_or_else(|| ApiError::bad_request("json patch must be an array"))?;
    for operation in operations {
        let op = operation["op"].as_str().unwrap_or("");
        let path = operation["path"]
            .as_str()
            .ok_or_else(|| ApiError::bad_request("json patch operation without path"))?;
        match op {
            "add" | "replace" => set(target, path, operation["value"].clone(), op == "add")?,
            "remove" => {
                remove(target, path)?;
            }
            "test" => {
                if target.pointer(path) != Some(&operation["value"]) {
                    return Err(ApiError::invalid_patch(format!(
                        "test operation failed at {path}"
                    )));
                }
            }
            "copy" | "move" => {
                let from = operation["from"].as_str().unwrap_or("");
                let value = if op == "move" {
                    remove(target, from)?
                } else {
                    target
                        .pointer(from)
                        .cloned()
                        .ok_or_else(|| ApiError::invalid_patch(format!("no value at {from}")))?
                };
                set(target, path, value, true)?;
            }
            other => {
                return Err(ApiError::bad_request(format!(
                    "unknown json patch op {other:?}"
                )))
            }
        }
    }
    Ok(())
}

fn split(path: &str) -> Result<(String, String), ApiError> {
    let (parent, last) = path
        .rsplit_once('/')
        .ok_or_else(|| ApiError::invalid_patch(format!("bad path {path:?}")))?;
    Ok((
        parent.to_string(),
        last.replace("~1", "/").replace("~0", "~"),
    ))
}

fn set(target: &mut Value, path: &str, value: Value, insert: bool) -> Result<(), ApiError> {
    let (parent, last) = split(path)?;
    let missing = || ApiError::invalid_patch(format!("no parent for {path}"));
    match target.pointer_mut(&parent).ok_or_else(missing)? {
        Value::Object(map) => {
            if !insert && !map.contains_key(&last) {
                return Err(ApiError::invalid_patch(format!("no value at {path}")));
            }
            map.insert(last, value);
        }
        Value::Array(items) => {
            let index = if last == "-" {
                items.len()
            } else {
                last.parse().map_err(|_| missing())?
            };
            match (insert, index <= items.len(), index < items.len()) {
                (true, true, _) => items.insert(index, value),
                (false, _, true) => items[index] = value,
                _ => return Err(missing()),
            }
        }
        _ => return Err(missing()),
    }
    Ok(())
}

fn remove(target: &mut Value, path: &str) -> Result<Value, ApiError> {
    let (parent, last) = split(path)?;
    let missing = || ApiError::invalid_patch(format!("no value at {path}"));
    match target.pointer_mut(&parent).ok_or_else(missing)? {
        Value::Object(map) => map.remove(&last).ok_or_else(missing),
        Value::Array(items) => {
            let index: usize = last.parse().map_err(|_| missing())?;
            (index < items.len())
                .then(|| items.remove(index))
                .ok_or_else(missing)
        }
        _ => Err(missing()),
    }
}

/// Parses an apply body (YAML or JSON) into a JSON object.
pub fn parse_apply(body: &[u8]) -> Result<Value, ApiError> {
    serde_yaml_ng::from_slice::<Value>(body)
        .map_err(|error| ApiError::bad_request(format!("invalid apply body: {error}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn merge_patch_follows_rfc_7386() {
        let mut target = json!({"a": {"b": 1, "c": 2}, "d": [1]});
        merge(&mut target, &json!({"a": {"b": null, "e": 3}, "d": [2]}));
        assert_eq!(target, json!({"a": {"c": 2, "e": 3}, "d": [2]}));
    }

    #[test]
    fn json_patch_applies_and_tests() {
        let mut target = json!({"spec": {"state": "Running"}, "list": [1, 2]});
        let ops = json!([
            {"op": "test", "path": "/spec/state", "value": "Running"},
            {"op": "replace", "path": "/spec/state", "value": "Paused"},
            {"op": "add", "path": "/list/-", "value": 3},
            {"op": "remove", "path": "/list/0"}
        ]);
        json_patch(&mut target, &ops).unwrap();
        assert_eq!(target, json!({"spec": {"state": "Paused"}, "list": [2, 3]}));
        let failing = json!([{"op": "test", "path": "/spec/state", "value": "Running"}]);
        assert_eq!(json_patch(&mut target, &failing).unwrap_err().code, 422);
    }
}
