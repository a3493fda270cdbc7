//! Which tracked files changed since git last wrote its index: the stat data git
//! cached decides for most files, and only the rest get a content check.

use std::borrow::Cow;
use std::fs::Metadata;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use super::git::{git, git_with_input, records};
use super::index::{CachedStat, IndexRecord, ObjectId, MODE_SYMLINK};
use super::EntryKind;
use crate::SyncError;

/// Most symlinks `git diff` is asked about by name; see [`changed_contents`].
const PATHSPEC_LIMIT: usize = 16;

/// A present tracked file compared with its index entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Worktree {
    Unchanged,
    Changed,
    /// The stat data differs (or is racy); only the content can tell.
    CheckContent,
}

/// Git's own test for "maybe modified", erring towards a content check: any
/// difference in the cached stat fields, or an entry written in the same second
/// as the index (git's "racily clean" case).
pub(super) fn compare(
    index: &IndexRecord<'_>,
    metadata: &Metadata,
    index_seconds: Option<u32>,
) -> Worktree {
    // `git diff` does not look at skip-worktree entries at all.
    if index.skip_worktree {
        return Worktree::Unchanged;
    }
    if index.stage != 0 || index.intent_to_add {
        return Worktree::Changed;
    }
    let symlink = metadata.file_type().is_symlink();
    if symlink != (index.mode == MODE_SYMLINK) {
        return Worktree::Changed;
    }
    let executable = metadata.mode() & 0o100 != 0;
    if !symlink && executable != (index.mode == 0o100755) {
        return Worktree::Changed;
    }
    let same = index.cached.is_some_and(|cached| {
        let racy = index_seconds.is_none_or(|seconds| cached.mtime.0 >= seconds);
        !racy && cached_stat_matches(&cached, metadata)
    });
    if same {
        Worktree::Unchanged
    } else {
        Worktree::CheckContent
    }
}

fn cached_stat_matches(cached: &CachedStat, metadata: &Metadata) -> bool {
    // Git builds without nanosecond support store zero there.
    let time_matches = |(seconds, nanoseconds): (u32, u32), actual: i64, actual_ns: i64| {
        seconds == actual as u32 && (nanoseconds == 0 || nanoseconds == actual_ns as u32)
    };
    cached.size == metadata.size() as u32
        && cached.ino == metadata.ino() as u32
        && cached.uid == metadata.uid()
        && cached.gid == metadata.gid()
        && time_matches(cached.mtime, metadata.mtime(), metadata.mtime_nsec())
        && time_matches(cached.ctime, metadata.ctime(), metadata.ctime_nsec())
}

/// The paths among `checks` whose content no longer matches the index. Files are
/// hashed by `git hash-object`, so clean and text filters apply as they would for
/// git itself; symlinks (which it would follow) are left to `git diff`. A file
/// that vanishes before git reads it counts as changed rather than failing.
pub(super) fn changed_contents<'a>(
    root: &Path,
    checks: &[(&'a str, ObjectId<'_>, EntryKind)],
) -> Result<Vec<&'a str>, SyncError> {
    let (files, links): (Vec<_>, Vec<_>) = checks
        .iter()
        .partition(|(_, _, kind)| *kind == EntryKind::File);
    let mut changed: Vec<&'a str> = Vec::new();
    if !files.is_empty() {
        let input: String = files
            .iter()
            .map(|(path, _, _)| format!("{}\n", quote_line(path)))
            .collect();
        let output = git_with_input(
            root,
            &["hash-object", "--stdin-paths"],
            Some(input.as_bytes()),
        )
        .unwrap_or_default();
        let mut hashes = output.split(|byte| *byte == b'\n');
        for (path, object, _) in files {
            if hashes.next() != Some(object.to_hex().as_bytes()) {
                changed.push(path);
            }
        }
    }
    if !links.is_empty() {
        let mut args = vec!["--literal-pathspecs", "diff", "--name-only", "-z", "--"];
        // Git matches every index entry against every pathspec, so past a few
        // links a full diff is cheaper.
        if links.len() <= PATHSPEC_LIMIT {
            args.extend(links.iter().map(|(path, _, _)| *path));
        }
        let output = git(root, &args)?;
        let reported: Vec<&[u8]> = records(&output).collect();
        changed.extend(
            links
                .iter()
                .map(|(path, _, _)| *path)
                .filter(|path| reported.contains(&path.as_bytes())),
        );
    }
    Ok(changed)
}

