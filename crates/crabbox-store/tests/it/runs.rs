//! Run conformance: creation, event numbering and paging, finishing with a
//! chunked log, listing with visibility, and pruning.

use std::convert::Infallible;

use crabbox_proto::wire::LeaseOwner;
use crabbox_store::{RunFilter, RunState, Timestamp, Update};

use crate::common::{append, event, run, TestDb};

conformance!(
    create_run_round_trips_with_its_first_event,
    appends_number_densely_and_page,
    rejected_or_missing_appends_write_nothing,
    finish_stores_a_chunked_log_and_replaces_it,
    read_log_tells_missing_from_empty,
    list_runs_filters_visibility_order_and_limit,
    prune_deletes_old_runs_with_their_rows,
);

async fn create_run_round_trips_with_its_first_event(db: TestDb) {
    let store = db.open().await;
    let created = store
        .create_run(run("run_1", "ann", "crabs", 1_000), event("created", 1_500))
        .await
        .unwrap();
    let mut expected = run("run_1", "ann", "crabs", 1_000);
    expected.event_count = 1;
    expected.last_event_at = Some(Timestamp(1_500));
    assert_eq!(created, expected);
    assert_eq!(store.get_run("run_1").await.unwrap(), Some(expected));
    assert_eq!(store.get_run("run_missing").await.unwrap(), None);

    let mut first = event("created", 1_500);
    first.run_id = "run_1".into();
    first.seq = 1;
    assert_eq!(store.list_events("run_1", 0, 0).await.unwrap(), [first]);
}

async fn appends_number_densely_and_page(db: TestDb) {
    let store = db.open().await;
    store
        .create_run(run("run_1", "ann", "", 1_000), event("created", 1_000))
        .await
        .unwrap();
    for index in 0..9 {
        let appended = append(&store, "run_1", event("stdout", 2_000 + index)).await;
        assert_eq!(
            (appended.run_id.as_str(), appended.seq),
            ("run_1", index + 2)
        );
    }
    let seqs = |events: Vec<crabbox_store::RunEventRecord>| {
        events.iter().map(|e| e.seq).collect::<Vec<_>>()
    };
    assert_eq!(
        seqs(store.list_events("run_1", 0, 0).await.unwrap()),
        (1..=10).collect::<Vec<_>>()
    );
    assert_eq!(
        seqs(store.list_events("run_1", 4, 3).await.unwrap()),
        [5, 6, 7]
    );
    assert_eq!(
        seqs(store.list_events("run_1", 9, 100).await.unwrap()),
        [10]
    );
    assert!(store.list_events("run_1", 10, 0).await.unwrap().is_empty());
    assert!(store
        .list_events("run_other", 0, 0)
        .await
        .unwrap()
        .is_empty());

    let stored = store.get_run("run_1").await.unwrap().unwrap();
    assert_eq!(stored.event_count, 10);
    assert_eq!(stored.last_event_at, Some(Timestamp(2_008)));

    let applied = store
        .append_event("run_1", event("phase", 3_000), |run, event| {
            assert_eq!(event.seq, 11);
            run.phase = "command".into();
            Ok::<(), Infallible>(())
        })
        .await
        .unwrap();
    assert_eq!(applied.created_at, Timestamp(3_000));
    assert_eq!(
        store.get_run("run_1").await.unwrap().unwrap().phase,
        "command"
    );

    // PostgreSQL text cannot hold NUL; both backends keep the rest of the output.
    let mut binary = event("stdout", 4_000);
    binary.data = "before\0after".into();
    append(&store, "run_1", binary).await;
    let stored = store.list_events("run_1", 11, 1).await.unwrap();
    assert_eq!(stored[0].data, "before\u{fffd}after");
}

