//! `sync.*`: what a run sends to the runner and the guardrails around it.

use std::time::Duration;

use crate::config::Config;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncSettings {
    /// `sync.checksum`: compare file contents, not sizes and times.
    pub checksum: bool,
    /// `sync.delete`: remove runner files that left the manifest.
    pub delete: bool,
    /// `sync.gitSeed`: seed a first sync from the repository's remote.
    pub git_seed: bool,
    /// `sync.fingerprint`: skip a sync nothing changed since.
    pub fingerprint: bool,
    pub base_ref: Option<String>,
    pub timeout: Duration,
    /// The size guardrails; `None` (unset or negative) means the sync crate's
    /// own default.
    pub warn_files: Option<u64>,
    pub warn_bytes: Option<u64>,
    pub fail_files: Option<u64>,
    pub fail_bytes: Option<u64>,
    /// `sync.allowLarge`: sync past the failure guardrails.
    pub allow_large: bool,
    /// `sync.exclude` (and `sync.excludes`), in order.
    pub exclude: Vec<String>,
    /// `sync.include` (and `sync.includes`), in order.
    pub include: Vec<String>,
}

impl SyncSettings {
    pub(super) fn resolve(config: &Config) -> SyncSettings {
        let limit = |key: &str| config.int(key).and_then(|value| u64::try_from(value).ok());
        SyncSettings {
            checksum: config.bool("sync.checksum"),
            delete: config.get("sync.delete").is_none() || config.bool("sync.delete"),
            git_seed: config.bool("sync.gitSeed"),
            fingerprint: config.bool("sync.fingerprint"),
            base_ref: config.str("sync.baseRef").map(str::to_string),
            timeout: config
                .duration("sync.timeout")
                .unwrap_or(Duration::from_secs(15 * 60)),
            warn_files: limit("sync.warnFiles"),
            warn_bytes: limit("sync.warnBytes"),
            fail_files: limit("sync.failFiles"),
            fail_bytes: limit("sync.failBytes"),
            allow_large: config.bool("sync.allowLarge"),
            exclude: config.list("sync.exclude"),
            include: config.list("sync.include"),
        }
    }
}
