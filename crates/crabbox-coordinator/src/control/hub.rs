//! This replica's control-socket hub: the in-process broadcast of committed
//! event appends, which runs its sockets follow, and the open-socket count that
//! shutdown waits on.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use crabbox_proto::wire::RunEventRecord;
use tokio::sync::{broadcast, watch};

/// Notices a socket may fall behind by before it re-reads from the store.
const NOTICE_CAPACITY: usize = 4096;

/// What every socket of this replica hears.
#[derive(Debug, Clone)]
pub enum Notice {
    /// This event was committed.
    Appended(Arc<RunEventRecord>),
    /// Events of the run up to `seq` were committed; read them from the store.
    Behind { run_id: Arc<str>, seq: i64 },
    /// Announcements may have been lost: re-read every subscription.
    Resync,
}

/// A run some socket of this replica subscribes to.
struct Followed {
    sockets: usize,
    /// The highest seq already broadcast, so an announcement of our own append
    /// is not read again.
    published: i64,
}

#[derive(Clone)]
pub struct Hub {
    inner: Arc<Inner>,
}

struct Inner {
    notices: broadcast::Sender<Notice>,
    followed: Mutex<HashMap<String, Followed>>,
    closing: watch::Sender<bool>,
    open: watch::Sender<usize>,
}

impl Default for Hub {
    fn default() -> Hub {
        Hub {
            inner: Arc::new(Inner {
                notices: broadcast::channel(NOTICE_CAPACITY).0,
                followed: Mutex::new(HashMap::new()),
                closing: watch::channel(false).0,
                open: watch::channel(0).0,
            }),
        }
    }
}

impl Hub {
    fn followed(&self) -> MutexGuard<'_, HashMap<String, Followed>> {
        self.inner
            .followed
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    pub fn notices(&self) -> broadcast::Receiver<Notice> {
        self.inner.notices.subscribe()
    }

    /// Broadcasts a committed event to the sockets following its run. Runs
    /// nobody follows are skipped: a socket starts following before it reads its
    /// first page, so whatever it misses here is in that page.
    pub fn publish(&self, event: RunEventRecord) {
        if self.advance(&event.run_id, event.seq) {
            let _ = self.inner.notices.send(Notice::Appended(Arc::new(event)));
        }
    }

    /// Tells the sockets following `run_id` that events up to `seq` exist.
    pub fn publish_behind(&self, run_id: &str, seq: i64) {
        if self.advance(run_id, seq) {
            let _ = self.inner.notices.send(Notice::Behind {
                run_id: run_id.into(),
                seq,
            });
        }
    }

    /// Whether an announced append concerns a followed run and was not
    /// broadcast yet.
    pub fn wants(&self, run_id: &str, seq: i64) -> bool {
        self.followed()
            .get(run_id)
            .is_some_and(|followed| followed.published < seq)
    }

    fn advance(&self, run_id: &str, seq: i64) -> bool {
        match self.followed().get_mut(run_id) {
            Some(followed) => {
                followed.published = followed.published.max(seq);
                true
            }
            None => false,
        }
    }

    pub fn resync(&self) {
        let _ = self.inner.notices.send(Notice::Resync);
    }

    pub fn follow(&self, run_id: &str) {
        self.followed()
            .entry(run_id.to_string())
            .or_insert(Followed {
                sockets: 0,
                published: 0,
            })
            .sockets += 1;
    }

    pub fn unfollow(&self, run_id: &str) {
        let mut followed = self.followed();
        if let Some(entry) = followed.get_mut(run_id) {
            entry.sockets -= 1;
            if entry.sockets == 0 {
                followed.remove(run_id);
            }
        }
    }

    /// Asks every socket to close (graceful shutdown).
    pub fn close_sockets(&self) {
        self.inner.closing.send_replace(true);
    }

    pub fn closing(&self) -> watch::Receiver<bool> {
        self.inner.closing.subscribe()
    }

    /// Counts a socket as open until the returned guard drops.
    pub fn opened(&self) -> OpenSocket {
        self.inner.open.send_modify(|open| *open += 1);
        OpenSocket(self.clone())
    }

    pub fn open_sockets(&self) -> usize {
        *self.inner.open.borrow()
    }

    /// Waits up to `limit` for every socket to finish.
    pub async fn wait_closed(&self, limit: Duration) {
        let mut open = self.inner.open.subscribe();
        let _ = tokio::time::timeout(limit, open.wait_for(|open| *open == 0)).await;
    }
}

/// Resolves once `flag` is true (or its sender is gone).
pub async fn raised(flag: &mut watch::Receiver<bool>) {
    // The borrow guard is dropped here; holding it would make callers `!Send`.
    let _ = flag.wait_for(|raised| *raised).await;
}

pub struct OpenSocket(Hub);

impl Drop for OpenSocket {
    fn drop(&mut self) {
        self.0
            .inner
            .open
            .send_modify(|open| *open = open.saturating_sub(1));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(run_id: &str, seq: i64) -> RunEventRecord {
        RunEventRecord {
            run_id: run_id.into(),
            seq,
            ..RunEventRecord::default()
        }
    }

    #[test]
    fn only_followed_runs_are_broadcast_and_own_appends_are_not_reread() {
        let hub = Hub::default();
        let mut notices = hub.notices();
        hub.publish(event("run_a", 1));
        assert!(notices.try_recv().is_err(), "nobody follows run_a");
        assert!(!hub.wants("run_a", 1));

        hub.follow("run_a");
        hub.follow("run_a");
        assert!(hub.wants("run_a", 2));
        hub.publish(event("run_a", 2));
        assert!(matches!(notices.try_recv(), Ok(Notice::Appended(event)) if event.seq == 2));
        assert!(!hub.wants("run_a", 2), "already broadcast");
        assert!(hub.wants("run_a", 3));

        hub.unfollow("run_a");
        assert!(hub.wants("run_a", 3), "one socket still follows");
        hub.unfollow("run_a");
        assert!(!hub.wants("run_a", 3));
    }

    #[test]
    fn open_sockets_are_counted_until_their_guard_drops() {
        let hub = Hub::default();
        let first = hub.opened();
        let second = hub.opened();
        assert_eq!(hub.open_sockets(), 2);
        drop(first);
        drop(second);
        assert_eq!(hub.open_sockets(), 0);
    }
}
