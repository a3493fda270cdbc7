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
    /// The lease's idle timeout; negative when the provider does not know it.
    pub idle_timeout_secs: i64,
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
                self.lease_ms = ms(*took);
                self.idle_timeout_secs = lease.idle_timeout_secs;
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
            "idleTimeout": crabbox_core::format_duration(Duration::from_secs(
                self.idle_timeout_secs.max(0) as u64
            )),
            "leaseStopped": self.lease_stopped,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crabbox_providers::{Lease, LeaseState};
    use crabbox_sync::SyncOutcome;

    fn lease() -> Lease {
        Lease {
            id: "cbx_0123456789ab".into(),
            slug: "swift-crab".into(),
            provider: "local".into(),
            state: LeaseState::Ready,
            server_id: String::new(),
            name: String::new(),
            server_type: "local".into(),
            host: "127.0.0.1".into(),
            user: "crab".into(),
            port: 2222,
            fallback_ports: Vec::new(),
            work_root: "/work".into(),
            host_key: None,
            ssh_key: None,
            created_at: 0,
            last_touched_at: 0,
            idle_timeout_secs: 1800,
            ttl_secs: 5400,
            keep: false,
            pond: String::new(),
            labels: Default::default(),
        }
    }

    #[test]
    fn a_run_s_events_fold_into_its_timing_document() {
        let lease = lease();
        let mut facts = RunFacts::new("run_0123456789ab");
        let outcome = SyncOutcome {
            files_sent: 3,
            bytes_sent: 120,
            steps: vec![("manifest", Duration::from_millis(4))],
            ..SyncOutcome::default()
        };
        let events = [
            RunEvent::LeaseObtained {
                lease: &lease,
                created: true,
                took: Duration::from_millis(40),
            },
            RunEvent::Connected {
                lease: &lease,
                port: 2222,
                workdir: "/work/cbx_0123456789ab/repo",
                took: Duration::from_millis(7),
            },
            RunEvent::SyncFinished {
                outcome: &outcome,
                took: Duration::from_millis(30),
            },
            // A resync adds to the sync time; the last command's time counts.
            RunEvent::SyncFinished {
                outcome: &outcome,
                took: Duration::from_millis(5),
            },
            RunEvent::CommandFinished {
                exit: None,
                took: Duration::from_millis(1),
                total: Duration::ZERO,
            },
            RunEvent::CommandFinished {
                exit: Some(3),
                took: Duration::from_millis(9),
                total: Duration::ZERO,
            },
            RunEvent::Concluded {
                exit: Some(3),
                total: Duration::from_millis(120),
            },
            RunEvent::Released {
                lease: &lease,
                policy: "auto",
            },
        ];
        for event in &events {
            facts.apply(event);
        }
        let json = facts.to_json("failed");
        assert_eq!(json["leaseId"], "cbx_0123456789ab");
        assert_eq!(json["leaseMs"], 40);
        assert_eq!(json["bootstrapMs"], 7);
        assert_eq!(json["syncMs"], 35);
        assert_eq!(json["syncFiles"], 3);
        assert_eq!(json["commandMs"], 9);
        assert_eq!(json["totalMs"], 120);
        assert_eq!(json["exitCode"], 3);
        assert_eq!(json["leaseStopped"], true);
        assert_eq!(json["idleTimeout"], "30m0s");
        assert_eq!(
            json["stopCommand"],
            "crabbox stop --provider local --id swift-crab"
        );
        assert_eq!(facts.sync_steps_text(), "manifest:4ms");
    }

    #[test]
    fn a_run_without_an_exit_reports_minus_one() {
        let mut facts = RunFacts::new("run_0123456789ab");
        facts.apply(&RunEvent::Concluded {
            exit: None,
            total: Duration::from_millis(5),
        });
        assert_eq!(facts.to_json("canceled")["exitCode"], -1);
    }
}
