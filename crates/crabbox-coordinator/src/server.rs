//! Serving: the accept loop (connection caps, per-connection timeouts), the
//! liveness mark, the maintenance loop and the cross-replica event relay on a
//! caller-provided listener, until the caller's shutdown future resolves; then a
//! bounded drain.

use std::future::Future;
use std::io;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::connection;
use crate::control::relay;
use crate::limits::{Limits, Refusal};
use crate::routes::router;
use crate::state::Coordinator;
use crate::{liveness, maintenance};

/// Longest wait for control sockets to finish their close handshake.
const SOCKET_CLOSE_WAIT: Duration = Duration::from_secs(3);
/// Pause after an accept failure such as running out of file descriptors.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);
/// Repeated refusals and accept failures are reported at most this often.
const REPORT_EVERY: Duration = Duration::from_secs(10);

/// Serves until `shutdown` resolves, then stops accepting, drops connections
/// with no request in flight, closes control sockets (1012), gives requests in
/// flight the drain timeout, and stops maintenance and the relay.
pub async fn serve(
    listener: TcpListener,
    coordinator: Coordinator,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let (stop, stopped) = watch::channel(false);
    // Marked alive before the first request, so no other replica mistakes this
    // one's first creates for a dead replica's.
    liveness::renew(&coordinator).await;
    let alive = tokio::spawn(liveness::run(coordinator.clone(), stopped.clone()));
    let maintenance = tokio::spawn(maintenance::run_loop(coordinator.clone(), stopped.clone()));
    let relay = tokio::spawn(relay::run(coordinator.clone(), stopped));
    let connections = coordinator.settings().connections.clone();
    let limits = Limits::new(&connections);
    let app = router(coordinator.clone());
    let (closing, closing_seen) = watch::channel(false);
    let mut open = JoinSet::new();
    let mut reports = Reports::default();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            Some(_) = open.join_next(), if !open.is_empty() => {}
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => match limits.admit(peer.ip()) {
                    Ok(permit) => {
                        let (app, connections, closing) =
                            (app.clone(), connections.clone(), closing_seen.clone());
                        open.spawn(async move {
                            connection::serve(stream, permit, app, &connections, closing).await;
                        });
                    }
                    // Closing at once keeps the descriptor for a client that can use it.
                    Err(refusal) => {
                        drop(stream);
                        reports.refused(refusal);
                    }
                },
                Err(error) if per_connection(&error) => {}
                Err(error) => {
                    reports.accept_failed(&error);
                    tokio::select! {
                        () = &mut shutdown => break,
                        () = tokio::time::sleep(ACCEPT_BACKOFF) => {}
                    }
                }
            }
        }
    }
    drop(listener);
    let _ = closing.send(true);
    coordinator.control().close_sockets();
    let drained = tokio::time::timeout(connections.drain_timeout, async {
        while open.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            "coordinator: dropping {} connection(s) still busy after the {} ms drain",
            open.len(),
            connections.drain_timeout.as_millis()
        );
        open.shutdown().await;
    }
    coordinator.control().wait_closed(SOCKET_CLOSE_WAIT).await;
    let _ = stop.send(true);
    let _ = maintenance.await;
    let _ = alive.await;
    let _ = relay.await;
    Ok(())
}

/// Failures that concern only the connection being accepted.
fn per_connection(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::Interrupted
            | io::ErrorKind::WouldBlock
    )
}

/// Rate-limited reports, so a flood of connections cannot flood stderr too.
#[derive(Default)]
struct Reports {
    refused: u64,
    last: Option<Instant>,
}

impl Reports {
    fn due(&mut self) -> bool {
        let now = Instant::now();
        let due = self.last.is_none_or(|last| now - last >= REPORT_EVERY);
        if due {
            self.last = Some(now);
        }
        due
    }

    fn refused(&mut self, refusal: Refusal) {
        self.refused += 1;
        if self.due() {
            let cap = match refusal {
                Refusal::Full => "CRABBOX_HTTP_MAX_CONNECTIONS",
                Refusal::PeerFull => "CRABBOX_HTTP_MAX_CONNECTIONS_PER_IP",
            };
            tracing::warn!(
                "coordinator: closed {} connection(s) over the connection caps (last hit: {cap})",
                self.refused
            );
            self.refused = 0;
        }
    }

    fn accept_failed(&mut self, error: &io::Error) {
        if self.due() {
            tracing::error!("coordinator: cannot accept connections: {error}\nhint: raise the open-file limit (ulimit -n) or lower CRABBOX_HTTP_MAX_CONNECTIONS");
        }
    }
}
