//! An in-process coordinator on a loopback port over a fresh database, and the
//! HTTP calls the benchmarks make.

use std::sync::Arc;

use crabbox_coordinator::{Coordinator, Providers, Settings, SystemClock};
use crabbox_core::Secret;
use crabbox_store::{ScratchDatabase, Store};
use serde_json::{json, Value};

pub const TOKEN: &str = "bench-shared-token";

pub struct Server {
    pub base: String,
    pub store: Store,
    pub http: reqwest::Client,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
    _dir: Option<tempfile::TempDir>,
    _database: Option<ScratchDatabase>,
}

/// A fresh database: a SQLite file in a temp dir, or a new PostgreSQL database
/// next to the one `admin` names.
pub async fn database(
    backend: &str,
) -> (String, Option<tempfile::TempDir>, Option<ScratchDatabase>) {
    if backend == "sqlite" {
        let dir = tempfile::tempdir().expect("temp dir");
        return (
            crabbox_coordinator::default_database_url(dir.path()),
            Some(dir),
            None,
        );
    }
    let admin = std::env::var("CRABBOX_TEST_POSTGRES_URL").expect("postgres url");
    let database = ScratchDatabase::create(&admin)
        .await
        .expect("scratch database");
    (database.url().to_string(), None, Some(database))
}

impl Server {
    pub async fn start(backend: &str) -> Server {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let (url, dir, scratch) = database(backend).await;
        let store = Store::open(&url).await.expect("open store");
        let settings = Settings {
            shared_token: Some(Secret::new(TOKEN)),
            shared_owner: "bench".into(),
            ..Settings::default()
        };
        let coordinator = Coordinator::new(
            store.clone(),
            settings,
            Providers::default(),
            Arc::new(SystemClock),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("address"));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let _ = crabbox_coordinator::serve(listener, coordinator, async {
                let _ = stopped.await;
            })
            .await;
        });
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(256)
            .build()
            .expect("http client");
        Server {
            base,
            store,
            http,
            stop: Some(stop),
            task: Some(task),
            _dir: dir,
            _database: scratch,
        }
    }

    pub async fn post(&self, path: &str, body: Value) -> Value {
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(TOKEN)
            .json(&body)
            .send()
            .await
            .expect("post");
        assert!(
            response.status().is_success(),
            "{path}: {}",
            response.status()
        );
        response.json().await.expect("json body")
    }

    pub async fn get(&self, path: &str) -> Value {
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(TOKEN)
            .send()
            .await
            .expect("get");
        assert!(
            response.status().is_success(),
            "{path}: {}",
            response.status()
        );
        response.json().await.expect("json body")
    }

    pub async fn create_run(&self) -> String {
        let body = self.post("/v1/runs", json!({"command": ["bench"]})).await;
        body["run"]["id"].as_str().expect("run id").to_string()
    }

    pub async fn append(&self, run: &str, data: &str) -> i64 {
        let body = self
            .post(
                &format!("/v1/runs/{run}/events"),
                json!({"type": "stdout", "stream": "stdout", "data": data}),
            )
            .await;
        body["event"]["seq"].as_i64().expect("seq")
    }

    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
        self.store.close().await;
    }
}
