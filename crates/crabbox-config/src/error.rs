//! Errors from loading and checking configuration.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file exists but could not be read (missing files are skipped).
    #[error("cannot read config {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The file is not valid YAML, or its top level is not a mapping.
    #[error("malformed config {}:{line}:{column}: {message}", path.display())]
    Parse {
        path: PathBuf,
        /// 1-based.
        line: usize,
        /// 1-based.
        column: usize,
        message: String,
    },
    /// A key holds a value of the wrong type or outside its choices.
    #[error("invalid value for {key} in {source_desc}: {message}")]
    Invalid {
        /// The path as written, which may be an alias such as `lease.ttl`.
        key: String,
        /// Display form of the layer, e.g. `env CRABBOX_TTL`.
        source_desc: String,
        message: String,
    },
    /// Repository config tried to aim an inherited credential at a
    /// destination it chose.
    #[error("{message}")]
    Untrusted { message: String },
    /// Repository config set keys that decide where data, secrets or keys go,
    /// and the user has not trusted the checkout.
    #[error(
        "{} sets {} which decide where your data, secrets or keys go; refusing to act on an untrusted checkout's choice",
        file.display(),
        keys.join(", ")
    )]
    RepoNotTrusted { keys: Vec<String>, file: PathBuf },
}
