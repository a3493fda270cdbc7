//! Why `crabbox coordinator serve` could not start, or stopped serving.

use std::path::PathBuf;

/// A failure of [`crate::run`]. Messages about the database never show its
/// password: the store redacts the URL before any error holds it.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// A `CRABBOX_*` setting the coordinator cannot use.
    #[error("{0}")]
    Settings(String),
    #[error("cannot create {}: {source}", path.display())]
    StateDirectory {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot open the database: {0}")]
    Database(#[source] crabbox_store::StoreError),
    /// A provider named in `CRABBOX_PROVIDERS` that cannot be brokered.
    #[error("{0}")]
    Providers(String),
    #[error("cannot listen on {address}: {source}")]
    Listen {
        address: String,
        #[source]
        source: std::io::Error,
    },
    /// The bound socket could not report its address.
    #[error(transparent)]
    LocalAddress(std::io::Error),
    /// Serving stopped on an I/O failure.
    #[error(transparent)]
    Serve(std::io::Error),
}
