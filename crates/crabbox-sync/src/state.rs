//! What this machine last sent to one lease's workdir, and whether the runner's copy
//! is known to still match it.
//!
//! Two files: a small JSON header (`<name>.header`, read on every run and rewritten
//! cheaply) and the records (`<name>`: NUL-separated `path, size, mtime_ns, mode,
//! kind` of every file that was sent), each replaced atomically. A sync marks the
//! header "unknown" before touching the remote, so an interrupted sync is never
//! mistaken for a finished one.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::manifest::{Entry, EntryKind};
use crate::SyncError;

const VERSION: u32 = 1;

/// What the runner's copy is known to be.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum RemoteState {
    /// Matches the recorded entries.
    Clean,
    /// Matched them before a command ran; the runner's scan of what that command
    /// changed must be checked before the copy is trusted again.
    Pending,
    /// Anything may differ: compare everything on the next sync.
    Unknown,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Header {
    pub version: u32,
    pub workdir: String,
    /// Hash of everything besides file metadata that shapes a sync (rules, flags).
    pub options_hash: String,
    /// Hash of the recorded entries.
    pub manifest_hash: String,
    pub remote: RemoteState,
    /// The local watcher's generation when the recorded manifest was built: while
    /// the same watcher still reports it, nothing changed locally.
    #[serde(default)]
    pub watch: Option<WatchMark>,
    /// Directories the runner-side scan prunes (from the rules of that sync).
    #[serde(default)]
    pub prune: Vec<String>,
}

/// Identifies one watcher process and how far it had counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct WatchMark {
    pub pid: u32,
    pub generation: u64,
}

/// One recorded file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    pub size: u64,
    pub mtime_ns: i64,
    pub mode: u32,
    pub kind: EntryKind,
}

impl Recorded {
    pub fn of(entry: &Entry) -> Recorded {
        Recorded {
            size: entry.size,
            mtime_ns: entry.mtime_ns,
            mode: entry.mode,
            kind: entry.kind,
        }
    }
}

/// The per-lease sync state file.
pub struct SyncState {
    path: PathBuf,
}

