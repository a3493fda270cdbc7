//! The set of files to send: git's view of the checkout minus built-in excludes.

use std::path::Path;
use std::process::Command;

use crate::SyncError;

/// Directory and file names never synced (build output, caches, VCS metadata).
pub const BUILTIN_EXCLUDES: &[&str] = &[
    ".git",
    "node_modules",
    ".turbo",
    ".next",
    ".vite",
    ".parcel-cache",
    ".rollup.cache",
    ".cache",
    ".tmp",
    ".pnpm-store",
    ".npm",
    ".venv",
    "__pycache__",
    ".pytest_cache",
    ".mypy_cache",
    ".ruff_cache",
    ".gradle",
    "target",
];

/// Paths relative to the repository root, sorted, with their total size.
#[derive(Debug, Clone, Default)]
pub struct Manifest {
    pub files: Vec<String>,
    pub bytes: u64,
}

/// `git ls-files --cached --others --exclude-standard -z`, filtered.
pub fn build_manifest(root: &Path) -> Result<Manifest, SyncError> {
    let args = [
        "ls-files",
        "--cached",
        "--others",
        "--exclude-standard",
        "-z",
    ];
    let output = Command::new("git")
        .args(args)
        .current_dir(root)
        .output()
        .map_err(|source| SyncError::Io {
            context: "run git".into(),
            source,
        })?;
    if !output.status.success() {
        return Err(SyncError::Git {
            args: args.join(" "),
            message: String::from_utf8_lossy(&output.stderr).trim().to_string(),
        });
    }
    let mut manifest = Manifest::default();
    for raw in output.stdout.split(|byte| *byte == 0) {
        if raw.is_empty() {
            continue;
        }
        let path = String::from_utf8_lossy(raw).into_owned();
        if path
            .split('/')
            .any(|segment| BUILTIN_EXCLUDES.contains(&segment))
        {
            continue;
        }
        // Deleted-but-tracked files and gitlinks (directories) are not sent.
        let Ok(meta) = std::fs::symlink_metadata(root.join(&path)) else {
            continue;
        };
        if meta.is_dir() {
            continue;
        }
        manifest.bytes += meta.len();
        manifest.files.push(path);
    }
    manifest.files.sort();
    manifest.files.dedup();
    Ok(manifest)
}
