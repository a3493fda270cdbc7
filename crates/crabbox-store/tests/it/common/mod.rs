//! Shared fixtures for the store conformance suite: an isolated database per test
//! on SQLite (always) and PostgreSQL (when `CRABBOX_TEST_POSTGRES_URL` is set),
//! the macro that runs each case on both, and record builders.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::io::Write;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Once;
use std::time::{SystemTime, UNIX_EPOCH};

use crabbox_proto::wire::{LeaseOwner, RunTelemetry, TelemetrySample, TestResults};
use crabbox_store::{
    LeasePrivate, LeaseRecord, LeaseStatus, Run, RunEventRecord, RunState, StoredLease,
};
use crabbox_store::{Store, Timestamp};
use sqlx::{AssertSqlSafe, Connection};

pub const POSTGRES_URL_VARIABLE: &str = "CRABBOX_TEST_POSTGRES_URL";

/// A month start well before every fixture's `created_at`.
pub const MONTH_START: Timestamp = Timestamp(1_000_000);
pub const NOW: Timestamp = Timestamp(3_000_000);

/// Runs each listed `async fn case(db: TestDb)` as `sqlite::case` and `postgres::case`.
macro_rules! conformance {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    super::$case(crate::common::TestDb::sqlite().await).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    if let Some(db) = crate::common::TestDb::postgres().await {
                        super::$case(db).await;
                    }
                }
            )*
        }
    };
}

/// One test's private database: a temporary SQLite file, or a fresh schema in the
/// PostgreSQL database (dropped again when the test ends, even by panic).
pub struct TestDb {
    pub url: String,
    _directory: Option<tempfile::TempDir>,
    postgres_schema: Option<(String, String)>,
}

impl TestDb {
    pub async fn sqlite() -> TestDb {
        let directory = tempfile::tempdir().expect("temporary directory");
        let path = directory.path().join("coordinator.sqlite");
        TestDb {
            url: format!("sqlite://{}?mode=rwc", path.display()),
            _directory: Some(directory),
            postgres_schema: None,
        }
    }

    /// None (after a loud line on stderr) when no PostgreSQL is configured.
    pub async fn postgres() -> Option<TestDb> {
        let Ok(admin_url) = std::env::var(POSTGRES_URL_VARIABLE) else {
            static SKIP: Once = Once::new();
            SKIP.call_once(|| {
                // Written past the test harness's capture so the skip is visible.
                let _ = writeln!(
                    std::io::stderr(),
                    "\n*** SKIPPING the PostgreSQL conformance tests: {POSTGRES_URL_VARIABLE} is not set ***\n"
                );
            });
            return None;
        };
        let schema = unique_schema_name();
        let mut admin = sqlx::PgConnection::connect(&admin_url)
            .await
            .expect("connect to the test PostgreSQL");
        sqlx::query(AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
            .execute(&mut admin)
            .await
            .expect("create the test schema");
        admin.close().await.ok();
        let separator = if admin_url.contains('?') { '&' } else { '?' };
        Some(TestDb {
            url: format!("{admin_url}{separator}options=-c%20search_path%3D{schema}"),
            _directory: None,
            postgres_schema: Some((admin_url, schema)),
        })
    }

    pub async fn open(&self) -> Store {
        Store::open(&self.url).await.expect("open the store")
    }

    /// The one number `sql` returns, run on the raw tables for checks (and setups)
    /// the API does not expose.
    pub async fn scalar(&self, sql: &str) -> i64 {
        sqlx::any::install_default_drivers();
        let mut connection = sqlx::AnyConnection::connect(&self.url)
            .await
            .expect("raw connection");
        let value = sqlx::query_scalar(AssertSqlSafe(sql.to_string()))
            .fetch_one(&mut connection)
            .await
            .expect("scalar query");
        connection.close().await.ok();
        value
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some((admin_url, schema)) = self.postgres_schema.take() else {
            return;
        };
        // Drop may run inside the test's runtime (or while it panics), so the
        // cleanup gets a thread and a runtime of its own.
        let cleanup = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("cleanup runtime");
            runtime.block_on(async {
                let mut admin = sqlx::PgConnection::connect(&admin_url).await?;
                sqlx::query(AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE")))
                    .execute(&mut admin)
                    .await?;
                admin.close().await
            })
        });
        if let Ok(Err(error)) = cleanup.join() {
            let _ = writeln!(std::io::stderr(), "could not drop test schema: {error}");
        }
    }
}

fn unique_schema_name() -> String {
    static SEQUENCE: AtomicU32 = AtomicU32::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .subsec_nanos();
    format!(
        "crabbox_t_{}_{nanos}_{}",
        std::process::id(),
        SEQUENCE.fetch_add(1, Ordering::Relaxed)
    )
}