/// `--stdin-paths` reads lines and C-unquotes a line that starts with `"`, so
/// names that would break a line are quoted that way.
fn quote_line(path: &str) -> Cow<'_, str> {
    if !path.contains(['\n', '\r', '\\']) && !path.starts_with('"') {
        return Cow::Borrowed(path);
    }
    let mut quoted = String::with_capacity(path.len() + 8);
    quoted.push('"');
    for character in path.chars() {
        match character {
            '\n' => quoted.push_str("\\n"),
            '\r' => quoted.push_str("\\r"),
            '"' => quoted.push_str("\\\""),
            '\\' => quoted.push_str("\\\\"),
            other => quoted.push(other),
        }
    }
    quoted.push('"');
    Cow::Owned(quoted)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_comparison_follows_git() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("file.txt");
        std::fs::write(&path, "content").unwrap();
        let metadata = std::fs::symlink_metadata(&path).unwrap();
        let cached = CachedStat {
            ctime: (metadata.ctime() as u32, metadata.ctime_nsec() as u32),
            mtime: (metadata.mtime() as u32, metadata.mtime_nsec() as u32),
            ino: metadata.ino() as u32,
            uid: metadata.uid(),
            gid: metadata.gid(),
            size: metadata.size() as u32,
        };
        let record = IndexRecord {
            path: Cow::Borrowed(b"file.txt"),
            mode: 0o100644,
            stage: 0,
            skip_worktree: false,
            intent_to_add: false,
            object: ObjectId::Hex(b"0"),
            cached: Some(cached),
        };
        let later = Some(metadata.mtime() as u32 + 1);
        let same_second = Some(metadata.mtime() as u32);
        let cases = [
            (record.clone(), later, Worktree::Unchanged),
            (record.clone(), same_second, Worktree::CheckContent),
            (record.clone(), None, Worktree::CheckContent),
            (
                IndexRecord {
                    cached: Some(CachedStat { size: 1, ..cached }),
                    ..record.clone()
                },
                later,
                Worktree::CheckContent,
            ),
            (
                IndexRecord {
                    cached: Some(CachedStat {
                        mtime: (cached.mtime.0, 0),
                        ctime: (cached.ctime.0, 0),
                        ..cached
                    }),
                    ..record.clone()
                },
                later,
                Worktree::Unchanged,
            ),
            (
                IndexRecord {
                    cached: None,
                    ..record.clone()
                },
                later,
                Worktree::CheckContent,
            ),
            (
                IndexRecord {
                    mode: 0o100755,
                    ..record.clone()
                },
                later,
                Worktree::Changed,
            ),
            (
                IndexRecord {
                    mode: 0o120000,
                    ..record.clone()
                },
                later,
                Worktree::Changed,
            ),
            (
                IndexRecord {
                    stage: 2,
                    ..record.clone()
                },
                later,
                Worktree::Changed,
            ),
            (
                IndexRecord {
                    intent_to_add: true,
                    ..record.clone()
                },
                later,
                Worktree::Changed,
            ),
        ];
        for (index, (record, index_seconds, expected)) in cases.into_iter().enumerate() {
            assert_eq!(
                compare(&record, &metadata, index_seconds),
                expected,
                "case {index}"
            );
        }
    }

    #[test]
    fn awkward_names_are_quoted_for_stdin_paths() {
        assert_eq!(quote_line("plain name.txt"), "plain name.txt");
        assert_eq!(quote_line("a\nb"), "\"a\\nb\"");
        assert_eq!(quote_line("\"quoted\""), "\"\\\"quoted\\\"\"");
        assert_eq!(quote_line("back\\slash\r"), "\"back\\\\slash\\r\"");
    }
}