async fn rejected_or_missing_appends_write_nothing(db: TestDb) {
    let store = db.open().await;
    store
        .create_run(run("run_1", "ann", "", 1_000), event("created", 1_000))
        .await
        .unwrap();
    let rejected = store
        .append_event("run_1", event("stdout", 2_000), |run, _| {
            run.state = RunState::Failed;
            Err("closed")
        })
        .await;
    assert!(matches!(rejected, Err(Update::Rejected("closed"))));
    let stored = store.get_run("run_1").await.unwrap().unwrap();
    assert_eq!((stored.state, stored.event_count), (RunState::Running, 1));
    assert_eq!(store.list_events("run_1", 0, 0).await.unwrap().len(), 1);

    let missing = store
        .append_event("run_missing", event("stdout", 2_000), |_, _| {
            Ok::<(), Infallible>(())
        })
        .await;
    assert!(matches!(missing, Err(Update::NotFound)));
    let missing = store
        .finish_run("run_missing", b"log", event("finished", 2_000), |_| {
            Ok::<(), Infallible>(())
        })
        .await;
    assert!(matches!(missing, Err(Update::NotFound)));
    assert_eq!(db.scalar("SELECT COUNT(*) FROM run_events").await, 1);
}

async fn finish_stores_a_chunked_log_and_replaces_it(db: TestDb) {
    let store = db.open().await;
    store
        .create_run(run("run_1", "ann", "", 1_000), event("created", 1_000))
        .await
        .unwrap();
    append(&store, "run_1", event("stdout", 1_500)).await;
    let log: Vec<u8> = (0..200_000_u32).map(|index| (index % 251) as u8).collect();
    let (finished, final_event) = store
        .finish_run("run_1", &log, event("finished", 2_000), |run| {
            run.state = RunState::Succeeded;
            run.exit_code = Some(0);
            run.ended_at = Some(Timestamp(2_000));
            run.log_bytes = log.len() as i64;
            Ok::<(), Infallible>(())
        })
        .await
        .unwrap();
    assert_eq!((final_event.run_id.as_str(), final_event.seq), ("run_1", 3));
    assert_eq!(
        (finished.state, finished.event_count),
        (RunState::Succeeded, 3)
    );
    assert_eq!(finished.last_event_at, Some(Timestamp(2_000)));
    assert_eq!(store.get_run("run_1").await.unwrap(), Some(finished));
    assert_eq!(store.read_log("run_1").await.unwrap(), Some(log));
    assert_eq!(db.scalar("SELECT COUNT(*) FROM run_log_chunks").await, 4);

    let rejected = store
        .finish_run("run_1", b"ignored", event("finished", 3_000), |_| {
            Err("already finished")
        })
        .await;
    assert!(matches!(
        rejected,
        Err(Update::Rejected("already finished"))
    ));
    assert_eq!(db.scalar("SELECT COUNT(*) FROM run_log_chunks").await, 4);

    store
        .finish_run("run_1", b"short log", event("finished", 4_000), |_| {
            Ok::<(), Infallible>(())
        })
        .await
        .unwrap();
    assert_eq!(
        store.read_log("run_1").await.unwrap(),
        Some(b"short log".to_vec())
    );
    assert_eq!(db.scalar("SELECT COUNT(*) FROM run_log_chunks").await, 1);
    let seqs: Vec<i64> = store
        .list_events("run_1", 0, 0)
        .await
        .unwrap()
        .iter()
        .map(|event| event.seq)
        .collect();
    assert_eq!(seqs, [1, 2, 3, 4]);
}

async fn read_log_tells_missing_from_empty(db: TestDb) {
    let store = db.open().await;
    assert_eq!(store.read_log("run_missing").await.unwrap(), None);
    store
        .create_run(run("run_1", "ann", "", 1_000), event("created", 1_000))
        .await
        .unwrap();
    assert_eq!(store.read_log("run_1").await.unwrap(), Some(Vec::new()));
    store
        .finish_run("run_1", b"", event("finished", 2_000), |_| {
            Ok::<(), Infallible>(())
        })
        .await
        .unwrap();
    assert_eq!(store.read_log("run_1").await.unwrap(), Some(Vec::new()));
}

