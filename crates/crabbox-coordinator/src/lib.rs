//! The coordinator: an axum server over the store that brokers provider leases,
//! records runs and events, enforces caps, runs maintenance and serves the
//! control WebSocket.

mod auth;
mod body;
mod caps;
mod clock;
mod connection;
mod control;
mod error;
mod leases;
mod limits;
mod liveness;
mod logging;
pub mod maintenance;
mod routes;
mod runs;
mod serve_error;
mod server;
mod settings;
mod state;
mod text;
mod usage;
pub mod user_token;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use crabbox_core::Paths;
use crabbox_providers::ProviderSettings;
use crabbox_store::{OpenOptions, Store};

pub use auth::{AuthKind, Principal};
pub use clock::{Clock, ManualClock, SystemClock};
/// For messages about a database URL: its password never appears in them.
pub use crabbox_store::redact_url;
pub use error::ApiError;
pub use logging::log_to_stderr;
pub use routes::router;
pub use serve_error::ServeError;
pub use server::serve;
pub use settings::{Caps, Connections, Settings};
pub use state::{Coordinator, Providers};

/// What `crabbox coordinator serve` passes in.
#[derive(Clone)]
pub struct ServeOptions {
    /// `127.0.0.1:8787`, or port 0 for any free port.
    pub listen: String,
    /// `sqlite://…` or `postgres://…`; `None` means a SQLite file under
    /// `state_dir`. Messages about it show it redacted.
    pub database_url: Option<String>,
    /// The coordinator's own state directory (SQLite file, local provider leases).
    pub state_dir: PathBuf,
    /// The process environment (settings are read from `CRABBOX_*` names).
    pub env: BTreeMap<String, String>,
}

impl std::fmt::Debug for ServeOptions {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("ServeOptions")
            .field("listen", &self.listen)
            .field(
                "database_url",
                &self.database_url.as_deref().map(redact_url),
            )
            .field("state_dir", &self.state_dir)
            .finish_non_exhaustive()
    }
}

/// The SQLite database used when no URL is given.
pub fn default_database_url(state_dir: &std::path::Path) -> String {
    format!(
        "sqlite://{}?mode=rwc",
        state_dir.join("coordinator.sqlite").display()
    )
}

/// Binds, logs `crabbox coordinator listening on http://ADDR`, and serves until
/// SIGTERM or SIGINT. Must be called inside a multi-thread runtime.
pub async fn run(options: ServeOptions) -> Result<(), ServeError> {
    let settings = Settings::from_env(&options.env).map_err(ServeError::Settings)?;
    let mut paths = Paths::from_env();
    paths.state_dir = options.state_dir.clone();
    let provider_settings =
        provider_settings(&paths, &options.env).map_err(ServeError::Settings)?;
    limits::raise_descriptor_limit();
    crabbox_core::ensure_private_dir(&options.state_dir).map_err(|source| {
        ServeError::StateDirectory {
            path: options.state_dir.clone(),
            source,
        }
    })?;
    let url = options
        .database_url
        .clone()
        .unwrap_or_else(|| default_database_url(&options.state_dir));
    let open = OpenOptions {
        acquire_timeout: settings.connections.database_acquire_timeout,
    };
    let store = Store::open_with(&url, &open)
        .await
        .map_err(ServeError::Database)?;
    let providers =
        Providers::build(&settings.providers, &provider_settings).map_err(ServeError::Providers)?;
    let listener = tokio::net::TcpListener::bind(&options.listen)
        .await
        .map_err(|source| ServeError::Listen {
            address: options.listen.clone(),
            source,
        })?;
    let address = listener.local_addr().map_err(ServeError::LocalAddress)?;
    if settings.local_dev {
        tracing::warn!(
            "WARNING: {} is on: local leases run as this coordinator's user, so anyone holding a lease can read the coordinator's environment (admin token, shared token, session secret, database URL) and its files. Use it only on a single-user development machine.",
            settings::LOCAL_DEV
        );
    }
    if settings.providers.is_empty() {
        tracing::warn!(
            "warning: no providers are brokered; set CRABBOX_PROVIDERS (local also needs {}=1)",
            settings::LOCAL_DEV
        );
    }
    if !settings.has_credentials() {
        tracing::warn!("warning: no CRABBOX_ADMIN_TOKEN, CRABBOX_SHARED_TOKEN or CRABBOX_SESSION_SECRET is set; every API request will be refused");
    }
    let shutdown = shutdown_signal();
    tracing::info!(
        "crabbox coordinator listening on http://{address} (database {:?}, providers {})",
        store.backend(),
        providers.names().collect::<Vec<_>>().join(",")
    );
    let coordinator = Coordinator::new(store.clone(), settings, providers, Arc::new(SystemClock));
    let served = serve(listener, coordinator, shutdown).await;
    store.close().await;
    tracing::info!("crabbox coordinator stopped");
    served.map_err(ServeError::Serve)
}

/// The brokered providers' settings, resolved the way the CLI resolves them
/// but from the coordinator's environment only (`CRABBOX_LOCAL_HOME`,
/// `CRABBOX_LOCAL_NETNS`, `CRABBOX_SEALOS_DEVBOX_*`, …): no config file is read.
fn provider_settings(
    paths: &Paths,
    env: &BTreeMap<String, String>,
) -> Result<ProviderSettings, String> {
    let options = crabbox_config::LoadOptions {
        env: env.clone(),
        ..crabbox_config::LoadOptions::default()
    };
    let config = crabbox_config::load(&options)
        .map_err(|error| error.to_string())?
        .config;
    Ok(ProviderSettings::from_config(paths, &config))
}

/// Registers SIGTERM and SIGINT now (a signal that arrives before the server
/// first waits on it is still a graceful shutdown, not the default kill) and
/// returns the future that completes on either.
fn shutdown_signal() -> impl std::future::Future<Output = ()> + Send + 'static {
    use tokio::signal::unix::{signal, SignalKind};
    let streams = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    );
    async move {
        let (Ok(mut terminate), Ok(mut interrupt)) = streams else {
            return std::future::pending().await;
        };
        tokio::select! {
            _ = terminate.recv() => {}
            _ = interrupt.recv() => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect()
    }

    #[test]
    fn brokered_providers_read_their_settings_from_the_environment() {
        let paths = Paths::from_lookup(|name| (name == "HOME").then(|| "/srv/coord".to_string()));
        let settings = provider_settings(
            &paths,
            &env(&[
                ("CRABBOX_LOCAL_HOME", "/srv/lease-home"),
                ("CRABBOX_LOCAL_NETNS", "1"),
                ("CRABBOX_SEALOS_DEVBOX_CONTEXT", "cluster"),
            ]),
        )
        .unwrap();
        assert_eq!(settings.local.home, Some(PathBuf::from("/srv/lease-home")));
        assert!(settings.local.netns);
        assert_eq!(settings.sealos.context.as_deref(), Some("cluster"));

        let unset = provider_settings(&paths, &env(&[("CRABBOX_LOCAL_HOME", " ")])).unwrap();
        assert_eq!(unset.local.home, None);
    }

    #[test]
    fn a_bad_provider_setting_stops_the_server() {
        let paths = Paths::from_lookup(|_| None);
        let error = provider_settings(&paths, &env(&[("CRABBOX_LOCAL_NETNS", "maybe")]))
            .err()
            .unwrap();
        assert!(error.contains("CRABBOX_LOCAL_NETNS"), "{error}");
    }
}
