//! Merging the layers: defaults, user file, repo files, environment, flags.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::config::Config;
use crate::error::ConfigError;
use crate::file;
use crate::keys::{self, KEYS};
use crate::source::Source;
use crate::value;

/// Repository config files, read in this order; the later one wins.
pub const REPO_CONFIG_FILES: [&str; 2] = ["crabbox.yaml", ".crabbox.yaml"];

/// Everything `load` reads; callers gather it so loading stays testable.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// The user config file; `None` reads no user file.
    pub user_config: Option<PathBuf>,
    /// `CRABBOX_CONFIG`: the only file read when set. It counts as repository
    /// config when it lies inside `repo_root`, even through a symlink.
    pub explicit_config: Option<PathBuf>,
    pub repo_root: Option<PathBuf>,
    /// The process environment (only `CRABBOX_*` names are consulted).
    pub env: BTreeMap<String, String>,
    /// Flags the user actually passed.
    pub flags: Vec<FlagValue>,
    /// `--trust-repo`: the user trusts this checkout's config for this invocation.
    pub trust_repo: bool,
}

/// A command-line flag that sets a registry key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlagValue {
    /// Registry path, e.g. `provider`.
    pub key: &'static str,
    /// The flag as typed, e.g. `--provider`; shown as the value's source.
    pub flag: String,
    pub value: String,
}

impl LoadOptions {
    /// Options for a real invocation: the platform user config path and
    /// `CRABBOX_CONFIG` taken from `env`.
    pub fn discover(env: BTreeMap<String, String>, repo_root: Option<PathBuf>) -> Self {
        let explicit_config = env
            .get("CRABBOX_CONFIG")
            .filter(|path| !path.trim().is_empty())
            .map(PathBuf::from);
        LoadOptions {
            user_config: default_user_config_path(&env),
            explicit_config,
            repo_root,
            env,
            flags: Vec::new(),
            trust_repo: false,
        }
    }
}

/// The merged configuration plus non-fatal diagnostics for stderr.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub config: Config,
    pub warnings: Vec<String>,
}

/// `<config dir>/crabbox/config.yaml`: `$XDG_CONFIG_HOME` or `~/.config` on
/// Linux, `~/Library/Application Support` on macOS.
pub fn default_user_config_path(env: &BTreeMap<String, String>) -> Option<PathBuf> {
    let home = || {
        env.get("HOME")
            .filter(|home| !home.is_empty())
            .map(PathBuf::from)
    };
    let base = if cfg!(target_os = "macos") {
        home()?.join("Library").join("Application Support")
    } else {
        match env.get("XDG_CONFIG_HOME").map(PathBuf::from) {
            Some(dir) if dir.is_absolute() => dir,
            _ => home()?.join(".config"),
        }
    };
    Some(base.join("crabbox").join("config.yaml"))
}

/// Reads and merges every layer. Missing files are skipped; unknown keys
/// become warnings; malformed files and bad values are errors.
pub fn load(options: &LoadOptions) -> Result<Loaded, ConfigError> {
    let shown_path = options
        .explicit_config
        .clone()
        .or_else(|| options.user_config.clone());
    let mut config = Config::with_defaults(shown_path);
    let mut warnings = Vec::new();

    for (path, source) in file_layers(options) {
        let Some(layer) = file::read(&path, &source)? else {
            continue;
        };
        warnings.extend(layer.warnings);
        config.ignored.extend(layer.ignored);
        config.repo_ignored.extend(layer.rejected);
        for (key, value) in layer.values {
            config.set(key, value, source.clone());
        }
    }

    for spec in KEYS {
        let chosen = spec.env.iter().find_map(|name| {
            let text = options.env.get(*name)?;
            (!text.trim().is_empty()).then_some((*name, text))
        });
        if let Some((name, text)) = chosen {
            let source = Source::Environment(name.to_string());
            let value = value::parse_text(spec.kind, text)
                .map_err(|message| invalid(spec.path, &source, message))?;
            config.set(spec.path, value, source);
        }
    }

    for flag in &options.flags {
        let source = Source::Flag(flag.flag.clone());
        let spec = keys::find(flag.key)
            .ok_or_else(|| invalid(flag.key, &source, "not a known config key".to_string()))?;
        let value = value::parse_text(spec.kind, &flag.value)
            .map_err(|message| invalid(spec.path, &source, message))?;
        config.set(spec.path, value, source);
    }

    config.ignored.sort();
    config.ignored.dedup();
    config.repo_ignored.sort_unstable();
    config.repo_ignored.dedup();
    config.repo_trusted = options.trust_repo || listed_as_trusted(&config, options);
    config.resolve_settings()?;
    Ok(Loaded { config, warnings })
}

fn invalid(key: &str, source: &Source, message: String) -> ConfigError {
    ConfigError::Invalid {
        key: key.to_string(),
        source_desc: source.to_string(),
        message,
    }
}

/// The files to read, lowest precedence first, with the layer each counts as.
fn file_layers(options: &LoadOptions) -> Vec<(PathBuf, Source)> {
    if let Some(explicit) = &options.explicit_config {
        let source = match &options.repo_root {
            Some(root) if lies_inside(explicit, root) => Source::RepoConfig(explicit.clone()),
            _ => Source::UserConfig(explicit.clone()),
        };
        return vec![(explicit.clone(), source)];
    }
    let mut layers = Vec::new();
    if let Some(user) = &options.user_config {
        layers.push((user.clone(), Source::UserConfig(user.clone())));
    }
    if let Some(root) = &options.repo_root {
        for name in REPO_CONFIG_FILES {
            let path = root.join(name);
            layers.push((path.clone(), Source::RepoConfig(path)));
        }
    }
    layers
}

/// Whether the checkout's root is one of the user's `trust.repos` entries
/// (compared after resolving symlinks; `~/` means the home directory).
fn listed_as_trusted(config: &Config, options: &LoadOptions) -> bool {
    let Some(root) = &options.repo_root else {
        return false;
    };
    if config.repo_set("trust.repos") {
        return false;
    }
    let Ok(root) = root.canonicalize() else {
        return false;
    };
    let home = options.env.get("HOME").map(PathBuf::from);
    config.list("trust.repos").iter().any(|entry| {
        let entry = entry.trim();
        let path = match (entry.strip_prefix("~/"), &home) {
            (Some(rest), Some(home)) => home.join(rest),
            _ => PathBuf::from(entry),
        };
        path.is_absolute() && path.canonicalize().is_ok_and(|path| path == root)
    })
}

/// Compares resolved paths so a symlink cannot launder a checkout's file
/// into trusted config.
fn lies_inside(path: &Path, root: &Path) -> bool {
    let root = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
    let resolved = path.canonicalize().unwrap_or_else(|_| {
        // A missing file: resolve its directory instead.
        match (path.parent(), path.file_name()) {
            (Some(parent), Some(name)) => parent
                .canonicalize()
                .map(|parent| parent.join(name))
                .unwrap_or_else(|_| path.to_path_buf()),
            _ => path.to_path_buf(),
        }
    });
    resolved.starts_with(&root)
}