/// Hash of the metadata of `entries` (sorted by path), the fast no-change check.
pub fn entries_hash<'a>(entries: impl Iterator<Item = &'a Entry>) -> String {
    let mut hasher = Sha256::new();
    for entry in entries {
        hasher.update(entry.path.as_bytes());
        hasher.update([0]);
        hasher.update(entry.size.to_le_bytes());
        hasher.update(entry.mtime_ns.to_le_bytes());
        hasher.update(entry.mode.to_le_bytes());
        hasher.update([kind_byte(entry.kind)]);
    }
    hex(&hasher.finalize())
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

fn kind_byte(kind: EntryKind) -> u8 {
    match kind {
        EntryKind::File => b'f',
        EntryKind::Symlink => b'l',
    }
}

impl SyncState {
    pub fn at(path: impl Into<PathBuf>) -> SyncState {
        SyncState { path: path.into() }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn io(&self, action: &str, source: std::io::Error) -> SyncError {
        SyncError::Io {
            context: format!("{action} sync state {}", self.path.display()),
            source,
        }
    }

    fn header_path(&self) -> PathBuf {
        let mut name = self.path.file_name().unwrap_or_default().to_os_string();
        name.push(".header");
        self.path.with_file_name(name)
    }

    /// The header only; `None` when there is no usable state.
    pub fn header(&self) -> Option<Header> {
        let bytes = std::fs::read(self.header_path()).ok()?;
        serde_json::from_slice::<Header>(&bytes)
            .ok()
            .filter(|header| header.version == VERSION)
    }

    fn write_header(&self, header: &Header) -> Result<(), SyncError> {
        let bytes = serde_json::to_vec(header).expect("header serializes");
        crabbox_core::write_private_atomic(&self.header_path(), &bytes)
            .map_err(|error| self.io("write", error))
    }

    /// Header and every recorded entry.
    pub fn load(&self) -> Option<(Header, Vec<(String, Recorded)>)> {
        let header = self.header()?;
        let bytes = std::fs::read(&self.path).ok()?;
        let mut records = Vec::new();
        let mut fields = bytes.split(|byte| *byte == 0);
        while let Some(path) = fields.next() {
            if path.is_empty() {
                break;
            }
            let mut number =
                || -> Option<i64> { std::str::from_utf8(fields.next()?).ok()?.parse().ok() };
            let (size, mtime_ns, mode) = (number()?, number()?, number()?);
            let kind = match fields.next()? {
                b"l" => EntryKind::Symlink,
                _ => EntryKind::File,
            };
            records.push((
                String::from_utf8(path.to_vec()).ok()?,
                Recorded {
                    size: size as u64,
                    mtime_ns,
                    mode: mode as u32,
                    kind,
                },
            ));
        }
        Some((header, records))
    }

    /// Replaces records and header (records first, so a header never describes
    /// records that are not there).
    pub fn save<'a>(
        &self,
        header: &Header,
        records: impl Iterator<Item = (&'a str, Recorded)>,
    ) -> Result<(), SyncError> {
        if let Some(parent) = self.path.parent() {
            std::fs::create_dir_all(parent).map_err(|error| self.io("create", error))?;
        }
        let mut out = Vec::with_capacity(1 << 16);
        for (path, record) in records {
            out.extend_from_slice(path.as_bytes());
            out.push(0);
            for number in [record.size as i64, record.mtime_ns, record.mode as i64] {
                out.extend_from_slice(number.to_string().as_bytes());
                out.push(0);
            }
            out.push(kind_byte(record.kind));
            out.push(0);
        }
        crabbox_core::write_private_atomic(&self.path, &out)
            .map_err(|error| self.io("write", error))?;
        self.write_header(header)
    }

    /// Records that the same manifest is still current under a new watcher mark.
    pub fn set_watch(&self, watch: Option<WatchMark>) -> Result<(), SyncError> {
        match self.header() {
            Some(mut header) if header.watch != watch => {
                header.watch = watch;
                self.write_header(&header)
            }
            _ => Ok(()),
        }
    }

    /// Changes only the remote state, keeping the records.
    pub fn set_remote(&self, remote: RemoteState) -> Result<(), SyncError> {
        match self.header() {
            Some(mut header) if header.remote != remote => {
                header.remote = remote;
                self.write_header(&header)
            }
            _ => Ok(()),
        }
    }

    pub fn remove(&self) {
        let _ = std::fs::remove_file(self.header_path());
        let _ = std::fs::remove_file(&self.path);
    }

    /// Marks every `sync-*.state` in `dir` unknown (someone had a shell on the lease).
    pub fn invalidate_all(dir: &Path) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.starts_with("sync-") && name.ends_with(".state") && entry.path().is_file() {
                let _ = SyncState::at(entry.path()).set_remote(RemoteState::Unknown);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(path: &str, size: u64) -> Entry {
        Entry {
            path: path.into(),
            kind: EntryKind::File,
            size,
            mtime_ns: 1_700_000_000_123_456_789,
            mode: 0o644,
            tracked: true,
        }
    }

    #[test]
    fn round_trip_and_remote_updates() {
        let dir = tempfile::tempdir().unwrap();
        let state = SyncState::at(dir.path().join("s/state"));
        assert!(state.header().is_none());
        let entries = [entry("a b\nc", 3), entry("z", 0)];
        let header = Header {
            version: VERSION,
            workdir: "/w".into(),
            options_hash: "o".into(),
            manifest_hash: entries_hash(entries.iter()),
            remote: RemoteState::Clean,
            watch: None,
            prune: Vec::new(),
        };
        state
            .save(
                &header,
                entries.iter().map(|e| (e.path.as_str(), Recorded::of(e))),
            )
            .unwrap();
        let (loaded, records) = state.load().unwrap();
        assert_eq!(loaded.manifest_hash, header.manifest_hash);
        assert_eq!(records.len(), 2);
        assert_eq!(records[0].0, "a b\nc");
        assert_eq!(records[0].1, Recorded::of(&entries[0]));
        state.set_remote(RemoteState::Pending).unwrap();
        assert_eq!(state.header().unwrap().remote, RemoteState::Pending);
        assert_eq!(state.load().unwrap().1.len(), 2, "records kept");
    }

    #[test]
    fn hash_changes_with_any_metadata() {
        let base = entries_hash([entry("a", 1)].iter());
        assert_ne!(base, entries_hash([entry("a", 2)].iter()));
        assert_ne!(base, entries_hash([entry("b", 1)].iter()));
        let mut executable = entry("a", 1);
        executable.mode = 0o755;
        assert_ne!(base, entries_hash([executable].iter()));
    }
}
