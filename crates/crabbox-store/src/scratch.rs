//! Throwaway PostgreSQL databases for tests and benchmarks that need a whole
//! database per run (several coordinators on one database, for instance),
//! dropped again when their handle drops.

use sqlx::{Connection, Executor};

use crate::error::{redact_url, scrub};
use crate::StoreError;

/// Names of scratch databases start with this, so leftovers of a killed test
/// process can be told apart from every other database on the server.
const SCRATCH_DATABASE_PREFIX: &str = "cbx_t_";

/// An empty database on the server an admin URL points at. Dropping the handle
/// drops the database, ending any connection still open to it, so close the
/// pools that use it first where a clean shutdown matters.
#[derive(Debug)]
pub struct ScratchDatabase {
    admin: String,
    name: String,
    url: String,
}

impl ScratchDatabase {
    /// Creates the database; its URL has the admin URL's credentials and options.
    pub async fn create(admin: &str) -> Result<ScratchDatabase, StoreError> {
        let mut connection = admin_connection(admin).await?;
        let mut nonce = [0u8; 6];
        getrandom::fill(&mut nonce).map_err(|error| StoreError::Connect {
            url: redact_url(admin),
            detail: format!("no randomness for a database name: {error}"),
        })?;
        let name = format!(
            "{SCRATCH_DATABASE_PREFIX}{}",
            nonce
                .iter()
                .map(|byte| format!("{byte:02x}"))
                .collect::<String>()
        );
        connection
            .execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .await?;
        let _ = connection.close().await;
        let (base, query) = admin
            .split_once('?')
            .map_or((admin, None), |(base, query)| (base, Some(query)));
        let prefix = base.rfind('/').map_or(base, |slash| &base[..slash]);
        let url = match query {
            Some(query) => format!("{prefix}/{name}?{query}"),
            None => format!("{prefix}/{name}"),
        };
        Ok(ScratchDatabase {
            admin: admin.to_string(),
            name,
            url,
        })
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for ScratchDatabase {
    fn drop(&mut self) {
        let admin = std::mem::take(&mut self.admin);
        let name = std::mem::take(&mut self.name);
        // Drop may run inside a runtime (or while a test panics), so the
        // cleanup gets a thread and a runtime of its own.
        let cleanup = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|error| error.to_string())?;
            runtime
                .block_on(drop_database(&admin, &name))
                .map_err(|error| error.to_string())
        });
        if let Ok(Err(error)) = cleanup.join() {
            eprintln!(
                "could not drop scratch database {}: {error}",
                redact_url(&self.url)
            );
        }
    }
}

/// `DROP DATABASE … WITH (FORCE)` (PostgreSQL 13+): connections still open,
/// such as a pool a test leaked, are ended rather than blocking the drop.
async fn drop_database(admin: &str, name: &str) -> Result<(), StoreError> {
    let mut connection = admin_connection(admin).await?;
    connection
        .execute(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
        )))
        .await?;
    let _ = connection.close().await;
    Ok(())
}

async fn admin_connection(admin: &str) -> Result<sqlx::AnyConnection, StoreError> {
    sqlx::any::install_default_drivers();
    sqlx::AnyConnection::connect(admin)
        .await
        .map_err(|error| StoreError::Connect {
            url: redact_url(admin),
            detail: scrub(&error.to_string(), admin),
        })
}
