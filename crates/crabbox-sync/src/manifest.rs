//! The set of files to send: git's view of the checkout filtered by the exclude
//! rules, plus the dirty delta and the deletions the runner's copy must apply.
//!
//! One `lstat` pass does double duty: its results fill the entries and, compared
//! with the stat data cached in git's index, tell which tracked files may have
//! changed. Only those get a content check, so the worktree is not stat'ed twice
//! the way a separate `git diff` would.

mod changes;
mod git;
mod index;

use std::borrow::Cow;
use std::ffi::OsStr;
use std::fs::Metadata;
use std::io::ErrorKind;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use changes::{changed_contents, compare, Worktree};
use git::{checked_path, git, raw_diff, records};
use index::{parse_ls_files, IndexRecord, IndexSnapshot};

use crate::{Decision, ExcludeRules, SyncError};

/// Above this many candidates the rule checks and `lstat` calls are split over two
/// threads; below it the thread start-up costs more than it saves.
const PARALLEL_THRESHOLD: usize = 2_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    File,
    Symlink,
}

/// One path to send, with what `lstat` reported for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub path: String,
    pub kind: EntryKind,
    pub size: u64,
    /// Modification time in nanoseconds since the Unix epoch.
    pub mtime_ns: i64,
    /// Permission bits only (`0o7777`).
    pub mode: u32,
    /// Git's index has the path (as opposed to an untracked file).
    pub tracked: bool,
}

/// What a sync would send and what it would have to delete.
#[derive(Debug, Clone, Default)]
pub struct Manifest {
    pub root: PathBuf,
    /// Sorted by path, no duplicates.
    pub entries: Vec<Entry>,
    pub bytes: u64,
    /// Entries git would report as modified, staged or untracked, sorted.
    pub changed: Vec<String>,
    pub changed_bytes: u64,
    /// In-scope tracked paths deleted in the worktree or staged for deletion and
    /// absent from disk; never gitlinks.
    pub deleted_tracked: Vec<String>,
    /// In-scope tracked paths marked skip-worktree (sparse checkout): an absent one
    /// is hidden, not deleted.
    pub skip_worktree: Vec<String>,
    /// Tracked files kept although an ambiguous built-in rule matched them.
    pub protected_tracked: Vec<String>,
    /// Submodule commits recorded in the index; never synced or deleted.
    pub gitlinks: Vec<String>,
}

impl Manifest {
    pub fn files(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|entry| entry.path.as_str())
    }

    pub fn contains(&self, path: &str) -> bool {
        self.position(path).is_some()
    }

    pub(crate) fn position(&self, path: &str) -> Option<usize> {
        self.entries
            .binary_search_by(|entry| entry.path.as_str().cmp(path))
            .ok()
    }
}

/// A tracked or untracked path on its way through the rules and `lstat`.
struct Candidate<'a> {
    path: Cow<'a, str>,
    /// False when the name had to be decoded lossily.
    utf8: bool,
    /// The index entry; `None` for untracked files.
    index: Option<IndexRecord<'a>>,
    decision: Decision,
    stat: Option<Stat>,
    /// `lstat` found nothing (a directory or special file is not missing).
    missing: bool,
    worktree: Worktree,
}

#[derive(Debug, Clone, Copy)]
struct Stat {
    kind: EntryKind,
    size: u64,
    mtime_ns: i64,
    mode: u32,
}

