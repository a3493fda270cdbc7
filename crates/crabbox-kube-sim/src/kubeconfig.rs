//! Kubeconfig files pointing at a simulator (JSON, which kubeconfig loaders accept as YAML).

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use serde_json::json;

pub const CONTEXT: &str = "crabbox-sim";

pub fn write(
    path: &Path,
    server: &str,
    token: Option<&str>,
    namespace: &str,
) -> std::io::Result<()> {
    let config = json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": CONTEXT, "cluster": {"server": server}}],
        "users": [{"name": CONTEXT, "user": token.map(|token| json!({"token": token})).unwrap_or_else(|| json!({}))}],
        "contexts": [{"name": CONTEXT, "context": {"cluster": CONTEXT, "user": CONTEXT, "namespace": namespace}}],
        "current-context": CONTEXT,
    });
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(serde_json::to_string_pretty(&config)?.as_bytes())?;
    file.write_all(b"\n")
}
