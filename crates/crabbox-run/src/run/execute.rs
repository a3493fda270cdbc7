//! The middle of a run: readiness, sync, the command and its trailer.

use std::time::Instant;

use crabbox_core::RunId;
use crabbox_proto::{ErrorClass, Signal};
use crabbox_providers::LeaseState;
use crabbox_ssh::{kill_command, Connection, RemoteCommand, StreamOutcome};
use crabbox_sync::{
    candidate_line, guardrail_message, trailer_script, Destination, GuardrailStatus, RemoteState,
    SyncState, TrailerScanner,
};

use super::sink::RunSink;
use super::{Outcome, Session};
use crate::engine::RunEvent;
use crate::error::CliResult;

impl Session<'_> {
    fn work_root(&self) -> String {
        if self.handle.lease.work_root.is_empty() {
            self.config.settings().lease.work_root.clone()
        } else {
            self.handle.lease.work_root.clone()
        }
    }

    /// Bookkeeping next to (never inside) the synced tree.
    fn meta_dir(&self) -> String {
        format!(
            "{}/{}/.crabbox-sync-{}",
            self.work_root(),
            self.handle.lease.id,
            self.repo.name
        )
    }

    pub(super) fn sync_state(&self) -> SyncState {
        self.handle.home.sync_state(&self.repo.name)
    }

    pub(super) async fn execute(&mut self) -> Outcome {
        let phase = Instant::now();
        let connection = tokio::select! {
            result = crate::engine::await_ssh(self.app, &self.handle, &mut self.reporters) => match result {
                Ok(connection) => connection,
                Err(error) => return Outcome::Failed(error),
            },
            signal = self.cancel.cancelled() => return Outcome::Interrupted(signal),
        };
        let workdir = format!(
            "{}/{}/{}",
            self.work_root(),
            self.handle.lease.id,
            self.repo.name
        );
        self.reporters.emit(RunEvent::Connected {
            lease: &self.handle.lease,
            port: connection.port,
            workdir: &workdir,
            took: phase.elapsed(),
        });

        let mut verify = false;
        if self.options.no_sync {
            self.reporters.emit(RunEvent::SyncDisabled);
        } else {
            match self.sync_or_cancel(&connection, &workdir).await {
                Ok(needs_verify) => verify = needs_verify,
                Err(outcome) => return outcome,
            }
        }
        if self.options.sync_only {
            self.reporters
                .emit(RunEvent::SyncedOnly { workdir: &workdir });
            return Outcome::Exited(0);
        }
        match self.command(&connection, &workdir, verify).await {
            Some(outcome) => outcome,
            None => {
                // The runner's copy changed since the last command: heal it, then run.
                self.reporters.emit(RunEvent::Resyncing);
                self.sync_options.verify_in_command = false;
                if let Err(outcome) = self.sync_or_cancel(&connection, &workdir).await {
                    return outcome;
                }
                self.command(&connection, &workdir, false)
                    .await
                    .unwrap_or_else(|| {
                        Outcome::Failed(crate::error::CliError::of(
                            ErrorClass::Sync,
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
            signal = cancel.cancelled() => {
                // The sync never finished; the runner copy is unknown now.
                let _ = self.sync_state().set_remote(RemoteState::Unknown);
                Err(Outcome::Interrupted(signal))
            }
        }
    }

    async fn sync(&mut self, connection: &Connection, workdir: &str) -> CliResult<bool> {
        self.reporters.emit(RunEvent::SyncStarted { workdir });
        let started = Instant::now();
        let state = self.sync_state();
        // Leases meant for reuse get a watcher on the checkout, so later runs can
        // skip the manifest; one-shot runs leave nothing behind.
        if self.watch.is_none() && (self.options.id.is_some() || self.options.keep == Some(true)) {
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
                self.reporters.emit(RunEvent::SyncPlanned {
                    candidates: &candidate_line(&prepared.manifest),
                });
                if prepared.guardrail.status == GuardrailStatus::Warning {
                    self.reporters.emit(RunEvent::SyncGuardrail {
                        message: &guardrail_message(&prepared.guardrail),
                    });
                }
                let meta_dir = self.meta_dir();
                let destination = Destination {
                    connection,
                    workdir,
                    meta_dir: &meta_dir,
                };
                let reporters = &mut self.reporters;
                let outcome = crabbox_sync::sync(
                    prepared,
                    &destination,
                    &state,
                    &self.sync_options,
                    &mut |progress| reporters.emit(RunEvent::SyncProgress(progress)),
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
        self.reporters.emit(RunEvent::SyncFinished {
            outcome: &outcome,
            took,
        });
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
            &self.config.settings().run.env_allow,
            &self.options.allow_env,
            std::env::vars(),
        );
        let run_id = self.reporters.facts.run_id.clone();
        let lease = &self.handle.lease;
        env.push(("CRABBOX_LEASE_ID".into(), lease.id.clone()));
        env.push(("CRABBOX_RUN_ID".into(), run_id.clone()));
        env.push(("CRABBOX_SLUG".into(), lease.slug.clone()));
        let work_root = self.work_root();
        let pid_file = format!("{work_root}/.crabbox-runs/{run_id}.pid");
        let nonce = RunId::generate().as_str()[4..].to_string();
        let prune = if self.prune.is_empty() {
            vec![".git".to_string()]
        } else {
            self.prune.clone()
        };
        let trailer = trailer_script(&self.meta_dir(), &nonce, &prune, verify);
        let command = RemoteCommand {
            workdir: workdir.to_string(),
            argv: self.options.command.clone(),
            shell: self.options.shell,
            login_shell: self.config.settings().run.login_shell,
            env,
            pid_file: pid_file.clone(),
            prologue: Some(trailer.prologue),
            epilogue: Some(trailer.epilogue),
        };
        self.touch(LeaseState::Running).await;
        let heartbeat = crate::leases::spawn_heartbeats(
            self.handle.provider.clone(),
            self.handle.coordinator.clone(),
            &self.handle.lease,
            self.reporters.background_warnings(),
        );
        self.reporters.emit(RunEvent::CommandStarted {
            host: &self.handle.lease.host,
            command: &self.options.command,
        });
        let phase = Instant::now();
        let mut sink = RunSink {
            scanner: TrailerScanner::new(&nonce),
            reporters: &mut self.reporters,
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
        let took = phase.elapsed();
        if refused
            && matches!(streamed, Ok(StreamOutcome::Exited(code)) if code == crabbox_sync::RESYNC_EXIT)
        {
            self.command_finished(None, took);
            return None;
        }
        // A finished session left a scan of what the command changed on the runner;
        // anything else leaves the copy unknown.
        let remote = match &streamed {
            Ok(StreamOutcome::Exited(_)) => RemoteState::Pending,
            _ => RemoteState::Unknown,
        };
        if let Err(error) = self.sync_state().set_remote(remote) {
            self.reporters.emit(RunEvent::Warning(error.to_string()));
        }
        Some(match streamed {
            Ok(StreamOutcome::Exited(code)) => {
                self.touch(LeaseState::Ready).await;
                self.command_finished(Some(code), took);
                Outcome::Exited(code)
            }
            Ok(StreamOutcome::Cancelled) => {
                self.command_finished(None, took);
                Outcome::Interrupted(self.cancel.reason().unwrap_or(Signal::Interrupt))
            }
            Err(error) => {
                self.command_finished(None, took);
                Outcome::Failed(error.into())
            }
        })
    }

    fn command_finished(&mut self, exit: Option<i32>, took: std::time::Duration) {
        self.reporters.emit(RunEvent::CommandFinished {
            exit,
            took,
            total: self.started.elapsed(),
        });
    }

    async fn touch(&mut self, state: LeaseState) {
        if let Err(error) = self.handle.touch(state).await {
            let warning = format!("touch failed for {}: {error}", self.handle.lease.id);
            self.reporters.emit(RunEvent::Warning(warning));
        }
    }
}
