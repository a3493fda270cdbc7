//! The text a person reads: progress and summaries on stderr, the command's own
//! output on the stream it came from, and warmup's result lines on stdout.

use std::time::Duration;

use crabbox_core::format_duration;
use crabbox_providers::Lease;

use super::round_ms;
use crate::engine::event::{RunEvent, RunStatus};
use crate::engine::facts::RunFacts;
use crate::leases;
use crate::printer::Printer;

/// Which command's text to print.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HumanMode {
    Run,
    Warmup,
}

#[derive(Debug, Clone, Copy)]
pub struct HumanReporter {
    pub printer: Printer,
    pub mode: HumanMode,
}

impl HumanReporter {
    pub fn on_event(&self, event: &RunEvent<'_>, facts: &RunFacts) {
        let printer = self.printer;
        match event {
            RunEvent::LeaseObtained {
                lease,
                created: true,
                ..
            } if self.mode == HumanMode::Run => printer.note(leases::leased_line(lease)),
            RunEvent::Readiness { host, progress } => {
                printer.note(leases::readiness_line(host, progress))
            }
            RunEvent::Connected {
                lease,
                port,
                workdir,
                ..
            } => match self.mode {
                HumanMode::Run => self.print_context(lease, *port, workdir, facts),
                HumanMode::Warmup => {
                    printer.out(leases::leased_line(lease));
                    printer.out(format!(
                        "ready ssh={}@{}:{port} network=public workroot={}",
                        lease.user, lease.host, lease.work_root
                    ));
                }
            },
            RunEvent::SyncPlanned { candidates } => printer.note(candidates),
            RunEvent::SyncGuardrail { message } => printer.warn(message),
            RunEvent::SyncProgress(progress) => printer.note(progress.line()),
            RunEvent::SyncFinished { outcome, took } => {
                let took = format_duration(round_ms(*took));
                if outcome.skipped {
                    printer.note(format!("No changes detected, skipping sync ({took})"));
                } else {
                    printer.note(format!(
                        "sync complete in {took} files={} bytes={} deleted={}",
                        outcome.files_sent, outcome.bytes_sent, outcome.deleted
                    ));
                }
            }
            RunEvent::SyncedOnly { workdir } => printer.out(format!("synced {workdir}")),
            RunEvent::Resyncing => {
                printer.note("the last command changed synced files on the runner; resyncing")
            }
            RunEvent::CommandStarted { host, command } => {
                printer.note(format!("running on {host} {}", command.join(" ")))
            }
            RunEvent::Output { stream, bytes } => printer.raw(*stream, bytes),
            RunEvent::CommandFinished {
                exit: Some(_),
                took,
                total,
            } => printer.note(format!(
                "command complete in {} total={}",
                format_duration(round_ms(*took)),
                format_duration(round_ms(*total))
            )),
            RunEvent::Warning(message) => printer.warn(message),
            RunEvent::Concluded {
                exit: Some(code), ..
            } => match self.mode {
                HumanMode::Run => self.print_summary(*code, facts),
                HumanMode::Warmup => printer.out(format!(
                    "warmup complete total={}",
                    format_duration(Duration::from_millis(facts.total_ms))
                )),
            },
            RunEvent::Unkept { lease } => printer.note(format!(
                "note: --keep=false; the lease still expires after idle_timeout; stop it with `{}`",
                leases::stop_command(lease)
            )),
            RunEvent::Released { lease, policy } => printer.note(format!(
                "lease cleanup stopped=true policy={policy} lease={} slug={}",
                lease.id, lease.slug
            )),
            RunEvent::ReleaseFailed {
                lease,
                policy,
                error,
            } => printer.error_line(format!(
                "lease cleanup stopped=false policy={policy} lease={} slug={} error=\"{error}\"",
                lease.id, lease.slug
            )),
            RunEvent::KeptOnFailure { lease } => print_kept(printer, lease),
            RunEvent::Finished { status, exit, .. } => match (status, exit) {
                (RunStatus::Canceled, _) => printer.error_line(format!(
                    "interrupted; the remote command was stopped{}",
                    if facts.lease_stopped {
                        " and the lease released"
                    } else {
                        ""
                    }
                )),
                (_, Some(code)) if *code != 0 => {
                    printer.error_line(format!("remote command exited {code}"))
                }
                _ => {}
            },
            _ => {}
        }
    }

    fn print_context(&self, lease: &Lease, port: u16, workdir: &str, facts: &RunFacts) {
        let printer = self.printer;
        printer.note("run context:");
        printer.note(format!("  run={} portal=- logs=-", facts.run_id));
        printer.note(format!(
            "  lease={} slug={} provider={} target=linux type={}",
            lease.id, lease.slug, lease.provider, lease.server_type
        ));
        printer.note(format!(
            "  ssh={}@{}:{port} ip={}",
            lease.user, lease.host, lease.host
        ));
        printer.note(format!("  workdir={workdir} workspace=raw actions=-"));
    }

    fn print_summary(&self, code: i32, facts: &RunFacts) {
        let steps = if facts.sync_steps.is_empty() {
            String::new()
        } else {
            format!(" sync_steps={}", facts.sync_steps_text())
        };
        self.printer.note(format!(
            "run summary lease={} bootstrap={}ms sync={}ms command={}ms total={}ms sync_skipped={} sync_files={} sync_bytes={} exit={code}{steps}",
            facts.lease_id,
            facts.bootstrap_ms,
            facts.sync_ms,
            facts.command_ms,
            facts.total_ms,
            facts.sync_skipped,
            facts.files_sent,
            facts.bytes_sent,
        ));
        self.printer.note(format!(
            "run details provider={} lease={} slug={} run={} type={} workdir={} stop_command=\"{}\" idle_timeout={}",
            facts.provider,
            facts.lease_id,
            facts.slug,
            facts.run_id,
            facts.server_type,
            facts.workdir,
            facts.stop_command,
            leases::seconds_text(facts.idle_timeout_secs),
        ));
    }
}

fn print_kept(printer: Printer, lease: &Lease) {
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
