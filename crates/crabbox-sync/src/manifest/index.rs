//! Git's index as records: paths, modes, flags and the stat data git cached, read
//! from the index file directly or, when that format is not handled here, from
//! `git ls-files -s -t --debug`.

use std::borrow::Cow;
use std::io::{ErrorKind, Read};
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use super::git::index_location;
use crate::SyncError;

/// Stat fields git caches per entry, truncated to 32 bits as git stores them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct CachedStat {
    pub ctime: (u32, u32),
    pub mtime: (u32, u32),
    pub ino: u32,
    pub uid: u32,
    pub gid: u32,
    pub size: u32,
}

/// An object id as it appears in the source, converted only when needed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ObjectId<'a> {
    Raw(&'a [u8]),
    Hex(&'a [u8]),
}

impl ObjectId<'_> {
    pub(super) fn to_hex(self) -> String {
        match self {
            ObjectId::Raw(bytes) => bytes.iter().map(|byte| format!("{byte:02x}")).collect(),
            ObjectId::Hex(text) => String::from_utf8_lossy(text).into_owned(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct IndexRecord<'a> {
    pub path: Cow<'a, [u8]>,
    /// Git's mode: 0o100644, 0o100755, 0o120000 (symlink) or 0o160000 (gitlink).
    pub mode: u32,
    /// Non-zero for the sides of an unresolved merge.
    pub stage: u8,
    pub skip_worktree: bool,
    pub intent_to_add: bool,
    pub object: ObjectId<'a>,
    /// `None` when the source had no usable stat data.
    pub cached: Option<CachedStat>,
}

pub(super) const MODE_GITLINK: u32 = 0o160000;
pub(super) const MODE_SYMLINK: u32 = 0o120000;
const MODE_TYPE: u32 = 0o170000;
const MODE_DIRECTORY: u32 = 0o040000;

const FLAG_EXTENDED: u16 = 0x4000;
const FLAG_STAGE: u16 = 0x3000;
const EXTENDED_SKIP_WORKTREE: u16 = 0x4000;
const EXTENDED_INTENT_TO_ADD: u16 = 0x2000;
/// `CE_INTENT_TO_ADD` in the in-memory flags `ls-files --debug` prints.
const DEBUG_INTENT_TO_ADD: u32 = 1 << 29;

/// The index file as read once, with the time it was written: an entry modified
/// in that same second may have changed without its stat data showing it.
pub(super) struct IndexSnapshot {
    bytes: Vec<u8>,
    object_length: Option<usize>,
    pub modified_seconds: Option<u32>,
}

impl IndexSnapshot {
    pub(super) fn read(root: &Path) -> Result<IndexSnapshot, SyncError> {
        let location = index_location(root)?;
        let io_error = |source| SyncError::Io {
            context: format!("read {}", location.path.display()),
            source,
        };
        let mut snapshot = IndexSnapshot {
            bytes: Vec::new(),
            object_length: location.object_length,
            modified_seconds: None,
        };
        let mut file = match std::fs::File::open(&location.path) {
            Ok(file) => file,
            // A repository before its first `git add` has no index yet.
            Err(error) if error.kind() == ErrorKind::NotFound => return Ok(snapshot),
            Err(error) => return Err(io_error(error)),
        };
        let metadata = file.metadata().map_err(io_error)?;
        snapshot.modified_seconds = Some(metadata.mtime() as u32);
        file.read_to_end(&mut snapshot.bytes).map_err(io_error)?;
        Ok(snapshot)
    }

    /// The entries, or `None` when git has to list them instead.
    pub(super) fn records(&self) -> Option<Vec<IndexRecord<'_>>> {
        parse_index(&self.bytes, self.object_length?)
    }
}

/// Parses an index file (versions 2 to 4). `None` means "ask git instead": split
/// and sparse indexes, unknown versions and anything truncated are left to it.
pub(super) fn parse_index(bytes: &[u8], object_length: usize) -> Option<Vec<IndexRecord<'_>>> {
    let mut reader = Reader { bytes, position: 0 };
    if reader.take(4)? != b"DIRC" {
        return None;
    }
    let version = reader.u32()?;
    if !(2..=4).contains(&version) {
        return None;
    }
    let count = reader.u32()? as usize;
    let mut records: Vec<IndexRecord<'_>> = Vec::with_capacity(count.min(bytes.len() / 62));
    for _ in 0..count {
        let start = reader.position;
        let ctime = (reader.u32()?, reader.u32()?);
        let mtime = (reader.u32()?, reader.u32()?);
        let _device = reader.u32()?;
        let ino = reader.u32()?;
        let mode = reader.u32()?;
        let uid = reader.u32()?;
        let gid = reader.u32()?;
        let size = reader.u32()?;
        let object = reader.take(object_length)?;
        let flags = reader.u16()?;
        let extended = if flags & FLAG_EXTENDED == 0 {
            0
        } else if version >= 3 {
            reader.u16()?
        } else {
            return None;
        };
        let path = if version == 4 {
            // Version 4 stores how much of the previous path to drop, then the rest.
            let strip = reader.varint()?;
            let suffix = reader.until_nul()?;
            let previous = records
                .last()
                .map_or(&[][..], |record| record.path.as_ref());
            let kept = previous.len().checked_sub(strip)?;
            let mut path = Vec::with_capacity(kept + suffix.len());
            path.extend_from_slice(&previous[..kept]);
            path.extend_from_slice(suffix);
            Cow::Owned(path)
        } else {
            let path = reader.until_nul()?;
            // Entries are NUL-padded to a multiple of eight bytes.
            let length = reader.position - start;
            reader.take(length.next_multiple_of(8) - length)?;
            Cow::Borrowed(path)
        };
        if mode & MODE_TYPE == MODE_DIRECTORY {
            return None;
        }
        records.push(IndexRecord {
            path,
            mode,
            stage: ((flags & FLAG_STAGE) >> 12) as u8,
            skip_worktree: extended & EXTENDED_SKIP_WORKTREE != 0,
            intent_to_add: extended & EXTENDED_INTENT_TO_ADD != 0,
            object: ObjectId::Raw(object),
            cached: Some(CachedStat {
                ctime,
                mtime,
                ino,
                uid,
                gid,
                size,
            }),
        });
    }
    // Extensions until the trailing checksum; `link` (split index) and `sdir`
    // (sparse index) mean the entries above are not the whole story.
    while bytes.len().checked_sub(reader.position)? > object_length {
        let signature = reader.take(4)?;
        let length = reader.u32()? as usize;
        reader.take(length)?;
        if signature == b"link" || signature == b"sdir" {
            return None;
        }
    }
    Some(records)
}

/// Parses `git ls-files -z -s -t --debug`: `<tag> <mode> <object> <stage>\t<path>`
/// NUL-terminated, each followed by indented `key: value` lines. Debug lines that
/// cannot be read leave `cached` empty, which only costs a content check.
pub(super) fn parse_ls_files(output: &[u8]) -> Option<Vec<IndexRecord<'_>>> {
    let mut records: Vec<IndexRecord<'_>> = Vec::new();
    for mut record in output.split(|byte| *byte == 0) {
        let mut debug = DebugFields::default();
        while record.starts_with(b"  ") {
            let end = record.iter().position(|byte| *byte == b'\n')?;
            debug.read_line(&record[2..end]);
            record = &record[end + 1..];
        }
        if let Some(previous) = records.last_mut() {
            previous.cached = debug.stat();
            if debug.flags.unwrap_or(0) & DEBUG_INTENT_TO_ADD != 0 {
                previous.intent_to_add = true;
            }
        }
        if record.is_empty() {
            continue;
        }
        let tab = record.iter().position(|byte| *byte == b'\t')?;
        let mut fields = record[..tab].split(|byte| *byte == b' ');
        let tag = fields.next()?;
        let mode = u32::from_str_radix(std::str::from_utf8(fields.next()?).ok()?, 8).ok()?;
        let object = fields.next()?;
        let stage = std::str::from_utf8(fields.next()?).ok()?.parse().ok()?;
        records.push(IndexRecord {
            path: Cow::Borrowed(&record[tab + 1..]),
            mode,
            stage,
            // Lowercase tags mark assume-unchanged entries.
            skip_worktree: tag.eq_ignore_ascii_case(b"S"),
            intent_to_add: false,
            object: ObjectId::Hex(object),
            cached: None,
        });
    }
    Some(records)
}

