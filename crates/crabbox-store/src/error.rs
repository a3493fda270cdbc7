//! Store failures, the outcomes of closure-driven writes, and database URL
//! redaction so a password never reaches a message.

use std::error::Error;
use std::fmt;

use crate::LeaseRecord;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "unsupported database url {url}\nhint: use sqlite:///absolute/path/coordinator.sqlite?mode=rwc or postgres://user:password@host:5432/database"
    )]
    UnsupportedUrl { url: String },
    #[error(
        "cannot open the database at {url}: {detail}\nhint: check that the database is reachable and that the url, user and password are right"
    )]
    Connect { url: String, detail: String },
    #[error(
        "the database schema is at version {found}, newer than this build knows ({known})\nhint: run a newer crabbox coordinator against this database"
    )]
    SchemaTooNew { found: i64, known: i64 },
    #[error("database migration {version} failed: {source}")]
    Migration {
        version: i64,
        #[source]
        source: sqlx::Error,
    },
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error(
        "the connection listening for event appends was lost; some announcements may be missing"
    )]
    ListenerLost,
    #[error(
        "stored {kind} {id:?} is not valid json: {source}\nhint: the row was written by an incompatible version; inspect or delete it"
    )]
    Corrupt {
        kind: &'static str,
        id: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("cannot encode {kind} {id:?} as json: {source}")]
    Encode {
        kind: &'static str,
        id: String,
        #[source]
        source: serde_json::Error,
    },
}

impl StoreError {
    /// Contention the whole transaction may be retried for: PostgreSQL
    /// serialization failures and deadlocks, SQLite BUSY and LOCKED.
    pub(crate) fn is_contention(&self) -> bool {
        let StoreError::Database(sqlx::Error::Database(error)) = self else {
            return false;
        };
        let Some(code) = error.code() else {
            return false;
        };
        if matches!(&*code, "40001" | "40P01") {
            return true;
        }
        // SQLite reports extended result codes; the primary code is the low byte.
        error
            .try_downcast_ref::<sqlx::sqlite::SqliteError>()
            .and_then(|_| code.parse::<i32>().ok())
            .is_some_and(|code| matches!(code & 0xff, 5 | 6))
    }
}

/// The outcome of [`Store::reserve_lease`](crate::Store::reserve_lease) when no
/// lease was inserted.
#[derive(Debug)]
#[allow(
    clippy::large_enum_variant,
    reason = "the coordinator's API contract takes the conflicting record by value"
)]
pub enum Reserve<E> {
    /// A lease with that id already exists.
    Conflict(LeaseRecord),
    /// The admission closure refused the lease.
    Rejected(E),
    Store(StoreError),
}

/// The outcome of a closure-driven update that did not commit.
#[derive(Debug)]
pub enum Update<E> {
    NotFound,
    /// The closure refused the change; nothing was written.
    Rejected(E),
    Store(StoreError),
}

impl<E> From<StoreError> for Reserve<E> {
    fn from(error: StoreError) -> Self {
        Reserve::Store(error)
    }
}

impl<E> From<StoreError> for Update<E> {
    fn from(error: StoreError) -> Self {
        Update::Store(error)
    }
}

impl<E> From<sqlx::Error> for Reserve<E> {
    fn from(error: sqlx::Error) -> Self {
        Reserve::Store(error.into())
    }
}

impl<E> From<sqlx::Error> for Update<E> {
    fn from(error: sqlx::Error) -> Self {
        Update::Store(error.into())
    }
}

impl<E: fmt::Display> fmt::Display for Reserve<E> {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reserve::Conflict(existing) => {
                write!(formatter, "lease {} already exists", existing.lease.id)
            }
            Reserve::Rejected(error) => error.fmt(formatter),
            Reserve::Store(error) => error.fmt(formatter),
        }
    }
}

impl<E: fmt::Display> fmt::Display for Update<E> {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Update::NotFound => formatter.write_str("record not found"),
            Update::Rejected(error) => error.fmt(formatter),
            Update::Store(error) => error.fmt(formatter),
        }
    }
}

impl<E: fmt::Debug + fmt::Display> Error for Reserve<E> {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            Reserve::Store(error) => error.source(),
            Reserve::Conflict(_) | Reserve::Rejected(_) => None,
        }
    }
}

impl<E: fmt::Debug + fmt::Display> Error for Update<E> {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            Update::Store(error) => error.source(),
            Update::NotFound | Update::Rejected(_) => None,
        }
    }
}

/// `postgres://user:secret@host/db?password=x` → `postgres://user:***@host/db?password=***`.
pub fn redact_url(url: &str) -> String {
    let (head, query) = match url.split_once('?') {
        Some((head, query)) => (head, Some(query)),
        None => (url, None),
    };
    let mut redacted = match head.split_once("://") {
        Some((scheme, rest)) => {
            let authority_end = rest.find('/').unwrap_or(rest.len());
            let (authority, path) = rest.split_at(authority_end);
            let authority = match authority.rsplit_once('@') {
                Some((user_info, host)) => match user_info.split_once(':') {
                    Some((user, _password)) => format!("{user}:***@{host}"),
                    None => format!("{user_info}@{host}"),
                },
                None => authority.to_string(),
            };
            format!("{scheme}://{authority}{path}")
        }
        None => head.to_string(),
    };
    if let Some(query) = query {
        let pairs: Vec<String> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((key, _)) if key.eq_ignore_ascii_case("password") => format!("{key}=***"),
                _ => pair.to_string(),
            })
            .collect();
        redacted.push('?');
        redacted.push_str(&pairs.join("&"));
    }
    redacted
}

/// The password of `url`, if any, so driver messages can be scrubbed of it.
pub(crate) fn url_password(url: &str) -> Option<&str> {
    let rest = url.split_once("://")?.1;
    let authority = &rest[..rest.find(['/', '?']).unwrap_or(rest.len())];
    let user_info = authority.rsplit_once('@')?.0;
    let password = user_info.split_once(':')?.1;
    (!password.is_empty()).then_some(password)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_passwords_in_user_info_and_query() {
        let cases = [
            (
                "postgres://crabbox:s3cret@127.0.0.1:5432/db",
                "postgres://crabbox:***@127.0.0.1:5432/db",
            ),
            ("postgres://crabbox@host/db", "postgres://crabbox@host/db"),
            (
                "postgres://host/db?user=a&password=x&sslmode=require",
                "postgres://host/db?user=a&password=***&sslmode=require",
            ),
            ("postgresql://u:p@ss@host/db", "postgresql://u:***@host/db"),
            (
                "sqlite:///tmp/coordinator.sqlite?mode=rwc",
                "sqlite:///tmp/coordinator.sqlite?mode=rwc",
            ),
        ];
        for (url, expected) in cases {
            assert_eq!(redact_url(url), expected, "{url}");
        }
        assert_eq!(url_password("postgres://u:p@ss@host/db"), Some("p@ss"));
        assert_eq!(url_password("postgres://u@host/db"), None);
    }
}
