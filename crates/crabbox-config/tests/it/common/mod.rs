//! Shared fixture: a temporary user config file and repository root.

use std::collections::BTreeMap;
use std::fs;
use std::path::PathBuf;

use crabbox_config::{load, ConfigError, LoadOptions, Loaded};
use tempfile::TempDir;

pub struct World {
    _dir: TempDir,
    pub user: PathBuf,
    pub repo: PathBuf,
    pub env: BTreeMap<String, String>,
}

impl World {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let user = dir.path().join("home/.config/crabbox/config.yaml");
        let repo = dir.path().join("repo");
        fs::create_dir_all(user.parent().unwrap()).unwrap();
        fs::create_dir_all(&repo).unwrap();
        World {
            _dir: dir,
            user,
            repo,
            env: BTreeMap::new(),
        }
    }

    pub fn write_user(&self, yaml: &str) {
        fs::write(&self.user, yaml).unwrap();
    }

    /// Writes `name` at the repository root and returns its path.
    pub fn write_repo(&self, name: &str, yaml: &str) -> PathBuf {
        let path = self.repo.join(name);
        fs::write(&path, yaml).unwrap();
        path
    }

    pub fn env(&mut self, name: &str, value: &str) -> &mut Self {
        self.env.insert(name.to_string(), value.to_string());
        self
    }

    pub fn options(&self) -> LoadOptions {
        LoadOptions {
            user_config: Some(self.user.clone()),
            repo_root: Some(self.repo.clone()),
            env: self.env.clone(),
            ..LoadOptions::default()
        }
    }

    pub fn load(&self) -> Result<Loaded, ConfigError> {
        load(&self.options())
    }
}

/// YAML that sets a dotted key, e.g. `ssh.port` → `ssh:\n  port: 2200`.
pub fn yaml_for(key: &str, value: &str) -> String {
    let segments: Vec<&str> = key.split('.').collect();
    let mut out = String::new();
    for (depth, segment) in segments.iter().enumerate() {
        out.push_str(&"  ".repeat(depth));
        out.push_str(segment);
        out.push(':');
        if depth + 1 == segments.len() {
            out.push(' ');
            out.push_str(value);
        }
        out.push('\n');
    }
    out
}
