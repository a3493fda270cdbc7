//! `control-bench`: push latency over the control socket (1, 10 and 100
//! subscribers) against HTTP polling every second, event-append and run-create
//! throughput, and the empty-poll cost — on SQLite and, when
//! `CRABBOX_TEST_POSTGRES_URL` is set, PostgreSQL, in one run.
//!
//! Usage: `control-bench [--events N] [--out DIR]` (writes `control.json`,
//! `control.md` and `control.svg` into DIR, default the current directory).

mod harness;
mod latency;
mod report;
mod throughput;

use std::path::PathBuf;
use std::time::Duration;

use report::BackendResult;

async fn measure(backend: &str, events: usize) -> BackendResult {
    eprintln!("control-bench: {backend}");
    let server = harness::Server::start(backend).await;
    let mut latencies = Vec::new();
    for subscribers in [1, 10, 100] {
        let result = latency::socket_push(&server, subscribers, events).await;
        eprintln!(
            "  {}: p50 {:.2} ms p99 {:.2} ms",
            result.label, result.p50_ms, result.p99_ms
        );
        latencies.push(result);
    }
    let polling = latency::http_polling(&server, 20).await;
    eprintln!(
        "  {}: p50 {:.1} ms p99 {:.1} ms",
        polling.label, polling.p50_ms, polling.p99_ms
    );
    latencies.push(polling);
    let window = Duration::from_secs(3);
    let appends_per_second = throughput::appends_per_second(&server, 8, window).await;
    let run_creates_per_second = throughput::run_creates_per_second(&server, 8, window).await;
    let empty_poll_ms = throughput::empty_poll_ms(&server, 10_000, 200).await;
    eprintln!("  appends/s {appends_per_second:.0}, run creates/s {run_creates_per_second:.0}, empty poll {empty_poll_ms:.2} ms");
    server.stop().await;
    BackendResult {
        backend: backend.to_string(),
        latencies,
        appends_per_second,
        run_creates_per_second,
        empty_poll_ms,
    }
}

fn main() {
    let mut events = 200;
    let mut out = PathBuf::from(".");
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match (arg.as_str(), args.next()) {
            ("--events", Some(value)) => events = value.parse().expect("--events takes a number"),
            ("--out", Some(value)) => out = PathBuf::from(value),
            _ => {
                eprintln!("usage: control-bench [--events N] [--out DIR]");
                std::process::exit(2);
            }
        }
    }
    let mut backends = vec!["sqlite"];
    if std::env::var("CRABBOX_TEST_POSTGRES_URL").is_ok_and(|url| !url.is_empty()) {
        backends.push("postgres");
    } else {
        eprintln!("control-bench: CRABBOX_TEST_POSTGRES_URL is not set; PostgreSQL is skipped");
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let results: Vec<BackendResult> = backends
        .iter()
        .map(|backend| runtime.block_on(measure(backend, events)))
        .collect();
    let table = report::markdown(&results);
    print!("{table}");
    std::fs::create_dir_all(&out).expect("output dir");
    std::fs::write(out.join("control.md"), &table).expect("write control.md");
    std::fs::write(
        out.join("control.json"),
        serde_json::to_string_pretty(&report::json(&results)).expect("json"),
    )
    .expect("write control.json");
    std::fs::write(out.join("control.svg"), report::svg(&results)).expect("write control.svg");
}
