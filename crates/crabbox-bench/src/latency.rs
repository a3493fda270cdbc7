//! Push latency: from the moment an append is sent to the moment each subscriber
//! receives the event, over the control socket and, as the baseline, by polling
//! the events endpoint every second.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crabbox_proto::wire::{ClientFrame, ServerFrame};
use futures_util::{SinkExt, StreamExt};
use tokio::sync::Mutex;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

use crate::harness::{Server, TOKEN};

/// Receipt instants of one subscriber, indexed by sequence number.
type Receipts = Arc<Mutex<Vec<Option<Instant>>>>;

/// Follows `run` from `after` until it has received every event up to `last`.
async fn subscriber(
    base: &str,
    run: &str,
    after: i64,
    last: usize,
) -> (Receipts, tokio::task::JoinHandle<()>) {
    let expected = last - after as usize;
    let url = format!("{}/v1/control", base.replacen("http", "ws", 1));
    let mut request = url.into_client_request().expect("ws request");
    request.headers_mut().insert(
        "authorization",
        format!("Bearer {TOKEN}").parse().expect("header"),
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(request)
        .await
        .expect("control socket");
    let subscribe = ClientFrame::SubscribeRun {
        run_id: run.to_string(),
        after,
        limit: Some(500),
    };
    socket
        .send(Message::text(
            serde_json::to_string(&subscribe).expect("frame"),
        ))
        .await
        .expect("subscribe");
    let receipts: Receipts = Arc::new(Mutex::new(vec![None; last + 1]));
    let recorded = receipts.clone();
    let task = tokio::spawn(async move {
        let mut seen = 0;
        while let Some(Ok(message)) = socket.next().await {
            let Message::Text(text) = message else {
                continue;
            };
            let now = Instant::now();
            if let Ok(ServerFrame::RunEvents { events, .. }) = serde_json::from_str(text.as_str()) {
                let mut receipts = recorded.lock().await;
                for event in events {
                    if let Some(slot) = receipts.get_mut(event.seq as usize) {
                        slot.get_or_insert(now);
                        seen += 1;
                    }
                }
                if seen >= expected {
                    return;
                }
            }
        }
    });
    (receipts, task)
}

fn percentile(sorted: &[f64], fraction: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let index = ((sorted.len() - 1) as f64 * fraction).round() as usize;
    sorted[index]
}

#[derive(Debug, Clone)]
pub struct Latency {
    pub label: String,
    pub samples: usize,
    pub p50_ms: f64,
    pub p99_ms: f64,
}

fn summarize(label: String, mut samples: Vec<f64>) -> Latency {
    samples.sort_by(f64::total_cmp);
    Latency {
        label,
        samples: samples.len(),
        p50_ms: percentile(&samples, 0.5),
        p99_ms: percentile(&samples, 0.99),
    }
}

/// Appends `events` events 5 ms apart while `subscribers` sockets follow the run.
pub async fn socket_push(server: &Server, subscribers: usize, events: usize) -> Latency {
    let run = server.create_run().await;
    // Events 1..=first are the run's own; the appends measured follow.
    let first = 1i64;
    let capacity = first as usize + events;
    let mut followers = Vec::new();
    for _ in 0..subscribers {
        followers.push(subscriber(&server.base, &run, first, capacity).await);
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut sent = vec![None; capacity + 1];
    for index in 0..events {
        let started = Instant::now();
        let seq = server.append(&run, &format!("line {index}\n")).await;
        sent[seq as usize] = Some(started);
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let mut samples = Vec::new();
    for (receipts, task) in followers {
        let _ = tokio::time::timeout(Duration::from_secs(30), task).await;
        let receipts = receipts.lock().await;
        for (seq, started) in sent.iter().enumerate() {
            if let (Some(started), Some(Some(received))) = (started, receipts.get(seq)) {
                samples.push(received.saturating_duration_since(*started).as_secs_f64() * 1000.0);
            }
        }
    }
    let expected = subscribers * events;
    assert_eq!(
        samples.len(),
        expected,
        "every subscriber received every event"
    );
    summarize(format!("socket, {subscribers} subscriber(s)"), samples)
}

/// The baseline: a client polling `events?after=` every second.
pub async fn http_polling(server: &Server, events: usize) -> Latency {
    let run = server.create_run().await;
    let sent: Arc<Mutex<Vec<Option<Instant>>>> = Arc::new(Mutex::new(vec![None; events + 2]));
    let record = sent.clone();
    let appender = {
        let http = server.http.clone();
        let base = server.base.clone();
        let run = run.clone();
        tokio::spawn(async move {
            for index in 0..events {
                // Spread appends over the poll period so the wait is sampled fairly.
                tokio::time::sleep(Duration::from_millis(137 + (index as u64 * 211) % 500)).await;
                let started = Instant::now();
                let response = http
                    .post(format!("{base}/v1/runs/{run}/events"))
                    .bearer_auth(TOKEN)
                    .json(&serde_json::json!({"type": "stdout", "data": "x"}))
                    .send()
                    .await
                    .expect("append");
                let body: serde_json::Value = response.json().await.expect("json");
                let seq = body["event"]["seq"].as_i64().expect("seq") as usize;
                record.lock().await[seq] = Some(started);
            }
        })
    };
    let mut after = 1;
    let mut samples = Vec::new();
    while samples.len() < events {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let page = server
            .get(&format!("/v1/runs/{run}/events?after={after}&limit=500"))
            .await;
        let received = Instant::now();
        for event in page["events"].as_array().cloned().unwrap_or_default() {
            let seq = event["seq"].as_i64().unwrap_or_default();
            // Its append has not returned yet: take it on the next poll.
            let Some(Some(started)) = sent.lock().await.get(seq as usize).copied() else {
                break;
            };
            after = seq;
            samples.push(received.saturating_duration_since(started).as_secs_f64() * 1000.0);
        }
    }
    let _ = appender.await;
    summarize("HTTP polling every 1 s".into(), samples)
}
