//! A per-checkout inotify watcher that lets a warm run know "nothing changed
//! locally since the last sync" without stat-ing the tree.
//!
//! The watcher (`crabbox __watch <root> <dir>`) watches every directory of the
//! checkout except the pruned build-output directories and git's internals (it does
//! watch `.git` itself and `.git/info`, where the index and excludes live), and bumps
//! a generation counter on any event. A sync records the watcher's pid and the
//! generation it read *before* building its manifest; a later run that finds the same
//! watcher at the same generation skips the manifest entirely. Any doubt — no
//! watcher, a different pid, a bumped counter, a queue overflow — falls back to the
//! full manifest. Writes through mmap and changes made through other hard links are
//! not seen by inotify; `--full-resync` or `--checksum` cover those.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::mem::MaybeUninit;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crabbox_core::process::{in_own_group, wait_until_async};
use rustix::fs::inotify::{self, CreateFlags, ReadFlags, WatchFlags};
use sha2::{Digest, Sha256};

use crate::state::{hex, WatchMark};

/// How long a new watcher may take to watch the checkout.
const WATCHER_START: Duration = Duration::from_secs(2);

/// A watcher exits after this long without a run pinging it.
const IDLE_LIMIT: Duration = Duration::from_secs(4 * 60 * 60);

fn watch_flags() -> WatchFlags {
    WatchFlags::MODIFY
        | WatchFlags::ATTRIB
        | WatchFlags::CLOSE_WRITE
        | WatchFlags::CREATE
        | WatchFlags::DELETE
        | WatchFlags::DELETE_SELF
        | WatchFlags::MOVE_SELF
        | WatchFlags::MOVED_FROM
        | WatchFlags::MOVED_TO
        | WatchFlags::DONT_FOLLOW
        | WatchFlags::ONLYDIR
}

/// The state directory of the watcher for `root`.
pub fn watch_dir(state_dir: &Path, root: &Path) -> PathBuf {
    let digest = Sha256::digest(root.as_os_str().as_bytes());
    state_dir.join("watch").join(hex(&digest[..8]))
}

fn write_text(path: &Path, text: &str) {
    // A hint, not a record: no fsync (a crash also ends the watcher, and a new pid
    // never matches an old mark).
    let temporary = path.with_extension("tmp");
    if std::fs::write(&temporary, text).is_ok() {
        let _ = std::fs::rename(&temporary, path);
    }
}

/// A running watcher as seen by a run.
#[derive(Debug, Clone)]
pub struct Watch {
    dir: PathBuf,
    pid: u32,
}

impl Watch {
    /// Finds the watcher for `root`, starting one with `program __watch` when none
    /// runs. `None` when watching is impossible (no inotify, a failed start).
    pub async fn connect(
        state_dir: &Path,
        root: &Path,
        program: &Path,
        prune: &[String],
    ) -> Option<Watch> {
        let dir = watch_dir(state_dir, root);
        if let Some(watch) = Watch::running(&dir) {
            let _ = std::fs::write(dir.join("ping"), b"");
            return Some(watch);
        }
        std::fs::create_dir_all(&dir).ok()?;
        let _ = std::fs::remove_file(dir.join("ready"));
        let _ = std::fs::write(dir.join("ping"), b"");
        let mut command = std::process::Command::new(program);
        command.arg("__watch").arg(root).arg(&dir);
        for pattern in prune {
            command.arg("--prune").arg(pattern);
        }
        in_own_group(&mut command)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        let mut child = tokio::process::Command::from(command).spawn().ok()?;
        // Until the watcher says it is ready, or its process exits first.
        wait_until_async(WATCHER_START, || {
            Watch::running(&dir).is_some() || matches!(child.try_wait(), Ok(Some(_)))
        })
        .await;
        let watch = Watch::running(&dir)?;
        // Reap the launcher if it exits early; the watcher itself keeps running.
        tokio::spawn(async move {
            let _ = child.wait().await;
        });
        Some(watch)
    }

    /// Ends the watcher for `root`, if one runs.
    pub fn stop(state_dir: &Path, root: &Path) {
        let dir = watch_dir(state_dir, root);
        if let Some(watch) = Watch::running(&dir) {
            if let Some(pid) = rustix::process::Pid::from_raw(watch.pid as i32) {
                let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
            }
        }
        let _ = std::fs::remove_dir_all(dir);
    }

    fn running(dir: &Path) -> Option<Watch> {
        if !dir.join("ready").exists() {
            return None;
        }
        let pid: u32 = std::fs::read_to_string(dir.join("pid"))
            .ok()?
            .trim()
            .parse()
            .ok()?;
        let command_line = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
        let marker = dir.as_os_str().as_bytes();
        let alive = command_line
            .split(|byte| *byte == 0)
            .any(|argument| argument == marker);
        alive.then(|| Watch {
            dir: dir.to_path_buf(),
            pid,
        })
    }

