//! The `--timing-json` report of a run or warmup.

use std::time::{Duration, Instant};

use crabbox_providers::Lease;
use serde_json::json;

pub fn ms(duration: Duration) -> u64 {
    duration.as_millis() as u64
}

/// Phase durations and identifiers collected while a command runs.
pub struct Timing {
    started: Instant,
    pub run_id: String,
    pub provider: String,
    pub lease_id: String,
    pub slug: String,
    pub lease_ms: u64,
    pub bootstrap_ms: u64,
    pub sync_ms: u64,
    pub command_ms: u64,
    pub total_ms: u64,
    pub files_sent: u64,
    pub bytes_sent: u64,
    pub sync_skipped: bool,
    pub sync_steps: Vec<(&'static str, u64)>,
    pub exit_code: i32,
    pub workdir: String,
    pub stop_command: String,
    pub idle_timeout: String,
    pub lease_stopped: bool,
}

impl Timing {
    pub fn new(run_id: String) -> Timing {
        Timing {
            started: Instant::now(),
            run_id,
            provider: String::new(),
            lease_id: String::new(),
            slug: String::new(),
            lease_ms: 0,
            bootstrap_ms: 0,
            sync_ms: 0,
            command_ms: 0,
            total_ms: 0,
            files_sent: 0,
            bytes_sent: 0,
            sync_skipped: false,
            sync_steps: Vec::new(),
            exit_code: 0,
            workdir: String::new(),
            stop_command: String::new(),
            idle_timeout: String::new(),
            lease_stopped: false,
        }
    }

    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    pub fn lease(&mut self, lease: &Lease, took: Duration) {
        self.provider = lease.provider.clone();
        self.lease_id = lease.id.clone();
        self.slug = lease.slug.clone();
        self.lease_ms = ms(took);
        self.idle_timeout = crabbox_core::format_duration(Duration::from_secs(
            lease.idle_timeout_secs.max(0) as u64,
        ));
    }

    pub fn record_sync(&mut self, outcome: &crabbox_sync::SyncOutcome) {
        self.sync_skipped = outcome.skipped;
        self.files_sent = outcome.files_sent;
        self.bytes_sent = outcome.bytes_sent;
        self.sync_steps = outcome
            .steps
            .iter()
            .map(|(name, took)| (*name, ms(*took)))
            .collect();
    }

    /// `manifest:12ms,plan:0ms,rsync:80ms`.
    pub fn sync_steps_text(&self) -> String {
        self.sync_steps
            .iter()
            .map(|(name, took)| format!("{name}:{took}ms"))
            .collect::<Vec<_>>()
            .join(",")
    }

    pub fn to_json(&self, run_status: &str) -> serde_json::Value {
        json!({
            "provider": self.provider,
            "leaseId": self.lease_id,
            "slug": self.slug,
            "runId": self.run_id,
            "leaseMs": self.lease_ms,
            "bootstrapMs": self.bootstrap_ms,
            "syncMs": self.sync_ms,
            "syncSkipped": self.sync_skipped,
            "syncPhases": self
                .sync_steps
                .iter()
                .map(|(name, took)| json!({ "name": name, "ms": took }))
                .collect::<Vec<_>>(),
            "syncFiles": self.files_sent,
            "syncBytes": self.bytes_sent,
            "commandMs": self.command_ms,
            "totalMs": self.total_ms,
            "endToEndMs": self.total_ms,
            "exitCode": self.exit_code,
            "runStatus": run_status,
            "workdir": self.workdir,
            "stopCommand": self.stop_command,
            "idleTimeout": self.idle_timeout,
            "leaseStopped": self.lease_stopped,
        })
    }
}