/// A live managed lease with every field set to something distinguishable.
pub fn lease(id: &str, owner: &str, org: &str, created_at: i64) -> StoredLease {
    let lease = LeaseRecord {
        id: id.to_string(),
        slug: format!("slug-{id}"),
        provider: "hetzner".into(),
        lifecycle: "managed".into(),
        owner: owner.to_string(),
        org: org.to_string(),
        state: LeaseStatus::Active,
        target: "linux".into(),
        class: "standard".into(),
        server_type: "cpx31".into(),
        profile: "default".into(),
        pond: "pond-a".into(),
        exposed_ports: vec![8080, 9090],
        cloud_id: "cloud-42".into(),
        server_id: 4242,
        server_name: format!("crabbox-{id}"),
        provider_key: format!("key-{id}"),
        windows_mode: String::new(),
        desktop: true,
        desktop_env: "xfce".into(),
        browser: true,
        code: true,
        host: "203.0.113.7".into(),
        ssh_user: "crab".into(),
        ssh_port: "2222".into(),
        ssh_fallback_ports: vec!["22".into()],
        ssh_host_key: "ssh-ed25519 AAAAhost".into(),
        work_root: "/work/crabbox".into(),
        keep: true,
        ttl_seconds: 3600,
        idle_timeout_seconds: 900,
        created_at: Timestamp(created_at),
        updated_at: Timestamp(created_at + 1),
        last_touched_at: Timestamp(created_at + 2),
        expires_at: Timestamp(created_at + 3_600_000),
        registered_at: Some(Timestamp(created_at + 3)),
        released_at: Some(Timestamp(created_at + 4)),
        ended_at: Some(Timestamp(created_at + 5)),
        estimated_hourly_usd: 0.0175,
        max_estimated_usd: 1.25,
        release_deletes_server: true,
        cleanup_pending: false,
        cleanup_attempts: 2,
        cleanup_error: "cleanup failed once".into(),
        failure_error: "none".into(),
        labels: BTreeMap::from([("team".to_string(), "crabs".to_string())]),
        telemetry: None,
        telemetry_history: Vec::new(),
    };
    StoredLease {
        lease,
        private: LeasePrivate {
            create_attempt_id: format!("attempt-{id}"),
            intent_hash: "sha256:abc".into(),
            ssh_public_key: "ssh-ed25519 AAAAclient".into(),
            cleanup_pending: false,
            cleanup_claim: Some(Timestamp(created_at + 6)),
            cleanup_claim_expires_at: Some(Timestamp(created_at + 7)),
            cleanup_retry_at: Some(Timestamp(created_at + 8)),
            provisioning_started_at: Some(Timestamp(created_at + 9)),
            provisioning_instance: "instance-1".into(),
            inventory_scope: "local:0123456789abcdef".into(),
        },
    }
}

/// A lease in `state` with otherwise default bookkeeping.
pub fn lease_in(
    id: &str,
    owner: &str,
    org: &str,
    created_at: i64,
    state: LeaseStatus,
) -> StoredLease {
    let mut record = lease(id, owner, org, created_at);
    record.lease.state = state;
    record.private = LeasePrivate::default();
    record
}

/// Stores `record` as it is.
pub async fn insert(store: &Store, record: StoredLease) -> StoredLease {
    store
        .reserve_lease(record, NOW, MONTH_START, |_, _| Ok::<(), Infallible>(()))
        .await
        .expect("insert lease")
}

pub fn run(id: &str, owner: &str, org: &str, started_at: i64) -> Run {
    Run {
        id: id.to_string(),
        lease_id: format!("cbx_{id}"),
        lease_ids: vec![format!("cbx_{id}")],
        slug: "blue-crab".into(),
        owner: owner.to_string(),
        org: org.to_string(),
        lease_owners: vec![LeaseOwner {
            owner: "lessor".into(),
            org: "lessor-org".into(),
        }],
        provider: "hetzner".into(),
        target: "linux".into(),
        windows_mode: "wsl".into(),
        class: "standard".into(),
        server_type: "cpx31".into(),
        command: vec!["cargo".into(), "test".into()],
        label: "ci".into(),
        state: RunState::Running,
        phase: "sync".into(),
        exit_code: None,
        sync_ms: Some(12),
        command_ms: Some(34),
        duration_ms: Some(56),
        log_bytes: 0,
        log_truncated: false,
        blocked_stage: "none".into(),
        retry_likely: "true".into(),
        results: Some(TestResults {
            format: "junit".into(),
            files: vec!["junit.xml".into()],
            tests: 3,
            time_seconds: 1.5,
            ..TestResults::default()
        }),
        telemetry: Some(RunTelemetry {
            start: Some(TelemetrySample {
                captured_at: "2026-11-22T23:08:00.000Z".into(),
                load1: Some(0.25),
                ..TelemetrySample::default()
            }),
            ..RunTelemetry::default()
        }),
        started_at: Timestamp(started_at),
        last_event_at: None,
        event_count: 0,
        ended_at: None,
    }
}

pub fn event(kind: &str, created_at: i64) -> RunEventRecord {
    RunEventRecord {
        run_id: String::new(),
        seq: 0,
        kind: kind.to_string(),
        phase: "command".into(),
        stream: "stdout".into(),
        message: "message".into(),
        data: format!("{kind} data\n"),
        lease_id: "cbx_lease".into(),
        slug: "blue-crab".into(),
        provider: "hetzner".into(),
        target: "linux".into(),
        windows_mode: "wsl".into(),
        class: "standard".into(),
        server_type: "cpx31".into(),
        exit_code: Some(3),
        created_at: Timestamp(created_at),
    }
}

/// Appends `event` without changing the run.
pub async fn append(store: &Store, run_id: &str, event: RunEventRecord) -> RunEventRecord {
    store
        .append_event(run_id, event, |_, _| Ok::<(), Infallible>(()))
        .await
        .expect("append event")
}
