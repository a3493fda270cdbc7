//! Typed configuration values and their parsing from environment text and YAML.

use std::fmt;
use std::time::Duration;

use serde_yaml_ng::Value as Yaml;

use crabbox_core::{format_duration, parse_duration};

use crate::keys::Kind;

/// A parsed configuration value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Str(String),
    Int(i64),
    Bool(bool),
    Duration(Duration),
    List(Vec<String>),
}

impl Value {
    /// The JSON form used by `config show --json`; durations stay Go strings.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Value::Str(text) => serde_json::Value::from(text.as_str()),
            Value::Int(number) => serde_json::Value::from(*number),
            Value::Bool(flag) => serde_json::Value::from(*flag),
            Value::Duration(duration) => serde_json::Value::from(format_duration(*duration)),
            Value::List(items) => serde_json::Value::from(items.clone()),
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Str(text) => formatter.write_str(text),
            Value::Int(number) => write!(formatter, "{number}"),
            Value::Bool(flag) => write!(formatter, "{flag}"),
            Value::Duration(duration) => formatter.write_str(&format_duration(*duration)),
            Value::List(items) => formatter.write_str(&items.join(",")),
        }
    }
}

/// Parses the text form used by environment variables, flags and defaults.
pub(crate) fn parse_text(kind: Kind, text: &str) -> Result<Value, String> {
    match kind {
        Kind::Str => Ok(Value::Str(text.to_string())),
        Kind::Int => text
            .trim()
            .parse()
            .map(Value::Int)
            .map_err(|_| format!("expected an integer, got {text:?}")),
        Kind::Bool => parse_bool(text).map(Value::Bool).ok_or_else(|| {
            format!("expected a boolean (true/false, yes/no, on/off, 1/0), got {text:?}")
        }),
        Kind::Duration => parse_duration(text)
            .map(Value::Duration)
            .map_err(|error| error.to_string()),
        Kind::List => Ok(Value::List(split_list(text))),
        Kind::Enum(choices) => parse_choice(choices, text),
    }
}

/// Parses a YAML node; `None` means the node leaves the key unset (null or an
/// empty scalar), matching Go's zero-value-aware merge.
pub(crate) fn parse_yaml(kind: Kind, node: &Yaml) -> Result<Option<Value>, String> {
    if node.is_null() {
        return Ok(None);
    }
    if kind == Kind::List {
        let Yaml::Sequence(items) = node else {
            return Err(format!("expected a list, got {}", describe(node)));
        };
        let items = items
            .iter()
            .map(scalar_text)
            .collect::<Result<Vec<_>, _>>()?;
        // An explicit empty list is a real value: it disables the default.
        return Ok(Some(Value::List(normalize_list(items))));
    }
    let text = scalar_text(node)?;
    if text.trim().is_empty() {
        return Ok(None);
    }
    parse_text(kind, &text).map(Some)
}

fn scalar_text(node: &Yaml) -> Result<String, String> {
    match node {
        Yaml::String(text) => Ok(text.clone()),
        Yaml::Number(number) => Ok(number.to_string()),
        Yaml::Bool(flag) => Ok(flag.to_string()),
        Yaml::Null => Ok(String::new()),
        other => Err(format!("expected a single value, got {}", describe(other))),
    }
}

fn describe(node: &Yaml) -> &'static str {
    match node {
        Yaml::Null => "null",
        Yaml::Bool(_) => "a boolean",
        Yaml::Number(_) => "a number",
        Yaml::String(_) => "a string",
        Yaml::Sequence(_) => "a list",
        Yaml::Mapping(_) => "a mapping",
        Yaml::Tagged(_) => "a tagged value",
    }
}

fn parse_bool(text: &str) -> Option<bool> {
    match text.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Some(true),
        "0" | "false" | "no" | "off" => Some(false),
        _ => None,
    }
}

fn parse_choice(choices: &[&str], text: &str) -> Result<Value, String> {
    let normalized = text.trim().to_ascii_lowercase();
    if choices.contains(&normalized.as_str()) {
        Ok(Value::Str(normalized))
    } else {
        Err(format!(
            "expected one of {}, got {text:?}",
            choices.join(", ")
        ))
    }
}

/// A comma list; the word `none` means an empty list so an operator can
/// switch off a default (for example fallback ports) from the environment.
fn split_list(text: &str) -> Vec<String> {
    if text.trim().eq_ignore_ascii_case("none") {
        return Vec::new();
    }
    normalize_list(text.split(',').map(str::to_string).collect())
}

fn normalize_list(items: Vec<String>) -> Vec<String> {
    items
        .into_iter()
        .map(|item| item.trim().to_string())
        .filter(|item| !item.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn booleans_accept_the_documented_words() {
        for word in ["1", "true", "YES", "On"] {
            assert_eq!(
                parse_text(Kind::Bool, word),
                Ok(Value::Bool(true)),
                "{word}"
            );
        }
        for word in ["0", "False", "no", "OFF"] {
            assert_eq!(
                parse_text(Kind::Bool, word),
                Ok(Value::Bool(false)),
                "{word}"
            );
        }
        assert!(parse_text(Kind::Bool, "maybe").is_err());
    }

    #[test]
    fn lists_split_trim_and_honour_none() {
        let list = |text| parse_text(Kind::List, text);
        assert_eq!(
            list("2222, 22"),
            Ok(Value::List(vec!["2222".into(), "22".into()]))
        );
        assert_eq!(list("none"), Ok(Value::List(Vec::new())));
        assert_eq!(list(" , "), Ok(Value::List(Vec::new())));
    }

    #[test]
    fn yaml_scalars_become_strings_for_string_keys() {
        let node: Yaml = serde_yaml_ng::from_str("2200").unwrap();
        assert_eq!(
            parse_yaml(Kind::Str, &node),
            Ok(Some(Value::Str("2200".into())))
        );
        let empty: Yaml = serde_yaml_ng::from_str("''").unwrap();
        assert_eq!(parse_yaml(Kind::Str, &empty), Ok(None));
    }
}
