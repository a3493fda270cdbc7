//! Write throughput and the cost of an empty poll, through the HTTP API.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crabbox_proto::wire::RunEventRecord;

use crate::harness::Server;

/// Requests per second of `operation` from `writers` concurrent clients over
/// `window`.
async fn rate<F, Fut>(writers: usize, window: Duration, operation: F) -> f64
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let operation = Arc::new(operation);
    let done = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for writer in 0..writers {
        let operation = operation.clone();
        let done = done.clone();
        tasks.push(tokio::spawn(async move {
            while started.elapsed() < window {
                operation(writer).await;
                done.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    for task in tasks {
        let _ = task.await;
    }
    done.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64()
}

/// Event appends per second, each writer on its own run.
pub async fn appends_per_second(server: &Server, writers: usize, window: Duration) -> f64 {
    let mut runs = Vec::new();
    for _ in 0..writers {
        runs.push(server.create_run().await);
    }
    let runs = Arc::new(runs);
    let http = server.http.clone();
    let base = server.base.clone();
    rate(writers, window, move |writer| {
        let http = http.clone();
        let url = format!("{base}/v1/runs/{}/events", runs[writer]);
        async move {
            let response = http
                .post(url)
                .bearer_auth(crate::harness::TOKEN)
                .json(&serde_json::json!({"type": "stdout", "data": "benchmark line\n"}))
                .send()
                .await
                .expect("append");
            assert!(response.status().is_success());
        }
    })
    .await
}

pub async fn run_creates_per_second(server: &Server, writers: usize, window: Duration) -> f64 {
    let http = server.http.clone();
    let url = format!("{}/v1/runs", server.base);
    rate(writers, window, move |_| {
        let http = http.clone();
        let url = url.clone();
        async move {
            let response = http
                .post(url)
                .bearer_auth(crate::harness::TOKEN)
                .json(&serde_json::json!({"command": ["bench"]}))
                .send()
                .await
                .expect("create run");
            assert!(response.status().is_success());
        }
    })
    .await
}

/// Median milliseconds of `GET events?after=<last>` on a run with `events` events.
pub async fn empty_poll_ms(server: &Server, events: i64, polls: usize) -> f64 {
    let run = server.create_run().await;
    for index in 1..events {
        let event = RunEventRecord {
            kind: "stdout".into(),
            data: format!("{index}\n"),
            created_at: crabbox_proto::Timestamp::now(),
            ..RunEventRecord::default()
        };
        server
            .store
            .append_event(&run, event, |_, _| Ok::<(), ()>(()))
            .await
            .expect("append");
    }
    let path = format!("/v1/runs/{run}/events?after={events}");
    let mut samples = Vec::new();
    for _ in 0..polls {
        let started = Instant::now();
        let page = server.get(&path).await;
        samples.push(started.elapsed().as_secs_f64() * 1000.0);
        assert!(page["events"].as_array().is_some_and(Vec::is_empty));
    }
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}
