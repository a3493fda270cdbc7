//! What a run has learned so far (identifiers and phase durations), folded from
//! its events in one place; the summary lines, `--timing-json` and the recorded
//! finish all read it.

use std::time::Duration;

use serde_json::json;

use super::event::RunEvent;

pub fn ms(duration: Duration) -> u64 {
    duration.as_millis() as u64
}

/// Phase durations and identifiers of one run or warmup.
#[derive(Debug, Default)]
pub struct RunFacts {
    pub run_id: String,
    pub provider: String,
    pub lease_id: String,
    pub slug: String,
    pub server_type: String,
    pub lease_ms: u64,
    pub bootstrap_ms: u64,
    pub sync_ms: u64,
    pub command_ms: u64,
    pub total_ms: u64,
    pub files_sent: u64,
    pub bytes_sent: u64,
    pub deleted: u64,
    pub sync_skipped: bool,
    pub sync_steps: Vec<(&'static str, u64)>,
    pub exit_code: i32,
    pub workdir: String,
    pub stop_command: String,
    pub idle_timeout: String,
    /// The idle timeout as the summary prints it (`-` when unknown).
    pub idle_timeout_text: String,
    pub lease_stopped: bool,
}

impl RunFacts {
    pub fn new(run_id: &str) -> RunFacts {
        RunFacts {
            run_id: run_id.to_string(),
            ..RunFacts::default()
        }
    }

    /// The one place a run's facts change.
    pub fn apply(&mut self, event: &RunEvent<'_>) {
        match event {
            RunEvent::LeaseObtained { lease, took, .. } => {
                self.provider = lease.provider.clone();
                self.lease_id = lease.id.clone();
                self.slug = lease.slug.clone();
                self.server_type = lease.server_type.clone();
                self.stop_command = crate::leases::stop_command(lease);
                self.idle_timeout_text = crate::leases::seconds_text(lease.idle_timeout_secs);
                self.lease_ms = ms(*took);
                self.idle_timeout = crabbox_core::format_duration(Duration::from_secs(
                    lease.idle_timeout_secs.max(0) as u64,
                ));
            }
            RunEvent::Connected { workdir, took, .. } => {
                self.bootstrap_ms = ms(*took);
                self.workdir = workdir.to_string();
            }
            // Nothing was sent: the summary says the sync was skipped.
            RunEvent::SyncDisabled => self.sync_skipped = true,
            RunEvent::SyncFinished { outcome, took } => {
                self.sync_ms += ms(*took);
                self.sync_skipped = outcome.skipped;
                self.files_sent = outcome.files_sent;
                self.bytes_sent = outcome.bytes_sent;
                self.deleted = outcome.deleted;
                self.sync_steps = outcome
                    .steps
                    .iter()
                    .map(|(name, took)| (*name, ms(*took)))
                    .collect();
            }
            RunEvent::CommandFinished { took, .. } => self.command_ms = ms(*took),
            RunEvent::Concluded { exit, total } => {
                self.exit_code = exit.unwrap_or(-1);
                self.total_ms = ms(*total);
            }
            RunEvent::Released { .. } => self.lease_stopped = true,
            _ => {}
        }
    }

    /// `manifest:12ms,plan:0ms,rsync:80ms`.
    pub fn sync_steps_text(&self) -> String {
        self.sync_steps
            .iter()
            .map(|(name, took)| format!("{name}:{took}ms"))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// The `--timing-json` document.
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
