//! Per-invocation context: paths, config, provider selection, claims and the
//! housekeeping every command shares (opportunistic reaping, forgetting leases).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crabbox_client::Client;
use crabbox_config::{Config, FlagValue, LoadOptions, Source};
use crabbox_core::{now_unix, ClaimStore, Paths};
use crabbox_proto::ErrorClass;
use crabbox_providers::{Provider, ProviderSettings};
use crabbox_sync::Repo;

use crate::brokered::BrokeredProvider;
use crate::cancel::Cancel;
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

/// The provider a command will use, and the coordinator that brokers it (if any).
pub struct Selected {
    pub provider: Arc<dyn Provider>,
    pub source: SelectionSource,
    pub coordinator: Option<Client>,
}

pub struct App {
    pub paths: Paths,
    pub printer: Printer,
    pub claims: ClaimStore,
    pub cwd: PathBuf,
    /// Set by commands that handle SIGINT/SIGTERM themselves; brokered creates
    /// listen to it to cancel on the coordinator.
    pub cancel: Option<Cancel>,
    pub env: BTreeMap<String, String>,
    /// `--trust-repo`: the checkout's config is trusted for this invocation.
    pub trust_repo: bool,
}

impl App {
    pub fn from_env() -> App {
        let paths = Paths::from_env();
        App {
            claims: ClaimStore::new(&paths),
            paths,
            printer: Printer::default(),
            cwd: std::env::current_dir().unwrap_or_else(|_| PathBuf::from(".")),
            cancel: None,
            env: std::env::vars().collect(),
            trust_repo: false,
        }
    }

    /// The file `crabbox config path` prints: `CRABBOX_CONFIG`, else the user config.
    pub fn user_config_path(&self) -> PathBuf {
        let options = LoadOptions::discover(self.env.clone(), None);
        options
            .explicit_config
            .or(options.user_config)
            .unwrap_or_else(|| self.paths.user_config_file())
    }

    /// The local run history database.
    pub fn history_path(&self) -> PathBuf {
        self.paths.state_dir.join("history.sqlite")
    }

    pub fn repo(&self) -> Repo {
        crabbox_sync::discover_repo(&self.cwd)
    }

    /// The checkout around the working directory and the config that applies to it
    /// (its repo config included).
    pub fn repo_config(&self, flags: Vec<FlagValue>) -> CliResult<(Repo, Config)> {
        let repo = self.repo();
        let config = self.config(repo.is_git.then_some(repo.root.as_path()), flags)?;
        Ok((repo, config))
    }

    /// Loads the layered config for the checkout at `repo_root` and applies the
    /// repository trust rules (docs/security.md); warnings go to stderr.
    pub fn config(&self, repo_root: Option<&Path>, flags: Vec<FlagValue>) -> CliResult<Config> {
        let config = self.load_config(repo_root, flags)?;
        if let Err(error) = config.check_repo_trust() {
            let hint = self.trust_hint(repo_root);
            return Err(CliError::from(error).with_hint(hint));
        }
        config.check_credential_destination()?;
        Ok(config)
    }

    /// The checkout's config as `config show` reports it: loaded, with nothing
    /// refused yet.
    pub fn repo_config_unchecked(&self, flags: Vec<FlagValue>) -> CliResult<Config> {
        let repo = self.repo();
        self.load_config(repo.is_git.then_some(repo.root.as_path()), flags)
    }

    fn load_config(&self, repo_root: Option<&Path>, flags: Vec<FlagValue>) -> CliResult<Config> {
        let mut options = LoadOptions::discover(self.env.clone(), repo_root.map(Path::to_path_buf));
        options.flags = flags;
        options.trust_repo = self.trust_repo;
        let loaded = crabbox_config::load(&options)?;
        for warning in &loaded.warnings {
            self.printer.warn(warning);
        }
        Ok(loaded.config)
    }

    fn trust_hint(&self, repo_root: Option<&Path>) -> String {
        let root = repo_root
            .map(|root| root.display().to_string())
            .unwrap_or_else(|| ".".to_string());
        format!(
            "review that file; to trust this checkout add `trust: {{repos: [{root}]}}` to {}, or pass --trust-repo for one command; or set those keys in your user config, CRABBOX_* variables or flags instead",
            self.user_config_path().display()
        )
    }

