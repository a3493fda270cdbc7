//! A database outage answers 503 `database_unavailable` with `Retry-After`, not
//! 500, and the coordinator recovers when the database is back.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use crabbox_coordinator::SystemClock;
use crabbox_store::{OpenOptions, Store};
use serde_json::{json, Value};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};

use crate::common::*;

/// A TCP relay to the database that can be cut (connections reset, new ones
/// refused) and restored on the same port.
struct Relay {
    address: SocketAddr,
    upstream: SocketAddr,
    task: Option<JoinHandle<()>>,
}

impl Relay {
    async fn start(upstream: SocketAddr) -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        Relay {
            address,
            upstream,
            task: Some(tokio::spawn(Relay::run(listener, upstream))),
        }
    }

    async fn run(listener: TcpListener, upstream: SocketAddr) {
        // Aborting this task drops the set, which aborts every open pair.
        let mut pairs = JoinSet::new();
        while let Ok((mut client, _)) = listener.accept().await {
            pairs.spawn(async move {
                if let Ok(mut server) = TcpStream::connect(upstream).await {
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                }
            });
        }
    }

    async fn cut(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
            let _ = task.await;
        }
    }

    async fn restore(&mut self) {
        let listener = TcpListener::bind(self.address).await.unwrap();
        self.task = Some(tokio::spawn(Relay::run(listener, self.upstream)));
    }
}

/// `url` with its host and port replaced by `address`.
fn through(url: &str, address: SocketAddr) -> String {
    let (scheme, rest) = url.split_once("://").unwrap();
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let user = authority
        .rsplit_once('@')
        .map(|(user, _)| format!("{user}@"));
    format!("{scheme}://{}{address}{tail}", user.unwrap_or_default())
}

fn host_port(url: &str) -> SocketAddr {
    let rest = url.split_once("://").unwrap().1;
    let authority = &rest[..rest.find(['/', '?']).unwrap_or(rest.len())];
    let host = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    let host = if host.contains(':') {
        host.to_string()
    } else {
        format!("{host}:5432")
    };
    host.replace("localhost", "127.0.0.1").parse().unwrap()
}

/// Status, `Retry-After` and error code of one request.
async fn answer(api: &Api, method: &str, path: &str, body: Option<Value>) -> (u16, String, String) {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut request = api
        .http
        .request(method, format!("{}{path}", api.base))
        .bearer_auth(&api.token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("the coordinator answers");
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    let code = body["error"].as_str().unwrap_or_default().to_string();
    (status, retry_after, code)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_postgres_answers_503_and_recovers() {
    let Ok(admin) = std::env::var("CRABBOX_TEST_POSTGRES_URL") else {
        eprintln!("SKIP: CRABBOX_TEST_POSTGRES_URL is not set");
        return;
    };
    let dir = temp_dir();
    let database = crabbox_store::ScratchDatabase::create(&admin)
        .await
        .unwrap();
    let direct = database.url().to_string();
    let mut relay = Relay::start(host_port(&direct)).await;
    let options = OpenOptions {
        acquire_timeout: Duration::from_secs(1),
    };
    let store = Store::open_with(&through(&direct, relay.address), &options)
        .await
        .expect("open through the relay");
    let server = Running::start_on(
        store,
        settings(),
        local_providers(dir.path()),
        Arc::new(SystemClock),
    )
    .await;
    let alice = server.api(&user_token("alice", "acme"));
    let run = create_run(&alice).await;

    relay.cut().await;
    let event = json!({"type": "stdout", "data": "x"});
    for (method, path, body) in [
        ("GET", format!("/v1/runs/{run}"), None),
        (
            "POST",
            format!("/v1/runs/{run}/events"),
            Some(event.clone()),
        ),
        ("GET", "/v1/leases".to_string(), None),
        (
            "POST",
            "/v1/runs".to_string(),
            Some(json!({"command": ["true"]})),
        ),
    ] {
        let (status, retry_after, code) = answer(&alice, method, &path, body).await;
        assert_eq!(
            (status, code.as_str()),
            (503, "database_unavailable"),
            "{method} {path}"
        );
        assert_eq!(retry_after, "5", "{method} {path}");
    }
    let (status, _) = alice.get("/v1/ready").await;
    assert_eq!(status, 503);

    relay.restore().await;
    let mut recovered = false;
    for _ in 0..100 {
        if alice.get(&format!("/v1/runs/{run}")).await.0 == 200 {
            recovered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        recovered,
        "requests succeed again once the database is back"
    );
    let (status, retry_after, _) = answer(
        &alice,
        "POST",
        &format!("/v1/runs/{run}/events"),
        Some(event),
    )
    .await;
    assert_eq!((status, retry_after.as_str()), (201, ""));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_store_answers_503_on_every_backend() {
    for backend in backends() {
        let dir = temp_dir();
        let database = database_url(backend, dir.path()).await;
        let server = Running::start_default(&database, dir.path()).await;
        let alice = server.api(&user_token("alice", "acme"));
        let run = create_run(&alice).await;
        server.coordinator.store().close().await;
        let (status, retry_after, code) =
            answer(&alice, "GET", &format!("/v1/runs/{run}"), None).await;
        assert_eq!(
            (status, retry_after.as_str(), code.as_str()),
            (503, "5", "database_unavailable"),
            "{backend}"
        );
        server.stop().await;
    }
}
