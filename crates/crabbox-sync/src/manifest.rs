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

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;
    use std::process::Command;

    fn run_git(dir: &Path, args: &[&str]) {
        let output = Command::new("git")
            .args([
                "-c",
                "user.name=crabbox",
                "-c",
                "user.email=crabbox@example.com",
            ])
            .args([
                "-c",
                "commit.gpgsign=false",
                "-c",
                "init.defaultBranch=main",
            ])
            .args(args)
            .current_dir(dir)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }

    fn write(dir: &Path, path: &str, text: &str) {
        let full = dir.join(path);
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        std::fs::write(full, text).unwrap();
    }

    fn default_rules(dir: &Path) -> ExcludeRules {
        ExcludeRules::load(dir, &[], &[]).unwrap()
    }

    fn entry<'a>(manifest: &'a Manifest, path: &str) -> &'a Entry {
        let position = manifest.position(path).unwrap_or_else(|| panic!("{path}"));
        &manifest.entries[position]
    }

    #[test]
    fn lists_tracked_and_untracked_files_through_the_rules() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        run_git(root, &["init", "-q"]);
        let tracked = [
            ".gitignore",
            "src/main.rs",
            "with space.txt",
            "quote\"d'.txt",
            "new\nline.txt",
            "script.sh",
            "target/keep.txt",
            "node_modules/vendored.js",
        ];
        for path in tracked {
            write(root, path, "tracked\n");
        }
        write(root, ".gitignore", "*.log\n");
        std::fs::set_permissions(
            root.join("script.sh"),
            std::fs::Permissions::from_mode(0o755),
        )
        .unwrap();
        symlink("src/main.rs", root.join("link")).unwrap();
        run_git(root, &["add", "-A"]);
        run_git(root, &["commit", "-q", "-m", "initial"]);

        write(root, "notes.txt", "untracked\n");
        write(root, "debug.log", "ignored by .gitignore\n");
        write(root, "node_modules/dep/index.js", "dependency\n");
        write(root, "target/debug/app", "build output\n");
        write(root, "secret/key.pem", "private\n");
        write(root, "secret/public.txt", "public\n");
        write(
            root,
            ".crabboxignore",
            "# keys stay local\nsecret\n!secret/public.txt\n",
        );
        write(root, "src/main.rs", "modified, not staged\n");
        write(root, "with space.txt", "modified and staged\n");
        run_git(root, &["add", "with space.txt"]);
        std::fs::create_dir(root.join("nested")).unwrap();
        run_git(&root.join("nested"), &["init", "-q"]);
        write(root, "nested/inner.txt", "belongs to another repository\n");

        let manifest = build_manifest(root, &default_rules(root)).unwrap();
        let files: Vec<&str> = manifest.files().collect();
        assert_eq!(
            files,
            [
                ".crabboxignore",
                ".gitignore",
                "link",
                "new\nline.txt",
                "notes.txt",
                "quote\"d'.txt",
                "script.sh",
                "secret/public.txt",
                "src/main.rs",
                "target/keep.txt",
                "with space.txt",
            ]
        );
        assert_eq!(manifest.root, root);
        assert_eq!(
            manifest.bytes,
            manifest.entries.iter().map(|entry| entry.size).sum::<u64>()
        );
        assert_eq!(entry(&manifest, "link").kind, EntryKind::Symlink);
        assert_eq!(entry(&manifest, "link").size, "src/main.rs".len() as u64);
        assert_eq!(entry(&manifest, "script.sh").mode & 0o777, 0o755);
        assert_eq!(entry(&manifest, "notes.txt").mode & 0o111, 0);
        assert!(entry(&manifest, "script.sh").tracked);
        assert!(!entry(&manifest, "notes.txt").tracked);
        assert!(entry(&manifest, "notes.txt").mtime_ns > 1_000_000_000_000_000_000);
        assert_eq!(manifest.protected_tracked, ["target/keep.txt"]);
        assert_eq!(
            manifest.changed,
            [
                ".crabboxignore",
                "notes.txt",
                "secret/public.txt",
                "src/main.rs",
                "with space.txt"
            ]
        );
        let changed_bytes: u64 = manifest
            .changed
            .iter()
            .map(|path| entry(&manifest, path).size)
            .sum();
        assert_eq!(manifest.changed_bytes, changed_bytes);
        assert!(manifest.deleted_tracked.is_empty());
        assert!(manifest.skip_worktree.is_empty());
        assert!(manifest.gitlinks.is_empty());
        assert!(manifest.contains("src/main.rs"));
        assert!(!manifest.contains("node_modules/vendored.js"));
    }

    #[test]
    fn deletions_skip_worktree_and_gitlinks_are_told_apart() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        run_git(root, &["init", "-q"]);
        for path in [
            "deleted.txt",
            "staged.txt",
            "untracked-now.txt",
            "sparse.txt",
            "kept.txt",
            "became-dir",
            "node_modules/gone.js",
        ] {
            write(root, path, "tracked\n");
        }
        let object = "1234567890123456789012345678901234567890";
        run_git(root, &["add", "-A"]);
        run_git(
            root,
            &[
                "update-index",
                "--add",
                "--cacheinfo",
                &format!("160000,{object},old-sub"),
            ],
        );
        run_git(root, &["commit", "-q", "-m", "initial"]);

        std::fs::remove_file(root.join("deleted.txt")).unwrap();
        std::fs::remove_file(root.join("node_modules/gone.js")).unwrap();
        // Like `git ls-files --deleted`, a file replaced by a directory is not a
        // deletion; the directory's files are untracked entries.
        std::fs::remove_file(root.join("became-dir")).unwrap();
        write(root, "became-dir/inner.txt", "untracked\n");
        run_git(root, &["rm", "-q", "staged.txt"]);
        run_git(root, &["rm", "-q", "--cached", "untracked-now.txt"]);
        run_git(root, &["update-index", "--skip-worktree", "sparse.txt"]);
        std::fs::remove_file(root.join("sparse.txt")).unwrap();
        run_git(root, &["rm", "-q", "--cached", "old-sub"]);
        run_git(
            root,
            &[
                "update-index",
                "--add",
                "--cacheinfo",
                &format!("160000,{object},sub"),
            ],
        );

        let manifest = build_manifest(root, &default_rules(root)).unwrap();
        assert_eq!(manifest.deleted_tracked, ["deleted.txt", "staged.txt"]);
        assert_eq!(manifest.skip_worktree, ["sparse.txt"]);
        assert_eq!(manifest.gitlinks, ["sub"]);
        let files: Vec<&str> = manifest.files().collect();
        assert_eq!(
            files,
            ["became-dir/inner.txt", "kept.txt", "untracked-now.txt"]
        );
        assert!(!entry(&manifest, "untracked-now.txt").tracked);
        assert_eq!(
            manifest.changed,
            ["became-dir/inner.txt", "untracked-now.txt"]
        );
    }

    /// The index as both sources see it: read directly (when supported) and via
    /// `git ls-files -s -t --debug`.
    fn both_index_views(root: &Path) -> (Option<Vec<String>>, Vec<String>) {
        let describe = |records: Vec<IndexRecord<'_>>| {
            records
                .into_iter()
                .map(|record| {
                    format!(
                        "{} {:o} {} {} {} {} {:?}",
                        String::from_utf8_lossy(&record.path),
                        record.mode,
                        record.stage,
                        record.skip_worktree,
                        record.intent_to_add,
                        record.object.to_hex(),
                        record.cached
                    )
                })
                .collect::<Vec<_>>()
        };
        let snapshot = IndexSnapshot::read(root).unwrap();
        let direct = snapshot.records().map(describe);
        let listing = git(root, &["ls-files", "-z", "-s", "-t", "--debug"]).unwrap();
        let listed = describe(parse_ls_files(&listing).unwrap());
        (direct, listed)
    }

    fn repository_with_every_kind_of_entry(root: &Path) {
        run_git(root, &["init", "-q"]);
        for path in [
            "a.txt",
            "dir/b.txt",
            "dir/sub/c.txt",
            "sparse.txt",
            "new.txt",
        ] {
            write(root, path, path);
        }
        write(root, &format!("{}file.txt", "long/".repeat(40)), "deep");
        symlink("a.txt", root.join("link")).unwrap();
        run_git(root, &["add", "-A"]);
        run_git(root, &["commit", "-q", "-m", "initial"]);
        let object = "1234567890123456789012345678901234567890";
        run_git(
            root,
            &[
                "update-index",
                "--add",
                "--cacheinfo",
                &format!("160000,{object},sub"),
            ],
        );
        run_git(root, &["update-index", "--skip-worktree", "sparse.txt"]);
        write(root, "added-later.txt", "intent");
        run_git(root, &["add", "--intent-to-add", "added-later.txt"]);
    }

    #[test]
    fn the_index_file_reader_agrees_with_git_for_versions_two_to_four() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        repository_with_every_kind_of_entry(root);
        // Skip-worktree and intent-to-add entries make git write version 3.
        let (direct, listed) = both_index_views(root);
        assert_eq!(direct.as_ref(), Some(&listed));
        assert!(listed
            .iter()
            .any(|line| line.starts_with("sparse.txt 100644 0 true false")));
        assert!(listed
            .iter()
            .any(|line| line.starts_with("added-later.txt 100644 0 false true")));
        assert!(listed
            .iter()
            .any(|line| line.starts_with("sub 160000 0 false false 1234")));
        assert!(listed.iter().any(|line| line.starts_with("link 120000 0")));

        run_git(root, &["update-index", "--index-version", "4"]);
        let (direct, listed) = both_index_views(root);
        assert_eq!(direct.as_ref(), Some(&listed));

        run_git(
            root,
            &[
                "update-index",
                "--index-version",
                "2",
                "--no-skip-worktree",
                "sparse.txt",
            ],
        );
        run_git(root, &["rm", "-q", "--cached", "added-later.txt"]);
        let (direct, listed) = both_index_views(root);
        assert_eq!(direct.as_ref(), Some(&listed));
    }

    #[test]
    fn a_split_index_falls_back_to_git_with_the_same_result() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        repository_with_every_kind_of_entry(root);
        write(root, "a.txt", "changed");
        let rules = default_rules(root);
        let before = build_manifest(root, &rules).unwrap();
        run_git(root, &["update-index", "--split-index"]);
        assert!(IndexSnapshot::read(root).unwrap().records().is_none());
        let after = build_manifest(root, &rules).unwrap();
        assert_eq!(after.entries, before.entries);
        assert_eq!(after.changed, before.changed);
        assert_eq!(after.changed, ["a.txt", "added-later.txt"]);
        assert_eq!(after.skip_worktree, ["sparse.txt"]);
        assert_eq!(after.gitlinks, ["sub"]);
    }

    #[test]
    fn changes_are_found_by_content_not_by_timestamps() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        run_git(root, &["init", "-q"]);
        let files = [
            "touched.txt",
            "same-size.txt",
            "mode.sh",
            "quiet.txt",
            "new\nline.txt",
        ];
        let past =
            std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_600_000_000);
        for path in files {
            write(root, path, "original\n");
            let file = std::fs::File::options()
                .write(true)
                .open(root.join(path))
                .unwrap();
            file.set_modified(past).unwrap();
        }
        symlink("touched.txt", root.join("link")).unwrap();
        run_git(root, &["add", "-A"]);
        run_git(root, &["commit", "-q", "-m", "initial"]);

        let file = std::fs::File::options()
            .write(true)
            .open(root.join("touched.txt"))
            .unwrap();
        file.set_modified(std::time::SystemTime::now()).unwrap();
        write(root, "same-size.txt", "modified\n");
        let file = std::fs::File::options()
            .write(true)
            .open(root.join("same-size.txt"))
            .unwrap();
        file.set_modified(past).unwrap();
        std::fs::set_permissions(root.join("mode.sh"), std::fs::Permissions::from_mode(0o755))
            .unwrap();
        write(root, "new\nline.txt", "modified\n");
        std::fs::remove_file(root.join("link")).unwrap();
        symlink("same-size.txt", root.join("link")).unwrap();

        let manifest = build_manifest(root, &default_rules(root)).unwrap();
        assert_eq!(
            manifest.changed,
            ["link", "mode.sh", "new\nline.txt", "same-size.txt"]
        );
    }

    #[test]
    fn a_directory_outside_git_is_a_git_error() {
        let dir = tempfile::tempdir().unwrap();
        let error = build_manifest(dir.path(), &default_rules(dir.path())).unwrap_err();
        assert!(matches!(error, SyncError::Git { .. }), "{error:?}");
    }

    #[test]
    fn only_plain_relative_paths_are_safe() {
        let cases: &[(&[u8], bool)] = &[
            (b"a.txt", true),
            (b"dir/sub/a.txt", true),
            (b"..a/b..", true),
            (b"", false),
            (b"/etc/passwd", false),
            (b"../outside", false),
            (b"a/../../outside", false),
            (b"./a", false),
            (b"a//b", false),
            (b"a/", false),
        ];
        for (raw, safe) in cases {
            assert_eq!(
                checked_path(Cow::Borrowed(raw)).is_ok(),
                *safe,
                "{:?}",
                String::from_utf8_lossy(raw)
            );
        }
        assert!(matches!(
            checked_path(Cow::Borrowed(b"caf\xe9")),
            Ok((Cow::Owned(_), false))
        ));
    }
}