/// Lists the checkout at `root` and applies `rules`. The git listings run
/// concurrently because each one reads or walks the whole repository.
pub fn build_manifest(root: &Path, rules: &ExcludeRules) -> Result<Manifest, SyncError> {
    std::thread::scope(|scope| {
        let untracked =
            scope.spawn(|| git(root, &["ls-files", "-z", "--others", "--exclude-standard"]));
        let staged = scope.spawn(|| {
            git(
                root,
                &[
                    "diff",
                    "--cached",
                    "--raw",
                    "-z",
                    "--no-renames",
                    "--ignore-submodules=all",
                ],
            )
        });
        let snapshot = IndexSnapshot::read(root)?;
        let listing;
        let records = match snapshot.records() {
            Some(records) => records,
            None => {
                listing = git(root, &["ls-files", "-z", "-s", "-t", "--debug"])?;
                parse_ls_files(&listing).ok_or_else(|| SyncError::Git {
                    args: "ls-files -s -t --debug".into(),
                    message: "unexpected output".into(),
                })?
            }
        };
        let mut manifest = Manifest {
            root: root.to_path_buf(),
            ..Manifest::default()
        };
        let mut candidates = Vec::with_capacity(records.len());
        collect_index(records, &mut candidates, &mut manifest.gitlinks)?;
        // Tracked files are stat'ed while git is still walking for untracked ones.
        inspect_all(root, rules, snapshot.modified_seconds, &mut candidates)?;
        let tracked_count = candidates.len();
        let untracked = join(untracked)?;
        collect_untracked(&untracked, &mut candidates)?;
        let untracked_candidates = &mut candidates[tracked_count..];
        inspect_all(root, rules, snapshot.modified_seconds, untracked_candidates)?;

        let mut content_checks = Vec::new();
        let mut changed_paths: Vec<&str> = Vec::new();
        for candidate in &candidates {
            if !candidate.decision.is_kept() {
                continue;
            }
            let skip_worktree = candidate
                .index
                .as_ref()
                .is_some_and(|index| index.skip_worktree);
            if skip_worktree {
                manifest.skip_worktree.push(candidate.path.to_string());
            }
            let Some(stat) = candidate.stat else {
                // `git ls-files --deleted` minus skip-worktree, from the same pass.
                if candidate.missing && candidate.index.is_some() && !skip_worktree {
                    manifest.deleted_tracked.push(candidate.path.to_string());
                }
                continue;
            };
            if matches!(candidate.decision, Decision::KeptTracked { .. }) {
                manifest.protected_tracked.push(candidate.path.to_string());
            }
            match (&candidate.index, candidate.worktree) {
                (None, _) | (Some(_), Worktree::Changed) => changed_paths.push(&candidate.path),
                (Some(index), Worktree::CheckContent) => {
                    content_checks.push((candidate.path.as_ref(), index.object, stat.kind));
                }
                (Some(_), Worktree::Unchanged) => {}
            }
            manifest.entries.push(Entry {
                path: candidate.path.to_string(),
                kind: stat.kind,
                size: stat.size,
                mtime_ns: stat.mtime_ns,
                mode: stat.mode,
                tracked: candidate.index.is_some(),
            });
        }
        // Tracked and untracked listings are each sorted, so this is one merge.
        manifest.entries.sort_by(|a, b| a.path.cmp(&b.path));
        manifest.entries.dedup_by(|a, b| a.path == b.path);
        manifest.bytes = manifest.entries.iter().map(|entry| entry.size).sum();

        changed_paths.extend(changed_contents(root, &content_checks)?);
        let staged = join(staged)?;
        add_staged_deletions(root, rules, &staged, &mut manifest)?;
        let staged_paths = raw_diff(&staged).filter_map(|(_, path)| std::str::from_utf8(path).ok());
        changed_paths.extend(staged_paths);
        set_changed(&changed_paths, &mut manifest);
        manifest.deleted_tracked.sort();
        manifest.deleted_tracked.dedup();
        manifest.gitlinks.dedup();
        Ok(manifest)
    })
}

fn collect_index<'a>(
    records: Vec<IndexRecord<'a>>,
    candidates: &mut Vec<Candidate<'a>>,
    gitlinks: &mut Vec<String>,
) -> Result<(), SyncError> {
    for mut record in records {
        let (path, utf8) = checked_path(std::mem::take(&mut record.path))?;
        // Unmerged paths appear once per stage; one candidate is enough.
        if candidates
            .last()
            .is_some_and(|last: &Candidate<'_>| last.path == path)
        {
            continue;
        }
        if record.mode == index::MODE_GITLINK {
            gitlinks.push(path.into_owned());
            continue;
        }
        candidates.push(Candidate {
            path,
            utf8,
            index: Some(record),
            decision: Decision::Keep,
            stat: None,
            missing: false,
            worktree: Worktree::Unchanged,
        });
    }
    Ok(())
}

fn collect_untracked<'a>(
    output: &'a [u8],
    candidates: &mut Vec<Candidate<'a>>,
) -> Result<(), SyncError> {
    for raw_path in records(output) {
        // A trailing slash marks a nested repository git will not descend into.
        if raw_path.ends_with(b"/") {
            continue;
        }
        let (path, utf8) = checked_path(Cow::Borrowed(raw_path))?;
        candidates.push(Candidate {
            path,
            utf8,
            index: None,
            decision: Decision::Keep,
            stat: None,
            missing: false,
            worktree: Worktree::Changed,
        });
    }
    Ok(())
}

