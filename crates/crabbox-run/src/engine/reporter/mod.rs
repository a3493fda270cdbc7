//! The reporters a run's events go to: the facts fold first, then local history,
//! the coordinator's record, the `--timing-json` document and the terminal text.

mod coordinator;
mod history;
mod human;
mod record;

use std::time::Duration;

use crabbox_history::OutputLog;

pub use coordinator::{CoordinatorReporter, RemoteRun};
pub use history::HistoryReporter;
pub use human::{HumanMode, HumanReporter};

use super::event::{RunEvent, RunStatus};
use super::facts::RunFacts;

/// Durations are printed to the millisecond.
pub fn round_ms(duration: Duration) -> Duration {
    Duration::from_millis(duration.as_millis() as u64)
}

/// What the recorded run is: the machine class asked for and the command.
#[derive(Debug, Clone, Default)]
pub struct RunPlan {
    pub class: String,
    pub command: Vec<String>,
}

pub struct Reporters {
    pub facts: RunFacts,
    plan: RunPlan,
    human: HumanReporter,
    timing_json: bool,
    history: Option<HistoryReporter>,
    coordinator: Option<CoordinatorReporter>,
    /// The tail of the command's output, kept for history and the coordinator.
    log: OutputLog,
}

impl Reporters {
    pub fn new(run_id: &str, plan: RunPlan, human: HumanReporter, timing_json: bool) -> Reporters {
        Reporters {
            facts: RunFacts::new(run_id),
            plan,
            human,
            timing_json,
            history: None,
            coordinator: None,
            log: OutputLog::default(),
        }
    }

    pub fn with_history(mut self, history: HistoryReporter) -> Reporters {
        self.history = Some(history);
        self
    }

    pub fn with_coordinator(mut self, coordinator: Option<CoordinatorReporter>) -> Reporters {
        self.coordinator = coordinator;
        self
    }

    pub fn emit(&mut self, event: RunEvent<'_>) {
        self.facts.apply(&event);
        if let RunEvent::Output { bytes, .. } = &event {
            self.log.push(bytes);
        }
        let recorded = record::record(&event, &self.plan.class);
        if let Some(history) = &mut self.history {
            history.on_event(&event, recorded.as_ref(), &self.plan, &self.facts);
        }
        if let Some(coordinator) = &mut self.coordinator {
            coordinator.on_event(&event, recorded.as_ref());
        }
        self.human.on_event(&event, &self.facts);
    }

    /// Where a background task (the heartbeat) reports a warning without
    /// holding the reporters: shown as a `Warning` event is; not recorded.
    pub fn background_warnings(&self) -> impl Fn(String) + Send + 'static {
        let human = self.human;
        move |message| human.on_event(&RunEvent::Warning(message), &RunFacts::default())
    }

    /// The last event: stores the outcome, sends the coordinator its finish (and
    /// waits for it, bounded), then prints the timing document and the verdict.
    pub async fn finish(&mut self, status: RunStatus, exit: Option<i32>, exit_code: i32) {
        if let Some(history) = &mut self.history {
            history.finish(status, exit, &self.facts, &self.log);
        }
        if let Some(coordinator) = self.coordinator.take() {
            coordinator.finish(exit_code, &self.facts, &self.log).await;
        }
        // A run that never had a lease has no timings to report.
        if self.timing_json && !self.facts.lease_id.is_empty() {
            self.human
                .printer
                .error_line(self.facts.to_json(status.as_str()).to_string());
        }
        let event = RunEvent::Finished { status, exit };
        self.human.on_event(&event, &self.facts);
    }
}
