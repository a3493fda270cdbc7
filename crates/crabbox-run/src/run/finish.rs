//! The end of a run: the verdict, release by policy, and the last reports.

use std::time::Instant;

use crabbox_proto::ErrorClass;

use super::{Outcome, Session, StopAfter};
use crate::engine::{RunEvent, RunStatus};
use crate::error::{CliError, CliResult};
use crate::exit::ExitStatus;

fn outcome_status(outcome: &Outcome) -> RunStatus {
    match outcome {
        Outcome::Exited(0) => RunStatus::Succeeded,
        Outcome::Exited(_) | Outcome::Failed(_) => RunStatus::Failed,
        Outcome::Interrupted(_) => RunStatus::Canceled,
    }
}

impl Session<'_> {
    pub(super) async fn finish(
        mut self,
        stop_after: StopAfter,
        outcome: Outcome,
        started: Instant,
    ) -> CliResult<ExitStatus> {
        let failed = outcome.failed();
        let keep = self.options.keep.unwrap_or(false);
        let created = self.handle.created;
        let kept_on_failure = created && self.options.keep_on_failure && failed;
        let release = match stop_after {
            StopAfter::Never => false,
            StopAfter::Always => true,
            StopAfter::Success => !failed,
            StopAfter::Failure => failed,
            StopAfter::Auto => created && !keep && !kept_on_failure,
        };
        let exit = match &outcome {
            Outcome::Exited(code) => Some(*code),
            _ => None,
        };
        self.reporters.emit(RunEvent::Concluded {
            exit,
            total: started.elapsed(),
        });
        let exit_code = match &outcome {
            Outcome::Exited(code) => *code,
            Outcome::Interrupted(signal) => {
                ExitStatus::Failure(ErrorClass::Interrupted(*signal)).code()
            }
            Outcome::Failed(error) => error.code(),
        };
        let failure = match &outcome {
            Outcome::Failed(error) => Some(error.message.clone()),
            Outcome::Interrupted(_) => Some(format!("interrupted (exit {exit_code})")),
            Outcome::Exited(_) => None,
        };
        if let Some(message) = &failure {
            self.reporters.emit(RunEvent::Failed { message, exit_code });
        }
        let policy = stop_after.label();
        let mut cleanup_error = None;
        if release {
            match self.handle.release(self.app).await {
                Ok(_) => self.reporters.emit(RunEvent::Released {
                    lease: &self.handle.lease,
                    policy,
                }),
                Err(error) => {
                    self.reporters.emit(RunEvent::ReleaseFailed {
                        lease: &self.handle.lease,
                        policy,
                        error: &error.to_string(),
                    });
                    cleanup_error = Some(error);
                }
            }
        } else if kept_on_failure {
            self.reporters.emit(RunEvent::KeptOnFailure {
                lease: &self.handle.lease,
            });
        }
        self.reporters
            .finish(outcome_status(&outcome), exit, exit_code)
            .await;
        match outcome {
            Outcome::Exited(0) => match cleanup_error {
                Some(error) => Err(CliError::of(ErrorClass::Remote, error.message)),
                None => Ok(ExitStatus::Success),
            },
            Outcome::Exited(code) => Ok(ExitStatus::Remote(code)),
            Outcome::Interrupted(signal) => {
                Ok(ExitStatus::Failure(ErrorClass::Interrupted(signal)))
            }
            Outcome::Failed(error) => Err(error),
        }
    }
}
