//! Records a run in the local history: the run row, its ordered events and the
//! last 8 MiB of output. History is best effort: a broken database never fails a
//! run, it only warns once.

use std::cell::RefCell;

use crabbox_core::now_unix;
use crabbox_history::{Finish, History, NewEvent, NewRun, OutputLog};

use crate::printer::Printer;

pub struct Recorder {
    history: Option<History>,
    run_id: String,
    printer: Printer,
    warned: RefCell<bool>,
    pub log: OutputLog,
}

impl Recorder {
    /// Opens the history database; on failure the recorder does nothing.
    pub fn open(path: &std::path::Path, run_id: &str, printer: Printer) -> Recorder {
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
            log: OutputLog::default(),
        }
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
    }

    pub fn event(
        &self,
        kind: &str,
        phase: &str,
        message: impl Into<String>,
        data: serde_json::Value,
    ) {
        if let Some(history) = &self.history {
            let event = NewEvent {
                kind: kind.to_string(),
                phase: phase.to_string(),
                stream: String::new(),
                message: message.into(),
                data,
            };
            self.report(history.append_event(&self.run_id, &event, now_unix()));
        }
    }

    pub fn finish(&self, finish: &Finish) {
        if let Some(history) = &self.history {
            self.report(history.finish_run(&self.run_id, finish, &self.log, now_unix()));
        }
    }
}
