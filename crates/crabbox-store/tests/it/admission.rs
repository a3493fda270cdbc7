//! Reserve conformance: conflicts, rejections, the admission snapshot and
//! create-attempt tombstones.

use std::collections::HashSet;
use std::convert::Infallible;

use crabbox_store::{Admission, LeaseStatus, Reserve, Store, StoredLease, Timestamp};

use crate::common::{insert, lease, lease_in, TestDb, MONTH_START, NOW};

conformance!(
    reserve_returns_conflict_for_an_existing_id,
    admission_counts_live_terminal_registered_month_and_org,
    cancel_attempt_keeps_the_first_tombstone,
);

async fn reserve_returns_conflict_for_an_existing_id(db: TestDb) {
    let store = db.open().await;
    let first = insert(&store, lease("cbx_c", "ann", "", 2_000_000)).await;
    let mut admitted = false;
    let outcome = store
        .reserve_lease(
            lease("cbx_c", "bob", "", 3_000_000),
            NOW,
            MONTH_START,
            |_, _| {
                admitted = true;
                Ok::<(), Infallible>(())
            },
        )
        .await;
    match outcome {
        Err(Reserve::Conflict(existing)) => assert_eq!(existing, first),
        other => panic!("expected a conflict, got {other:?}"),
    }
    assert!(!admitted);

    let rejected = store
        .reserve_lease(
            lease("cbx_d", "ann", "", 2_000_000),
            NOW,
            MONTH_START,
            |_, _| Err("over the cap"),
        )
        .await;
    assert!(matches!(rejected, Err(Reserve::Rejected("over the cap"))));
    assert_eq!(store.get_lease("cbx_d").await.unwrap(), None);
}

/// The snapshot `reserve_lease` hands to its closure for `candidate`.
async fn admission_for(store: &Store, candidate: StoredLease) -> Admission {
    let mut seen = None;
    let outcome = store
        .reserve_lease(candidate, NOW, MONTH_START, |admission, _| {
            seen = Some(admission.clone());
            Err("only looking")
        })
        .await;
    assert!(matches!(outcome, Err(Reserve::Rejected("only looking"))));
    seen.expect("admit was called")
}

async fn admission_counts_live_terminal_registered_month_and_org(db: TestDb) {
    let store = db.open().await;
    let this_month = MONTH_START.0 + 10;
    let last_month = MONTH_START.0 - 10;
    let usd = |mut record: StoredLease, cost: f64| {
        record.lease.max_estimated_usd = cost;
        record
    };
    // Live; its slug is taken from every owner.
    insert(
        &store,
        usd(
            lease_in("cbx_1", "ann", "crabs", last_month, LeaseStatus::Active),
            1.0,
        ),
    )
    .await;
    // Live but past expires_at: counts, yet its slug is free.
    let mut stale = usd(
        lease_in(
            "cbx_2",
            "ann",
            "crabs",
            this_month,
            LeaseStatus::Provisioning,
        ),
        2.0,
    );
    stale.lease.expires_at = Timestamp(NOW.0 - 1);
    insert(&store, stale).await;
    // Live, other owner in the same org.
    insert(
        &store,
        usd(
            lease_in("cbx_3", "bob", "crabs", this_month, LeaseStatus::Active),
            4.0,
        ),
    )
    .await;
    // Live, same owner in another org.
    insert(
        &store,
        usd(
            lease_in("cbx_4", "ann", "shrimp", this_month, LeaseStatus::Active),
            8.0,
        ),
    )
    .await;
    // Terminal this month: reserved money only.
    insert(
        &store,
        usd(
            lease_in("cbx_5", "ann", "crabs", this_month, LeaseStatus::Released),
            16.0,
        ),
    )
    .await;
    // Terminal last month: nothing.
    insert(
        &store,
        usd(
            lease_in("cbx_6", "ann", "crabs", last_month, LeaseStatus::Expired),
            32.0,
        ),
    )
    .await;
    // Registered and live: nothing, though its slug is taken.
    let mut registered = usd(
        lease_in("cbx_7", "ann", "crabs", this_month, LeaseStatus::Active),
        64.0,
    );
    registered.lease.lifecycle = "registered".into();
    insert(&store, registered).await;

    let admission = admission_for(
        &store,
        lease_in("cbx_new", "ann", "crabs", NOW.0, LeaseStatus::Provisioning),
    )
    .await;
    assert_eq!(
        (
            admission.active_total,
            admission.active_owner,
            admission.active_org
        ),
        (4, 3, 3)
    );
    assert_eq!(admission.reserved_usd_total, 31.0);
    assert_eq!(admission.reserved_usd_owner, 27.0);
    assert_eq!(admission.reserved_usd_org, 23.0);
    let live_slugs =
        HashSet::from(["slug-cbx_1", "slug-cbx_3", "slug-cbx_4", "slug-cbx_7"].map(String::from));
    assert_eq!(admission.taken_slugs, live_slugs);
    assert!(!admission.attempt_canceled);

    let without_org = admission_for(
        &store,
        lease_in("cbx_new", "bob", "", NOW.0, LeaseStatus::Provisioning),
    )
    .await;
    assert_eq!(
        (
            without_org.active_total,
            without_org.active_owner,
            without_org.active_org
        ),
        (4, 1, 0)
    );
    assert_eq!(without_org.reserved_usd_owner, 4.0);
    assert_eq!(without_org.reserved_usd_org, 0.0);
    assert_eq!(
        without_org.taken_slugs, live_slugs,
        "another owner cannot take a live lease's slug"
    );
}

async fn cancel_attempt_keeps_the_first_tombstone(db: TestDb) {
    let store = db.open().await;
    let first = store
        .cancel_attempt("cbx_x", "attempt-1", "ann", "crabs", NOW)
        .await
        .unwrap();
    assert_eq!(first, ("ann".to_string(), "crabs".to_string()));
    let foreign = store
        .cancel_attempt("cbx_x", "attempt-1", "mallory", "", NOW)
        .await
        .unwrap();
    assert_eq!(foreign, first);

    let mut candidate = lease_in("cbx_x", "ann", "crabs", NOW.0, LeaseStatus::Provisioning);
    candidate.private.create_attempt_id = "attempt-1".into();
    assert!(
        admission_for(&store, candidate.clone())
            .await
            .attempt_canceled
    );
    candidate.private.create_attempt_id = "attempt-2".into();
    assert!(
        !admission_for(&store, candidate.clone())
            .await
            .attempt_canceled
    );
    candidate.private.create_attempt_id = String::new();
    assert!(!admission_for(&store, candidate).await.attempt_canceled);
}
