//! One socket's run subscriptions: a cursor per run, the subscribe reply, and
//! delivery that is contiguous and exactly once per subscription: the next
//! event is pushed straight from its notice, and any gap is read from the store
//! in pages instead of being skipped. Every frame holds at most the
//! subscription's `limit` events; after a full frame nothing more is sent for
//! that run until the client subscribes again (as the Go CLI does), so a client
//! paging through a backlog never receives an event twice.

use std::collections::{BTreeSet, HashMap};

use crabbox_proto::wire::{
    RunEventRecord, ServerFrame, DEFAULT_SUBSCRIBE_LIMIT, MAX_SUBSCRIBE_LIMIT,
};

use super::hub::Notice;
use super::link::{Gone, Link};
use crate::auth::Principal;
use crate::runs;
use crate::state::Coordinator;

/// Where a subscription stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Cursor {
    /// The client's cursor: the last seq pushed or acknowledged, whichever came last.
    acked: i64,
    /// The last seq sent in this subscription. Acks lag behind pushes, so an ack
    /// below it never resends: each event goes out at most once.
    sent: i64,
    /// The most events one frame may hold.
    limit: i64,
    /// The last frame was full: wait for the client's next `subscribe_run`.
    paging: bool,
}

impl Cursor {
    fn at(seq: i64, limit: i64) -> Cursor {
        Cursor {
            acked: seq,
            sent: seq,
            limit,
            paging: false,
        }
    }

    /// Events after this are delivered next.
    fn position(self) -> i64 {
        self.acked.max(self.sent)
    }
}

pub struct Subscriptions {
    coordinator: Coordinator,
    cursors: HashMap<String, Cursor>,
    /// Runs whose catch-up hit a store error; retried shortly.
    stale: BTreeSet<String>,
}

impl Subscriptions {
    pub fn new(coordinator: Coordinator) -> Subscriptions {
        Subscriptions {
            coordinator,
            cursors: HashMap::new(),
            stale: BTreeSet::new(),
        }
    }

    pub fn has_stale(&self) -> bool {
        !self.stale.is_empty()
    }

    /// Replies with one page: the events after `after` (up to `limit`). A full
    /// page waits for the next `subscribe_run`; a shorter one means the client
    /// caught up, and new events are pushed from then on.
    pub async fn subscribe(
        &mut self,
        link: &mut Link,
        principal: &Principal,
        run_id: String,
        after: i64,
        limit: Option<i64>,
    ) -> Result<(), Gone> {
        if run_id.is_empty() {
            return link.error("not_found", "run not found").await;
        }
        if let Err(error) = runs::readable(&self.coordinator, principal, &run_id).await {
            return link.error(error.code, &error.message).await;
        }
        if !self.cursors.contains_key(&run_id) {
            // Before the first read, so no append can fall between the two.
            self.coordinator.control().follow(&run_id);
        }
        let after = after.max(0);
        let limit = limit
            .unwrap_or(DEFAULT_SUBSCRIBE_LIMIT)
            .clamp(1, MAX_SUBSCRIBE_LIMIT);
        self.cursors
            .insert(run_id.clone(), Cursor::at(after, limit));
        self.stale.remove(&run_id);
        let page = match self
            .coordinator
            .store()
            .list_events(&run_id, after, limit)
            .await
        {
            Ok(page) => page,
            Err(error) => {
                tracing::error!("coordinator: control socket reading {run_id}: {error}");
                self.stale.insert(run_id);
                return link
                    .error("internal_error", "reading the run's events failed")
                    .await;
            }
        };
        self.send(link, &run_id, page, after).await
    }

