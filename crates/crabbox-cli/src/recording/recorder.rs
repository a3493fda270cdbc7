//! Records a run in the local history (the run row, its ordered events and the
//! last 8 MiB of output) and, for brokered runs, on the coordinator too. Recording
//! is best effort: a broken database or coordinator never fails a run, it only
//! warns once.

use std::cell::{Cell, RefCell};

use crabbox_core::now_unix;
use crabbox_history::{Finish, History, NewEvent, NewRun, OutputLog};
use crabbox_proto::wire::{AppendEventRequest, FinishRunRequest};
use serde_json::Value;

use super::preview::{log_chunks, LOG_CHUNK};
use super::remote::{PreviewSender, RemoteRun};
use crate::printer::Printer;

/// The coordinator appends this itself when the run finishes.
const COORDINATOR_OWNED: &[&str] = &["command.finished"];

pub struct Recorder {
    history: Option<History>,
    run_id: String,
    printer: Printer,
    warned: RefCell<bool>,
    /// Local events need the run row; until `start`, events go to the coordinator only.
    started: Cell<bool>,
    remote: Option<RemoteRun>,
    pub log: OutputLog,
}

/// The coordinator's event body: the phase as the Go CLI sends it (the run's
/// phase follows it), and the lease fields the coordinator copies onto the run
/// from the event's data.
fn remote_event(kind: &str, phase: &str, message: String, data: &Value) -> AppendEventRequest {
    let field = |key: &str| {
        data.get(key)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let has_data = data.as_object().is_some_and(|object| !object.is_empty());
    AppendEventRequest {
        kind: kind.to_string(),
        message,
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
        phase: phase.to_string(),
        ..AppendEventRequest::default()
    }
}

impl Recorder {
    /// Opens the history database; on failure the local side does nothing.
    pub fn open(
        path: &std::path::Path,
        run_id: &str,
        printer: Printer,
        remote: Option<RemoteRun>,
    ) -> Recorder {
        let history = match History::open(path) {
            Ok(history) => {
                let _ = history.mark_abandoned(now_unix());
                Some(history)
            }
            Err(error) => {
                printer.warn(format!("run history disabled: {error}"));
                None
            }
        };
        Recorder {
            history,
            run_id: run_id.to_string(),
            printer,
            warned: RefCell::new(false),
            started: Cell::new(false),
            remote,
            log: OutputLog::default(),
        }
    }

    /// The coordinator's run ID when it records, else a locally minted one.
    pub fn run_id(&self) -> &str {
        &self.run_id
    }

    fn report(&self, result: Result<impl Sized, crabbox_history::HistoryError>) {
        if let Err(error) = result {
            if !self.warned.replace(true) {
                self.printer.warn(format!("run history: {error}"));
            }
        }
    }

    pub fn start(&self, run: NewRun) {
        if let Some(history) = &self.history {
            self.report(history.start_run(&run, now_unix()));
        }
        self.started.set(true);
    }

    pub fn event(
        &self,
        kind: &str,
        phase: &str,
        message: impl Into<String>,
        data: serde_json::Value,
    ) {
        let message = message.into();
        if let Some(remote) = &self.remote {
            if !COORDINATOR_OWNED.contains(&kind) {
                remote.event(remote_event(kind, phase, message.clone(), &data));
            }
        }
        if let (Some(history), true) = (&self.history, self.started.get()) {
            let event = NewEvent {
                kind: kind.to_string(),
                phase: phase.to_string(),
                stream: String::new(),
                message,
                data,
            };
            self.report(history.append_event(&self.run_id, &event, now_unix()));
        }
    }

    /// Where the streaming sink sends output previews (brokered runs only).
    pub fn previews(&self) -> Option<PreviewSender> {
        self.remote.as_ref().map(RemoteRun::previews)
    }

    /// Stores the outcome locally and sends the finish (with the retained log) to
    /// the coordinator. `exit_code` is the command's, or the CLI's failure code.
    pub async fn finish(&mut self, finish: &Finish, exit_code: i32) {
        if let (Some(history), true) = (&self.history, self.started.get()) {
            self.report(history.finish_run(&self.run_id, finish, &self.log, now_unix()));
        }
        if let Some(remote) = self.remote.take() {
            let request = FinishRunRequest {
                exit_code: Some(f64::from(exit_code)),
                sync_ms: Some(finish.sync_ms as i64),
                command_ms: Some(finish.command_ms as i64),
                log_chunks: log_chunks(&self.log.contents(), LOG_CHUNK),
                log_truncated: self.log.truncated(),
                ..FinishRunRequest::default()
            };
            remote.finish(request).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn lease_fields_of_an_event_reach_the_coordinator() {
        let event = remote_event(
            "lease.created",
            "leased",
            "lease=cbx_0123456789ab".into(),
            &json!({"leaseID": "cbx_0123456789ab", "slug": "swift-crab", "provider": "local"}),
        );
        assert_eq!(event.lease_id, "cbx_0123456789ab");
        assert_eq!(event.slug, "swift-crab");
        assert_eq!(event.provider, "local");
        assert!(event.data.contains("swift-crab"));
        assert_eq!(event.phase, "leased");
        let bare = remote_event("sync.started", "sync", String::new(), &json!({}));
        assert!(bare.data.is_empty() && bare.lease_id.is_empty());
        assert_eq!(bare.phase, "sync");
        let failed = remote_event(
            "run.failed",
            "failed",
            "boom".into(),
            &json!({"exitCode": 6}),
        );
        assert_eq!(
            (failed.exit_code, failed.phase.as_str()),
            (Some(6), "failed")
        );
    }
}
