//! `config show` renderings: JSON and one text line per key, secrets hidden.

use serde_json::{json, Map};

use crate::config::{Config, Entry};
use crabbox_core::secret::without_credentials;

use crate::value::Value;

const CONFIGURED: &str = "configured";

/// `{"config": path|null, "values": {key: {value, source, origin[, trust]}},
/// "ignored": [...], "repoTrusted": bool, "repoIgnored": [...]}`; `trust` marks
/// values a checkout supplied (`trusted`, or `refused` until the user trusts it).
pub fn show_json(config: &Config) -> serde_json::Value {
    let mut values = Map::new();
    for (key, entry) in config.entries() {
        let value = match &entry.value {
            _ if entry.is_secret() => json!(CONFIGURED),
            Value::Str(text) => json!(without_credentials(text)),
            other => other.to_json(),
        };
        let mut shown = json!({
            "value": value,
            "source": entry.source.label(),
            "origin": entry.source.to_string(),
        });
        if let Some(trust) = config.repo_trust(key) {
            shown["trust"] = json!(trust.label());
        }
        values.insert(key.to_string(), shown);
    }
    json!({
        "config": config.path().map(|path| path.display().to_string()),
        "values": values,
        "ignored": config.ignored,
        "repoTrusted": config.repo_trusted,
        "repoIgnored": config.repo_ignored,
    })
}

/// `config=<path>`, then `<key>=<value> source=<label> (<detail>)` per key in
/// key order, then `ignored=<paths>` when some sections were skipped.
pub fn show_text(config: &Config) -> String {
    let mut out = String::new();
    let path = config
        .path()
        .map(|path| path.display().to_string())
        .unwrap_or_else(|| "-".to_string());
    out.push_str(&format!("config={path}\n"));
    for (key, entry) in config.entries() {
        out.push_str(&format!(
            "{key}={} source={}",
            text_value(entry),
            entry.source.label()
        ));
        if let Some(detail) = entry.source.detail() {
            out.push_str(&format!(" ({detail})"));
        }
        if let Some(trust) = config.repo_trust(key) {
            out.push_str(&format!(" trust={}", trust.label()));
        }
        out.push('\n');
    }
    if !config.ignored.is_empty() {
        out.push_str(&format!("ignored={}\n", config.ignored.join(",")));
    }
    if !config.repo_ignored.is_empty() {
        out.push_str(&format!(
            "repo_ignored={} trust=ignored\n",
            config.repo_ignored.join(",")
        ));
    }
    out
}

fn text_value(entry: &Entry) -> String {
    match &entry.value {
        _ if entry.is_secret() => CONFIGURED.to_string(),
        Value::Str(text) => without_credentials(text),
        Value::List(items) if items.is_empty() => "-".to_string(),
        value => value.to_string(),
    }
}
