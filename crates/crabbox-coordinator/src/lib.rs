//! The coordinator: an axum server over the store that brokers provider leases,
//! records runs and events, enforces caps and runs maintenance.

use std::collections::BTreeMap;
use std::path::PathBuf;

/// What `crabbox coordinator serve` passes in.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// `127.0.0.1:8787`, or port 0 for any free port.
    pub listen: String,
    /// `sqlite://…` or `postgres://…`; `None` means a SQLite file under `state_dir`.
    pub database_url: Option<String>,
    /// The coordinator's own state directory (SQLite file, local provider leases).
    pub state_dir: PathBuf,
    /// The process environment (settings are read from `CRABBOX_*` names).
    pub env: BTreeMap<String, String>,
}

/// Binds, prints `crabbox coordinator listening on http://ADDR` to stderr, and
/// serves until SIGTERM or SIGINT. Must be called inside a multi-thread runtime.
pub async fn run(options: ServeOptions) -> Result<(), String> {
    let _ = options;
    Err("coordinator not built yet".to_string())
}
