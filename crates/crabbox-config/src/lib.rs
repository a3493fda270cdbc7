//! Layered Crabbox configuration with per-key provenance: compiled defaults <
//! user config < repository config < `CRABBOX_*` environment < flags.

mod config;
mod error;
mod file;
mod keys;
mod load;
mod settings;
mod show;
mod source;
mod value;

pub use config::{Config, Entry, RepoTrust};
pub use error::ConfigError;
pub use keys::{
    find as find_key, Alias, AliasMerge, KeySpec, Kind, Trust, ALIASES, IGNORED_SECTIONS, KEYS,
};
pub use load::{default_user_config_path, load, FlagValue, LoadOptions, Loaded, REPO_CONFIG_FILES};
pub use settings::{
    BrokerSettings, LeaseDefaults, RunSettings, Settings, SshSettings, SyncSettings,
};
pub use show::{show_json, show_text};
pub use source::Source;
pub use value::Value;
