//! Sync settings of a run: `sync.*` config plus the run's flags.

use std::time::Duration;

use crabbox_config::Config;
use crabbox_sync::{Limits, SyncOptions};

use crate::cli::RunArgs;

fn limit(config: &Config, key: &str, fallback: u64) -> u64 {
    config
        .int(key)
        .and_then(|value| u64::try_from(value).ok())
        .unwrap_or(fallback)
}

pub fn sync_options(config: &Config, args: &RunArgs) -> SyncOptions {
    let defaults = Limits::default();
    SyncOptions {
        checksum: args.checksum || config.bool("sync.checksum"),
        full_resync: args.full_resync,
        delete: config.get("sync.delete").is_none() || config.bool("sync.delete"),
        limits: Limits {
            warn_files: limit(config, "sync.warnFiles", defaults.warn_files),
            warn_bytes: limit(config, "sync.warnBytes", defaults.warn_bytes),
            fail_files: limit(config, "sync.failFiles", defaults.fail_files),
            fail_bytes: limit(config, "sync.failBytes", defaults.fail_bytes),
            allow_large: args.force_sync_large || config.bool("sync.allowLarge"),
        },
        allow_mass_deletions: std::env::var("CRABBOX_ALLOW_MASS_DELETIONS")
            .map(|value| matches!(value.trim(), "1" | "true" | "yes" | "on"))
            .unwrap_or(false),
        excludes: config.list("sync.exclude"),
        includes: config.list("sync.include"),
        timeout: config
            .duration("sync.timeout")
            .unwrap_or(Duration::from_secs(15 * 60)),
        verify_in_command: !args.sync_only,
    }
}
