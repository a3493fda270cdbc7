//! Opening the database and the write-transaction discipline
//! every table shares: how a write transaction starts, what it locks first, and
//! when it is retried.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use sqlx::any::AnyPoolOptions;
use sqlx::{AnyConnection, AnyPool, Connection, Executor};

use crate::dialect::Backend;
use crate::error::{redact_url, scrub};
use crate::{migrations, StoreError};

pub(crate) type Tx = sqlx::Transaction<'static, sqlx::Any>;

/// Attempts per transaction when the database reports contention.
const ATTEMPTS: u32 = 5;
/// `pg_advisory_xact_lock` key that serializes lease admission and create-attempt
/// cancels across every coordinator process ("crabbox" + 1).
const ADMISSION_LOCK_KEY: i64 = 0x6372_6162_626f_7801;

/// What a write transaction serializes on before anything else.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WriteLock {
    /// Row locks taken by the statements themselves (`SELECT … FOR UPDATE`).
    Rows,
    /// The admission lock: lease reserves and create-attempt cancels.
    Admission,
}

/// How a store connects, beyond its URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenOptions {
    /// How long an operation waits for a pooled connection (also while the
    /// database is unreachable) before it fails as unavailable.
    pub acquire_timeout: Duration,
}

impl Default for OpenOptions {
    fn default() -> OpenOptions {
        OpenOptions {
            acquire_timeout: Duration::from_secs(30),
        }
    }
}

/// The coordinator's database: a connection pool and its dialect. Clones share the pool.
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    url: ConnectUrl,
}

/// The URL the store was opened with, kept for connections outside the pool
/// (the notification listener); its password never reaches `Debug`.
#[derive(Clone)]
pub(crate) struct ConnectUrl(Arc<str>);

impl ConnectUrl {
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ConnectUrl {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&redact_url(&self.0))
    }
}

impl Store {
    /// Connects to `url` (`sqlite:///abs/path/coordinator.sqlite?mode=rwc` or
    /// `postgres://user:password@host/db`) and brings the schema up to date.
    pub async fn open(url: &str) -> Result<Store, StoreError> {
        Store::open_with(url, &OpenOptions::default()).await
    }

    /// [`Store::open`] with connection options.
    pub async fn open_with(url: &str, options: &OpenOptions) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let backend = Backend::from_url(url).ok_or_else(|| StoreError::UnsupportedUrl {
            url: redact_url(url),
        })?;
        let pool_options = match backend {
            Backend::Sqlite => {
                AnyPoolOptions::new()
                    .max_connections(4)
                    .after_connect(|connection, _| {
                        Box::pin(async move {
                            connection
                                .execute("PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON")
                                .await?;
                            Ok(())
                        })
                    })
            }
            Backend::Postgres => AnyPoolOptions::new().max_connections(10),
        };
        // One plain connection first: it fails at once on a wrong url, password or
        // port, where the pool would keep retrying until its acquire timeout.
        let probe = AnyConnection::connect(url)
            .await
            .map_err(|error| connect_error(url, &error))?;
        probe.close().await.ok();
        let pool = pool_options
            .acquire_timeout(options.acquire_timeout)
            .connect(url)
            .await
            .map_err(|error| connect_error(url, &error))?;
        let store = Store {
            pool,
            backend,
            url: ConnectUrl(url.into()),
        };
        if backend == Backend::Sqlite {
            store.enable_write_ahead_log().await?;
        }
        migrations::run(&store.pool, backend).await?;
        Ok(store)
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub async fn ping(&self) -> Result<(), StoreError> {
        self.pool.execute("SELECT 1").await?;
        Ok(())
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    pub(crate) fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub(crate) fn url(&self) -> &ConnectUrl {
        &self.url
    }

    /// Starts a write transaction holding `lock`.
    pub(crate) async fn begin_write(&self, lock: WriteLock) -> Result<Tx, StoreError> {
        let mut tx = self
            .pool
            .begin_with(self.backend.begin_write_statement())
            .await?;
        if lock == WriteLock::Admission && self.backend == Backend::Postgres {
            sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind(ADMISSION_LOCK_KEY)
                .execute(&mut *tx)
                .await?;
        }
        Ok(tx)
    }

    /// Runs `attempt` again (from a fresh transaction) while the database reports
    /// contention. Closures passed to the store run once, so operations that take
    /// one retry only the part before it runs: there every transaction takes its
    /// lock first, which is where contention surfaces.
    pub(crate) async fn retrying<T, F, Fut>(&self, mut attempt: F) -> Result<T, StoreError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, StoreError>>,
    {
        let mut tries = 1;
        loop {
            match attempt().await {
                Err(error) if error.is_contention() && tries < ATTEMPTS => {
                    tokio::time::sleep(Duration::from_millis(10 << tries)).await;
                    tries += 1;
                }
                outcome => return outcome,
            }
        }
    }

    /// WAL lets readers proceed while one writer commits. Switching needs an
    /// exclusive lock that the busy timeout does not wait for, hence the retries.
    async fn enable_write_ahead_log(&self) -> Result<(), StoreError> {
        self.retrying(|| async {
            sqlx::query("PRAGMA journal_mode = WAL")
                .execute(&self.pool)
                .await?;
            Ok(())
        })
        .await
    }
}

/// Rolls back a transaction that decided not to write; if the rollback itself
/// fails, the transaction's drop guard finishes it when the pool takes the
/// connection back.
pub(crate) async fn abandon(tx: Tx) {
    tx.rollback().await.ok();
}

pub(crate) fn connect_error(url: &str, error: &sqlx::Error) -> StoreError {
    StoreError::Connect {
        url: redact_url(url),
        detail: scrub(&error.to_string(), url),
    }
}
