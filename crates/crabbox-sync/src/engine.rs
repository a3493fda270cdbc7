//! The sync decision and its execution: what to send, what to delete, and when to
//! skip without touching the network.
//!
//! A warm rerun with no local change and a runner known to be clean costs no round
//! trip. "Known clean" comes from the trailer of the previous command session; a
//! missing trailer, an interrupted run or a failed sync makes the runner "unknown"
//! and the next sync compares everything.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, Instant};

use crabbox_ssh::{shell_quote, Connection};
use sha2::{Digest, Sha256};

use crate::archive::send_archive;
use crate::guardrails::{evaluate, Guardrail, GuardrailStatus, Limits};
use crate::manifest::{build_manifest, Manifest};
use crate::rules::ExcludeRules;
use crate::state::{entries_hash, hex, Header, Recorded, RemoteState, SyncState, WatchMark};
use crate::trailer::read_changes_command;
use crate::transfer::{delete_script, send, TransferStats};
use crate::watch::Watch;
use crate::SyncError;

/// More changed paths than this and the next sync simply compares everything.
const MAX_CHANGED_PATHS: u64 = 20_000;
/// Deletion commands longer than this are sent separately, in chunks.
const MAX_INLINE_DELETE_BYTES: usize = 64 * 1024;
/// Tracked deletions at or above this fail the sync unless explicitly allowed.
pub const MASS_DELETION_LIMIT: usize = 200;

/// How a sync should behave.
#[derive(Debug, Clone)]
pub struct SyncOptions {
    pub checksum: bool,
    pub full_resync: bool,
    /// Delete files on the runner that left the manifest.
    pub delete: bool,
    pub limits: Limits,
    pub allow_mass_deletions: bool,
    pub excludes: Vec<String>,
    pub includes: Vec<String>,
    pub timeout: Duration,
    /// A command follows the sync: a pending runner-side scan may be checked by the
    /// command session itself instead of by the sync.
    pub verify_in_command: bool,
}

/// The local half of a sync: manifest, rules and guardrail, computed before
/// anything is leased or sent.
pub struct Prepared {
    pub manifest: Manifest,
    pub rules: ExcludeRules,
    pub guardrail: Guardrail,
    pub manifest_time: Duration,
    /// The local watcher's mark read before the manifest was built.
    pub watch: Option<WatchMark>,
}

/// Builds the manifest and applies the guardrails and the mass-deletion guard.
pub fn prepare(
    root: &Path,
    options: &SyncOptions,
    watch: Option<&Watch>,
) -> Result<Prepared, SyncError> {
    let started = Instant::now();
    let watch = watch.and_then(Watch::mark);
    let rules = ExcludeRules::load(root, &options.excludes, &options.includes)?;
    let manifest = build_manifest(root, &rules)?;
    let guardrail = evaluate(&manifest, &options.limits);
    if guardrail.status == GuardrailStatus::Failed {
        return Err(SyncError::TooLarge {
            report: crate::guardrails::guardrail_message(&guardrail),
        });
    }
    if manifest.deleted_tracked.len() >= MASS_DELETION_LIMIT && !options.allow_mass_deletions {
        return Err(SyncError::MassDeletion {
            count: manifest.deleted_tracked.len(),
            examples: manifest.deleted_tracked.iter().take(20).cloned().collect(),
        });
    }
    Ok(Prepared {
        manifest,
        rules,
        guardrail,
        manifest_time: started.elapsed(),
        watch,
    })
}

/// Where on the runner a sync lands.
pub struct Destination<'a> {
    pub connection: &'a Connection,
    pub workdir: &'a str,
    /// Crabbox's bookkeeping directory for this workdir, outside the synced tree.
    pub meta_dir: &'a str,
}

/// Progress of a transfer that takes a while.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyncProgress {
    /// Reported every 15 s while the transfer runs.
    StillSyncing { elapsed: Duration },
}

impl SyncProgress {
    /// The line a terminal shows for it.
    pub fn line(&self) -> String {
        match self {
            SyncProgress::StillSyncing { elapsed } => {
                format!("still syncing after {}s...", elapsed.as_secs())
            }
        }
    }
}

