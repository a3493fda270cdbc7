//! Announcing committed event appends to every coordinator process on the
//! database: a PostgreSQL `NOTIFY` inside the append transaction (delivered only
//! if it commits) and the `LISTEN` side. SQLite has no equivalent; one process
//! owns a SQLite file, so it needs none.

use sqlx::postgres::PgListener;

use crate::backend::{connect_error, Tx};
use crate::{Backend, RunEventRecord, Store, StoreError};

/// The notification channel; payloads are `runID:seq`.
pub const APPENDS_CHANNEL: &str = "crabbox_run_events";

/// One committed append as another (or this) process announced it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Announcement {
    pub run_id: String,
    pub seq: i64,
}

pub(crate) fn payload(event: &RunEventRecord) -> String {
    format!("{}:{}", event.run_id, event.seq)
}

fn parse(payload: &str) -> Option<Announcement> {
    let (run_id, seq) = payload.rsplit_once(':')?;
    let seq = seq.parse().ok().filter(|seq| *seq > 0)?;
    (!run_id.is_empty()).then(|| Announcement {
        run_id: run_id.to_string(),
        seq,
    })
}

/// Queues the announcement of `event` in `tx`; PostgreSQL sends it on commit.
pub(crate) async fn announce(
    tx: &mut Tx,
    backend: Backend,
    event: &RunEventRecord,
) -> Result<(), StoreError> {
    if backend == Backend::Postgres {
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(APPENDS_CHANNEL)
            .bind(payload(event))
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// A dedicated connection listening for announcements.
pub struct AppendListener {
    listener: PgListener,
}

impl AppendListener {
    /// The next announcement. An error means the connection failed and
    /// announcements may have been missed: drop this listener, open another and
    /// re-read whatever depends on them.
    pub async fn next(&mut self) -> Result<Announcement, StoreError> {
        loop {
            match self.listener.try_recv().await? {
                Some(notification) => {
                    if let Some(announcement) = parse(notification.payload()) {
                        return Ok(announcement);
                    }
                }
                None => return Err(StoreError::ListenerLost),
            }
        }
    }
}

impl Store {
    /// Listens for appends committed by any process on this database; `None` on
    /// SQLite. Announcements committed before this returns are not delivered.
    pub async fn listen_appends(&self) -> Result<Option<AppendListener>, StoreError> {
        if self.backend() != Backend::Postgres {
            return Ok(None);
        }
        let url = self.url().expose();
        let mut listener = PgListener::connect(url)
            .await
            .map_err(|error| connect_error(url, &error))?;
        // A lost connection is reported, not silently replaced: the caller must
        // re-read what it may have missed anyway, so it reconnects itself.
        listener.eager_reconnect(false);
        listener.listen(APPENDS_CHANNEL).await?;
        Ok(Some(AppendListener { listener }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_round_trip_and_foreign_ones_are_ignored() {
        let event = RunEventRecord {
            run_id: "run_0123abcd".into(),
            seq: 42,
            ..RunEventRecord::default()
        };
        assert_eq!(payload(&event), "run_0123abcd:42");
        assert_eq!(
            parse("run_0123abcd:42"),
            Some(Announcement {
                run_id: "run_0123abcd".into(),
                seq: 42
            })
        );
        for foreign in [
            "", "run_1", ":4", "run_1:", "run_1:x", "run_1:0", "run_1:-3",
        ] {
            assert_eq!(parse(foreign), None, "{foreign:?}");
        }
    }
}
