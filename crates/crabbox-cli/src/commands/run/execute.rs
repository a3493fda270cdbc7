//! The middle of a run: readiness, sync, the command and its trailer.

use std::time::{Duration, Instant};

use crabbox_core::{format_duration, RunId};
use crabbox_proto::ExitCode;
use crabbox_providers::LeaseState;
use crabbox_ssh::{kill_command, Connection, RemoteCommand, StreamOutcome};
use crabbox_sync::{
    candidate_line, guardrail_message, trailer_script, Destination, GuardrailStatus, RemoteState,
    SyncState, TrailerScanner,
};
use serde_json::json;

use super::sink::RunSink;
use super::{Outcome, Session};
use crate::error::CliResult;
use crate::leases;
use crate::timing::ms;

fn round_ms(duration: Duration) -> Duration {
    Duration::from_millis(duration.as_millis() as u64)
}

impl Session<'_> {
    fn work_root(&self) -> String {
        if self.lease.work_root.is_empty() {
            self.config
                .str("workRoot")
                .unwrap_or("/work/crabbox")
                .to_string()
        } else {
            self.lease.work_root.clone()
        }
    }

    /// Bookkeeping next to (never inside) the synced tree.
    fn meta_dir(&self) -> String {
        format!(
            "{}/{}/.crabbox-sync-{}",
            self.work_root(),
            self.lease.id,
            self.repo.name
        )
    }

    pub(super) fn sync_state(&self) -> SyncState {
        SyncState::at(
            self.app
                .paths
                .lease_key_dir(&self.lease.id)
                .join(format!("sync-{}.state", self.repo.name)),
        )
    }

    pub(super) async fn execute(&mut self) -> Outcome {
        let phase = Instant::now();
        self.recorder.event(
            "bootstrap.waiting",
            "bootstrap",
            format!("waiting for ssh on {}", self.lease.host),
            json!({}),
        );
        let connection = tokio::select! {
            result = leases::connect(self.app, self.provider.as_ref(), &self.lease) => match result {
                Ok(connection) => connection,
                Err(error) => return Outcome::Failed(error),
            },
            code = self.cancel.cancelled() => return Outcome::Interrupted(code),
        };
        self.timing.bootstrap_ms = ms(phase.elapsed());
        let workdir = format!("{}/{}/{}", self.work_root(), self.lease.id, self.repo.name);
        self.timing.workdir = workdir.clone();
        self.print_context(&connection, &workdir);

        let mut verify = false;
        if self.args.no_sync {
            // Nothing was sent: the summary says the sync was skipped.
            self.timing.sync_skipped = true;
        } else {
            match self.sync_or_cancel(&connection, &workdir).await {
                Ok(needs_verify) => verify = needs_verify,
                Err(outcome) => return outcome,
            }
        }
        if self.args.sync_only {
            self.app.printer.out(format!("synced {workdir}"));
            return Outcome::Exited(0);
        }
        match self.command(&connection, &workdir, verify).await {
            Some(outcome) => outcome,
            None => {
                // The runner's copy changed since the last command: heal it, then run.
                self.app
                    .printer
                    .note("the last command changed synced files on the runner; resyncing");
                self.sync_options.verify_in_command = false;
                if let Err(outcome) = self.sync_or_cancel(&connection, &workdir).await {
                    return outcome;
                }
                self.command(&connection, &workdir, false)
                    .await
                    .unwrap_or_else(|| {
                        Outcome::Failed(crate::error::CliError::new(
                            ExitCode::Sync,
                            "the runner refused the command twice after a resync",
                        ))
                    })
            }
        }
    }

    /// Syncs unless interrupted; returns whether the command must verify the
    /// runner's copy first.
    async fn sync_or_cancel(
        &mut self,
        connection: &Connection,
        workdir: &str,
    ) -> Result<bool, Outcome> {
        let cancel = self.cancel.clone();
        tokio::select! {
            result = self.sync(connection, workdir) => result.map_err(Outcome::Failed),
            code = cancel.cancelled() => {
                // The sync never finished; the runner copy is unknown now.
                let _ = self.sync_state().set_remote(RemoteState::Unknown);
                Err(Outcome::Interrupted(code))
            }
        }
    }

    fn print_context(&self, connection: &Connection, workdir: &str) {
        let printer = self.app.printer;
        let lease = &self.lease;
        printer.note("run context:");
        printer.note(format!("  run={} portal=- logs=-", self.timing.run_id));
        printer.note(format!(
            "  lease={} slug={} provider={} target=linux type={}",
            lease.id, lease.slug, lease.provider, lease.server_type
        ));
        printer.note(format!(
            "  ssh={}@{}:{} ip={}",
            lease.user, lease.host, connection.port, lease.host
        ));
        printer.note(format!("  workdir={workdir} workspace=raw actions=-"));
    }

    async fn sync(&mut self, connection: &Connection, workdir: &str) -> CliResult<bool> {
        let printer = self.app.printer;
        self.recorder.event(
            "sync.started",
            "sync",
            format!("workdir={workdir}"),
            json!({}),
        );
        let started = Instant::now();
        let state = self.sync_state();
        // Leases meant for reuse get a watcher on the checkout, so later runs can
        // skip the manifest; one-shot runs leave nothing behind.
        if self.watch.is_none() && (self.args.id.is_some() || self.args.keep == Some(true)) {
            // The watcher skips directories whose contents are never synced.
            let prune = crabbox_sync::never_synced_names();
            if let Ok(program) = std::env::current_exe() {
                self.watch = crabbox_sync::Watch::connect(
                    &self.app.paths.state_dir,
                    &self.repo.root,
                    &program,
                    &prune,
                )
                .await;
            }
        }
        // A live watcher that saw nothing since the last sync spares the manifest.
        let quick = match &self.prepared {
            None => crabbox_sync::quick_skip(
                &self.repo.root,
                &state,
                &self.sync_options,
                workdir,
                self.watch.as_ref(),
            ),
            Some(_) => None,
        };
        let (outcome, manifest_time) = match quick {
            Some(outcome) => (outcome, std::time::Duration::ZERO),
            None => {
                // A manifest built before this phase (new leases build it before
                // leasing) is added to the sync time; one built here is already in
                // the phase's elapsed time and must not count twice.
                let built_earlier = self.prepared.is_some();
                if self.prepared.is_none() {
                    self.prepared = Some(crabbox_sync::prepare(
                        &self.repo.root,
                        &self.sync_options,
                        self.watch.as_ref(),
                    )?);
                }
                let prepared = self.prepared.as_ref().expect("prepared above");
                printer.note(candidate_line(&prepared.manifest));
                if prepared.guardrail.status == GuardrailStatus::Warning {
                    printer.warn(guardrail_message(&prepared.guardrail));
                }
                let meta_dir = self.meta_dir();
                let destination = Destination {
                    connection,
                    workdir,
                    meta_dir: &meta_dir,
                };
                let outcome = crabbox_sync::sync(
                    prepared,
                    &destination,
                    &state,
                    &self.sync_options,
                    &mut |line| printer.note(line),
                )
                .await?;
                let earlier = if built_earlier {
                    prepared.manifest_time
                } else {
                    std::time::Duration::ZERO
                };
                (outcome, earlier)
            }
        };
        self.prune = outcome.prune.clone();
        let took = started.elapsed() + manifest_time;
        if outcome.skipped {
            printer.note(format!(
                "No changes detected, skipping sync ({})",
                format_duration(round_ms(took))
            ));
        } else {
            printer.note(format!(
                "sync complete in {} files={} bytes={} deleted={}",
                format_duration(round_ms(took)),
                outcome.files_sent,
                outcome.bytes_sent,
                outcome.deleted
            ));
        }
        self.recorder.event(
            "sync.finished",
            "synced",
            format!(
                "duration={} skipped={} files={} bytes={}",
                format_duration(round_ms(took)),
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
        );
        self.timing.sync_ms += ms(took);
        self.timing.record_sync(&outcome);
        Ok(outcome.verify)
    }

    /// Runs the command; `None` when the session refused to run because the
    /// runner's copy changed since the last command (only with `verify`).
    async fn command(
        &mut self,
        connection: &Connection,
        workdir: &str,
        verify: bool,
    ) -> Option<Outcome> {
        let mut env = crate::forward_env::forwarded(
            &self.config.list("env.allow"),
            &self.args.allow_env,
            std::env::vars(),
        );
        env.push(("CRABBOX_LEASE_ID".into(), self.lease.id.clone()));
        env.push(("CRABBOX_RUN_ID".into(), self.timing.run_id.clone()));
        env.push(("CRABBOX_SLUG".into(), self.lease.slug.clone()));
        let work_root = self.work_root();
        let pid_file = format!("{work_root}/.crabbox-runs/{}.pid", self.timing.run_id);
        let nonce = RunId::generate().as_str()[4..].to_string();
        let prune = if self.prune.is_empty() {
            vec![".git".to_string()]
        } else {
            self.prune.clone()
        };
        let trailer = trailer_script(&self.meta_dir(), &nonce, &prune, verify);
        let command = RemoteCommand {
            workdir: workdir.to_string(),
            argv: self.args.command.clone(),
            shell: self.args.shell,
            login_shell: self.config.bool("run.loginShell"),
            env,
            pid_file: pid_file.clone(),
            prologue: Some(trailer.prologue),
            epilogue: Some(trailer.epilogue),
        };
        self.touch(LeaseState::Running).await;
        let heartbeat = leases::spawn_heartbeats(
            self.provider.clone(),
            self.coordinator.clone(),
            &self.lease,
            self.app.printer,
        );
        self.app.printer.note(format!(
            "running on {} {}",
            self.lease.host,
            self.args.command.join(" ")
        ));
        self.recorder.event(
            "command.started",
            "command",
            self.args.command.join(" "),
            json!({ "command": self.args.command }),
        );
        let phase = Instant::now();
        let previews = self.recorder.previews();
        let mut sink = RunSink {
            scanner: TrailerScanner::new(&nonce),
            log: &mut self.recorder.log,
            previews,
        };
        let cancel = self.cancel.clone();
        let streamed = connection
            .stream(
                &command.render(),
                &command.input(),
                self.stdin,
                &kill_command(&pid_file),
                &mut sink,
                async move {
                    cancel.cancelled().await;
                },
            )
            .await;
        let refused = sink.finish();
        heartbeat.abort();
        self.timing.command_ms = ms(phase.elapsed());
        if refused
            && matches!(streamed, Ok(StreamOutcome::Exited(code)) if code == crabbox_sync::RESYNC_EXIT)
        {
            return None;
        }
        // A finished session left a scan of what the command changed on the runner;
        // anything else leaves the copy unknown.
        let remote = match &streamed {
            Ok(StreamOutcome::Exited(_)) => RemoteState::Pending,
            _ => RemoteState::Unknown,
        };
        if let Err(error) = self.sync_state().set_remote(remote) {
            self.app.printer.warn(error.to_string());
        }
        Some(match streamed {
            Ok(StreamOutcome::Exited(code)) => {
                self.touch(LeaseState::Ready).await;
                self.app.printer.note(format!(
                    "command complete in {} total={}",
                    format_duration(round_ms(phase.elapsed())),
                    format_duration(round_ms(self.timing.elapsed()))
                ));
                self.recorder.event(
                    "command.finished",
                    "command",
                    format!("exit={code}"),
                    json!({ "exitCode": code }),
                );
                Outcome::Exited(code)
            }
            Ok(StreamOutcome::Cancelled) => {
                Outcome::Interrupted(self.cancel.reason().unwrap_or(ExitCode::Interrupted))
            }
            Err(error) => Outcome::Failed(error.into()),
        })
    }

    async fn touch(&self, state: LeaseState) {
        if let Err(error) = self.provider.touch(&self.lease.id, Some(state), None).await {
            self.app
                .printer
                .warn(format!("touch failed for {}: {error}", self.lease.id));
        }
    }
}