    /// The current mark, or `None` when the watcher is gone or gave up.
    pub fn mark(&self) -> Option<WatchMark> {
        let generation = std::fs::read_to_string(self.dir.join("generation"))
            .ok()?
            .trim()
            .parse()
            .ok()?;
        Watch::running(&self.dir)
            .filter(|watch| watch.pid == self.pid)
            .map(|_| WatchMark {
                pid: self.pid,
                generation,
            })
    }
}

/// True for directories whose contents are never synced (pruned build output, git's
/// internals other than `.git` and `.git/info`).
fn skipped(path: &Path, root: &Path, prune: &[String]) -> bool {
    let relative = path.strip_prefix(root).unwrap_or(path);
    let Some(name) = path.file_name() else {
        return false;
    };
    if relative == Path::new(".git") || relative == Path::new(".git/info") {
        return false;
    }
    if relative.starts_with(".git") {
        return true;
    }
    prune.iter().any(|pattern| {
        if pattern.contains('/') {
            relative == Path::new(pattern)
        } else {
            OsStr::new(pattern) == name
        }
    })
}

/// Watches `top` and every directory below it that is not skipped.
fn add_tree(
    fd: &rustix::fd::OwnedFd,
    top: &Path,
    watched: &mut HashMap<i32, PathBuf>,
    root: &Path,
    prune: &[String],
) -> std::io::Result<()> {
    let mut pending = vec![top.to_path_buf()];
    while let Some(directory) = pending.pop() {
        if directory != root && skipped(&directory, root, prune) {
            continue;
        }
        match inotify::add_watch(fd, &directory, watch_flags()) {
            Ok(descriptor) => {
                watched.insert(descriptor, directory.clone());
            }
            Err(rustix::io::Errno::NOSPC) => {
                return Err(std::io::Error::other("inotify watch limit reached"))
            }
            Err(_) => continue,
        }
        let Ok(entries) = std::fs::read_dir(&directory) else {
            continue;
        };
        for entry in entries.flatten() {
            if entry.file_type().map(|kind| kind.is_dir()).unwrap_or(false) {
                pending.push(entry.path());
            }
        }
    }
    Ok(())
}

/// The watcher process: never returns while the checkout is watched.
pub fn run_watcher(root: &Path, dir: &Path, prune: &[String]) -> std::io::Result<()> {
    let fd = inotify::init(CreateFlags::CLOEXEC)?;
    let mut watched: HashMap<i32, PathBuf> = HashMap::new();
    add_tree(&fd, root, &mut watched, root, prune)?;
    let mut generation: u64 = 0;
    write_text(&dir.join("generation"), "0");
    write_text(&dir.join("pid"), &std::process::id().to_string());
    write_text(&dir.join("ready"), "");

    let idle_root = root.to_path_buf();
    let idle_dir = dir.to_path_buf();
    std::thread::spawn(move || loop {
        std::thread::sleep(Duration::from_secs(30));
        let pinged = std::fs::metadata(idle_dir.join("ping"))
            .and_then(|meta| meta.modified())
            .ok()
            .and_then(|time| SystemTime::now().duration_since(time).ok());
        let idle = pinged.map(|age| age > IDLE_LIMIT).unwrap_or(true);
        if idle || !idle_root.is_dir() {
            let _ = std::fs::remove_file(idle_dir.join("ready"));
            std::process::exit(0);
        }
    });

    let mut buffer = vec![MaybeUninit::<u8>::uninit(); 64 * 1024];
    let mut reader = inotify::Reader::new(&fd, &mut buffer);
    let mut new_directories = Vec::new();
    loop {
        let event = reader.next()?;
        let flags = event.events();
        if flags.contains(ReadFlags::ISDIR)
            && (flags.contains(ReadFlags::CREATE) || flags.contains(ReadFlags::MOVED_TO))
        {
            if let (Some(parent), Some(name)) = (watched.get(&event.wd()), event.file_name()) {
                new_directories.push(parent.join(OsStr::from_bytes(name.to_bytes())));
            }
        }
        if flags.contains(ReadFlags::IGNORED) && !flags.contains(ReadFlags::QUEUE_OVERFLOW) {
            watched.remove(&event.wd());
            if event.wd() >= 0 && watched.is_empty() {
                // The checkout itself is gone.
                let _ = std::fs::remove_file(dir.join("ready"));
                return Ok(());
            }
        }
        generation += 1;
        write_text(&dir.join("generation"), &generation.to_string());
        for directory in new_directories.drain(..) {
            // Events inside it before this point are covered by the bump above.
            if let Err(error) = add_tree(&fd, &directory, &mut watched, root, prune) {
                let _ = std::fs::remove_file(dir.join("ready"));
                return Err(error);
            }
        }
    }
}
