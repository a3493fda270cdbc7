//! Records a brokered run on the coordinator: its events with the phase the Go CLI
//! sends, live output previews, and the finish with the retained log.

mod preview;
mod remote;

use crabbox_history::OutputLog;
use crabbox_proto::wire::{AppendEventRequest, EventKind, FinishRunRequest};
use serde_json::Value;

use super::record::Recorded;
use crate::engine::event::RunEvent;
use crate::engine::facts::RunFacts;
use preview::{log_chunks, LOG_CHUNK};
pub use remote::{PreviewSender, RemoteRun};

/// The coordinator appends these itself when the run finishes.
const COORDINATOR_OWNED: &[EventKind] = &[EventKind::CommandFinished];

pub struct CoordinatorReporter {
    remote: RemoteRun,
    previews: PreviewSender,
}

impl CoordinatorReporter {
    pub fn new(remote: RemoteRun) -> CoordinatorReporter {
        let previews = remote.previews();
        CoordinatorReporter { remote, previews }
    }

    pub fn on_event(&mut self, event: &RunEvent<'_>, recorded: Option<&Recorded>) {
        if let RunEvent::Output { stream, bytes } = event {
            self.previews.send(*stream, bytes);
            return;
        }
        if let Some(recorded) = recorded {
            if !COORDINATOR_OWNED.contains(&recorded.kind) {
                self.remote.event(append_request(recorded));
            }
        }
    }

    /// Sends the finish after everything queued; `exit_code` is the command's or
    /// the CLI's failure code.
    pub async fn finish(self, exit_code: i32, facts: &RunFacts, log: &OutputLog) {
        let request = FinishRunRequest {
            exit_code: Some(f64::from(exit_code)),
            sync_ms: Some(facts.sync_ms as i64),
            command_ms: Some(facts.command_ms as i64),
            log_chunks: log_chunks(&log.contents(), LOG_CHUNK),
            log_truncated: log.truncated(),
            ..FinishRunRequest::default()
        };
        self.remote.finish(request).await;
    }
}

/// The coordinator's event body: the phase as the Go CLI sends it (the run's
/// phase follows it), and the lease fields the coordinator copies onto the run
/// from the event's data.
fn append_request(recorded: &Recorded) -> AppendEventRequest {
    let data = &recorded.data;
    let field = |key: &str| {
        data.get(key)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let has_data = data.as_object().is_some_and(|object| !object.is_empty());
    AppendEventRequest {
        kind: recorded.kind.as_str().to_string(),
        message: recorded.message.clone(),
        data: if has_data {
            data.to_string()
        } else {
            String::new()
        },
        lease_id: field("leaseID"),
        slug: field("slug"),
        provider: field("provider"),
        class: field("class"),
        server_type: field("serverType"),
        exit_code: data.get("exitCode").and_then(Value::as_i64),
        phase: recorded.kind.phase().to_string(),
        ..AppendEventRequest::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn request(kind: EventKind, message: &str, data: Value) -> AppendEventRequest {
        append_request(&Recorded {
            kind,
            message: message.into(),
            data,
        })
    }

    #[test]
    fn lease_fields_of_an_event_reach_the_coordinator() {
        let event = request(
            EventKind::LeaseCreated,
            "lease=cbx_0123456789ab",
            json!({"leaseID": "cbx_0123456789ab", "slug": "swift-crab", "provider": "local"}),
        );
        assert_eq!(event.lease_id, "cbx_0123456789ab");
        assert_eq!(event.slug, "swift-crab");
        assert_eq!(event.provider, "local");
        assert!(event.data.contains("swift-crab"));
        assert_eq!(event.phase, "leased");
        let bare = request(EventKind::SyncStarted, "", json!({}));
        assert!(bare.data.is_empty() && bare.lease_id.is_empty());
        assert_eq!(bare.phase, "sync");
        let failed = request(EventKind::RunFailed, "boom", json!({"exitCode": 6}));
        assert_eq!(
            (failed.exit_code, failed.phase.as_str()),
            (Some(6), "failed")
        );
    }
}
