//! Fan-out across replicas: appends committed through any replica are announced
//! by PostgreSQL (`LISTEN`), and the ones this replica's sockets follow are read
//! once and broadcast to them. After a lost connection every subscription is
//! re-read from the store, since announcements may have been missed meanwhile.

use std::time::Duration;

use crabbox_store::{AppendListener, StoreError};
use tokio::sync::watch;

use super::hub::raised;
use crate::state::Coordinator;

const FIRST_RETRY: Duration = Duration::from_millis(250);
const LAST_RETRY: Duration = Duration::from_secs(10);

/// Relays announcements until `stopped` turns true; returns at once on SQLite.
pub async fn run(coordinator: Coordinator, mut stopped: watch::Receiver<bool>) {
    let mut retry = FIRST_RETRY;
    loop {
        let opened = tokio::select! {
            opened = coordinator.store().listen_appends() => opened,
            _ = raised(&mut stopped) => return,
        };
        match opened {
            Ok(None) => return,
            Ok(Some(listener)) => {
                retry = FIRST_RETRY;
                // Appends committed while nobody listened are found by re-reading.
                coordinator.control().resync();
                let error = tokio::select! {
                    error = relay(&coordinator, listener) => error,
                    _ = raised(&mut stopped) => return,
                };
                tracing::warn!(
                    "coordinator: listening for event appends failed: {error}; reconnecting"
                );
            }
            Err(error) => tracing::warn!(
                "coordinator: cannot listen for event appends: {error}; retrying in {retry:?}"
            ),
        }
        tokio::select! {
            _ = tokio::time::sleep(retry) => {}
            _ = raised(&mut stopped) => return,
        }
        retry = (retry * 2).min(LAST_RETRY);
    }
}

/// Broadcasts announced appends until the listener fails.
async fn relay(coordinator: &Coordinator, mut listener: AppendListener) -> StoreError {
    loop {
        let announcement = match listener.next().await {
            Ok(announcement) => announcement,
            Err(error) => return error,
        };
        let hub = coordinator.control();
        if !hub.wants(&announcement.run_id, announcement.seq) {
            continue;
        }
        let read = coordinator
            .store()
            .list_events(&announcement.run_id, announcement.seq - 1, 1)
            .await;
        match read.map(|mut events| events.pop()) {
            Ok(Some(event)) if event.seq == announcement.seq => hub.publish(event),
            // Sockets read the store themselves (and retry if it is failing).
            _ => hub.publish_behind(&announcement.run_id, announcement.seq),
        }
    }
}
