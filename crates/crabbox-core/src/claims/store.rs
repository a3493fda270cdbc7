//! Reading and writing claim files: atomic replacement, per-lease locks, and
//! compare-and-swap on the claim revision.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use rustix::fs::{flock, FlockOperation};
use rustix::io::Errno;

use super::claim::Claim;
use crate::id::{is_safe_file_stem, random_hex};
use crate::paths::{ensure_private_dir, Paths};
use crate::slug::normalize_slug;
use crate::time::format_rfc3339;

/// Claims larger than this are refused rather than read into memory.
pub(crate) const MAX_CLAIM_BYTES: u64 = 1024 * 1024;

/// Prefix of in-flight temporary files, which readers skip.
pub(crate) const TEMP_FILE_PREFIX: &str = ".claim-tmp-";

const PRIVATE_FILE_MODE: u32 = 0o600;
const REVISION_BYTES: usize = 16;

#[derive(Debug, thiserror::Error)]
pub enum ClaimError {
    #[error("could not access {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("claim file {path} is unusable: {message}\nhint: inspect it with `crabbox claims list` and remove it if it is stale")]
    Corrupt { path: PathBuf, message: String },
    #[error("claim for {lease} changed; retry")]
    Changed { lease: String },
    #[error(
        "lease {lease} is claimed by repo {existing}; use --reclaim to claim it for {requested}"
    )]
    RepoConflict {
        lease: String,
        existing: String,
        requested: String,
    },
    #[error("lease id {id:?} cannot be used as a claim file name")]
    UnsafeId { id: String },
}

impl ClaimError {
    /// Whether the failure is a disagreement with other state (a concurrent writer or
    /// another repository's claim) rather than a broken file or disk.
    pub fn is_conflict(&self) -> bool {
        matches!(self, Self::Changed { .. } | Self::RepoConflict { .. })
    }

    fn io(path: &Path) -> impl FnOnce(io::Error) -> Self + '_ {
        move |source| Self::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// The local claim files under one state directory.
#[derive(Debug, Clone)]
pub struct ClaimStore {
    claims_dir: PathBuf,
    locks_dir: PathBuf,
}

/// Holds the exclusive `flock` on a lease's lock file until dropped.
struct LeaseLock {
    _file: File,
    path: PathBuf,
}

impl LeaseLock {
    /// Removes the lock file once its claim is gone, so lock files do not pile
    /// up. Waiters that locked the unlinked file notice and lock afresh.
    fn retire(self) {
        let _ = fs::remove_file(&self.path);
    }
}

impl ClaimStore {
    pub fn new(paths: &Paths) -> Self {
        Self::at(paths.claims_dir(), paths.claim_locks_dir())
    }

    pub fn at(claims_dir: impl Into<PathBuf>, locks_dir: impl Into<PathBuf>) -> Self {
        Self {
            claims_dir: claims_dir.into(),
            locks_dir: locks_dir.into(),
        }
    }

    pub fn claims_dir(&self) -> &Path {
        &self.claims_dir
    }

    pub fn locks_dir(&self) -> &Path {
        &self.locks_dir
    }

    /// The file a lease's claim lives in, once the ID is known to be a safe name.
    pub fn claim_path(&self, lease_id: &str) -> Result<PathBuf, ClaimError> {
        Ok(self
            .claims_dir
            .join(format!("{}.json", checked_stem(lease_id)?)))
    }

    /// Reads a claim without locking; writers replace files atomically.
    pub fn load(&self, lease_id: &str) -> Result<Option<Claim>, ClaimError> {
        let path = self.claim_path(lease_id)?;
        read_claim(&path, lease_id)
    }

    /// Writes `claim` unconditionally and returns it with its new revision.
    pub fn save(&self, mut claim: Claim) -> Result<Claim, ClaimError> {
        let lease_id = claim.lease_id.clone();
        let path = self.claim_path(&lease_id)?;
        let _lock = self.lock(&lease_id)?;
        self.write(&path, &mut claim)?;
        Ok(claim)
    }

