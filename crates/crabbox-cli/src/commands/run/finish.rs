//! The end of a run: summary lines, release by policy, history, timing report and
//! the exit code.

use std::time::Instant;

use crabbox_history::Finish;
use crabbox_proto::ExitCode;
use crabbox_providers::Lease;
use serde_json::json;

use super::{Outcome, Session, StopAfter};
use crate::error::{CliError, CliResult};
use crate::leases;
use crate::timing::ms;

fn outcome_status(outcome: &Outcome) -> &'static str {
    match outcome {
        Outcome::Exited(0) => "succeeded",
        Outcome::Exited(_) | Outcome::Failed(_) => "failed",
        Outcome::Interrupted(_) => "canceled",
    }
}

impl Session<'_> {
    pub(super) async fn finish(
        mut self,
        stop_after: StopAfter,
        outcome: Outcome,
        started: Instant,
    ) -> CliResult<i32> {
        let app = self.app;
        let failed = outcome.failed();
        let keep = self.args.keep.unwrap_or(false);
        let kept_on_failure = self.acquired && self.args.keep_on_failure && failed;
        let release = match stop_after {
            StopAfter::Never => false,
            StopAfter::Always => true,
            StopAfter::Success => !failed,
            StopAfter::Failure => failed,
            StopAfter::Auto => self.acquired && !keep && !kept_on_failure,
        };
        let exit = match &outcome {
            Outcome::Exited(code) => Some(*code),
            _ => None,
        };
        self.timing.exit_code = exit.unwrap_or(-1);
        self.timing.total_ms = ms(started.elapsed());
        if let Some(code) = exit {
            self.print_summary(code);
        }
        let recorded_exit = match &outcome {
            Outcome::Exited(code) => *code,
            Outcome::Interrupted(code) => code.code(),
            Outcome::Failed(error) => error.code.code(),
        };
        let failure = match &outcome {
            Outcome::Failed(error) => Some(error.message.clone()),
            Outcome::Interrupted(code) => Some(format!("interrupted (exit {})", code.code())),
            Outcome::Exited(_) => None,
        };
        if let Some(message) = failure {
            self.recorder.event(
                "run.failed",
                "failed",
                message,
                json!({ "exitCode": recorded_exit }),
            );
        }
        let mut cleanup_error = None;
        if release {
            match leases::release(app, self.provider.as_ref(), &self.lease).await {
                Ok(_) => {
                    self.timing.lease_stopped = true;
                    self.recorder.event(
                        "lease.released",
                        "released",
                        format!("lease={}", self.lease.id),
                        json!({}),
                    );
                    app.printer.note(format!(
                        "lease cleanup stopped=true policy={} lease={} slug={}",
                        stop_after.label(),
                        self.lease.id,
                        self.lease.slug
                    ));
                }
                Err(error) => {
                    app.printer.error_line(format!(
                        "lease cleanup stopped=false policy={} lease={} slug={} error=\"{}\"",
                        stop_after.label(),
                        self.lease.id,
                        self.lease.slug,
                        error
                    ));
                    cleanup_error = Some(error);
                }
            }
        } else if kept_on_failure {
            print_kept(self.app, &self.lease);
        }
        let finish = Finish {
            state: outcome_status(&outcome).to_string(),
            exit_code: exit,
            sync_ms: self.timing.sync_ms,
            command_ms: self.timing.command_ms,
            duration_ms: self.timing.total_ms,
            sync_skipped: self.timing.sync_skipped,
            files_sent: self.timing.files_sent,
            bytes_sent: self.timing.bytes_sent,
        };
        self.recorder.finish(&finish, recorded_exit).await;
        if self.args.timing_json {
            self.timing.stop_command = leases::stop_command(&self.lease);
            app.printer
                .error_line(self.timing.to_json(outcome_status(&outcome)).to_string());
        }
        match outcome {
            Outcome::Exited(code) => {
                if let (0, Some(error)) = (code, cleanup_error) {
                    return Err(CliError::new(ExitCode::Remote, error.message));
                }
                if code != 0 {
                    app.printer
                        .error_line(format!("remote command exited {code}"));
                }
                Ok(code)
            }
            Outcome::Interrupted(code) => {
                app.printer.error_line(format!(
                    "interrupted; the remote command was stopped{}",
                    if release {
                        " and the lease released"
                    } else {
                        ""
                    }
                ));
                Ok(code.code())
            }
            Outcome::Failed(error) => Err(error),
        }
    }

    fn print_summary(&self, code: i32) {
        let timing = &self.timing;
        let lease = &self.lease;
        let steps = if timing.sync_steps.is_empty() {
            String::new()
        } else {
            format!(" sync_steps={}", timing.sync_steps_text())
        };
        self.app.printer.note(format!(
            "run summary lease={} bootstrap={}ms sync={}ms command={}ms total={}ms sync_skipped={} sync_files={} sync_bytes={} exit={code}{steps}",
            lease.id,
            timing.bootstrap_ms,
            timing.sync_ms,
            timing.command_ms,
            timing.total_ms,
            timing.sync_skipped,
            timing.files_sent,
            timing.bytes_sent,
        ));
        self.app.printer.note(format!(
            "run details provider={} lease={} slug={} run={} type={} workdir={} stop_command=\"{}\" idle_timeout={}",
            lease.provider,
            lease.id,
            lease.slug,
            timing.run_id,
            lease.server_type,
            timing.workdir,
            leases::stop_command(lease),
            leases::seconds_text(lease.idle_timeout_secs),
        ));
    }
}

fn print_kept(app: &crate::context::App, lease: &Lease) {
    let printer = app.printer;
    printer.error_line(format!(
        "keep-on-failure: kept lease={} slug={} expires={} idle_timeout={} ttl={}",
        lease.id,
        lease.slug,
        leases::timestamp(lease.expires_at()),
        leases::seconds_text(lease.idle_timeout_secs),
        leases::seconds_text(lease.ttl_secs),
    ));
    printer.error_line(format!("inspect: crabbox inspect --id {}", lease.slug));
    printer.error_line(format!("ssh: crabbox ssh --id {}", lease.slug));
    printer.error_line(format!("stop: {}", leases::stop_command(lease)));
}
