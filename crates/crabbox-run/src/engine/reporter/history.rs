//! Records a run in the local history: the run row once the lease is known, its
//! ordered events, the last 8 MiB of output and the outcome. Best effort: a broken
//! database never fails a run, it only warns once.

use std::cell::Cell;

use crabbox_core::now_unix;
use crabbox_history::{Finish, History, NewEvent, NewRun, OutputLog};

use super::record::Recorded;
use super::RunPlan;
use crate::engine::event::{RunEvent, RunStatus};
use crate::engine::facts::RunFacts;
use crate::printer::Printer;

pub struct HistoryReporter {
    history: Option<History>,
    printer: Printer,
    warned: Cell<bool>,
    /// Events need the run row, which exists once the lease is known.
    started: bool,
}

impl HistoryReporter {
    /// Opens the history database; on failure this reporter records nothing.
    pub fn open(path: &std::path::Path, printer: Printer) -> HistoryReporter {
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
        HistoryReporter {
            history,
            printer,
            warned: Cell::new(false),
            started: false,
        }
    }

    fn report(&self, result: Result<impl Sized, crabbox_history::HistoryError>) {
        if let Err(error) = result {
            if !self.warned.replace(true) {
                self.printer.warn(format!("run history: {error}"));
            }
        }
    }

    pub fn on_event(
        &mut self,
        event: &RunEvent<'_>,
        recorded: Option<&Recorded>,
        plan: &RunPlan,
        facts: &RunFacts,
    ) {
        let Some(history) = &self.history else {
            return;
        };
        if let RunEvent::LeaseObtained { lease, .. } = event {
            let run = NewRun {
                id: facts.run_id.clone(),
                lease_id: lease.id.clone(),
                slug: lease.slug.clone(),
                provider: lease.provider.clone(),
                target: "linux".into(),
                class: plan.class.clone(),
                server_type: lease.server_type.clone(),
                command: plan.command.clone(),
                label: String::new(),
            };
            self.report(history.start_run(&run, now_unix()));
            self.started = true;
        }
        if let (Some(recorded), true) = (recorded, self.started) {
            let event = NewEvent {
                kind: recorded.kind.as_str().to_string(),
                phase: recorded.kind.phase().to_string(),
                stream: String::new(),
                message: recorded.message.clone(),
                data: recorded.data.clone(),
            };
            self.report(history.append_event(&facts.run_id, &event, now_unix()));
        }
    }

    /// Stores the outcome with the retained output.
    pub fn finish(
        &mut self,
        status: RunStatus,
        exit: Option<i32>,
        facts: &RunFacts,
        log: &OutputLog,
    ) {
        let (Some(history), true) = (&self.history, self.started) else {
            return;
        };
        let finish = Finish {
            state: status.as_str().to_string(),
            exit_code: exit,
            sync_ms: facts.sync_ms,
            command_ms: facts.command_ms,
            duration_ms: facts.total_ms,
            sync_skipped: facts.sync_skipped,
            files_sent: facts.files_sent,
            bytes_sent: facts.bytes_sent,
        };
        self.report(history.finish_run(&facts.run_id, &finish, log, now_unix()));
    }
}
