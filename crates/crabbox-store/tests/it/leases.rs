//! Lease conformance: round trips, lookups, listing, updates, maintenance
//! deadlines and usage.

use std::collections::HashSet;
use std::convert::Infallible;

use crabbox_store::{LeaseFilter, LeaseStatus, Timestamp, Update};

use crate::common::{insert, lease, lease_in, TestDb, NOW};

conformance!(
    lease_round_trip_keeps_every_field,
    slug_lookup_returns_live_leases_of_any_owner,
    list_filters_order_and_limit,
    update_writes_rejects_and_reports_missing,
    deadlines_follow_next_action_at,
    usage_includes_this_month_and_live_leases,
);

async fn lease_round_trip_keeps_every_field(db: TestDb) {
    let store = db.open().await;
    let mut record = lease("cbx_round", "ann", "crabs", 2_000_000);
    record.private.cleanup_pending = true;
    record.lease.estimated_hourly_usd = 0.1 + 0.2;
    let stored = insert(&store, record.clone()).await;
    assert!(stored.lease.cleanup_pending, "the owed delete is public");
    record.lease.cleanup_pending = true;
    assert_eq!(stored, record);
    assert_eq!(store.get_lease("cbx_round").await.unwrap(), Some(record));
    assert_eq!(store.get_lease("cbx_missing").await.unwrap(), None);
}

async fn slug_lookup_returns_live_leases_of_any_owner(db: TestDb) {
    let store = db.open().await;
    for (id, owner, state) in [
        ("cbx_1", "ann", LeaseStatus::Active),
        ("cbx_2", "bob", LeaseStatus::Provisioning),
        ("cbx_3", "ann", LeaseStatus::Released),
    ] {
        let mut record = lease_in(id, owner, "", 2_000_000, state);
        record.lease.slug = "blue-crab".into();
        insert(&store, record).await;
    }
    insert(&store, lease("cbx_4", "ann", "", 2_000_000)).await;
    let ids: HashSet<String> = store
        .leases_with_slug("blue-crab")
        .await
        .unwrap()
        .into_iter()
        .map(|record| record.lease.id)
        .collect();
    assert_eq!(
        ids,
        HashSet::from(["cbx_1".to_string(), "cbx_2".to_string()])
    );
    assert!(store.leases_with_slug("red-crab").await.unwrap().is_empty());
}

