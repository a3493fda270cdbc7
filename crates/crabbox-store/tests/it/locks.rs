//! Cross-replica lock conformance: exclusivity, renewal, expiry takeover, unlock.

use crabbox_store::Timestamp;

use crate::common::TestDb;

conformance!(locks_exclude_renew_expire_and_unlock);

async fn locks_exclude_renew_expire_and_unlock(db: TestDb) {
    let store = db.open().await;
    let at = Timestamp;
    assert!(store
        .try_lock("maintenance", "a", at(1_000), 100)
        .await
        .unwrap());
    assert!(!store
        .try_lock("maintenance", "b", at(1_050), 100)
        .await
        .unwrap());
    // Another name is independent.
    assert!(store.try_lock("prune", "b", at(1_050), 100).await.unwrap());
    // Renewing moves the expiry: b still waits past the first deadline.
    assert!(store
        .try_lock("maintenance", "a", at(1_080), 100)
        .await
        .unwrap());
    assert!(!store
        .try_lock("maintenance", "b", at(1_150), 100)
        .await
        .unwrap());
    // Expired: b takes over and a is out.
    assert!(store
        .try_lock("maintenance", "b", at(1_180), 100)
        .await
        .unwrap());
    assert!(!store
        .try_lock("maintenance", "a", at(1_200), 100)
        .await
        .unwrap());
    // Only the holder's unlock counts.
    store.unlock("maintenance", "a").await.unwrap();
    assert!(!store
        .try_lock("maintenance", "a", at(1_210), 100)
        .await
        .unwrap());
    store.unlock("maintenance", "b").await.unwrap();
    assert!(store
        .try_lock("maintenance", "a", at(1_220), 100)
        .await
        .unwrap());
}