/// What a sync did.
#[derive(Debug, Clone, Default)]
pub struct SyncOutcome {
    pub skipped: bool,
    /// Skipped on the condition that the command session first checks the runner's
    /// scan of the previous command (see `trailer`).
    pub verify: bool,
    pub files_sent: u64,
    pub bytes_sent: u64,
    pub paths_listed: u64,
    pub deleted: u64,
    /// Directories the post-command scan may skip.
    pub prune: Vec<String>,
    /// `(step, duration)` in order.
    pub steps: Vec<(&'static str, Duration)>,
}

impl SyncOutcome {
    /// `manifest:12ms,plan:1ms,rsync:80ms`.
    pub fn steps_text(&self) -> String {
        self.steps
            .iter()
            .map(|(name, took)| format!("{name}:{}ms", took.as_millis()))
            .collect::<Vec<_>>()
            .join(",")
    }
}

fn options_hash(rules: &ExcludeRules, options: &SyncOptions, workdir: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(workdir.as_bytes());
    hasher.update([options.checksum as u8, options.delete as u8, 0]);
    for (pattern, origin) in rules.describe() {
        hasher.update(pattern.as_bytes());
        hasher.update([0]);
        hasher.update(origin.as_bytes());
        hasher.update([0]);
    }
    for include in &options.includes {
        hasher.update(include.as_bytes());
        hasher.update([1]);
    }
    hex(&hasher.finalize())
}

/// The skip without a manifest: the same local watcher is still at the generation
/// recorded by the last sync, so nothing changed locally; the runner side decides as
/// in [`sync`]. `None` means "build the manifest".
pub fn quick_skip(
    root: &Path,
    state: &SyncState,
    options: &SyncOptions,
    workdir: &str,
    watch: Option<&Watch>,
) -> Option<SyncOutcome> {
    let started = Instant::now();
    let header = state.header()?;
    let mark = watch?.mark()?;
    if options.full_resync || options.checksum || header.watch != Some(mark) {
        return None;
    }
    let rules = ExcludeRules::load(root, &options.excludes, &options.includes).ok()?;
    // The watcher ignores pruned directories; a re-include could reach into one.
    if rules
        .describe()
        .iter()
        .any(|(pattern, _)| pattern.starts_with('!'))
    {
        return None;
    }
    if header.workdir != workdir || header.options_hash != options_hash(&rules, options, workdir) {
        return None;
    }
    let verify = match header.remote {
        RemoteState::Clean => false,
        RemoteState::Pending if options.verify_in_command => true,
        _ => return None,
    };
    Some(SyncOutcome {
        skipped: true,
        verify,
        prune: header.prune,
        steps: vec![("watch", started.elapsed())],
        ..SyncOutcome::default()
    })
}

/// Directories that never hold synced files, pruned from the post-command scan.
pub fn prune_list(prepared: &Prepared) -> Vec<String> {
    let mut prune: Vec<String> = vec![".git".into()];
    let rules = prepared.rules.describe();
    // A re-include could bring a file back from inside any excluded directory.
    if rules.iter().any(|(pattern, _)| pattern.starts_with('!')) {
        return prune;
    }
    for (pattern, origin) in rules {
        if origin == "include"
            || pattern.starts_with('!')
            || pattern.contains(['*', '?', '[']) && !pattern.contains('/')
        {
            continue;
        }
        // Ambiguous built-ins can still hold tracked files that are synced.
        if origin == "builtin" && !prepared.manifest.protected_tracked.is_empty() {
            continue;
        }
        if !prune.contains(&pattern) {
            prune.push(pattern);
        }
    }
    prune
}

/// Runs the sync for `prepared` into `destination`, recording the result in
/// `state`.
pub async fn sync(
    prepared: &Prepared,
    destination: &Destination<'_>,
    state: &SyncState,
    options: &SyncOptions,
    on_progress: &mut dyn FnMut(&SyncProgress),
) -> Result<SyncOutcome, SyncError> {
    let mut outcome = SyncOutcome {
        prune: prune_list(prepared),
        ..SyncOutcome::default()
    };
    outcome.steps.push(("manifest", prepared.manifest_time));
    let planning = Instant::now();
    let manifest = &prepared.manifest;
    let current_hash = entries_hash(manifest.entries.iter());
    let options_hash = options_hash(&prepared.rules, options, destination.workdir);
    let header = state.header();
    let compatible = |header: &Header| {
        !options.full_resync
            && !options.checksum
            && header.workdir == destination.workdir
            && header.options_hash == options_hash
    };
    if let Some(header) = &header {
        let trusted = match header.remote {
            RemoteState::Clean => true,
            RemoteState::Pending => options.verify_in_command,
            RemoteState::Unknown => false,
        };
        if compatible(header) && header.manifest_hash == current_hash && trusted {
            outcome.skipped = true;
            outcome.verify = header.remote == RemoteState::Pending;
            // Same manifest: the next run may trust the watcher from here on.
            state.set_watch(prepared.watch)?;
            outcome.steps.push(("plan", planning.elapsed()));
            return Ok(outcome);
        }
    }

    let recorded = match &header {
        Some(header) if compatible(header) => state.load().map(|(_, records)| records),
        _ => None,
    };
    let remote = header
        .as_ref()
        .filter(|header| compatible(header))
        .map(|header| header.remote.clone())
        .unwrap_or(RemoteState::Unknown);
    // From here on the runner may be half-updated until the sync finishes.
    state.set_remote(RemoteState::Unknown)?;
    outcome.steps.push(("plan", planning.elapsed()));

    if options.full_resync {
        let started = Instant::now();
        reset_remote(destination).await?;
        outcome.steps.push(("reset", started.elapsed()));
    }
    let changed_remotely = match (&remote, &recorded) {
        (RemoteState::Pending, Some(_)) => {
            let started = Instant::now();
            let paths = read_remote_changes(destination)
                .await?
                .filter(|paths| paths.len() as u64 <= MAX_CHANGED_PATHS);
            outcome.steps.push(("remote_changes", started.elapsed()));
            paths
        }
        _ => None,
    };

    let mut list: Vec<&str> = Vec::new();
    let mut deletions: Vec<&str> = Vec::new();
    match (&recorded, &remote, &changed_remotely) {
        (Some(records), RemoteState::Clean, _) | (Some(records), RemoteState::Pending, Some(_)) => {
            let previous: std::collections::HashMap<&str, &Recorded> = records
                .iter()
                .map(|(path, record)| (path.as_str(), record))
                .collect();
            let suspects = suspect_paths(manifest, changed_remotely.as_ref());
            for entry in &manifest.entries {
                let unchanged = previous
                    .get(entry.path.as_str())
                    .is_some_and(|record| **record == Recorded::of(entry));
                if !unchanged || suspects.contains(entry.path.as_str()) {
                    list.push(&entry.path);
                }
            }
            if options.delete {
                let keep: BTreeSet<&str> = manifest
                    .skip_worktree
                    .iter()
                    .chain(&manifest.gitlinks)
                    .map(String::as_str)
                    .collect();
                for (path, _) in records {
                    if !manifest.contains(path) && !keep.contains(path.as_str()) {
                        deletions.push(path);
                    }
                }
            }
        }
        // Unknown remote or no record: let rsync compare every file.
        _ => list.extend(manifest.entries.iter().map(|entry| entry.path.as_str())),
    }
    outcome.paths_listed = list.len() as u64;
    outcome.deleted = deletions.len() as u64;

    // Deletions ride the rsync invocation; very long lists go first in chunks so
    // no single remote command line grows unbounded.
    let mut inline = deletions.as_slice();
    if delete_script(destination.workdir, inline).len() > MAX_INLINE_DELETE_BYTES {
        let started = Instant::now();
        for chunk in deletions.chunks(500) {
            let script = delete_script(destination.workdir, chunk);
            let command = format!("{script}true");
            let result = destination.connection.capture(&command).await?;
            if result.code != 0 {
                return Err(SyncError::Remote {
                    step: "delete".into(),
                    message: result.stderr.trim().to_string(),
                });
            }
        }
        outcome.steps.push(("delete", started.elapsed()));
        inline = &[];
    }
    // Nothing recorded means the runner's copy is new to us: try one archive stream
    // into an empty workdir first (it declines when the workdir has content).
    let mut archived = false;
    if recorded.is_none() && !options.checksum && !list.is_empty() {
        let started = Instant::now();
        if let Some(stats) = send_archive(
            destination.connection,
            &manifest.root,
            &list,
            destination.workdir,
            manifest.bytes,
        )
        .await?
        {
            outcome.files_sent = stats.files_sent;
            outcome.bytes_sent = stats.bytes_sent;
            outcome.steps.push(("archive", started.elapsed()));
            archived = true;
        }
    }
    if !archived && (!list.is_empty() || !inline.is_empty()) {
        let started = Instant::now();
        let before = delete_script(destination.workdir, inline);
        let stats = run_transfer(
            destination,
            &manifest.root,
            &list,
            &before,
            options,
            on_progress,
        )
        .await?;
        outcome.files_sent = stats.files_sent;
        outcome.bytes_sent = stats.bytes_sent;
        outcome.steps.push(("rsync", started.elapsed()));
    }

    let started = Instant::now();
    state.save(
        &Header {
            version: 1,
            workdir: destination.workdir.to_string(),
            options_hash,
            manifest_hash: current_hash,
            remote: RemoteState::Clean,
            watch: prepared.watch,
            prune: outcome.prune.clone(),
        },
        manifest
            .entries
            .iter()
            .map(|entry| (entry.path.as_str(), Recorded::of(entry))),
    )?;
    outcome.steps.push(("state", started.elapsed()));
    Ok(outcome)
}

/// Manifest paths a remote change list touches: the files themselves, and every
/// manifest file directly inside a directory whose entries changed (a deleted file
/// shows up only as its parent directory).
fn suspect_paths<'a>(manifest: &'a Manifest, changed: Option<&Vec<String>>) -> BTreeSet<&'a str> {
    let mut suspects = BTreeSet::new();
    let Some(changed) = changed else {
        return suspects;
    };
    let directories: BTreeSet<&str> = changed.iter().map(String::as_str).collect();
    for entry in &manifest.entries {
        let parent = entry
            .path
            .rsplit_once('/')
            .map(|(dir, _)| dir)
            .unwrap_or("");
        if directories.contains(entry.path.as_str()) || directories.contains(parent) {
            suspects.insert(entry.path.as_str());
        }
    }
    suspects
}

