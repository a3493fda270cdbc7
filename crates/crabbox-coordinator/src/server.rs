//! Serving: the router, the liveness mark, the maintenance loop and the
//! cross-replica event relay on a caller-provided listener, until the caller's
//! shutdown future resolves.

use std::future::Future;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::control::relay;
use crate::routes::router;
use crate::state::Coordinator;
use crate::{liveness, maintenance};

/// Longest wait for control sockets to finish their close handshake.
const SOCKET_CLOSE_WAIT: Duration = Duration::from_secs(3);

/// Serves until `shutdown` resolves, then closes control sockets (1012), drains
/// requests and stops maintenance and the relay.
pub async fn serve(
    listener: TcpListener,
    coordinator: Coordinator,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (stop, stopped) = watch::channel(false);
    // Marked alive before the first request, so no other replica mistakes this
    // one's first creates for a dead replica's.
    liveness::renew(&coordinator).await;
    let alive = tokio::spawn(liveness::run(coordinator.clone(), stopped.clone()));
    let maintenance = tokio::spawn(maintenance::run_loop(coordinator.clone(), stopped.clone()));
    let relay = tokio::spawn(relay::run(coordinator.clone(), stopped));
    let hub = coordinator.control().clone();
    let shutdown = async move {
        shutdown.await;
        // Open sockets would otherwise keep the drain waiting.
        hub.close_sockets();
    };
    let served = axum::serve(listener, router(coordinator.clone()))
        .with_graceful_shutdown(shutdown)
        .await;
    // Also when serving failed before the shutdown signal.
    coordinator.control().close_sockets();
    coordinator.control().wait_closed(SOCKET_CLOSE_WAIT).await;
    let _ = stop.send(true);
    let _ = maintenance.await;
    let _ = alive.await;
    let _ = relay.await;
    served
}
