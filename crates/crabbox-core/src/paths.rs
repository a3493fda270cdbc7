//! Where Crabbox keeps local state and per-user configuration on disk.

use std::fs::{self, DirBuilder};
use std::io;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};

const PRIVATE_DIR_MODE: u32 = 0o700;

/// The per-user directories Crabbox reads and writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paths {
    pub state_dir: PathBuf,
    pub config_dir: PathBuf,
    pub home: PathBuf,
}

impl Paths {
    /// Resolves the directories from the process environment.
    pub fn from_env() -> Self {
        Self::from_lookup(|key| {
            let value = std::env::var(key).ok().filter(|value| !value.is_empty());
            if value.is_none() && key == "HOME" {
                return fallback_home();
            }
            value
        })
    }

    /// Resolves the directories from an arbitrary variable lookup, for tests.
    ///
    /// Empty values count as unset, as they do for the XDG base directory rules.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let variable = |key: &str| lookup(key).filter(|value| !value.is_empty());
        // Without any home directory we stay relative to the working directory rather
        // than invent an absolute location the user never chose.
        let home = PathBuf::from(variable("HOME").unwrap_or_default());
        let config_base = variable("XDG_CONFIG_HOME")
            .map(PathBuf::from)
            .unwrap_or_else(|| home.join(".config"));
        let config_dir = config_base.join("crabbox");
        let state_dir = variable("XDG_STATE_HOME")
            .map(|state_home| PathBuf::from(state_home).join("crabbox"))
            .unwrap_or_else(|| config_dir.join("state"));
        Self {
            state_dir,
            config_dir,
            home,
        }
    }

    pub fn claims_dir(&self) -> PathBuf {
        self.state_dir.join("claims")
    }

    pub fn claim_locks_dir(&self) -> PathBuf {
        self.state_dir.join("claim-locks")
    }

    /// Leases created by the local provider.
    pub fn local_leases_dir(&self) -> PathBuf {
        self.state_dir.join("local")
    }

    /// Parent of the per-lease SSH key directories.
    pub fn testboxes_dir(&self) -> PathBuf {
        self.config_dir.join("testboxes")
    }

    /// Holds a lease's SSH key pair and `known_hosts`.
    pub fn lease_key_dir(&self, lease_id: impl AsRef<str>) -> PathBuf {
        self.testboxes_dir().join(lease_id.as_ref())
    }

    /// The user config file; `CRABBOX_CONFIG` overrides are the CLI's business.
    pub fn user_config_file(&self) -> PathBuf {
        self.config_dir.join("config.yaml")
    }
}

#[allow(deprecated)] // `home_dir` is only deprecated before Rust 1.86; it reads passwd.
fn fallback_home() -> Option<String> {
    std::env::home_dir().map(|path| path.to_string_lossy().into_owned())
}

