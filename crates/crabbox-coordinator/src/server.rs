//! Serving: the router plus the maintenance loop on a caller-provided listener,
//! until the caller's shutdown future resolves.

use std::future::Future;

use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::maintenance;
use crate::routes::router;
use crate::state::Coordinator;

/// Serves until `shutdown` resolves, then drains requests and stops maintenance.
pub async fn serve(
    listener: TcpListener,
    coordinator: Coordinator,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (stop, stopped) = watch::channel(false);
    let maintenance = tokio::spawn(maintenance::run_loop(coordinator.clone(), stopped));
    let served = axum::serve(listener, router(coordinator))
        .with_graceful_shutdown(shutdown)
        .await;
    let _ = stop.send(true);
    let _ = maintenance.await;
    served
}
