//! Sync settings of a run: `sync.*` config plus the run's flags.

use crabbox_config::Config;
use crabbox_sync::{Limits, SyncOptions};

/// The run flags that change how it syncs.
#[derive(Debug, Clone, Copy, Default)]
pub struct SyncFlags {
    /// `--checksum`: compare contents, not sizes and times.
    pub checksum: bool,
    /// `--full-resync`: send everything again.
    pub full_resync: bool,
    /// `--force-sync-large`: pass the size guardrails.
    pub force_large: bool,
    /// `--sync-only`: no command follows, so nothing verifies the copy in it.
    pub sync_only: bool,
}

pub fn sync_options(config: &Config, args: &SyncFlags) -> SyncOptions {
    let defaults = Limits::default();
    let sync = &config.settings().sync;
    SyncOptions {
        checksum: args.checksum || sync.checksum,
        full_resync: args.full_resync,
        delete: sync.delete,
        limits: Limits {
            warn_files: sync.warn_files.unwrap_or(defaults.warn_files),
            warn_bytes: sync.warn_bytes.unwrap_or(defaults.warn_bytes),
            fail_files: sync.fail_files.unwrap_or(defaults.fail_files),
            fail_bytes: sync.fail_bytes.unwrap_or(defaults.fail_bytes),
            allow_large: args.force_large || sync.allow_large,
        },
        allow_mass_deletions: std::env::var("CRABBOX_ALLOW_MASS_DELETIONS")
            .map(|value| matches!(value.trim(), "1" | "true" | "yes" | "on"))
            .unwrap_or(false),
        excludes: sync.exclude.clone(),
        includes: sync.include.clone(),
        timeout: sync.timeout,
        verify_in_command: !args.sync_only,
    }
}
