//! Shared harness: an in-process coordinator on a loopback port over a fresh
//! database (SQLite always, PostgreSQL when `CRABBOX_TEST_POSTGRES_URL` is set),
//! with the real `local` provider, a tiny JSON HTTP helper and a control
//! WebSocket client.

pub mod machines;

use std::convert::Infallible;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crabbox_coordinator::{Clock, Coordinator, Providers, Settings, SystemClock};
use crabbox_core::{Paths, Secret};
use crabbox_providers::ProviderSettings;
use crabbox_store::{RunEventRecord, ScratchDatabase, Store, Timestamp};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{self, Message};

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
        // The tests broker the real `local` provider.
        local_dev: true,
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
/// database created from the admin URL. It reads as its URL; a PostgreSQL one
/// is dropped when this value drops, so bind it before the servers that use it
/// (locals drop in reverse order) rather than passing a temporary.
pub async fn database_url(backend: &str, dir: &Path) -> TestDatabase {
    match backend {
        "sqlite" => TestDatabase {
            url: crabbox_coordinator::default_database_url(dir),
            _scratch: None,
        },
        _ => {
            let admin = std::env::var("CRABBOX_TEST_POSTGRES_URL").unwrap();
            let scratch = ScratchDatabase::create(&admin)
                .await
                .expect("scratch postgres database");
            TestDatabase {
                url: scratch.url().to_string(),
                _scratch: Some(scratch),
            }
        }
    }
}

/// One test's database: its URL, and for PostgreSQL the handle that drops it.
pub struct TestDatabase {
    url: String,
    _scratch: Option<ScratchDatabase>,
}

impl std::ops::Deref for TestDatabase {
    type Target = str;

    fn deref(&self) -> &str {
        &self.url
    }
}

/// The `local` provider rooted in `state`.
pub fn local_providers(state: &Path) -> Providers {
    let mut paths = Paths::from_lookup(|_| None);
    paths.state_dir = state.to_path_buf();
    paths.home = state.to_path_buf();
    let mut settings = ProviderSettings::new(paths);
    // Lease sessions never read the machine account's shell profile.
    settings.local.home = Some(state.to_path_buf());
    Providers::build(&["local".to_string()], &settings).unwrap()
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
        Running::start_on(store, settings, providers, clock).await
    }

    /// Serves an already opened store.
    pub async fn start_on(
        store: Store,
        settings: Settings,
        providers: Providers,
        clock: Arc<dyn Clock>,
    ) -> Running {
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

    /// A control socket authenticated with `token` (nothing read yet).
    pub async fn control(&self, token: &str) -> Control {
        Control::connect(&self.url, token)
            .await
            .expect("the control socket upgrades")
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

/// A scratch directory for one test. Processes started under it (the sshd of a
/// local lease the test never released) are killed before it is removed, so
/// no test leaves a process behind.
pub struct TestDir(tempfile::TempDir);

impl TestDir {
    pub fn path(&self) -> &Path {
        self.0.path()
    }
}

impl Drop for TestDir {
    fn drop(&mut self) {
        let marker = self.0.path().display().to_string();
        crabbox_core::process::kill_all_until_gone(|| {
            crabbox_core::process::matching_processes(&marker)
                .into_iter()
                .collect()
        });
    }
}

pub fn temp_dir() -> TestDir {
    TestDir(
        tempfile::Builder::new()
            .prefix("cbx-coord-")
            .tempdir()
            .unwrap(),
    )
}

/// Lease directories the local provider holds under `state`.
pub fn local_lease_dirs(state: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(state.join("local"))
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|entry| entry.path())
                .filter(|path| path.is_dir())
                .collect()
        })
        .unwrap_or_default()
}

/// Creates a run as `api`'s caller and returns its id.
pub async fn create_run(api: &Api) -> String {
    let (status, body) = api
        .post("/v1/runs", json!({"command": ["cargo", "test"]}))
        .await;
    assert_eq!(status, 201, "{body}");
    body["run"]["id"].as_str().unwrap().to_string()
}

/// Appends `count` stdout events straight through the store (no HTTP, no push).
pub async fn append_backlog(coordinator: &Coordinator, run: &str, count: usize) {
    for index in 0..count {
        let event = RunEventRecord {
            kind: "stdout".into(),
            stream: "stdout".into(),
            data: format!("backlog {index}\n"),
            created_at: Timestamp::now(),
            ..RunEventRecord::default()
        };
        coordinator
            .store()
            .append_event(run, event, |_, _| Ok::<(), Infallible>(()))
            .await
            .expect("append to the backlog");
    }
}

/// Appends `count` stdout events through `api` (HTTP) from `writers` concurrent
/// tasks; the handle finishes when all have.
pub fn spawn_writers(
    api: Api,
    run: String,
    count: usize,
    writers: usize,
) -> tokio::task::JoinHandle<()> {
    let tasks: Vec<_> = (0..writers)
        .map(|writer| {
            let (api, run) = (api.clone(), run.clone());
            let share = count / writers + usize::from(writer < count % writers);
            tokio::spawn(async move {
                for index in 0..share {
                    let (status, body) = api
                        .post(
                            &format!("/v1/runs/{run}/events"),
                            json!({"type": "stdout", "stream": "stdout", "data": format!("live {writer}.{index}\n")}),
                        )
                        .await;
                    assert_eq!(status, 201, "{body}");
                }
            })
        })
        .collect();
    tokio::spawn(async move {
        for task in tasks {
            task.await.expect("the writer finishes");
        }
    })
}