/// Creates `path` (and missing parents) readable only by the owner.
///
/// Refuses a symlink or non-directory at `path`, because the caller is about to put
/// secrets or lock files there and must not be redirected elsewhere.
pub fn ensure_private_dir(path: &Path) -> io::Result<()> {
    DirBuilder::new()
        .recursive(true)
        .mode(PRIVATE_DIR_MODE)
        .create(path)?;
    let metadata = fs::symlink_metadata(path)?;
    if metadata.file_type().is_symlink() {
        return Err(io::Error::other(format!(
            "{} is a symlink; refusing to use it as a private directory",
            path.display()
        )));
    }
    if !metadata.is_dir() {
        return Err(io::Error::other(format!(
            "{} is not a directory",
            path.display()
        )));
    }
    if metadata.permissions().mode() & 0o777 != PRIVATE_DIR_MODE {
        fs::set_permissions(path, fs::Permissions::from_mode(PRIVATE_DIR_MODE))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::os::unix::fs::symlink;

    use super::*;

    fn paths_with(variables: &[(&str, &str)]) -> Paths {
        let map: HashMap<String, String> = variables
            .iter()
            .map(|(key, value)| (key.to_string(), value.to_string()))
            .collect();
        Paths::from_lookup(|key| map.get(key).cloned())
    }

    #[test]
    fn defaults_live_under_home_config() {
        let paths = paths_with(&[("HOME", "/home/crab")]);
        assert_eq!(paths.home, PathBuf::from("/home/crab"));
        assert_eq!(
            paths.config_dir,
            PathBuf::from("/home/crab/.config/crabbox")
        );
        assert_eq!(
            paths.state_dir,
            PathBuf::from("/home/crab/.config/crabbox/state")
        );
        assert_eq!(
            paths.claims_dir(),
            PathBuf::from("/home/crab/.config/crabbox/state/claims")
        );
        assert_eq!(
            paths.claim_locks_dir(),
            PathBuf::from("/home/crab/.config/crabbox/state/claim-locks")
        );
        assert_eq!(
            paths.local_leases_dir(),
            PathBuf::from("/home/crab/.config/crabbox/state/local")
        );
        assert_eq!(
            paths.user_config_file(),
            PathBuf::from("/home/crab/.config/crabbox/config.yaml")
        );
    }

    #[test]
    fn xdg_variables_take_precedence() {
        let paths = paths_with(&[
            ("HOME", "/home/crab"),
            ("XDG_CONFIG_HOME", "/xdg/config"),
            ("XDG_STATE_HOME", "/xdg/state"),
        ]);
        assert_eq!(paths.config_dir, PathBuf::from("/xdg/config/crabbox"));
        assert_eq!(paths.state_dir, PathBuf::from("/xdg/state/crabbox"));
        assert_eq!(
            paths.testboxes_dir(),
            PathBuf::from("/xdg/config/crabbox/testboxes")
        );
        assert_eq!(
            paths.lease_key_dir("cbx_0123456789ab"),
            PathBuf::from("/xdg/config/crabbox/testboxes/cbx_0123456789ab")
        );
        let lease = crate::LeaseId::parse("cbx_0123456789ab").unwrap();
        assert_eq!(
            paths.lease_key_dir(&lease),
            paths.lease_key_dir("cbx_0123456789ab")
        );
    }

    #[test]
    fn empty_variables_count_as_unset() {
        let paths = paths_with(&[
            ("HOME", "/home/crab"),
            ("XDG_CONFIG_HOME", ""),
            ("XDG_STATE_HOME", ""),
        ]);
        assert_eq!(
            paths.config_dir,
            PathBuf::from("/home/crab/.config/crabbox")
        );
        assert_eq!(
            paths.state_dir,
            PathBuf::from("/home/crab/.config/crabbox/state")
        );
    }

    #[test]
    fn state_falls_back_to_xdg_config() {
        let paths = paths_with(&[("HOME", "/home/crab"), ("XDG_CONFIG_HOME", "/cfg")]);
        assert_eq!(paths.state_dir, PathBuf::from("/cfg/crabbox/state"));
    }

    fn mode_of(path: &Path) -> u32 {
        fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn private_dirs_are_owner_only() {
        let root = tempfile::tempdir().unwrap();
        let nested = root.path().join("a/b/c");
        ensure_private_dir(&nested).unwrap();
        for created in ["a", "a/b", "a/b/c"] {
            assert_eq!(mode_of(&root.path().join(created)), 0o700, "{created}");
        }

        let loose = root.path().join("loose");
        fs::create_dir(&loose).unwrap();
        fs::set_permissions(&loose, fs::Permissions::from_mode(0o755)).unwrap();
        ensure_private_dir(&loose).unwrap();
        assert_eq!(mode_of(&loose), 0o700);
    }

    #[test]
    fn private_dir_refuses_symlinks_and_files() {
        let root = tempfile::tempdir().unwrap();
        let target = root.path().join("target");
        fs::create_dir(&target).unwrap();
        let link = root.path().join("link");
        symlink(&target, &link).unwrap();
        let error = ensure_private_dir(&link).unwrap_err();
        assert!(error.to_string().contains("symlink"), "{error}");

        let file = root.path().join("file");
        fs::write(&file, b"x").unwrap();
        assert!(ensure_private_dir(&file).is_err());
    }
}
