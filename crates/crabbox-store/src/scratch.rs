//! Throwaway PostgreSQL databases for tests and benchmarks that need a whole
//! database per run (several coordinators on one database, for instance).

use sqlx::{Connection, Executor};

use crate::error::{redact_url, scrub};
use crate::StoreError;

/// Creates an empty database on the server `admin` points at and returns a URL
/// for it (same credentials and options).
pub async fn scratch_postgres_database(admin: &str) -> Result<String, StoreError> {
    sqlx::any::install_default_drivers();
    let mut connection =
        sqlx::AnyConnection::connect(admin)
            .await
            .map_err(|error| StoreError::Connect {
                url: redact_url(admin),
                detail: scrub(&error.to_string(), admin),
            })?;
    let mut nonce = [0u8; 6];
    getrandom::fill(&mut nonce).map_err(|error| StoreError::Connect {
        url: redact_url(admin),
        detail: format!("no randomness for a database name: {error}"),
    })?;
    let name = format!(
        "cbx_t_{}",
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
    Ok(match query {
        Some(query) => format!("{prefix}/{name}?{query}"),
        None => format!("{prefix}/{name}"),
    })
}
