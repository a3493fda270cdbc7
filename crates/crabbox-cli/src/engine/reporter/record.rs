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
