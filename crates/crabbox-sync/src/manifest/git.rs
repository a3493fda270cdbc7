//! Running git for the manifest and splitting its NUL-separated listings.

use std::borrow::Cow;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::SyncError;

/// Runs `git -c core.quotepath=off <args>` in `root` and returns its stdout.
pub(super) fn git(root: &Path, args: &[&str]) -> Result<Vec<u8>, SyncError> {
    git_with_input(root, args, None)
}

/// Like [`git`], feeding `input` on stdin from a second thread so neither pipe
/// can fill up and stall the other.
pub(super) fn git_with_input(
    root: &Path,
    args: &[&str],
    input: Option<&[u8]>,
) -> Result<Vec<u8>, SyncError> {
    let mut child = Command::new("git")
        .args(["-c", "core.quotepath=off"])
        .args(args)
        .current_dir(root)
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|source| SyncError::Io {
            context: "run git".into(),
            source,
        })?;
    let stdin = child.stdin.take();
    let output = std::thread::scope(|scope| {
        if let (Some(mut stdin), Some(input)) = (stdin, input) {
            // A failed write shows up as git's own error below.
            scope.spawn(move || stdin.write_all(input));
        }
        child.wait_with_output()
    })
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
    Ok(output.stdout)
}

/// Where the index lives and how long its object ids are, from
/// `git rev-parse --git-path index --show-object-format`.
pub(super) struct IndexLocation {
    pub path: PathBuf,
    /// `None` for an object format this reader does not know.
    pub object_length: Option<usize>,
}

pub(super) fn index_location(root: &Path) -> Result<IndexLocation, SyncError> {
    let output = git(
        root,
        &["rev-parse", "--git-path", "index", "--show-object-format"],
    )?;
    let text = String::from_utf8_lossy(&output);
    let mut lines = text.lines();
    let path = root.join(lines.next().unwrap_or_default());
    let object_length = match lines.next() {
        Some("sha1") => Some(20),
        Some("sha256") => Some(32),
        _ => None,
    };
    Ok(IndexLocation {
        path,
        object_length,
    })
}

/// The non-empty records of a `-z` listing.
pub(super) fn records(output: &[u8]) -> impl Iterator<Item = &[u8]> {
    output
        .split(|byte| *byte == 0)
        .filter(|record| !record.is_empty())
}

/// `git diff --raw -z` output: a `:`-prefixed status record, then the path.
pub(super) fn raw_diff(output: &[u8]) -> impl Iterator<Item = (&[u8], &[u8])> {
    let mut records = records(output);
    std::iter::from_fn(move || Some((records.next()?, records.next()?)))
}

/// Decodes a path from git, refusing anything that could escape the root. The
/// flag is false when the name was not UTF-8 and had to be decoded lossily; the
/// caller refuses those once the rules say they would be sent.
pub(super) fn checked_path(raw: Cow<'_, [u8]>) -> Result<(Cow<'_, str>, bool), SyncError> {
    let (path, utf8) = match raw {
        Cow::Borrowed(bytes) => match std::str::from_utf8(bytes) {
            Ok(text) => (Cow::Borrowed(text), true),
            Err(_) => (String::from_utf8_lossy(bytes), false),
        },
        Cow::Owned(bytes) => match String::from_utf8(bytes) {
            Ok(text) => (Cow::Owned(text), true),
            Err(error) => (
                Cow::Owned(String::from_utf8_lossy(error.as_bytes()).into_owned()),
                false,
            ),
        },
    };
    let safe = !path.is_empty()
        && !path.contains('\0')
        && path
            .split('/')
            .all(|segment| !matches!(segment, "" | "." | ".."));
    if safe {
        Ok((path, utf8))
    } else {
        Err(SyncError::UnsafePath {
            path: path.into_owned(),
        })
    }
}
