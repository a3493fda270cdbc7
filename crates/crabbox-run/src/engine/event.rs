//! What happens during a run or a warmup, as the engine reports it: one typed
//! stream that every reporter (terminal text, `--timing-json`, local history,
//! the coordinator's record) reads, so the engine never formats a line itself.

use std::time::Duration;

use crabbox_providers::Lease;
use crabbox_ssh::{ReadinessEvent, Stream};
use crabbox_sync::{SyncOutcome, SyncProgress};

/// How the work of a run ended, as history and the coordinator record it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunStatus {
    Succeeded,
    Failed,
    Canceled,
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Succeeded => "succeeded",
            RunStatus::Failed => "failed",
            RunStatus::Canceled => "canceled",
        }
    }
}

/// One fact about a run, in the order it happens.
pub enum RunEvent<'a> {
    /// A new lease is being requested from `provider`.
    LeasingStarted {
        provider: &'a str,
        class: &'a str,
    },
    /// The run has its lease; `created` when this command made it.
    LeaseObtained {
        lease: &'a Lease,
        created: bool,
        took: Duration,
    },
    /// Waiting for SSH on the lease begins.
    ReadinessStarted {
        host: &'a str,
    },
    /// A readiness round failed or a fallback port passed.
    Readiness {
        host: &'a str,
        progress: &'a ReadinessEvent,
    },
    /// SSH is ready; the command will run in `workdir`.
    Connected {
        lease: &'a Lease,
        port: u16,
        workdir: &'a str,
        took: Duration,
    },
    /// `--no-sync`: nothing is sent.
    SyncDisabled,
    SyncStarted {
        workdir: &'a str,
    },
    /// The manifest is built: `sync candidate: …`.
    SyncPlanned {
        candidates: &'a str,
    },
    /// A large sync that passes its guardrails with a warning.
    SyncGuardrail {
        message: &'a str,
    },
    SyncProgress(&'a SyncProgress),
    SyncFinished {
        outcome: &'a SyncOutcome,
        took: Duration,
    },
    /// `--sync-only`: the run ends after the sync.
    SyncedOnly {
        workdir: &'a str,
    },
    /// The last command changed synced files on the runner; they are synced again.
    Resyncing,
    CommandStarted {
        host: &'a str,
        command: &'a [String],
    },
    Output {
        stream: Stream,
        bytes: &'a [u8],
    },
    /// The command session ended; `exit` is `None` when it did not exit normally
    /// (interrupted, transport failure, or refused to run on a changed copy).
    CommandFinished {
        exit: Option<i32>,
        took: Duration,
        total: Duration,
    },
    /// Something that did not stop the run but that the user should know.
    Warning(String),
    /// The work between leasing and releasing is over; `exit` is the command's.
    Concluded {
        exit: Option<i32>,
        total: Duration,
    },
    /// The run failed (or was interrupted) with `exit_code`.
    Failed {
        message: &'a str,
        exit_code: i32,
    },
    Released {
        lease: &'a Lease,
        policy: &'a str,
    },
    ReleaseFailed {
        lease: &'a Lease,
        policy: &'a str,
        error: &'a str,
    },
    /// `--keep-on-failure` kept a lease this run created.
    KeptOnFailure {
        lease: &'a Lease,
    },
    /// A warmup lease made without `--keep`: it still expires when idle.
    Unkept {
        lease: &'a Lease,
    },
    /// Everything is recorded; `exit` is the command's.
    Finished {
        status: RunStatus,
        exit: Option<i32>,
    },
}
