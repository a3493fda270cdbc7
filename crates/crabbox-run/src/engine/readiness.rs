//! Waiting for a lease's SSH with the wait and each failed round reported as run
//! events (`run` and `warmup` both wait this way).

use crabbox_ssh::{Connection, ReadinessEvent};

use super::{Reporters, RunEvent};
use crate::context::App;
use crate::error::CliResult;
use crate::leases::LeaseHandle;

pub async fn await_ssh(
    app: &App,
    handle: &LeaseHandle,
    reporters: &mut Reporters,
) -> CliResult<Connection> {
    let host = handle.lease.host.as_str();
    reporters.emit(RunEvent::ReadinessStarted { host });
    let mut on_progress =
        |progress: &ReadinessEvent| reporters.emit(RunEvent::Readiness { host, progress });
    handle.connect(app, &mut on_progress).await
}
