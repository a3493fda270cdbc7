//! What the snapshot tests share: one transcript format for an invocation, the
//! insta filters that mask what varies between runs (IDs, slugs, ports, paths,
//! times, durations), and JSON shapes that keep key names and value types only.

use crabbox_testkit::{Output, Sandbox};
use serde_json::Value;

pub fn sandbox() -> Sandbox {
    Sandbox::new(env!("CARGO_BIN_EXE_crabbox"))
}

/// Exit code, stdout and stderr of one invocation, in one text.
pub fn transcript(output: &Output) -> String {
    format!(
        "exit: {}\n--- stdout ---\n{}--- stderr ---\n{}",
        output.code, output.stdout, output.stderr
    )
}

/// Filters for output that mentions leases, runs and the sandbox: every slug in
/// `texts` (read from `slug=` fields and `--id <slug>` hints) is masked too.
pub fn run_filters(sandbox: &Sandbox, texts: &[&str]) -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    settings.add_filter(
        &regex_literal(&sandbox.root().display().to_string()),
        "[SANDBOX]",
    );
    settings.add_filter(r"\bcbx_[0-9a-f]{12}\b", "[LEASE_ID]");
    settings.add_filter(r"\brun_[0-9a-f]{12}\b", "[RUN_ID]");
    for slug in slugs(texts) {
        settings.add_filter(&format!(r"\b{slug}\b"), "[SLUG]");
    }
    settings.add_filter(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z", "[TIMESTAMP]");
    settings.add_filter(r"127\.0\.0\.1:\d+", "127.0.0.1:[PORT]");
    settings.add_filter(r"\bserver=\d+", "server=[SERVER_ID]");
    // Go-style durations the run measures (`37ms`, `1.2s`, `0s`); configured
    // ones such as `30m0s` keep their value because no word boundary precedes
    // their last number.
    settings.add_filter(r"\b\d+(\.\d+)?(ms|s)\b", "[DURATION]");
    settings
}

/// Slugs named in `texts`: the values of `slug=` fields and `"slug": "…"` keys.
fn slugs(texts: &[&str]) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    for text in texts {
        for word in text.split(|character: char| character.is_whitespace() || character == ',') {
            let value = word
                .strip_prefix("slug=")
                .or_else(|| word.strip_prefix("\"slug\":"))
                .map(|value| value.trim_matches('"'));
            if let Some(value) = value.filter(|value| is_slug(value)) {
                if !found.iter().any(|known| known == value) {
                    found.push(value.to_string());
                }
            }
        }
    }
    // Longer first, so a slug with a collision suffix is masked whole.
    found.sort_by_key(|slug| std::cmp::Reverse(slug.len()));
    found
}

fn is_slug(value: &str) -> bool {
    value.contains('-')
        && value.chars().all(|character| {
            character.is_ascii_lowercase() || character.is_ascii_digit() || character == '-'
        })
}

/// `text` as a regular expression that matches it literally.
pub fn regex_literal(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        if "\\.+*?()|[]{}^$".contains(character) {
            escaped.push('\\');
        }
        escaped.push(character);
    }
    escaped
}

/// `value` with every leaf replaced by the name of its type: the snapshot pins
/// key names, nesting, order and types, never the numbers or strings.
pub fn shape(value: &Value) -> Value {
    match value {
        Value::Null => Value::from("<null>"),
        Value::Bool(_) => Value::from("<bool>"),
        Value::Number(_) => Value::from("<number>"),
        Value::String(_) => Value::from("<string>"),
        Value::Array(items) => Value::Array(items.iter().map(shape).collect()),
        Value::Object(fields) => Value::Object(
            fields
                .iter()
                .map(|(key, field)| (key.clone(), shape(field)))
                .collect(),
        ),
    }
}

/// Pretty JSON for a snapshot.
pub fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).expect("serialize JSON") + "\n"
}

/// The JSON document alone on `text` (a line of stderr, for `--timing-json`).
pub fn json_line(text: &str) -> Value {
    let line = text
        .lines()
        .rev()
        .find(|line| line.starts_with('{'))
        .unwrap_or_else(|| panic!("no JSON line in:\n{text}"));
    serde_json::from_str(line).unwrap_or_else(|error| panic!("not JSON ({error}): {line}"))
}