/// Applies the rules and `lstat`s what they keep, on two threads for big trees.
fn inspect_all(
    root: &Path,
    rules: &ExcludeRules,
    index_seconds: Option<u32>,
    candidates: &mut [Candidate<'_>],
) -> Result<(), SyncError> {
    if candidates.len() <= PARALLEL_THRESHOLD {
        return inspect(root, rules, index_seconds, candidates);
    }
    let (first, second) = candidates.split_at_mut(candidates.len() / 2);
    std::thread::scope(|scope| {
        let helper = scope.spawn(|| inspect(root, rules, index_seconds, second));
        let mine = inspect(root, rules, index_seconds, first);
        join(helper).and(mine)
    })
}

fn inspect(
    root: &Path,
    rules: &ExcludeRules,
    index_seconds: Option<u32>,
    candidates: &mut [Candidate<'_>],
) -> Result<(), SyncError> {
    // One reused buffer for `<root>/<path>` instead of a PathBuf per file.
    let mut full = root.as_os_str().as_bytes().to_vec();
    full.push(b'/');
    let base = full.len();
    for candidate in candidates {
        let regular = candidate
            .index
            .as_ref()
            .is_some_and(|index| matches!(index.mode, 0o100644 | 0o100755));
        candidate.decision = rules.decide(&candidate.path, regular);
        if !candidate.decision.is_kept() {
            continue;
        }
        if !candidate.utf8 {
            // rsync could not be given this name faithfully.
            return Err(SyncError::UnsafePath {
                path: candidate.path.to_string(),
            });
        }
        full.truncate(base);
        full.extend_from_slice(candidate.path.as_bytes());
        let Some(metadata) = lstat(OsStr::from_bytes(&full))? else {
            candidate.missing = true;
            continue;
        };
        let file_type = metadata.file_type();
        let kind = if file_type.is_file() {
            EntryKind::File
        } else if file_type.is_symlink() {
            EntryKind::Symlink
        } else {
            // Directories are not entries; special files only root could recreate.
            continue;
        };
        if let Some(index) = &candidate.index {
            candidate.worktree = compare(index, &metadata, index_seconds);
        }
        candidate.stat = Some(Stat {
            kind,
            size: metadata.len(),
            mtime_ns: metadata
                .mtime()
                .saturating_mul(1_000_000_000)
                .saturating_add(metadata.mtime_nsec()),
            mode: metadata.permissions().mode() & 0o7777,
        });
    }
    Ok(())
}

/// `None` when nothing is there.
fn lstat(path: &OsStr) -> Result<Option<Metadata>, SyncError> {
    match std::fs::symlink_metadata(path) {
        Ok(metadata) => Ok(Some(metadata)),
        Err(error) if matches!(error.kind(), ErrorKind::NotFound | ErrorKind::NotADirectory) => {
            Ok(None)
        }
        Err(source) => Err(SyncError::Io {
            context: format!("inspect {}", Path::new(path).display()),
            source,
        }),
    }
}

/// Staged deletions from `git diff --cached --raw`: `:<old mode> <new mode> <old>
/// <new> D` then the path. The old mode tells gitlinks apart.
fn add_staged_deletions(
    root: &Path,
    rules: &ExcludeRules,
    staged: &[u8],
    manifest: &mut Manifest,
) -> Result<(), SyncError> {
    for (status, raw_path) in raw_diff(staged) {
        if !status.ends_with(b" D") || status.starts_with(b":160000") {
            continue;
        }
        let (path, _) = checked_path(Cow::Borrowed(raw_path))?;
        if !rules.decide(&path, true).is_kept() || manifest.contains(&path) {
            continue;
        }
        if lstat(root.join(path.as_ref()).as_os_str())?.is_none() {
            manifest.deleted_tracked.push(path.into_owned());
        }
    }
    Ok(())
}

/// Keeps the changed paths that are entries (in scope and on disk), sorted.
fn set_changed(paths: &[&str], manifest: &mut Manifest) {
    let mut positions: Vec<usize> = paths
        .iter()
        .filter_map(|path| manifest.position(path))
        .collect();
    positions.sort_unstable();
    positions.dedup();
    manifest.changed_bytes = positions
        .iter()
        .map(|position| manifest.entries[*position].size)
        .sum();
    manifest.changed = positions
        .into_iter()
        .map(|position| manifest.entries[position].path.clone())
        .collect();
}

fn join<T>(
    handle: std::thread::ScopedJoinHandle<'_, Result<T, SyncError>>,
) -> Result<T, SyncError> {
    handle
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

/// Sorted tracked file entries of the given sizes, for tests of code that reads
/// manifests.
#[cfg(test)]
pub(crate) fn test_entries(files: &[(&str, u64)]) -> Vec<Entry> {
    let mut entries: Vec<Entry> = files
        .iter()
        .map(|(path, size)| Entry {
            path: path.to_string(),
            kind: EntryKind::File,
            size: *size,
            mtime_ns: 0,
            mode: 0o644,
            tracked: true,
        })
        .collect();
    entries.sort_by(|a, b| a.path.cmp(&b.path));
    entries
}

#[cfg(test)]
mod tests;
