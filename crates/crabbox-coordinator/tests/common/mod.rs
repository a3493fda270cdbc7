//! Shared harness: an in-process coordinator on a loopback port over a fresh
//! database (SQLite always, PostgreSQL when `CRABBOX_TEST_POSTGRES_URL` is set),
//! with the real `local` provider, and a tiny JSON HTTP helper.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crabbox_coordinator::{Clock, Coordinator, Providers, Settings, SystemClock};
use crabbox_core::{Paths, Secret};
use crabbox_providers::ProviderSettings;
use crabbox_store::Store;
use serde_json::Value;

pub const ADMIN: &str = "admin-token-for-tests";
pub const SHARED: &str = "shared-token-for-tests";
pub const SESSION: &str = "session-secret-for-tests";

/// A signed user token for `owner` in `org`, valid for 100 days.
pub fn user_token(owner: &str, org: &str) -> String {
    let now = crabbox_core::now_unix();
    crabbox_coordinator::user_token::mint(
        &Secret::new(SESSION),
        owner,
        org,
        owner,
        now,
        100 * 86_400,
    )
}

pub fn settings() -> Settings {
    Settings {
        admin_token: Some(Secret::new(ADMIN)),
        shared_token: Some(Secret::new(SHARED)),
        shared_owner: "team".into(),
        session_secret: Some(Secret::new(SESSION)),
        instance_ttl_ms: 600,
        ..Settings::default()
    }
}

/// Which databases a test runs on.
pub fn backends() -> Vec<&'static str> {
    let mut backends = vec!["sqlite"];
    if std::env::var("CRABBOX_TEST_POSTGRES_URL").is_ok_and(|url| !url.is_empty()) {
        backends.push("postgres");
    } else {
        eprintln!("SKIP postgres: CRABBOX_TEST_POSTGRES_URL is not set");
    }
    backends
}

/// A database for one test: a SQLite file in `dir`, or a fresh PostgreSQL
/// database created from the admin URL.
pub async fn database_url(backend: &str, dir: &Path) -> String {
    match backend {
        "sqlite" => crabbox_coordinator::default_database_url(dir),
        _ => {
            let admin = std::env::var("CRABBOX_TEST_POSTGRES_URL").unwrap();
            fresh_postgres_database(&admin).await
        }
    }
}

/// Creates an empty database next to the one `admin` names and returns its URL.
async fn fresh_postgres_database(admin: &str) -> String {
    use sqlx::{Connection, Executor};
    sqlx::any::install_default_drivers();
    let mut connection = sqlx::AnyConnection::connect(admin)
        .await
        .expect("connect to postgres");
    let mut nonce = [0u8; 6];
    getrandom::fill(&mut nonce).unwrap();
    let name = format!(
        "cbx_t_{}",
        nonce
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect::<String>()
    );
    connection
        .execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .await
        .expect("create database");
    let (base, query) = admin
        .split_once('?')
        .map_or((admin, None), |(base, query)| (base, Some(query)));
    let prefix = &base[..base.rfind('/').expect("database in the url")];
    match query {
        Some(query) => format!("{prefix}/{name}?{query}"),
        None => format!("{prefix}/{name}"),
    }
}

/// The `local` provider rooted in `state`.
pub fn local_providers(state: &Path) -> Providers {
    let mut paths = Paths::from_lookup(|_| None);
    paths.state_dir = state.to_path_buf();
    paths.home = state.to_path_buf();
    Providers::build(&["local".to_string()], &ProviderSettings::new(paths)).unwrap()
}

pub struct Running {
    pub url: String,
    pub coordinator: Coordinator,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Running {
    pub async fn start(
        url: &str,
        settings: Settings,
        providers: Providers,
        clock: Arc<dyn Clock>,
    ) -> Running {
        let store = Store::open(url).await.expect("open store");
        let coordinator = Coordinator::new(store, settings, providers, clock);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let serving = coordinator.clone();
        let task = tokio::spawn(async move {
            crabbox_coordinator::serve(listener, serving, async {
                let _ = stopped.await;
            })
            .await
            .unwrap();
        });
        Running {
            url: format!("http://{address}"),
            coordinator,
            stop: Some(stop),
            task: Some(task),
        }
    }

    pub async fn start_default(url: &str, state: &Path) -> Running {
        Running::start(
            url,
            settings(),
            local_providers(state),
            Arc::new(SystemClock),
        )
        .await
    }

    pub fn api(&self, token: &str) -> Api {
        let _ = rustls::crypto::ring::default_provider().install_default();
        Api {
            base: self.url.clone(),
            token: token.to_string(),
            headers: Vec::new(),
            http: reqwest::Client::new(),
        }
    }

    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
        self.coordinator.store().close().await;
    }
}

/// A bare JSON client, independent of `crabbox-client`, so the wire format is
/// what the tests assert.
#[derive(Clone)]
pub struct Api {
    pub base: String,
    pub token: String,
    pub headers: Vec<(String, String)>,
    pub http: reqwest::Client,
}

impl Api {
    pub fn with_identity(mut self, owner: &str, org: &str) -> Api {
        self.headers = vec![
            ("X-Crabbox-Owner".into(), owner.into()),
            ("X-Crabbox-Org".into(), org.into()),
        ];
        self
    }

    pub async fn raw(&self, method: &str, path: &str, body: Option<Vec<u8>>) -> (u16, Vec<u8>) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if !self.token.is_empty() {
            request = request.bearer_auth(&self.token);
        }
        for (name, value) in &self.headers {
            request = request.header(name, value);
        }
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body);
        }
        let response = request
            .send()
            .await
            .expect("request reaches the coordinator");
        let status = response.status().as_u16();
        (status, response.bytes().await.unwrap_or_default().to_vec())
    }

    pub async fn call(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let (status, bytes) = self
            .raw(
                method,
                path,
                body.map(|body| serde_json::to_vec(&body).unwrap()),
            )
            .await;
        let value = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()));
        (status, value)
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        self.call("GET", path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.call("POST", path, Some(body)).await
    }
}

/// An ed25519 public key line from a real ssh-keygen.
pub fn public_key(dir: &Path) -> String {
    let key = dir.join(format!("key-{}", std::process::id()));
    if !key.exists() {
        let status = std::process::Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-f"])
            .arg(&key)
            .status()
            .unwrap();
        assert!(status.success());
    }
    std::fs::read_to_string(key.with_extension("pub"))
        .unwrap()
        .trim()
        .to_string()
}

pub fn temp_dir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("cbx-coord-")
        .tempdir()
        .unwrap()
}

/// Lease directories the local provider holds under `state`.
pub fn local_lease_dirs(state: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(state.join("local"))
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|entry| entry.path())
                .collect()
        })
        .unwrap_or_default()
}