    /// A client for the configured coordinator; `None` without `broker.url`.
    /// A coordinator without a token is an error (exit 3).
    pub fn coordinator(&self, config: &Config) -> CliResult<Option<Client>> {
        let Some(broker) = config.settings().coordinator() else {
            return Ok(None);
        };
        let url = &broker.url;
        let Some(token) = &broker.token else {
            return Err(CliError::of(
                ErrorClass::Auth,
                format!("missing coordinator token for {url}"),
            )
            .with_hint(format!(
                "run `crabbox login --url {url} --token-stdin`, or set CRABBOX_COORDINATOR_TOKEN"
            )));
        };
        let identity = |name: &str| self.env.get(name).cloned();
        Ok(Some(
            Client::new(url, Some(token.expose().to_string()))?
                .with_identity(identity("CRABBOX_OWNER"), identity("CRABBOX_ORG")),
        ))
    }

    /// Chooses the provider: an explicit name, else config, else `local` (announced
    /// once on stderr when `announce` is set). With a coordinator configured, a
    /// brokerable provider goes through it; others (`ssh`) stay direct.
    pub fn provider(&self, config: &Config, announce: bool) -> CliResult<Selected> {
        let settings = ProviderSettings::from_config(&self.paths, config);
        let (direct, source) = match &config.settings().provider {
            Some(name) => (
                crabbox_providers::create(name, &settings)?,
                config
                    .source("provider")
                    .map(SelectionSource::from_config)
                    .unwrap_or(SelectionSource::Flag),
            ),
            None => (
                crabbox_providers::create(DEFAULT_PROVIDER, &settings)?,
                SelectionSource::CompiledDefault,
            ),
        };
        let coordinator = if direct.spec().coordinator {
            self.coordinator(config)?
        } else {
            None
        };
        if let Some(client) = coordinator {
            if announce && source == SelectionSource::CompiledDefault {
                self.printer.note(format!(
                    "provider: using {DEFAULT_PROVIDER} through the coordinator at {}",
                    client.base_url()
                ));
            }
            return Ok(Selected {
                provider: Arc::new(BrokeredProvider::new(
                    client.clone(),
                    direct,
                    self.cancel.clone(),
                )),
                source,
                coordinator: Some(client),
            });
        }
        if announce && source == SelectionSource::CompiledDefault {
            self.printer.note(format!(
                "provider: using {DEFAULT_PROVIDER} (nothing selects a provider and no coordinator is configured)"
            ));
        }
        Ok(Selected {
            provider: direct,
            source,
            coordinator: None,
        })
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
                    self.forget(provider.spec().name, &decision.lease_id);
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

    /// Removes everything this machine holds for a lease that `provider` proved
    /// gone: the claim, the per-lease key directory and the control directory.
    /// A claim that belongs to another provider is left alone: one provider's
    /// "not found" says nothing about another provider's lease.
    pub fn forget(&self, provider: &str, lease_id: &str) {
        let claim = self.claims.load(lease_id).ok().flatten();
        if let Some(claim) = &claim {
            if !same_provider(&claim.provider, provider) {
                self.printer.warn(format!(
                    "kept the claim for {lease_id}: it belongs to provider {}, not {provider}",
                    claim.provider
                ));
                return;
            }
        }
        let repo_root = claim.map(|claim| claim.repo_root);
        if let Err(error) = self.claims.remove(lease_id) {
            self.printer.warn(format!(
                "could not remove the claim for {lease_id}: {error}"
            ));
        }
        // The checkout's watcher only serves leases claimed for it.
        if let Some(root) = repo_root.filter(|root| !root.is_empty()) {
            if !self
                .claims
                .all()
                .iter()
                .any(|claim| claim.repo_root == root)
            {
                crabbox_sync::Watch::stop(&self.paths.state_dir, Path::new(&root));
            }
        }
        crate::leases::LeaseHome::new(&self.paths, lease_id).remove();
    }
}

/// Whether two provider names (or aliases) mean the same provider.
pub fn same_provider(left: &str, right: &str) -> bool {
    let canonical = |name: &str| {
        crabbox_providers::canonical_name(name)
            .map(str::to_string)
            .unwrap_or_else(|_| name.trim().to_ascii_lowercase())
    };
    canonical(left) == canonical(right)
}
