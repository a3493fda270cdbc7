//! Opening a store: migrations (also when replicas open at once), refusing a
//! newer schema, SQLite settings, and errors that never show a password.

use crabbox_store::{Backend, Store, StoreError};

use crate::common::{insert, lease, TestDb};

conformance!(
    opens_migrated_and_reopens,
    concurrent_opens_migrate_once,
    refuses_a_newer_schema,
);

async fn opens_migrated_and_reopens(db: TestDb) {
    let store = db.open().await;
    store.ping().await.unwrap();
    insert(&store, lease("cbx_a", "ann", "", 2_000_000)).await;
    store.close().await;
    let again = db.open().await;
    let expected = if db.url.starts_with("sqlite:") {
        Backend::Sqlite
    } else {
        Backend::Postgres
    };
    assert_eq!(again.backend(), expected);
    assert!(again.get_lease("cbx_a").await.unwrap().is_some());
    assert_eq!(db.scalar("SELECT COUNT(*) FROM schema_migrations").await, 1);
}

async fn concurrent_opens_migrate_once(db: TestDb) {
    let opens: Vec<_> = (0..4)
        .map(|_| {
            let url = db.url.clone();
            tokio::spawn(async move { Store::open(&url).await })
        })
        .collect();
    for open in opens {
        open.await.unwrap().expect("every replica opens");
    }
    assert_eq!(db.scalar("SELECT COUNT(*) FROM schema_migrations").await, 1);
}

async fn refuses_a_newer_schema(db: TestDb) {
    db.open().await.close().await;
    db.scalar("INSERT INTO schema_migrations (version) VALUES (99) RETURNING version")
        .await;
    match Store::open(&db.url).await {
        Err(error @ StoreError::SchemaTooNew { found: 99, .. }) => {
            assert!(error.to_string().contains("hint:"), "{error}");
        }
        other => panic!("expected SchemaTooNew, got {other:?}"),
    }
}

#[tokio::test]
async fn sqlite_runs_in_write_ahead_log_mode() {
    let db = TestDb::sqlite().await;
    db.open().await;
    let mode: String = {
        use sqlx::Connection;
        let mut connection = sqlx::AnyConnection::connect(&db.url).await.unwrap();
        sqlx::query_scalar("PRAGMA journal_mode")
            .fetch_one(&mut connection)
            .await
            .unwrap()
    };
    assert_eq!(mode, "wal");
}

#[tokio::test]
async fn errors_never_show_the_password() {
    // Nothing listens on port 1, so this fails without any database.
    let url = "postgres://crabbox:hunter2-secret@127.0.0.1:1/crabbox?password=hunter2-secret";
    let error = Store::open(url)
        .await
        .expect_err("nothing listens on port 1");
    let shown = format!("{error} {error:?}");
    assert!(matches!(error, StoreError::Connect { .. }), "{shown}");
    assert!(!shown.contains("hunter2"), "{shown}");
    assert!(
        shown.contains("postgres://crabbox:***@127.0.0.1:1/crabbox"),
        "{shown}"
    );

    let error = Store::open("mysql://root:hunter2@localhost/db")
        .await
        .expect_err("mysql is not supported");
    assert!(matches!(error, StoreError::UnsupportedUrl { .. }));
    assert!(!error.to_string().contains("hunter2"), "{error}");
}
