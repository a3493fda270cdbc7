//! Per-invocation context: paths, config, provider selection, claims and the
//! housekeeping every command shares (opportunistic reaping, forgetting leases).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crabbox_config::{Config, FlagValue, LoadOptions, Source};
use crabbox_core::{now_unix, ClaimStore, Paths};
use crabbox_providers::Provider;
use crabbox_sync::Repo;

use crate::cli::LeaseCreateArgs;
use crate::error::{CliError, CliResult};
use crate::printer::Printer;

/// Where a provider selection came from, named as `doctor` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SelectionSource {
    CompiledDefault,
    UserConfig,
    RepoConfig,
    Environment,
    Flag,
}

impl SelectionSource {
    pub fn label(self) -> &'static str {
        match self {
            SelectionSource::CompiledDefault => "compiled_default",
            SelectionSource::UserConfig => "user_config",
            SelectionSource::RepoConfig => "repo_config",
            SelectionSource::Environment => "environment",
            SelectionSource::Flag => "flag",
        }
    }

    fn from_config(source: &Source) -> SelectionSource {
        match source {
            Source::Default => SelectionSource::CompiledDefault,
            Source::UserConfig(_) => SelectionSource::UserConfig,
            Source::RepoConfig(_) => SelectionSource::RepoConfig,
            Source::Environment(_) => SelectionSource::Environment,
            Source::Flag(_) => SelectionSource::Flag,
        }
    }
}

/// The provider used when nothing selects one.
pub const DEFAULT_PROVIDER: &str = "local";

pub struct App {
    pub paths: Paths,
    pub printer: Printer,
    pub claims: ClaimStore,
    pub cwd: PathBuf,
    env: BTreeMap<String, String>,
}

impl App {
    pub fn from_env() -> App {
        let paths = Paths::from_env();
        App {
            claims: ClaimStore::new(&paths),
            paths,
            printer: Printer::default(),
            cwd: std::env::current_dir().unwrap_or_else(|_| PathBuf::from(".")),
            env: std::env::vars().collect(),
        }
    }

    pub fn repo(&self) -> Repo {
        crabbox_sync::discover_repo(&self.cwd)
    }

    /// Loads the layered config for the checkout at `repo_root`; warnings go to
    /// stderr.
    pub fn config(&self, repo_root: Option<&Path>, flags: Vec<FlagValue>) -> CliResult<Config> {
        let mut options = LoadOptions::discover(self.env.clone(), repo_root.map(Path::to_path_buf));
        options.flags = flags;
        let loaded = crabbox_config::load(&options)?;
        for warning in &loaded.warnings {
            self.printer.warn(warning);
        }
        loaded.config.check_credential_destination()?;
        Ok(loaded.config)
    }

    /// Chooses the provider: an explicit name, else config, else `local` (announced
    /// once on stderr when `announce` is set).
    pub fn provider(
        &self,
        config: &Config,
        announce: bool,
    ) -> CliResult<(Arc<dyn Provider>, SelectionSource)> {
        if let Some(name) = config.str("provider") {
            let source = config
                .source("provider")
                .map(SelectionSource::from_config)
                .unwrap_or(SelectionSource::Flag);
            return Ok((crabbox_providers::create(name, &self.paths)?, source));
        }
        if let Some(url) = config.str("broker.url") {
            return Err(CliError::usage(format!(
                "a coordinator is configured ({url}) but this build cannot broker leases yet"
            ))
            .with_hint("pass --provider local, or unset CRABBOX_COORDINATOR / broker.url"));
        }
        if announce {
            self.printer.note(format!(
                "provider: using {DEFAULT_PROVIDER} (nothing selects a provider and no coordinator is configured)"
            ));
        }
        Ok((
            crabbox_providers::create(DEFAULT_PROVIDER, &self.paths)?,
            SelectionSource::CompiledDefault,
        ))
    }

    /// Reaps expired leases of `provider` and forgets their local state. Failures
    /// are only warnings: this is housekeeping on the way to another command.
    pub fn reap_expired(&self, provider: &dyn Provider) {
        let Some(reaper) = provider.reaper() else {
            return;
        };
        match reaper.reap(now_unix(), false) {
            Ok(decisions) => {
                for decision in decisions.iter().filter(|decision| decision.delete) {
                    self.forget(&decision.lease_id);
                    self.printer.note(format!(
                        "reaped lease={} name={} reason={}",
                        decision.lease_id, decision.name, decision.reason
                    ));
                }
            }
            Err(error) => self
                .printer
                .warn(format!("expired lease sweep failed: {error}")),
        }
    }

    /// Removes everything this machine holds for a lease that no longer exists:
    /// the claim, the per-lease key directory and the control directory.
    pub fn forget(&self, lease_id: &str) {
        if let Err(error) = self.claims.remove(lease_id) {
            self.printer.warn(format!(
                "could not remove the claim for {lease_id}: {error}"
            ));
        }
        if crabbox_core::is_safe_file_stem(lease_id) {
            let _ = std::fs::remove_dir_all(self.paths.lease_key_dir(lease_id));
            if let Ok(dir) = crabbox_ssh::control_dir_for(lease_id) {
                let _ = std::fs::remove_dir_all(dir);
            }
        }
    }
}

/// Config overrides from the lease-creation flags.
pub fn create_flags(create: &LeaseCreateArgs) -> Vec<FlagValue> {
    let mut flags = Vec::new();
    let mut push = |key: &'static str, flag: &str, value: &Option<String>| {
        if let Some(value) = value {
            flags.push(FlagValue {
                key,
                flag: flag.to_string(),
                value: value.clone(),
            });
        }
    };
    push("provider", "--provider", &create.provider.provider);
    push("profile", "--profile", &create.profile);
    push("class", "--class", &create.class);
    push("ttl", "--ttl", &create.ttl);
    push("idleTimeout", "--idle-timeout", &create.idle_timeout);
    flags
}

/// Only `--provider`.
pub fn provider_flag(provider: &Option<String>) -> Vec<FlagValue> {
    provider
        .iter()
        .map(|value| FlagValue {
            key: "provider",
            flag: "--provider".into(),
            value: value.clone(),
        })
        .collect()
}
