//! First syncs into an empty workdir stream one tar archive over the master: for
//! many small files that is the physical limit (`tar c | ssh tar x`), where rsync
//! pays per-file round trips of its protocol.

use std::path::Path;
use std::process::Stdio;

use tokio::process::Command;

use crabbox_ssh::{find_tool, shell_quote, Connection};

use crate::transfer::{feed_paths, TransferStats};
use crate::SyncError;

/// Remote exit code meaning "the workdir is not empty; nothing was extracted".
const NOT_EMPTY: i32 = 98;

/// Streams `paths` as a tar archive into `workdir`, but only if the workdir is
/// missing or empty. `Ok(None)` means it was not empty and nothing happened, so the
/// caller falls back to rsync.
pub async fn send_archive(
    connection: &Connection,
    root: &Path,
    paths: &[&str],
    workdir: &str,
    bytes: u64,
) -> Result<Option<TransferStats>, SyncError> {
    let tar = find_tool("tar")?;
    let quoted = shell_quote(workdir);
    // The guard runs before tar reads anything, so a refused archive costs only
    // what the local side buffered into the pipe.
    let remote = format!(
        "if [ -d {quoted} ] && [ -n \"$(ls -A {quoted} 2>/dev/null)\" ]; then exit {NOT_EMPTY}; fi; \
         mkdir -p {quoted} && tar -x -p --no-same-owner -f - -C {quoted}"
    );
    let mut archiver = Command::new(tar)
        .arg("-C")
        .arg(root)
        .args(["--null", "--no-recursion", "-T", "-", "-c", "-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(SyncError::io("start tar"))?;
    let archive: Stdio = archiver
        .stdout
        .take()
        .expect("piped stdout")
        .try_into()
        .map_err(SyncError::io("connect tar to ssh"))?;
    let extractor = Command::new(connection.ssh_program())
        .args(connection.args())
        .arg(connection.target.destination())
        .arg(remote)
        .stdin(archive)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(SyncError::io("start ssh"))?;
    let writer = feed_paths(archiver.stdin.take().expect("piped stdin"), paths);
    let (extracted, archived) =
        tokio::join!(extractor.wait_with_output(), archiver.wait_with_output());
    let _ = writer.await;
    let extracted = extracted.map_err(SyncError::io("wait for ssh"))?;
    match extracted.status.code() {
        Some(0) => {}
        Some(NOT_EMPTY) => return Ok(None),
        code => {
            return Err(SyncError::Remote {
                step: "archive".into(),
                message: format!(
                    "remote tar exited {}: {}",
                    code.unwrap_or(-1),
                    String::from_utf8_lossy(&extracted.stderr).trim()
                ),
            })
        }
    }
    let archived = archived.map_err(SyncError::io("wait for tar"))?;
    if !archived.status.success() {
        return Err(SyncError::Remote {
            step: "archive".into(),
            message: format!(
                "local tar failed: {}",
                String::from_utf8_lossy(&archived.stderr).trim()
            ),
        });
    }
    Ok(Some(TransferStats {
        files_sent: paths.len() as u64,
        bytes_sent: bytes,
    }))
}
