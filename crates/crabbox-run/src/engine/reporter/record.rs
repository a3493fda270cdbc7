//! Which run events are recorded (in local history and on the coordinator), under
//! which kind, with which message and data. Both recorders use this one mapping.

use crabbox_core::format_duration;
use crabbox_proto::wire::EventKind;
use serde_json::{json, Value};

use crate::engine::event::RunEvent;

/// A run event as it is stored.
pub struct Recorded {
    pub kind: EventKind,
    pub message: String,
    pub data: Value,
}

fn recorded(kind: EventKind, message: String, data: Value) -> Option<Recorded> {
    Some(Recorded {
        kind,
        message,
        data,
    })
}

/// `class` is the run's machine class, which the lease does not carry.
pub fn record(event: &RunEvent<'_>, class: &str) -> Option<Recorded> {
    match event {
        RunEvent::LeasingStarted { provider, class } => recorded(
            EventKind::LeasingStarted,
            format!("provider={provider} class={class}"),
            json!({ "provider": provider, "class": class }),
        ),
        RunEvent::LeaseObtained { lease, created, .. } => recorded(
            if *created {
                EventKind::LeaseCreated
            } else {
                EventKind::LeaseReused
            },
            format!("lease={} slug={}", lease.id, lease.slug),
            json!({
                "leaseID": lease.id,
                "slug": lease.slug,
                "provider": lease.provider,
                "class": class,
                "serverType": lease.server_type,
            }),
        ),
        RunEvent::ReadinessStarted { host } => recorded(
            EventKind::BootstrapWaiting,
            format!("waiting for ssh on {host}"),
            json!({}),
        ),
        RunEvent::SyncStarted { workdir } => recorded(
            EventKind::SyncStarted,
            format!("workdir={workdir}"),
            json!({}),
        ),
        RunEvent::SyncFinished { outcome, took } => recorded(
            EventKind::SyncFinished,
            format!(
                "duration={} skipped={} files={} bytes={}",
                format_duration(super::round_ms(*took)),
                outcome.skipped,
                outcome.files_sent,
                outcome.bytes_sent
            ),
            json!({
                "skipped": outcome.skipped,
                "filesSent": outcome.files_sent,
                "bytesSent": outcome.bytes_sent,
                "deleted": outcome.deleted,
                "steps": outcome.steps_text(),
            }),
        ),
        RunEvent::CommandStarted { command, .. } => recorded(
            EventKind::CommandStarted,
            command.join(" "),
            json!({ "command": command }),
        ),
        RunEvent::CommandFinished {
            exit: Some(code), ..
        } => recorded(
            EventKind::CommandFinished,
            format!("exit={code}"),
            json!({ "exitCode": code }),
        ),
        RunEvent::Failed { message, exit_code } => recorded(
            EventKind::RunFailed,
            message.to_string(),
            json!({ "exitCode": exit_code }),
        ),
        RunEvent::Released { lease, .. } => recorded(
            EventKind::LeaseReleased,
            format!("lease={}", lease.id),
            json!({}),
        ),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn only_lifecycle_facts_are_recorded() {
        let command = vec!["cargo".to_string(), "test".to_string()];
        let started = record(
            &RunEvent::CommandStarted {
                host: "127.0.0.1",
                command: &command,
            },
            "beast",
        )
        .expect("recorded");
        assert_eq!(started.kind, EventKind::CommandStarted);
        assert_eq!(started.message, "cargo test");
        assert_eq!(started.data["command"][1], "test");
        let leasing = record(
            &RunEvent::LeasingStarted {
                provider: "local",
                class: "beast",
            },
            "beast",
        )
        .expect("recorded");
        assert_eq!(leasing.message, "provider=local class=beast");
        for silent in [
            RunEvent::Output {
                stream: crabbox_ssh::Stream::Stdout,
                bytes: b"x",
            },
            RunEvent::CommandFinished {
                exit: None,
                took: Duration::ZERO,
                total: Duration::ZERO,
            },
            RunEvent::Resyncing,
            RunEvent::Warning("touch failed".into()),
        ] {
            assert!(record(&silent, "beast").is_none());
        }
        let finished = record(
            &RunEvent::CommandFinished {
                exit: Some(2),
                took: Duration::ZERO,
                total: Duration::ZERO,
            },
            "beast",
        )
        .expect("recorded");
        assert_eq!(
            (finished.kind.phase(), finished.message.as_str()),
            ("command", "exit=2")
        );
        assert_eq!(finished.data["exitCode"], 2);
    }
}
