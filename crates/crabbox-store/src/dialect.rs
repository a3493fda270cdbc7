//! The two SQL dialects the store speaks and where they differ.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub(crate) fn from_url(url: &str) -> Option<Backend> {
        if url.starts_with("sqlite:") {
            Some(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(Backend::Postgres)
        } else {
            None
        }
    }

    /// `sql` (a single-table `SELECT`) with row locks on PostgreSQL; SQLite's
    /// `BEGIN IMMEDIATE` already holds the database write lock.
    pub(crate) fn locking(self, sql: &str) -> String {
        match self {
            Backend::Sqlite => sql.to_string(),
            Backend::Postgres => format!("{sql} FOR UPDATE"),
        }
    }

    pub(crate) fn bytes_type(self) -> &'static str {
        match self {
            Backend::Sqlite => "BLOB",
            Backend::Postgres => "BYTEA",
        }
    }

    pub(crate) fn begin_write_statement(self) -> &'static str {
        match self {
            // Take the write lock up front: a deferred transaction that upgrades
            // later fails with BUSY instead of waiting.
            Backend::Sqlite => "BEGIN IMMEDIATE",
            // Row and advisory locks rely on each statement seeing commits made
            // while it waited for the lock.
            Backend::Postgres => "BEGIN ISOLATION LEVEL READ COMMITTED",
        }
    }
}
