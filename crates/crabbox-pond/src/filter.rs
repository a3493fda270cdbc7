//! `list --pond`: keeping only a pond's entries of a JSON lease view, failing
//! closed (no label information means the entry is dropped, never shown).

use serde_json::Value;

use crate::names::{same_pond, POND_LABEL};

/// The pond an entry carries: `labels.pond`, else a top-level `pond` field.
fn entry_pond(entry: &Value) -> Option<&str> {
    let labels = entry
        .get("labels")
        .or_else(|| entry.get("Labels"))
        .and_then(Value::as_object);
    if let Some(pond) = labels
        .and_then(|labels| labels.get(POND_LABEL))
        .and_then(Value::as_str)
    {
        return Some(pond);
    }
    entry.get(POND_LABEL).and_then(Value::as_str)
}

/// Entries of `view` (a JSON array) in `pond`; anything that is not an array
/// yields an empty array. Entries are kept as they are (no re-encoding of numbers).
pub fn filter_view(view: Value, pond: &str) -> Value {
    match view {
        Value::Array(entries) => Value::Array(
            entries
                .into_iter()
                .filter(|entry| entry_pond(entry).is_some_and(|value| same_pond(value, pond)))
                .collect(),
        ),
        _ => Value::Array(Vec::new()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keeps_only_labelled_members_and_fails_closed() {
        let view = json!([
            {"id": 1, "labels": {"pond": "Alpha Pond"}},
            {"id": 2, "labels": {"pond": "beta"}},
            {"id": 3, "pond": "alpha-pond", "size": 1.5},
            {"id": 4, "labels": {}},
            {"id": 5},
        ]);
        let kept = filter_view(view, "alpha-pond");
        assert_eq!(
            kept,
            json!([{"id": 1, "labels": {"pond": "Alpha Pond"}}, {"id": 3, "pond": "alpha-pond", "size": 1.5}])
        );
        assert_eq!(filter_view(json!({"leases": []}), "alpha"), json!([]));
        assert_eq!(filter_view(json!([{"id": 5}]), "alpha"), json!([]));
    }
}
