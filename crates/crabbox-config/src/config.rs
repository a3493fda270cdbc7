//! The merged configuration: one value and its source per key, typed getters,
//! and the repository trust check.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::error::ConfigError;
use crate::keys::{self, Trust};
use crate::settings::Settings;
use crate::source::Source;
use crate::value::Value;

/// A key's effective value and the layer that set it.
#[derive(Clone, PartialEq, Eq)]
pub struct Entry {
    pub value: Value,
    pub source: Source,
    secret: bool,
}

impl Entry {
    /// Whether the value is a credential that must never be printed.
    pub fn is_secret(&self) -> bool {
        self.secret
    }
}

impl fmt::Debug for Entry {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut debug = formatter.debug_struct("Entry");
        if self.secret {
            debug.field("value", &"<redacted>");
        } else {
            debug.field("value", &self.value);
        }
        debug.field("source", &self.source).finish()
    }
}

/// Effective configuration after all layers are merged.
#[derive(Debug, Clone, Default)]
pub struct Config {
    entries: BTreeMap<&'static str, Entry>,
    path: Option<PathBuf>,
    /// Paths in sections we accept but do not act on yet, sorted and unique.
    pub ignored: Vec<String>,
    /// Trusted-only keys a repository file set and the loader dropped.
    pub repo_ignored: Vec<&'static str>,
    /// Whether the user trusts this checkout's config (`trust.repos` or
    /// `--trust-repo`), so its `Trust::Approval` values take effect.
    pub repo_trusted: bool,
    /// The typed view of the entries, resolved once when the layers are merged.
    settings: Settings,
}

/// What became of a value that repository config supplied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RepoTrust {
    /// Acted on: an ordinary project setting, or the user trusts the checkout.
    Trusted,
    /// Decides where data goes and the user has not trusted the checkout:
    /// commands refuse to run until they do.
    Refused,
    /// A trusted-only key; the value was dropped when loading.
    Ignored,
}

impl RepoTrust {
    pub fn label(self) -> &'static str {
        match self {
            RepoTrust::Trusted => "trusted",
            RepoTrust::Refused => "refused",
            RepoTrust::Ignored => "ignored",
        }
    }
}

const UNTRUSTED_BROKER: &str = "repository-configured broker.url cannot be combined with \
inherited coordinator credentials; set CRABBOX_COORDINATOR or pass an explicit coordinator \
URL to approve the credential destination";

impl Config {
    /// Compiled defaults only; `path` is the user config file it reports.
    pub(crate) fn with_defaults(path: Option<PathBuf>) -> Self {
        let mut config = Config {
            path,
            ..Config::default()
        };
        for spec in keys::KEYS {
            if let Some(text) = spec.default {
                let value = crate::value::parse_text(spec.kind, text)
                    .expect("registry defaults parse (checked by a unit test)");
                config.set(spec.path, value, Source::Default);
            }
        }
        config
    }

    pub(crate) fn set(&mut self, key: &'static str, value: Value, source: Source) {
        let secret = keys::find(key).is_some_and(|spec| spec.secret);
        self.entries.insert(
            key,
            Entry {
                value,
                source,
                secret,
            },
        );
    }

    /// Replaces the typed view once every layer has been merged.
    pub(crate) fn resolve_settings(&mut self) -> Result<(), ConfigError> {
        self.settings = Settings::resolve(self)?;
        Ok(())
    }

    /// Every setting, typed. Commands read these fields instead of keys.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The user config file (or `CRABBOX_CONFIG`), whether or not it exists.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Every key that has a value, in key order.
    pub fn entries(&self) -> impl Iterator<Item = (&'static str, &Entry)> + '_ {
        self.entries.iter().map(|(key, entry)| (*key, entry))
    }

    pub fn get(&self, key: &str) -> Option<&Entry> {
        debug_assert!(keys::find(key).is_some(), "{key} is not a config key");
        self.entries.get(key)
    }

    pub fn str(&self, key: &str) -> Option<&str> {
        match self.get(key).map(|entry| &entry.value) {
            Some(Value::Str(text)) => Some(text),
            _ => None,
        }
    }

    /// `false` when the key is unset.
    pub fn bool(&self, key: &str) -> bool {
        matches!(
            self.get(key).map(|entry| &entry.value),
            Some(Value::Bool(true))
        )
    }

    pub fn int(&self, key: &str) -> Option<i64> {
        match self.get(key).map(|entry| &entry.value) {
            Some(Value::Int(number)) => Some(*number),
            _ => None,
        }
    }

    pub fn duration(&self, key: &str) -> Option<Duration> {
        match self.get(key).map(|entry| &entry.value) {
            Some(Value::Duration(duration)) => Some(*duration),
            _ => None,
        }
    }

    /// Empty when the key is unset.
    pub fn list(&self, key: &str) -> Vec<String> {
        match self.get(key).map(|entry| &entry.value) {
            Some(Value::List(items)) => items.clone(),
            _ => Vec::new(),
        }
    }

    pub fn source(&self, key: &str) -> Option<&Source> {
        self.get(key).map(|entry| &entry.source)
    }

    /// Whether the untrusted repository layer supplied the effective value.
    pub fn repo_set(&self, key: &str) -> bool {
        self.source(key).is_some_and(Source::is_repo)
    }

    /// How the effective value of `key` is treated when the repository set it;
    /// `None` when another layer supplied it.
    pub fn repo_trust(&self, key: &str) -> Option<RepoTrust> {
        if !self.repo_set(key) {
            return None;
        }
        let approval = keys::find(key).is_some_and(|spec| spec.trust == Trust::Approval);
        Some(if approval && !self.repo_trusted {
            RepoTrust::Refused
        } else {
            RepoTrust::Trusted
        })
    }

    /// Keys whose effective value a checkout chose although they decide where
    /// data, secrets or keys go, and the user has not trusted that checkout.
    pub fn refused_repo_keys(&self) -> Vec<&'static str> {
        self.entries()
            .filter(|(key, _)| self.repo_trust(key) == Some(RepoTrust::Refused))
            .map(|(key, _)| key)
            .collect()
    }

    /// The trust rule every command applies before acting: a repository file
    /// may ask for destination settings, but only the user can grant them.
    pub fn check_repo_trust(&self) -> Result<(), ConfigError> {
        let keys = self.refused_repo_keys();
        let Some(first) = keys.first() else {
            return Ok(());
        };
        let file = match self.source(first) {
            Some(Source::RepoConfig(path)) => path.clone(),
            _ => PathBuf::new(),
        };
        Err(ConfigError::RepoNotTrusted {
            keys: keys.iter().map(|key| key.to_string()).collect(),
            file,
        })
    }

    /// Refuses to send coordinator credentials inherited from user config or
    /// the environment to a broker URL that repository config chose. Re-stating
    /// the URL through the environment or a flag changes its source and approves it.
    pub fn check_credential_destination(&self) -> Result<(), ConfigError> {
        if !self.repo_set("broker.url") {
            return Ok(());
        }
        let inherited = ["broker.token", "broker.adminToken"].iter().any(|key| {
            matches!(
                self.source(key),
                Some(Source::UserConfig(_) | Source::Environment(_))
            )
        });
        if inherited {
            return Err(ConfigError::Untrusted {
                message: UNTRUSTED_BROKER.to_string(),
            });
        }
        Ok(())
    }
}
