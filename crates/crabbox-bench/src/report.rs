//! The benchmark's outputs: a Markdown table on stdout, JSON, and an SVG chart
//! of push latency (log scale) per backend.

use serde_json::{json, Value};

use crate::latency::Latency;

pub struct BackendResult {
    pub backend: String,
    pub latencies: Vec<Latency>,
    pub appends_per_second: f64,
    pub run_creates_per_second: f64,
    pub empty_poll_ms: f64,
}

pub fn markdown(results: &[BackendResult]) -> String {
    let mut out = String::from("| Backend | Measurement | p50 | p99 |\n|---|---|---|---|\n");
    for result in results {
        for latency in &result.latencies {
            out.push_str(&format!(
                "| {} | push latency, {} ({} samples) | {:.2} ms | {:.2} ms |\n",
                result.backend, latency.label, latency.samples, latency.p50_ms, latency.p99_ms
            ));
        }
    }
    out.push_str("\n| Backend | Event appends/s (8 writers) | Run creates/s (8 writers) | Empty poll, 10k-event run (median) |\n|---|---|---|---|\n");
    for result in results {
        out.push_str(&format!(
            "| {} | {:.0} | {:.0} | {:.2} ms |\n",
            result.backend,
            result.appends_per_second,
            result.run_creates_per_second,
            result.empty_poll_ms
        ));
    }
    out
}

pub fn json(results: &[BackendResult]) -> Value {
    Value::Array(
        results
            .iter()
            .map(|result| {
                json!({
                    "backend": result.backend,
                    "latency": result.latencies.iter().map(|latency| json!({
                        "label": latency.label, "samples": latency.samples,
                        "p50Ms": latency.p50_ms, "p99Ms": latency.p99_ms,
                    })).collect::<Vec<_>>(),
                    "appendsPerSecond": result.appends_per_second,
                    "runCreatesPerSecond": result.run_creates_per_second,
                    "emptyPollMs": result.empty_poll_ms,
                })
            })
            .collect(),
    )
}

/// Horizontal bars (p50 solid, p99 outlined) on a log axis from 0.1 ms to 2 s.
pub fn svg(results: &[BackendResult]) -> String {
    let rows: Vec<(String, &Latency)> = results
        .iter()
        .flat_map(|result| {
            result
                .latencies
                .iter()
                .map(move |latency| (format!("{}: {}", result.backend, latency.label), latency))
        })
        .collect();
    let (left, width, row_height) = (300.0, 820.0, 26.0);
    let plot = width - left - 30.0;
    let height = 70.0 + row_height * rows.len() as f64;
    let (low, high) = (0.1f64.log10(), 2000f64.log10());
    let x = |ms: f64| left + plot * ((ms.max(0.1).log10() - low) / (high - low)).clamp(0.0, 1.0);
    let mut out = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" font-family=\"sans-serif\" font-size=\"12\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n\
         <text x=\"{left}\" y=\"18\" font-size=\"14\">Push latency, append → receipt (ms, log scale): p50 filled, p99 outline</text>\n"
    );
    for tick in [0.1, 1.0, 10.0, 100.0, 1000.0] {
        let position = x(tick);
        out.push_str(&format!(
            "<line x1=\"{position:.1}\" y1=\"28\" x2=\"{position:.1}\" y2=\"{:.1}\" stroke=\"#ddd\"/><text x=\"{position:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{tick}</text>\n",
            height - 30.0,
            height - 14.0
        ));
    }
    for (index, (label, latency)) in rows.iter().enumerate() {
        let top = 34.0 + row_height * index as f64;
        let color = if label.contains("polling") {
            "#c0504d"
        } else {
            "#4f81bd"
        };
        out.push_str(&format!(
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{label}</text>\n\
             <rect x=\"{left}\" y=\"{top:.1}\" width=\"{:.1}\" height=\"18\" fill=\"none\" stroke=\"{color}\"/>\n\
             <rect x=\"{left}\" y=\"{top:.1}\" width=\"{:.1}\" height=\"18\" fill=\"{color}\"/>\n",
            left - 8.0,
            top + 13.0,
            x(latency.p99_ms) - left,
            x(latency.p50_ms) - left,
        ));
    }
    out.push_str("</svg>\n");
    out
}
