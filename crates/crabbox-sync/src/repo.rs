//! Finding the checkout to sync and the name its remote workdir gets.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The local checkout.
#[derive(Debug, Clone)]
pub struct Repo {
    pub root: PathBuf,
    /// Last path component of the remote workdir.
    pub name: String,
    /// False when `git` found no repository (the current directory is used).
    pub is_git: bool,
}

/// `git rev-parse --show-toplevel` from `cwd`, falling back to `cwd` itself.
pub fn discover_repo(cwd: &Path) -> Repo {
    let output = Command::new("git")
        .args(["rev-parse", "--show-toplevel"])
        .current_dir(cwd)
        .output();
    let root = match output {
        Ok(output) if output.status.success() => {
            PathBuf::from(String::from_utf8_lossy(&output.stdout).trim())
        }
        _ => {
            return Repo {
                name: dir_name(cwd),
                root: cwd.to_path_buf(),
                is_git: false,
            }
        }
    };
    let name = origin_name(&root).unwrap_or_else(|| dir_name(&root));
    Repo {
        root,
        name,
        is_git: true,
    }
}

fn origin_name(root: &Path) -> Option<String> {
    let output = Command::new("git")
        .args(["remote", "get-url", "origin"])
        .current_dir(root)
        .output()
        .ok()?;
    if !output.status.success() {
        return None;
    }
    let url = String::from_utf8_lossy(&output.stdout).trim().to_string();
    let last = url.trim_end_matches('/').rsplit(['/', ':']).next()?;
    let name = last.strip_suffix(".git").unwrap_or(last);
    sanitize(name)
}

fn dir_name(path: &Path) -> String {
    path.file_name()
        .and_then(|name| sanitize(&name.to_string_lossy()))
        .unwrap_or_else(|| "workspace".into())
}

/// Keeps the name usable as one path component on any runner.
fn sanitize(name: &str) -> Option<String> {
    let cleaned: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '-'
            }
        })
        .collect();
    let cleaned = cleaned.trim_matches(['-', '.']).to_string();
    (!cleaned.is_empty()).then_some(cleaned)
}

#[cfg(test)]
mod tests {
    use super::sanitize;

    #[test]
    fn names_are_single_safe_components() {
        assert_eq!(sanitize("crabbox").as_deref(), Some("crabbox"));
        assert_eq!(sanitize("my repo").as_deref(), Some("my-repo"));
        assert_eq!(sanitize("..").as_deref(), None);
    }
}