async fn list_runs_filters_visibility_order_and_limit(db: TestDb) {
    let store = db.open().await;
    let fixtures = [
        ("run_1", "ann", "crabs", "cbx_a", RunState::Succeeded, None),
        (
            "run_2",
            "bob",
            "crabs",
            "cbx_a",
            RunState::Running,
            Some(("ann", "crabs")),
        ),
        ("run_3", "ann", "", "cbx_b", RunState::Failed, None),
        (
            "run_4",
            "cid",
            "shrimp",
            "cbx_c",
            RunState::Running,
            Some(("ann", "other")),
        ),
        ("run_5", "ann", "crabs", "cbx_b", RunState::Running, None),
    ];
    for (started, (id, owner, org, lease_id, state, reader)) in (0..).zip(fixtures) {
        let mut fixture = run(id, owner, org, 1_000 + started);
        fixture.lease_id = lease_id.into();
        fixture.state = state;
        fixture.lease_owners = reader
            .map(|(owner, org)| LeaseOwner {
                owner: owner.into(),
                org: org.into(),
            })
            .into_iter()
            .collect();
        store
            .create_run(fixture, event("created", 1_000))
            .await
            .unwrap();
    }
    let list = |filter: RunFilter| {
        let store = store.clone();
        async move {
            let runs = store.list_runs(&filter).await.unwrap();
            runs.into_iter().map(|run| run.id).collect::<Vec<_>>()
        }
    };
    assert_eq!(
        list(RunFilter::default()).await,
        ["run_5", "run_4", "run_3", "run_2", "run_1"]
    );
    let readable = RunFilter {
        readable_by: Some(("ann".into(), "crabs".into())),
        ..RunFilter::default()
    };
    assert_eq!(list(readable).await, ["run_5", "run_2", "run_1"]);
    let by_lease = RunFilter {
        lease_id: Some("cbx_b".into()),
        ..RunFilter::default()
    };
    assert_eq!(list(by_lease).await, ["run_5", "run_3"]);
    let by_owner_state = RunFilter {
        owner: Some("ann".into()),
        state: Some(RunState::Running),
        ..RunFilter::default()
    };
    assert_eq!(list(by_owner_state).await, ["run_5"]);
    let by_org = RunFilter {
        org: Some("crabs".into()),
        limit: 2,
        ..RunFilter::default()
    };
    assert_eq!(list(by_org).await, ["run_5", "run_2"]);

    // Changing who backed the run changes who may read it.
    append_reader(&store, "run_4", "ann", "crabs").await;
    let readable = RunFilter {
        readable_by: Some(("ann".into(), "crabs".into())),
        ..RunFilter::default()
    };
    assert_eq!(list(readable).await, ["run_5", "run_4", "run_2", "run_1"]);
}

async fn append_reader(store: &crabbox_store::Store, run_id: &str, owner: &str, org: &str) {
    store
        .append_event(run_id, event("lease", 5_000), |run, _| {
            run.lease_owners.push(LeaseOwner {
                owner: owner.into(),
                org: org.into(),
            });
            Ok::<(), Infallible>(())
        })
        .await
        .unwrap();
}

async fn prune_deletes_old_runs_with_their_rows(db: TestDb) {
    let store = db.open().await;
    // Terminal times: ended_at, else last_event_at, else started_at.
    store
        .create_run(run("run_ended", "ann", "", 1_000), event("created", 1_000))
        .await
        .unwrap();
    store
        .finish_run("run_ended", b"log", event("finished", 9_000), |run| {
            run.ended_at = Some(Timestamp(2_000));
            Ok::<(), Infallible>(())
        })
        .await
        .unwrap();
    store
        .create_run(run("run_quiet", "ann", "", 1_000), event("created", 3_000))
        .await
        .unwrap();
    store
        .create_run(run("run_recent", "ann", "", 1_000), event("created", 8_000))
        .await
        .unwrap();
    store
        .create_run(run("run_older", "ann", "", 500), event("created", 1_500))
        .await
        .unwrap();

    assert_eq!(store.prune_runs(Timestamp(5_000), 2).await.unwrap(), 2);
    let left = |id: &'static str| {
        let store = store.clone();
        async move { store.get_run(id).await.unwrap().is_some() }
    };
    assert!(!left("run_older").await);
    assert!(!left("run_ended").await);
    assert!(left("run_quiet").await);
    assert_eq!(store.read_log("run_ended").await.unwrap(), None);
    assert_eq!(store.prune_runs(Timestamp(5_000), 10).await.unwrap(), 1);
    assert!(left("run_recent").await);
    assert_eq!(store.prune_runs(Timestamp(5_000), 10).await.unwrap(), 0);
    assert_eq!(db.scalar("SELECT COUNT(*) FROM run_events").await, 1);
    assert_eq!(db.scalar("SELECT COUNT(*) FROM run_log_chunks").await, 0);
    assert_eq!(db.scalar("SELECT COUNT(*) FROM run_lease_owners").await, 1);
}