    /// Applies `update` only if the stored revision still equals `expected_revision`.
    ///
    /// `None` means the claim must not exist yet, in which case `update` starts from
    /// an empty claim for `lease_id`. The lease ID stays tied to the file name even if
    /// `update` changes it.
    pub fn update_if_unchanged(
        &self,
        lease_id: &str,
        expected_revision: Option<&str>,
        update: impl FnOnce(&mut Claim),
    ) -> Result<Claim, ClaimError> {
        let path = self.claim_path(lease_id)?;
        let _lock = self.lock(lease_id)?;
        let current = read_claim(&path, lease_id)?;
        let mut claim = match (current, expected_revision) {
            (None, None) => Claim {
                lease_id: lease_id.to_owned(),
                ..Claim::default()
            },
            (Some(claim), Some(expected)) if claim.revision == expected => claim,
            _ => return Err(changed(lease_id)),
        };
        update(&mut claim);
        claim.lease_id = lease_id.to_owned();
        self.write(&path, &mut claim)?;
        Ok(claim)
    }

    /// Deletes a claim; `false` when there was none.
    pub fn remove(&self, lease_id: &str) -> Result<bool, ClaimError> {
        let path = self.claim_path(lease_id)?;
        let lock = self.lock(lease_id)?;
        let removed = self.delete(&path)?;
        lock.retire();
        Ok(removed)
    }

    /// Deletes a claim only if it still has `expected_revision`; a claim that has
    /// meanwhile been rewritten or removed reports `Changed`.
    pub fn remove_if_unchanged(
        &self,
        lease_id: &str,
        expected_revision: &str,
    ) -> Result<(), ClaimError> {
        let path = self.claim_path(lease_id)?;
        let lock = self.lock(lease_id)?;
        match read_claim(&path, lease_id)? {
            Some(claim) if claim.revision == expected_revision => {
                self.delete(&path)?;
                lock.retire();
                Ok(())
            }
            _ => Err(changed(lease_id)),
        }
    }

    /// Records that `repo_root` uses the lease, refusing to take it from another
    /// repository unless `reclaim` is set.
    ///
    /// A new claim is `template` stamped with the repository and time; an existing
    /// claim keeps its fields, gains any the template has that it lacks, and gets a
    /// fresh `lastUsedAt`.
    pub fn claim_for_repo(
        &self,
        lease_id: &str,
        template: Claim,
        repo_root: &str,
        reclaim: bool,
        now: i64,
    ) -> Result<Claim, ClaimError> {
        let path = self.claim_path(lease_id)?;
        let _lock = self.lock(lease_id)?;
        let timestamp = format_rfc3339(now);
        let mut claim = match read_claim(&path, lease_id)? {
            None => {
                let mut claim = template;
                claim.lease_id = lease_id.to_owned();
                claim.repo_root = repo_root.to_owned();
                claim.claimed_at.clone_from(&timestamp);
                claim
            }
            Some(mut claim) => {
                let owned_elsewhere = !claim.repo_root.is_empty() && claim.repo_root != repo_root;
                if owned_elsewhere && !reclaim {
                    return Err(ClaimError::RepoConflict {
                        lease: lease_id.to_owned(),
                        existing: claim.repo_root,
                        requested: repo_root.to_owned(),
                    });
                }
                if owned_elsewhere || claim.claimed_at.is_empty() {
                    claim.claimed_at.clone_from(&timestamp);
                }
                claim.repo_root = repo_root.to_owned();
                claim.fill_missing_from(&template);
                claim
            }
        };
        claim.last_used_at = timestamp;
        self.write(&path, &mut claim)?;
        Ok(claim)
    }

    /// Every well-formed claim, sorted by lease ID; broken files are skipped.
    pub fn all(&self) -> Vec<Claim> {
        self.list().claims
    }

    /// Claims matching an `--id` value.
    ///
    /// A claim file named exactly `<value>.json` wins; otherwise any claim whose lease
    /// ID equals `value` or whose slug equals the normalized value matches.
    pub fn find(&self, value: &str) -> Vec<Claim> {
        if is_safe_file_stem(value) {
            if let Ok(Some(claim)) = self.load(value) {
                return vec![claim];
            }
        }
        let slug = normalize_slug(value);
        let mut matches: Vec<Claim> = self
            .all()
            .into_iter()
            .filter(|claim| claim.lease_id == value || (!slug.is_empty() && claim.slug == slug))
            .collect();
        matches.sort_by(|left, right| left.lease_id.cmp(&right.lease_id));
        matches
    }