async fn run_transfer(
    destination: &Destination<'_>,
    root: &Path,
    list: &[&str],
    before: &str,
    options: &SyncOptions,
    on_progress: &mut dyn FnMut(&SyncProgress),
) -> Result<TransferStats, SyncError> {
    let transfer = send(
        destination.connection,
        root,
        list,
        destination.workdir,
        options.checksum,
        before,
    );
    tokio::pin!(transfer);
    let started = Instant::now();
    let mut ticker = tokio::time::interval_at(
        tokio::time::Instant::now() + Duration::from_secs(15),
        Duration::from_secs(15),
    );
    loop {
        tokio::select! {
            result = &mut transfer => return result,
            _ = ticker.tick() => {
                let elapsed = started.elapsed();
                if elapsed >= options.timeout {
                    return Err(SyncError::Timeout { after: elapsed });
                }
                on_progress(&SyncProgress::StillSyncing { elapsed });
            }
        }
    }
}

async fn reset_remote(destination: &Destination<'_>) -> Result<(), SyncError> {
    let command = format!(
        "rm -rf -- {workdir} {meta} && mkdir -p {workdir}",
        workdir = shell_quote(destination.workdir),
        meta = shell_quote(destination.meta_dir),
    );
    let result = destination.connection.capture(&command).await?;
    if result.code != 0 {
        return Err(SyncError::Remote {
            step: "reset".into(),
            message: result.stderr.trim().to_string(),
        });
    }
    Ok(())
}

/// The NUL-separated list the last command's background scan stored (waiting for
/// the scan to finish); `None` when there is no complete scan (the caller then
/// compares everything).
async fn read_remote_changes(
    destination: &Destination<'_>,
) -> Result<Option<Vec<String>>, SyncError> {
    let result = destination
        .connection
        .capture(&read_changes_command(destination.meta_dir))
        .await?;
    if result.code != 0 {
        return Ok(None);
    }
    Ok(Some(
        result
            .stdout
            .split('\0')
            .filter(|path| !path.is_empty())
            .map(|path| {
                let path = path.strip_prefix("./").unwrap_or(path);
                if path == "." {
                    String::new()
                } else {
                    path.to_string()
                }
            })
            .collect(),
    ))
}
