//! Label and field selectors as list requests send them.

use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Requirement {
    Equals(String, String),
    NotEquals(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    NotExists(String),
}

/// A parsed `labelSelector` or `fieldSelector`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selector(Vec<Requirement>);

/// Splits on commas outside `( … )`.
fn terms(text: &str) -> Vec<String> {
    let mut terms = Vec::new();
    let (mut depth, mut current) = (0, String::new());
    for character in text.chars() {
        match character {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                terms.push(std::mem::take(&mut current));
                continue;
            }
            _ => {}
        }
        current.push(character);
    }
    terms.push(current);
    terms
        .into_iter()
        .map(|term| term.trim().to_string())
        .filter(|t| !t.is_empty())
        .collect()
}

fn set_values(text: &str) -> Vec<String> {
    text.trim()
        .trim_start_matches('(')
        .trim_end_matches(')')
        .split(',')
        .map(|v| v.trim().to_string())
        .collect()
}

impl Selector {
    pub fn parse(text: &str) -> Selector {
        let requirements = terms(text)
            .into_iter()
            .map(|term| {
                if let Some((key, value)) = term.split_once("!=") {
                    Requirement::NotEquals(key.trim().into(), value.trim().into())
                } else if let Some((key, value)) =
                    term.split_once("==").or_else(|| term.split_once('='))
                {
                    Requirement::Equals(key.trim().into(), value.trim().into())
                } else if let Some((key, values)) = term.split_once(" notin ") {
                    Requirement::NotIn(key.trim().into(), set_values(values))
                } else if let Some((key, values)) = term.split_once(" in ") {
                    Requirement::In(key.trim().into(), set_values(values))
                } else if let Some(key) = term.strip_prefix('!') {
                    Requirement::NotExists(key.trim().into())
                } else {
                    Requirement::Exists(term)
                }
            })
            .collect();
        Selector(requirements)
    }

    /// Whether a key lookup satisfies every requirement.
    pub fn matches(&self, lookup: impl Fn(&str) -> Option<String>) -> bool {
        self.0.iter().all(|requirement| match requirement {
            Requirement::Equals(key, value) => lookup(key).as_deref() == Some(value),
            Requirement::NotEquals(key, value) => lookup(key).as_deref() != Some(value),
            Requirement::In(key, values) => {
                lookup(key).is_some_and(|found| values.contains(&found))
            }
            Requirement::NotIn(key, values) => {
                !lookup(key).is_some_and(|found| values.contains(&found))
            }
            Requirement::Exists(key) => lookup(key).is_some(),
            Requirement::NotExists(key) => lookup(key).is_none(),
        })
    }

    pub fn matches_labels(&self, object: &Value) -> bool {
        self.matches(|key| {
            object["metadata"]["labels"][key]
                .as_str()
                .map(str::to_string)
        })
    }

    /// Field selectors address dotted paths such as `metadata.name` or `involvedObject.name`.
    pub fn matches_fields(&self, object: &Value) -> bool {
        self.matches(|key| {
            let pointer = format!("/{}", key.replace('.', "/"));
            match object.pointer(&pointer) {
                Some(Value::String(text)) => Some(text.clone()),
                Some(Value::Null) | None => Some(String::new()),
                Some(other) => Some(other.to_string()),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn label_selectors_cover_equality_sets_and_existence() {
        let object = json!({"metadata": {"labels": {"app": "crabbox", "tier": "a"}}});
        for (selector, expected) in [
            ("app=crabbox", true),
            ("app==crabbox,tier=a", true),
            ("app!=crabbox", false),
            ("tier in (a, b)", true),
            ("tier notin (a)", false),
            ("app", true),
            ("!missing", true),
            ("missing", false),
            ("", true),
        ] {
            assert_eq!(
                Selector::parse(selector).matches_labels(&object),
                expected,
                "{selector}"
            );
        }
    }

    #[test]
    fn field_selectors_read_dotted_paths() {
        let object = json!({"metadata": {"name": "x"}, "involvedObject": {"name": "box"}});
        assert!(Selector::parse("metadata.name=x").matches_fields(&object));
        assert!(Selector::parse("involvedObject.name=box").matches_fields(&object));
        assert!(!Selector::parse("metadata.name=y").matches_fields(&object));
    }
}
