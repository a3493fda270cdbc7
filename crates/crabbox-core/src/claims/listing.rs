//! `claims list`: an unlocked scan of the claim directory that reports every claim
//! file it cannot trust instead of failing on the first one.

use std::ffi::OsStr;
use std::fmt::{self, Write as _};
use std::fs;
use std::io;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::claim::Claim;
use super::store::{read_limited, ClaimStore, MAX_CLAIM_BYTES, TEMP_FILE_PREFIX};
use crate::id::is_safe_file_stem;

/// Keeps output bounded when a directory is full of junk.
const MAX_PROBLEMS: usize = 100;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClaimListing {
    pub claims: Vec<Claim>,
    pub problems: Vec<ClaimProblem>,
}

impl ClaimListing {
    /// No malformed files were found; the CLI exits non-zero otherwise.
    pub fn is_clean(&self) -> bool {
        self.problems.is_empty()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimProblem {
    pub file: String,
    pub code: ProblemCode,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProblemCode {
    InvalidFilename,
    InvalidJson,
    ClaimTooLarge,
    EmptyLeaseId,
    LeaseIdMismatch,
    ReadError,
    NonRegularFile,
    InvalidClaim,
    ProblemsTruncated,
}

impl ProblemCode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidFilename => "invalid_filename",
            Self::InvalidJson => "invalid_json",
            Self::ClaimTooLarge => "claim_too_large",
            Self::EmptyLeaseId => "empty_lease_id",
            Self::LeaseIdMismatch => "lease_id_mismatch",
            Self::ReadError => "read_error",
            Self::NonRegularFile => "non_regular_file",
            Self::InvalidClaim => "invalid_claim",
            Self::ProblemsTruncated => "problems_truncated",
        }
    }
}

impl fmt::Display for ProblemCode {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

impl ClaimProblem {
    fn new(file: &Path, code: ProblemCode, message: impl Into<String>) -> Self {
        Self {
            file: file.display().to_string(),
            code,
            message: message.into(),
        }
    }
}

impl ClaimStore {
    /// Scans the claim directory without taking locks or contacting providers.
    pub fn list(&self) -> ClaimListing {
        let mut listing = ClaimListing::default();
        let entries = match fs::read_dir(self.claims_dir()) {
            Ok(entries) => entries,
            Err(error) if error.kind() == io::ErrorKind::NotFound => return listing,
            Err(error) => {
                listing
                    .problems
                    .push(directory_problem(self.claims_dir(), &error));
                return listing;
            }
        };
        let mut names = Vec::new();
        for entry in entries {
            match entry {
                Ok(entry) => names.push(entry.file_name()),
                Err(error) => listing
                    .problems
                    .push(directory_problem(self.claims_dir(), &error)),
            }
        }
        names.sort();
        for name in &names {
            match self.inspect(name) {
                Some(Ok(claim)) => listing.claims.push(claim),
                Some(Err(problem)) => listing.problems.push(problem),
                None => {}
            }
        }
        listing.claims.sort_by(|left, right| {
            (&left.lease_id, &left.provider, &left.slug).cmp(&(
                &right.lease_id,
                &right.provider,
                &right.slug,
            ))
        });
        truncate_problems(&mut listing.problems, self.claims_dir());
        listing
    }