    fn lock(&self, lease_id: &str) -> Result<LeaseLock, ClaimError> {
        ensure_private_dir(&self.locks_dir).map_err(ClaimError::io(&self.locks_dir))?;
        let path = self.locks_dir.join(format!("{lease_id}.json.lock"));
        loop {
            let file = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .mode(PRIVATE_FILE_MODE)
                .open(&path)
                .map_err(ClaimError::io(&path))?;
            loop {
                match flock(&file, FlockOperation::LockExclusive) {
                    Ok(()) => break,
                    Err(Errno::INTR) => continue,
                    Err(errno) => return Err(ClaimError::io(&path)(errno.into())),
                }
            }
            // The holder before us may have retired this file; a lock on an
            // unlinked file excludes nobody, so lock whatever the path names now.
            let locked = file.metadata().map_err(ClaimError::io(&path))?;
            let current = fs::metadata(&path).ok();
            if current.is_some_and(|current| current.ino() == locked.ino()) {
                return Ok(LeaseLock { _file: file, path });
            }
        }
    }

    /// Stamps a fresh revision and atomically replaces the claim file.
    fn write(&self, path: &Path, claim: &mut Claim) -> Result<(), ClaimError> {
        claim.revision = random_hex(REVISION_BYTES);
        let mut body = serde_json::to_vec_pretty(claim).map_err(|error| ClaimError::Corrupt {
            path: path.to_path_buf(),
            message: format!("cannot encode claim: {error}"),
        })?;
        body.push(b'\n');
        ensure_private_dir(&self.claims_dir).map_err(ClaimError::io(&self.claims_dir))?;
        let temp_path = self.claims_dir.join(format!(
            "{TEMP_FILE_PREFIX}{}-{}",
            claim.lease_id,
            random_hex(8)
        ));
        let result = replace_file(&temp_path, path, &body);
        if result.is_err() {
            let _ = fs::remove_file(&temp_path);
        }
        result.map_err(ClaimError::io(path))?;
        sync_dir(&self.claims_dir).map_err(ClaimError::io(&self.claims_dir))
    }

    fn delete(&self, path: &Path) -> Result<bool, ClaimError> {
        match fs::remove_file(path) {
            Ok(()) => {
                sync_dir(&self.claims_dir).map_err(ClaimError::io(&self.claims_dir))?;
                Ok(true)
            }
            Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(error) => Err(ClaimError::io(path)(error)),
        }
    }
}

fn checked_stem(lease_id: &str) -> Result<&str, ClaimError> {
    if is_safe_file_stem(lease_id) {
        Ok(lease_id)
    } else {
        Err(ClaimError::UnsafeId {
            id: lease_id.to_owned(),
        })
    }
}

fn changed(lease_id: &str) -> ClaimError {
    ClaimError::Changed {
        lease: lease_id.to_owned(),
    }
}

fn replace_file(temp_path: &Path, final_path: &Path, body: &[u8]) -> io::Result<()> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(PRIVATE_FILE_MODE)
        .open(temp_path)?;
    file.write_all(body)?;
    file.sync_all()?;
    drop(file);
    fs::rename(temp_path, final_path)
}

/// Makes a rename or unlink durable across a crash.
fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Reads the claim at `path`, checking that it belongs to `lease_id`.
fn read_claim(path: &Path, lease_id: &str) -> Result<Option<Claim>, ClaimError> {
    let corrupt = |message: String| ClaimError::Corrupt {
        path: path.to_path_buf(),
        message,
    };
    let metadata = match fs::symlink_metadata(path) {
        Ok(metadata) => metadata,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(ClaimError::io(path)(error)),
    };
    if !metadata.is_file() {
        return Err(corrupt("not a regular file".to_owned()));
    }
    let body = match read_limited(path) {
        Ok(body) => body,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(ClaimError::io(path)(error)),
    };
    let body = body.ok_or_else(|| corrupt(format!("larger than {MAX_CLAIM_BYTES} bytes")))?;
    let claim: Claim =
        serde_json::from_slice(&body).map_err(|error| corrupt(format!("invalid JSON: {error}")))?;
    if claim.lease_id != lease_id {
        return Err(corrupt(format!(
            "records lease id {:?} instead of {lease_id:?}",
            claim.lease_id
        )));
    }
    Ok(Some(claim))
}

/// The file's bytes, or `None` when it exceeds [`MAX_CLAIM_BYTES`].
pub(crate) fn read_limited(path: &Path) -> io::Result<Option<Vec<u8>>> {
    let mut body = Vec::new();
    File::open(path)?
        .take(MAX_CLAIM_BYTES + 1)
        .read_to_end(&mut body)?;
    Ok((body.len() as u64 <= MAX_CLAIM_BYTES).then_some(body))
}