    /// Overwrites a subscription's cursor with `seq`: ahead of what was sent it
    /// skips events; moved back, whatever is now behind it and unsent is read
    /// from the store at once (never anything already sent), unless the
    /// subscription waits for the client's next `subscribe_run`.
    pub async fn ack(&mut self, link: &mut Link, run_id: &str, seq: i64) -> Result<(), Gone> {
        let Some(cursor) = self.cursors.get_mut(run_id) else {
            return Ok(());
        };
        if seq < 0 {
            return Ok(());
        }
        let before = cursor.position();
        cursor.acked = seq;
        if cursor.position() < before && !cursor.paging {
            self.catch_up(link, run_id).await?;
        }
        Ok(())
    }

    pub async fn deliver(&mut self, link: &mut Link, notice: Notice) -> Result<(), Gone> {
        match notice {
            Notice::Appended(event) => {
                let Some(cursor) = self.live_position(&event.run_id) else {
                    return Ok(());
                };
                if event.seq == cursor + 1 {
                    let run_id = event.run_id.clone();
                    let event = RunEventRecord::clone(&event);
                    self.send(link, &run_id, vec![event], cursor).await
                } else if event.seq > cursor {
                    self.catch_up(link, &event.run_id).await
                } else {
                    Ok(())
                }
            }
            Notice::Behind { run_id, seq } => match self.live_position(&run_id) {
                Some(cursor) if cursor < seq => self.catch_up(link, &run_id).await,
                _ => Ok(()),
            },
            Notice::Resync => self.catch_up_all(link).await,
        }
    }

    /// Re-reads every subscription (notices were lost or dropped).
    pub async fn catch_up_all(&mut self, link: &mut Link) -> Result<(), Gone> {
        let runs: Vec<String> = self.cursors.keys().cloned().collect();
        for run_id in runs {
            self.catch_up(link, &run_id).await?;
        }
        Ok(())
    }

    pub async fn retry_stale(&mut self, link: &mut Link) -> Result<(), Gone> {
        for run_id in std::mem::take(&mut self.stale) {
            self.catch_up(link, &run_id).await?;
        }
        Ok(())
    }

    /// Sends the next page the store has after the run's cursor: all of the gap,
    /// or a full page after which the client asks for more.
    async fn catch_up(&mut self, link: &mut Link, run_id: &str) -> Result<(), Gone> {
        let Some(cursor) = self.live_position(run_id) else {
            return Ok(());
        };
        let limit = self.cursors[run_id].limit;
        let page = match self
            .coordinator
            .store()
            .list_events(run_id, cursor, limit)
            .await
        {
            Ok(page) => page,
            Err(error) => {
                tracing::error!("coordinator: control socket catching up {run_id}: {error}");
                self.stale.insert(run_id.to_string());
                return Ok(());
            }
        };
        self.stale.remove(run_id);
        if page.is_empty() {
            return Ok(());
        }
        self.send(link, run_id, page, cursor).await
    }

    /// Sends `events` (contiguous, after `cursor`, at most the limit) and moves
    /// the cursor to the last; a full frame pauses the subscription.
    async fn send(
        &mut self,
        link: &mut Link,
        run_id: &str,
        events: Vec<RunEventRecord>,
        cursor: i64,
    ) -> Result<(), Gone> {
        let next_seq = events.last().map_or(cursor, |event| event.seq);
        let Some(limit) = self.cursors.get(run_id).map(|cursor| cursor.limit) else {
            return Ok(());
        };
        let paging = events.len() as i64 >= limit;
        link.send(&ServerFrame::RunEvents {
            run_id: run_id.to_string(),
            events,
            next_seq,
        })
        .await?;
        let mut moved = Cursor::at(next_seq, limit);
        moved.paging = paging;
        self.cursors.insert(run_id.to_string(), moved);
        Ok(())
    }

    /// Where delivery continues, unless the subscription waits for the client.
    fn live_position(&self, run_id: &str) -> Option<i64> {
        self.cursors
            .get(run_id)
            .filter(|cursor| !cursor.paging)
            .map(|cursor| cursor.position())
    }
}

impl Drop for Subscriptions {
    fn drop(&mut self) {
        let hub = self.coordinator.control();
        for run_id in self.cursors.keys() {
            hub.unfollow(run_id);
        }
    }
}