    /// Checks one directory entry; `None` for another writer's in-flight temp file.
    fn inspect(&self, name: &OsStr) -> Option<Result<Claim, ClaimProblem>> {
        let path = self.claims_dir().join(name);
        let problem = |code, message: String| Some(Err(ClaimProblem::new(&path, code, message)));
        let Some(name) = name.to_str() else {
            return problem(
                ProblemCode::InvalidFilename,
                "file name is not valid UTF-8".to_owned(),
            );
        };
        if name.starts_with(TEMP_FILE_PREFIX) {
            return None;
        }
        let stem = match name.strip_suffix(".json") {
            Some(stem) if is_safe_file_stem(stem) => stem,
            _ => {
                return problem(
                    ProblemCode::InvalidFilename,
                    "expected <lease id>.json with only letters, digits, '_', '.' and '-'"
                        .to_owned(),
                )
            }
        };
        let metadata = match fs::symlink_metadata(&path) {
            Ok(metadata) => metadata,
            Err(error) => return problem(ProblemCode::ReadError, error.to_string()),
        };
        if !metadata.is_file() {
            return problem(
                ProblemCode::NonRegularFile,
                "claim path is not a regular file".to_owned(),
            );
        }
        let too_large = || format!("claim file exceeds {MAX_CLAIM_BYTES} bytes");
        if metadata.len() > MAX_CLAIM_BYTES {
            return problem(ProblemCode::ClaimTooLarge, too_large());
        }
        let body = match read_limited(&path) {
            Ok(Some(body)) => body,
            Ok(None) => return problem(ProblemCode::ClaimTooLarge, too_large()),
            Err(error) => return problem(ProblemCode::ReadError, error.to_string()),
        };
        let claim: Claim = match serde_json::from_slice(&body) {
            Ok(claim) => claim,
            Err(error) => return problem(ProblemCode::InvalidJson, error.to_string()),
        };
        if claim.lease_id.is_empty() {
            return problem(ProblemCode::EmptyLeaseId, "claim has no leaseID".to_owned());
        }
        if claim.lease_id != stem {
            return problem(
                ProblemCode::LeaseIdMismatch,
                format!(
                    "file is named for {stem:?} but records leaseID {:?}",
                    claim.lease_id
                ),
            );
        }
        if let Some(message) = claim.validation_problem() {
            return problem(ProblemCode::InvalidClaim, message);
        }
        Some(Ok(claim))
    }
}

fn directory_problem(dir: &Path, error: &io::Error) -> ClaimProblem {
    ClaimProblem::new(
        dir,
        ProblemCode::ReadError,
        format!("cannot read claims directory: {error}"),
    )
}

fn truncate_problems(problems: &mut Vec<ClaimProblem>, dir: &Path) {
    if problems.len() <= MAX_PROBLEMS {
        return;
    }
    let hidden = problems.len() - (MAX_PROBLEMS - 1);
    problems.truncate(MAX_PROBLEMS - 1);
    problems.push(ClaimProblem::new(
        dir,
        ProblemCode::ProblemsTruncated,
        format!("{hidden} more problems not shown"),
    ));
}

/// The summary of one claim that `claims list` shows, in display order.
#[derive(Serialize)]
struct ListedClaim<'a> {
    #[serde(rename = "leaseId")]
    lease_id: &'a str,
    slug: &'a str,
    provider: &'a str,
    #[serde(rename = "repoRoot")]
    repo_root: &'a str,
    pond: &'a str,
    #[serde(rename = "targetOS")]
    target_os: &'a str,
    #[serde(rename = "windowsMode")]
    windows_mode: &'a str,
    #[serde(rename = "claimedAt")]
    claimed_at: &'a str,
    #[serde(rename = "lastUsedAt")]
    last_used_at: &'a str,
    #[serde(rename = "idleTimeoutSeconds")]
    idle_timeout_seconds: i64,
}

impl<'a> From<&'a Claim> for ListedClaim<'a> {
    fn from(claim: &'a Claim) -> Self {
        Self {
            lease_id: &claim.lease_id,
            slug: &claim.slug,
            provider: &claim.provider,
            repo_root: &claim.repo_root,
            pond: &claim.pond,
            target_os: &claim.target_os,
            windows_mode: &claim.windows_mode,
            claimed_at: &claim.claimed_at,
            last_used_at: &claim.last_used_at,
            idle_timeout_seconds: claim.idle_timeout_seconds,
        }
    }
}

#[derive(Serialize)]
struct ListingDocument<'a> {
    version: u32,
    source: &'static str,
    claims: Vec<ListedClaim<'a>>,
    problems: &'a [ClaimProblem],
}

impl<'a> From<&'a ClaimListing> for ListingDocument<'a> {
    fn from(listing: &'a ClaimListing) -> Self {
        Self {
            version: 1,
            source: "local-claims",
            claims: listing.claims.iter().map(ListedClaim::from).collect(),
            problems: &listing.problems,
        }
    }
}

/// The `claims list --json` document.
///
/// A `Value` object orders keys by serde_json's map; use [`listing_json_string`] when
/// the documented key order matters.
pub fn listing_json(listing: &ClaimListing) -> Value {
    serde_json::to_value(ListingDocument::from(listing))
        .expect("listing document contains only strings and integers")
}

/// The `claims list --json` document as compact text, keys in documented order.
pub fn listing_json_string(listing: &ClaimListing) -> String {
    serde_json::to_string(&ListingDocument::from(listing))
        .expect("listing document contains only strings and integers")
}

/// The human-readable `claims list` report, one line per field.
pub fn listing_text(listing: &ClaimListing) -> String {
    let mut text =
        String::from("Local claims (unverified local state; provider backends were not queried)\n");
    if listing.claims.is_empty() {
        text.push_str("(no claims)\n");
    }
    for claim in &listing.claims {
        let _ = writeln!(text, "- leaseId: {}", quoted(&claim.lease_id));
        for (key, value) in [
            ("slug", &claim.slug),
            ("provider", &claim.provider),
            ("repoRoot", &claim.repo_root),
            ("pond", &claim.pond),
            ("targetOS", &claim.target_os),
            ("windowsMode", &claim.windows_mode),
            ("claimedAt", &claim.claimed_at),
            ("lastUsedAt", &claim.last_used_at),
        ] {
            let _ = writeln!(text, "  {key}: {}", quoted(value));
        }
        let _ = writeln!(text, "  idleTimeoutSeconds: {}", claim.idle_timeout_seconds);
    }
    if !listing.problems.is_empty() {
        text.push_str("Problems:\n");
        for problem in &listing.problems {
            let _ = writeln!(
                text,
                "- file={} code={} message={}",
                problem.file, problem.code, problem.message
            );
        }
    }
    text
}

/// Double-quoted with JSON escapes, so odd paths cannot break the line structure.
fn quoted(value: &str) -> String {
    Value::from(value).to_string()
}