async fn list_filters_order_and_limit(db: TestDb) {
    let store = db.open().await;
    let fixtures = [
        ("cbx_1", "ann", "crabs", "hetzner", LeaseStatus::Active),
        ("cbx_2", "bob", "crabs", "aws", LeaseStatus::Active),
        ("cbx_3", "ann", "", "aws", LeaseStatus::Released),
        (
            "cbx_4",
            "ann",
            "crabs",
            "hetzner",
            LeaseStatus::Provisioning,
        ),
        ("cbx_5", "cid", "shrimp", "hetzner", LeaseStatus::Failed),
    ];
    for (created, (id, owner, org, provider, state)) in (0..).zip(fixtures) {
        let mut record = lease_in(id, owner, org, 2_000_000 + created, state);
        record.lease.provider = provider.into();
        insert(&store, record).await;
    }
    let list = |filter: LeaseFilter| {
        let store = store.clone();
        async move {
            let leases = store.list_leases(&filter).await.unwrap();
            leases
                .into_iter()
                .map(|record| record.lease.id)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        list(LeaseFilter::default()).await,
        ["cbx_5", "cbx_4", "cbx_3", "cbx_2", "cbx_1"]
    );
    let by_owner = LeaseFilter {
        owner: Some("ann".into()),
        ..LeaseFilter::default()
    };
    assert_eq!(list(by_owner).await, ["cbx_4", "cbx_3", "cbx_1"]);
    let by_state_and_provider = LeaseFilter {
        state: Some(LeaseStatus::Active),
        provider: Some("hetzner".into()),
        ..LeaseFilter::default()
    };
    assert_eq!(list(by_state_and_provider).await, ["cbx_1"]);
    let by_org = LeaseFilter {
        org: Some("crabs".into()),
        limit: 2,
        ..LeaseFilter::default()
    };
    assert_eq!(list(by_org).await, ["cbx_4", "cbx_2"]);
    let clamped = LeaseFilter {
        limit: -7,
        ..LeaseFilter::default()
    };
    assert_eq!(list(clamped).await, ["cbx_5"]);
}

async fn update_writes_rejects_and_reports_missing(db: TestDb) {
    let store = db.open().await;
    let original = insert(&store, lease("cbx_u", "ann", "crabs", 2_000_000)).await;

    let rejected = store
        .update_lease("cbx_u", |record| {
            record.lease.state = LeaseStatus::Released;
            record.lease.slug = "changed".into();
            Err::<(), _>("refused")
        })
        .await;
    assert!(matches!(rejected, Err(Update::Rejected("refused"))));
    assert_eq!(
        store.get_lease("cbx_u").await.unwrap(),
        Some(original.clone())
    );

    let missing = store
        .update_lease("cbx_missing", |_| Ok::<(), Infallible>(()))
        .await;
    assert!(matches!(missing, Err(Update::NotFound)));

    let value = store
        .update_lease("cbx_u", |record| {
            record.lease.state = LeaseStatus::Released;
            record.lease.id = "cbx_renamed".into();
            Ok::<_, Infallible>(41 + 1)
        })
        .await
        .unwrap();
    assert_eq!(value, 42);
    let stored = store.get_lease("cbx_u").await.unwrap().unwrap();
    assert_eq!(stored.lease.state, LeaseStatus::Released);
    assert_eq!(stored.lease.id, "cbx_u");
    let active = LeaseFilter {
        state: Some(LeaseStatus::Active),
        ..LeaseFilter::default()
    };
    assert!(store.list_leases(&active).await.unwrap().is_empty());
}

async fn deadlines_follow_next_action_at(db: TestDb) {
    let store = db.open().await;
    assert_eq!(store.next_deadline().await.unwrap(), None);
    let mut expiring = lease_in("cbx_expiring", "ann", "", 2_000_000, LeaseStatus::Active);
    expiring.lease.expires_at = Timestamp(3_000_000);
    let mut cleanup = lease_in("cbx_cleanup", "ann", "", 2_000_000, LeaseStatus::Released);
    cleanup.private.cleanup_pending = true;
    cleanup.private.cleanup_retry_at = Some(Timestamp(2_500_000));
    let mut stuck = lease_in("cbx_stuck", "ann", "", 2_000_000, LeaseStatus::Provisioning);
    stuck.private.provisioning_started_at = Some(Timestamp(2_000_000));
    let mut later = lease_in("cbx_later", "ann", "", 2_000_000, LeaseStatus::Active);
    later.lease.expires_at = Timestamp(9_000_000);
    let done = lease_in("cbx_done", "ann", "", 2_000_000, LeaseStatus::Failed);
    for record in [expiring, cleanup, stuck, later, done] {
        insert(&store, record).await;
    }
    let due = |now: i64, limit: i64| {
        let store = store.clone();
        async move {
            let leases = store.due_leases(Timestamp(now), limit).await.unwrap();
            leases
                .into_iter()
                .map(|record| record.lease.id)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        due(NOW.0, 10).await,
        ["cbx_cleanup", "cbx_stuck", "cbx_expiring"]
    );
    assert_eq!(due(NOW.0, 2).await, ["cbx_cleanup", "cbx_stuck"]);
    assert_eq!(due(2_400_000, 10).await, Vec::<String>::new());
    assert_eq!(
        store.next_deadline().await.unwrap(),
        Some(Timestamp(2_500_000))
    );

    // The store recomputes the column on every write.
    store
        .update_lease("cbx_cleanup", |record| {
            record.private.cleanup_pending = false;
            Ok::<(), Infallible>(())
        })
        .await
        .unwrap();
    assert_eq!(
        store.next_deadline().await.unwrap(),
        Some(Timestamp(2_600_000))
    );
    assert_eq!(due(NOW.0, 10).await, ["cbx_stuck", "cbx_expiring"]);
}

async fn usage_includes_this_month_and_live_leases(db: TestDb) {
    let store = db.open().await;
    let since = Timestamp(3_000_000);
    insert(
        &store,
        lease_in("cbx_old_live", "ann", "", 2_000_000, LeaseStatus::Active),
    )
    .await;
    insert(
        &store,
        lease_in("cbx_old_done", "ann", "", 2_000_000, LeaseStatus::Released),
    )
    .await;
    insert(
        &store,
        lease_in("cbx_new_done", "ann", "", 3_000_000, LeaseStatus::Failed),
    )
    .await;
    let mut registered = lease_in("cbx_registered", "ann", "", 3_000_000, LeaseStatus::Active);
    registered.lease.lifecycle = "registered".into();
    insert(&store, registered).await;
    let ids: HashSet<String> = store
        .leases_for_usage(since)
        .await
        .unwrap()
        .into_iter()
        .map(|record| record.lease.id)
        .collect();
    assert_eq!(
        ids,
        HashSet::from(["cbx_old_live".to_string(), "cbx_new_done".to_string()])
    );
}