#[derive(Default)]
struct DebugFields {
    ctime: Option<(u32, u32)>,
    mtime: Option<(u32, u32)>,
    ino: Option<u32>,
    uid: Option<u32>,
    gid: Option<u32>,
    size: Option<u32>,
    flags: Option<u32>,
}

impl DebugFields {
    /// One line such as `mtime: 1700000000:12345` or `dev: 2049\tino: 77`.
    fn read_line(&mut self, line: &[u8]) {
        let Ok(line) = std::str::from_utf8(line) else {
            return;
        };
        for field in line.split('\t') {
            let Some((key, value)) = field.split_once(": ") else {
                continue;
            };
            let time = || {
                let (seconds, nanoseconds) = value.split_once(':')?;
                Some((seconds.parse().ok()?, nanoseconds.parse().ok()?))
            };
            match key {
                "ctime" => self.ctime = time(),
                "mtime" => self.mtime = time(),
                "ino" => self.ino = value.parse().ok(),
                "uid" => self.uid = value.parse().ok(),
                "gid" => self.gid = value.parse().ok(),
                "size" => self.size = value.parse().ok(),
                "flags" => self.flags = u32::from_str_radix(value, 16).ok(),
                _ => {}
            }
        }
    }

    fn stat(&self) -> Option<CachedStat> {
        Some(CachedStat {
            ctime: self.ctime?,
            mtime: self.mtime?,
            ino: self.ino?,
            uid: self.uid?,
            gid: self.gid?,
            size: self.size?,
        })
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    position: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, length: usize) -> Option<&'a [u8]> {
        let slice = self
            .bytes
            .get(self.position..self.position.checked_add(length)?)?;
        self.position += length;
        Some(slice)
    }

    fn u16(&mut self) -> Option<u16> {
        Some(u16::from_be_bytes(self.take(2)?.try_into().ok()?))
    }

    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_be_bytes(self.take(4)?.try_into().ok()?))
    }

    /// Git's offset varint: seven bits per byte, each continuation adding one.
    fn varint(&mut self) -> Option<usize> {
        let mut byte = self.take(1)?[0];
        let mut value = usize::from(byte & 0x7f);
        while byte & 0x80 != 0 {
            byte = self.take(1)?[0];
            value = value
                .checked_add(1)?
                .checked_mul(128)?
                .checked_add(usize::from(byte & 0x7f))?;
        }
        Some(value)
    }

    fn until_nul(&mut self) -> Option<&'a [u8]> {
        let rest = &self.bytes[self.position..];
        let end = rest.iter().position(|byte| *byte == 0)?;
        self.position += end + 1;
        Some(&rest[..end])
    }
}
