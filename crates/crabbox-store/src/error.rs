//! Store failures, the outcomes of closure-driven writes, and database URL
//! redaction so a password never reaches a message.

use std::error::Error;
use std::fmt;

use crate::StoredLease;

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
    /// The database cannot be reached, has gone away or has no connection to
    /// spare: the same request may well succeed in a moment.
    pub fn is_unavailable(&self) -> bool {
        match self {
            StoreError::Connect { .. } | StoreError::ListenerLost => true,
            StoreError::Database(error) | StoreError::Migration { source: error, .. } => {
                unreachable_database(error)
            }
            _ => false,
        }
    }

    /// The database refused text it cannot hold (PostgreSQL: a NUL character or
    /// an invalid byte sequence); the caller sent bad input.
    pub fn is_invalid_text(&self) -> bool {
        let StoreError::Database(sqlx::Error::Database(error)) = self else {
            return false;
        };
        error
            .code()
            .is_some_and(|code| matches!(&*code, "22021" | "22P05"))
    }

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

/// Connection failures, an exhausted or closed pool, and PostgreSQL's
/// connection-exception (08…), shutdown (57P01-57P03) and too-many-connections
/// (53300) errors.
fn unreachable_database(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(error) => error.code().is_some_and(|code| {
            code.starts_with("08") || matches!(&*code, "57P01" | "57P02" | "57P03" | "53300")
        }),
        _ => false,
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
    Conflict(StoredLease),
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

/// The passwords in `url` (user info and `password=` query values), as written
/// and percent-decoded, so driver messages can be scrubbed of them.
pub(crate) fn url_passwords(url: &str) -> Vec<String> {
    let mut found = Vec::new();
    let Some((_, rest)) = url.split_once("://") else {
        return found;
    };
    let authority = &rest[..rest.find(['/', '?']).unwrap_or(rest.len())];
    if let Some((user_info, _)) = authority.rsplit_once('@') {
        if let Some((_, password)) = user_info.split_once(':') {
            found.push(password.to_string());
        }
    }
    if let Some((_, query)) = rest.split_once('?') {
        for pair in query.split('&') {
            if let Some((key, value)) = pair.split_once('=') {
                if key.eq_ignore_ascii_case("password") {
                    found.push(value.to_string());
                }
            }
        }
    }
    let decoded: Vec<String> = found.iter().map(|raw| percent_decoded(raw)).collect();
    found.extend(decoded);
    found.retain(|password| !password.is_empty());
    found.sort_by_key(|password| std::cmp::Reverse(password.len()));
    found.dedup();
    found
}

/// `%XX` escapes decoded (invalid ones kept as they are).
fn percent_decoded(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut at = 0;
    while at < bytes.len() {
        let escape = (bytes[at] == b'%')
            .then(|| bytes.get(at + 1..at + 3))
            .flatten()
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escape {
            Some(byte) => {
                decoded.push(byte);
                at += 3;
            }
            None => {
                decoded.push(bytes[at]);
                at += 1;
            }
        }
    }
    String::from_utf8_lossy(&decoded).into_owned()
}

/// `text` with every password of `url` replaced by `***`.
pub(crate) fn scrub(text: &str, url: &str) -> String {
    url_passwords(url)
        .iter()
        .fold(text.to_string(), |text, password| {
            text.replace(password.as_str(), "***")
        })
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
        assert_eq!(url_passwords("postgres://u:p@ss@host/db"), ["p@ss"]);
        assert!(url_passwords("postgres://u@host/db").is_empty());
        assert_eq!(
            url_passwords("postgres://u:p%40ss@host/db?password=q"),
            ["p%40ss", "p@ss", "q"]
        );
        assert_eq!(
            scrub("bad p@ss and p%40ss", "postgres://u:p%40ss@host/db"),
            "bad *** and ***"
        );
    }
}
