//! Finding the OpenSSH and rsync executables, with the package that provides each.

use std::path::{Path, PathBuf};

use crabbox_core::ErrorClass;

/// A required executable that is not installed.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{tool} not found on PATH")]
pub struct MissingTool {
    pub tool: String,
    /// The Debian/Ubuntu package that provides it.
    pub package: &'static str,
}

impl MissingTool {
    pub fn class(&self) -> ErrorClass {
        ErrorClass::Prerequisite
    }

    pub fn hint(&self) -> String {
        format!(
            "install the {} package (for example `apt-get install {}`)",
            self.package, self.package
        )
    }
}

/// The package that provides `tool`, for hints.
pub fn package_for(tool: &str) -> &'static str {
    match tool {
        "ssh" | "ssh-keygen" => "openssh-client",
        "sshd" => "openssh-server",
        "rsync" => "rsync",
        "git" => "git",
        "tar" => "tar",
        _ => "the matching",
    }
}

/// Looks `tool` up on PATH. `sshd` usually lives in an sbin directory that is not on
/// an ordinary user's PATH, so those are searched too; `CRABBOX_SSHD` names an exact
/// sshd binary instead.
pub fn find_tool(tool: &str) -> Result<PathBuf, MissingTool> {
    let missing = || MissingTool {
        tool: tool.to_string(),
        package: package_for(tool),
    };
    if tool == "sshd" {
        if let Some(explicit) = std::env::var_os("CRABBOX_SSHD") {
            let path = PathBuf::from(explicit);
            return if is_executable(&path) {
                Ok(path)
            } else {
                Err(missing())
            };
        }
    }
    let path_var = std::env::var_os("PATH").unwrap_or_default();
    let mut directories: Vec<PathBuf> = std::env::split_paths(&path_var).collect();
    if tool == "sshd" {
        for extra in ["/usr/sbin", "/usr/local/sbin", "/sbin"] {
            directories.push(PathBuf::from(extra));
        }
    }
    directories
        .iter()
        .filter(|dir| dir.is_absolute())
        .map(|dir| dir.join(tool))
        .find(|candidate| is_executable(candidate))
        .ok_or_else(missing)
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .map(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}
