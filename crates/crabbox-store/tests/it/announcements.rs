//! Append announcements: on PostgreSQL every committed append (and finish) is
//! announced as `runID:seq` to listeners in other processes, and rolled-back ones
//! are not; SQLite has no listener.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crabbox_store::{Announcement, Backend};

use crate::common::{append, event, run, TestDb};

conformance!(committed_appends_are_announced_to_other_processes);

/// Run ids are unique across test processes: announcements are database-wide,
/// and other tests' schemas share the database.
fn unique_run_id() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_nanos();
    format!("run_{}_{nanos}", std::process::id())
}

async fn committed_appends_are_announced_to_other_processes(db: TestDb) {
    let writer = db.open().await;
    let reader = db.open().await;
    let listener = reader.listen_appends().await.expect("listen");
    if writer.backend() == Backend::Sqlite {
        assert!(listener.is_none(), "SQLite has no cross-process listener");
        return;
    }
    let mut listener = listener.expect("a PostgreSQL listener");
    let run_id = unique_run_id();
    writer
        .create_run(run(&run_id, "ann", "crabs", 1_000), event("created", 1_000))
        .await
        .unwrap();
    append(&writer, &run_id, event("stdout", 2_000)).await;
    let refused = writer
        .append_event(&run_id, event("stdout", 2_500), |_, _| Err("refused"))
        .await;
    assert!(refused.is_err());
    append(&writer, &run_id, event("stdout", 3_000)).await;
    writer
        .finish_run(&run_id, b"log", event("finished", 4_000), |_| {
            Ok::<(), &str>(())
        })
        .await
        .unwrap();

    let mut seen = Vec::new();
    while seen.len() < 3 {
        let announcement = tokio::time::timeout(Duration::from_secs(10), listener.next())
            .await
            .expect("announcements arrive")
            .expect("listener stays connected");
        if announcement.run_id == run_id {
            seen.push(announcement);
        }
    }
    let expected: Vec<Announcement> = [2, 3, 4]
        .into_iter()
        .map(|seq| Announcement {
            run_id: run_id.clone(),
            seq,
        })
        .collect();
    assert_eq!(
        seen, expected,
        "commit order, nothing for the refused append"
    );
    writer.close().await;
    reader.close().await;
}