/// Runs maintenance passes until one actually ran (the background loop may hold the lock).
pub async fn settle(coordinator: &Coordinator) {
    for _ in 0..200 {
        if !crabbox_coordinator::maintenance::pass(coordinator)
            .await
            .skipped
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("maintenance lock never became free");
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// How long a test waits for one frame before failing.
const FRAME_WAIT: Duration = Duration::from_secs(30);

/// A bare control-socket client speaking JSON frames.
pub struct Control {
    socket: Socket,
    /// The page size of each run's last `subscribe_run`.
    limits: std::collections::HashMap<String, i64>,
}

impl Control {
    pub async fn connect(base: &str, token: &str) -> Result<Control, tungstenite::Error> {
        let url = format!("{}/v1/control", base.replacen("http://", "ws://", 1));
        let mut request = url.into_client_request()?;
        if !token.is_empty() {
            request.headers_mut().insert(
                "authorization",
                format!("Bearer {token}").parse().expect("header value"),
            );
        }
        let (socket, _) = tokio_tungstenite::connect_async(request).await?;
        Ok(Control {
            socket,
            limits: Default::default(),
        })
    }

    pub async fn send(&mut self, frame: Value) {
        self.send_message(Message::text(frame.to_string())).await;
    }

    pub async fn send_message(&mut self, message: Message) {
        self.socket.send(message).await.expect("send a frame");
    }

    /// The next text frame as JSON, if one arrives within `wait` (pings are
    /// answered by the library while reading).
    pub async fn frame_within(&mut self, wait: Duration) -> Option<Value> {
        let reading = async {
            loop {
                match self.socket.next().await {
                    Some(Ok(Message::Text(text))) => {
                        return serde_json::from_str(text.as_str()).expect("frames are JSON")
                    }
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                    other => panic!("expected a text frame, got {other:?}"),
                }
            }
        };
        tokio::time::timeout(wait, reading).await.ok()
    }

    pub async fn frame(&mut self) -> Value {
        self.frame_within(FRAME_WAIT)
            .await
            .expect("a frame arrives in time")
    }

    pub async fn hello(&mut self) -> Value {
        let hello = self.frame().await;
        assert_eq!(hello["type"], "hello", "{hello}");
        hello
    }

    /// Sends a ping frame and expects `pong` as the very next frame.
    pub async fn round_trip(&mut self) {
        self.send(json!({"type": "ping"})).await;
        let pong = self.frame().await;
        assert_eq!(pong["type"], "pong", "{pong}");
    }

    /// The server's close code and reason, skipping frames before it; `None`
    /// when the connection ended without a close frame.
    pub async fn closed(&mut self) -> Option<(u16, String)> {
        let reading = async {
            loop {
                match self.socket.next().await {
                    Some(Ok(Message::Close(frame))) => {
                        return frame.map(|frame| (u16::from(frame.code), frame.reason.to_string()))
                    }
                    Some(Ok(_)) => {}
                    Some(Err(_)) | None => return None,
                }
            }
        };
        tokio::time::timeout(FRAME_WAIT, reading)
            .await
            .expect("the server closes the socket in time")
    }

    pub async fn subscribe(&mut self, run: &str, after: i64, limit: i64) {
        self.limits.insert(run.to_string(), limit);
        self.send(json!({"type": "subscribe_run", "runID": run, "after": after, "limit": limit}))
            .await;
    }

    /// Reads one `run_events` frame of `run`: its seqs, checking that `nextSeq`
    /// is the last of them.
    async fn run_events(&mut self, run: &str) -> (Vec<i64>, i64) {
        let frame = self.frame().await;
        assert_eq!(frame["type"], "run_events", "{frame}");
        assert_eq!(frame["runID"], run);
        let page: Vec<i64> = frame["events"]
            .as_array()
            .expect("events")
            .iter()
            .map(|event| event["seq"].as_i64().expect("seq"))
            .collect();
        let next_seq = frame["nextSeq"].as_i64().expect("nextSeq");
        if let Some(tail) = page.last() {
            assert_eq!(*tail, next_seq, "nextSeq is the last seq sent");
        }
        (page, next_seq)
    }

    /// Reads `run_events` frames of `run` as the Go CLI does until seq `last`
    /// arrived: acks each frame and subscribes again after a full page. Returns
    /// every seq in arrival order (a trailing re-subscribe's reply included).
    pub async fn follow(&mut self, run: &str, last: i64) -> Vec<i64> {
        let limit = self.limits.get(run).copied().unwrap_or(100);
        let mut seqs: Vec<i64> = Vec::new();
        let mut asked_again = false;
        while seqs.last().copied().unwrap_or(0) < last {
            let (page, next_seq) = self.run_events(run).await;
            let full = page.len() as i64 >= limit;
            seqs.extend(page);
            self.send(json!({"type": "ack", "runID": run, "seq": next_seq}))
                .await;
            asked_again = full;
            if full {
                self.subscribe(run, next_seq, limit).await;
            }
        }
        if asked_again {
            seqs.extend(self.run_events(run).await.0);
        }
        seqs
    }
}
