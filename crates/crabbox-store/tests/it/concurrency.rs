//! Concurrency conformance across two `Store` instances on one database (two
//! replicas): admission caps, dense event numbering and lock exclusivity hold
//! under contention. Each fails when the store's serialization is broken.

use std::convert::Infallible;

use crabbox_store::{LeaseFilter, LeaseStatus, Reserve, Store, Timestamp};

use crate::common::{event, lease_in, run, TestDb, MONTH_START, NOW};

conformance!(
    admission_caps_hold_across_replicas,
    concurrent_appends_get_dense_unique_seqs,
    exactly_one_replica_wins_a_lock,
);

const CAP: i64 = 5;

/// Two stores on `db` with their pools already holding several connections, so
/// the contended operations overlap instead of queueing for a first connection.
async fn replicas(db: &TestDb) -> [Store; 2] {
    let replicas = [db.open().await, db.open().await];
    let pings: Vec<_> = (0..32)
        .map(|index| {
            let store = replicas[index % 2].clone();
            tokio::spawn(async move { store.ping().await })
        })
        .collect();
    for ping in pings {
        ping.await.unwrap().unwrap();
    }
    replicas
}

async fn admission_caps_hold_across_replicas(db: TestDb) {
    let replicas = replicas(&db).await;
    let tasks: Vec<_> = (0..50)
        .map(|index| {
            let store = replicas[index % 2].clone();
            let candidate = lease_in(
                &format!("cbx_{index:02}"),
                &format!("owner-{}", index % 3),
                "",
                NOW.0,
                LeaseStatus::Provisioning,
            );
            tokio::spawn(async move {
                store
                    .reserve_lease(candidate, NOW, MONTH_START, |admission, _| {
                        if admission.active_total + 1 > CAP {
                            Err("cap reached")
                        } else {
                            Ok(())
                        }
                    })
                    .await
            })
        })
        .collect();
    let mut admitted = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => admitted += 1,
            Err(Reserve::Rejected("cap reached")) => {}
            Err(other) => panic!("unexpected reserve outcome: {other}"),
        }
    }
    assert_eq!(admitted, CAP);
    let live = replicas[0]
        .list_leases(&LeaseFilter {
            limit: 500,
            ..LeaseFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(live.len() as i64, CAP);
}

async fn concurrent_appends_get_dense_unique_seqs(db: TestDb) {
    let replicas = replicas(&db).await;
    replicas[0]
        .create_run(run("run_busy", "ann", "", 1_000), event("created", 1_000))
        .await
        .unwrap();
    let tasks: Vec<_> = (0..8)
        .map(|task| {
            let store = replicas[task % 2].clone();
            tokio::spawn(async move {
                let mut seqs = Vec::new();
                for index in 0..100 {
                    let appended = store
                        .append_event("run_busy", event("stdout", 2_000 + index), |_, _| {
                            Ok::<(), Infallible>(())
                        })
                        .await
                        .unwrap();
                    seqs.push(appended.seq);
                }
                seqs
            })
        })
        .collect();
    let mut returned = vec![1];
    for task in tasks {
        returned.extend(task.await.unwrap());
    }
    returned.sort_unstable();
    let expected: Vec<i64> = (1..=801).collect();
    assert_eq!(returned, expected);

    let mut stored = Vec::new();
    loop {
        let after = stored.last().copied().unwrap_or(0);
        let page = replicas[1].list_events("run_busy", after, 0).await.unwrap();
        if page.is_empty() {
            break;
        }
        stored.extend(page.iter().map(|event| event.seq));
    }
    assert_eq!(stored, expected);
    let run = replicas[1].get_run("run_busy").await.unwrap().unwrap();
    assert_eq!(run.event_count, 801);
}

async fn exactly_one_replica_wins_a_lock(db: TestDb) {
    let replicas = replicas(&db).await;
    for round in 0..20 {
        let name = format!("maintenance-{round}");
        let attempts: Vec<_> = ["replica-a", "replica-b", "replica-c", "replica-d"]
            .into_iter()
            .enumerate()
            .map(|(index, holder)| {
                let store = replicas[index % 2].clone();
                let name = name.clone();
                tokio::spawn(async move {
                    store
                        .try_lock(&name, holder, Timestamp(1_000), 60_000)
                        .await
                        .unwrap()
                })
            })
            .collect();
        let mut winners = 0;
        for attempt in attempts {
            winners += usize::from(attempt.await.unwrap());
        }
        assert_eq!(winners, 1, "round {round}");
    }
}
