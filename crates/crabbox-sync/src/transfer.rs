//! rsync over the lease's SSH master, fed the manifest on stdin.

use std::path::Path;
use std::process::Stdio;

use tokio::io::AsyncWriteExt;
use tokio::process::Command;

use crabbox_ssh::{find_tool, shell_quote, Connection};

use crate::SyncError;

/// What a transfer moved.
#[derive(Debug, Clone, Default)]
pub struct TransferStats {
    pub files_sent: u64,
    pub bytes_sent: u64,
}

/// The `-e` value for rsync: the same ssh and options as every other call, so the
/// transfer rides the existing master.
pub fn rsync_shell(connection: &Connection) -> String {
    std::iter::once(connection.ssh_program().display().to_string())
        .chain(connection.args())
        .map(|word| rsync_quote(&word))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Writes `paths` NUL-separated into a child's stdin in the background (the child
/// reads while it works; writing first could fill the pipe and block).
pub fn feed_paths(
    mut stdin: tokio::process::ChildStdin,
    paths: &[&str],
) -> tokio::task::JoinHandle<()> {
    let mut list = Vec::with_capacity(paths.len() * 32);
    for path in paths {
        list.extend_from_slice(path.as_bytes());
        list.push(0);
    }
    tokio::spawn(async move {
        let _ = stdin.write_all(&list).await;
    })
}

/// A shell snippet (ending in `&& `, or empty) that deletes `paths` under `workdir`
/// and then removes directories the deletions left empty.
pub fn delete_script(workdir: &str, paths: &[&str]) -> String {
    if paths.is_empty() {
        return String::new();
    }
    let mut parents: Vec<&str> = paths
        .iter()
        .flat_map(|path| {
            let mut dirs = Vec::new();
            let mut rest = *path;
            while let Some((dir, _)) = rest.rsplit_once('/') {
                dirs.push(dir);
                rest = dir;
            }
            dirs
        })
        .collect();
    // Deepest first, so a parent is tried after its children.
    parents.sort_by(|a, b| {
        b.matches('/')
            .count()
            .cmp(&a.matches('/').count())
            .then(a.cmp(b))
    });
    parents.dedup();
    let quoted = |list: &[&str]| {
        list.iter()
            .map(|path| shell_quote(path))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let rmdir = if parents.is_empty() {
        String::new()
    } else {
        format!("; rmdir -- {} 2>/dev/null", quoted(&parents))
    };
    format!(
        "(cd {} && rm -f -- {}{rmdir}; true) && ",
        shell_quote(workdir),
        quoted(paths)
    )
}

/// rsync splits `-e` on spaces and honours single or double quotes (no escapes).
fn rsync_quote(word: &str) -> String {
    if !word.contains([' ', '\'', '"']) {
        word.to_string()
    } else if !word.contains('\'') {
        format!("'{word}'")
    } else {
        format!("\"{word}\"")
    }
}

/// Sends `paths` (relative to `root`) into `workdir` on the runner, creating the
/// workdir in the same remote invocation.
pub async fn send(
    connection: &Connection,
    root: &Path,
    paths: &[&str],
    workdir: &str,
    checksum: bool,
    before: &str,
) -> Result<TransferStats, SyncError> {
    let rsync = find_tool("rsync")?;
    let destination = format!("{}:{}/", connection.target.destination(), workdir);
    let mut command = Command::new(rsync);
    command.args(["-a", "--stats", "--files-from=-", "--from0"]);
    if checksum {
        command.arg("--checksum");
    }
    // `before` runs in the same remote invocation as the receiving rsync, so
    // deletions cost no extra round trip.
    let mut child = command
        .arg("-e")
        .arg(rsync_shell(connection))
        .arg("--rsync-path")
        .arg(format!(
            "mkdir -p {} && {before}rsync",
            shell_quote(workdir)
        ))
        .arg(format!("{}/", root.display()))
        .arg(destination)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(SyncError::io("start rsync"))?;
    let writer = feed_paths(child.stdin.take().expect("piped stdin"), paths);
    let output = child
        .wait_with_output()
        .await
        .map_err(SyncError::io("wait for rsync"))?;
    let _ = writer.await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        return Err(SyncError::Rsync {
            code: output.status.code().unwrap_or(-1),
            message: String::from_utf8_lossy(&output.stderr).trim().to_string(),
        });
    }
    Ok(parse_stats(&stdout))
}

fn parse_stats(stdout: &str) -> TransferStats {
    let mut stats = TransferStats::default();
    for line in stdout.lines() {
        if let Some(rest) = line.strip_prefix("Number of regular files transferred: ") {
            stats.files_sent = parse_number(rest);
        } else if let Some(rest) = line.strip_prefix("Total transferred file size: ") {
            stats.bytes_sent = parse_number(rest);
        }
    }
    stats
}

fn parse_number(text: &str) -> u64 {
    text.split_whitespace()
        .next()
        .unwrap_or("0")
        .replace(',', "")
        .parse()
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_are_parsed_from_rsync_output() {
        let text = "Number of files: 5 (reg: 4, dir: 1)\n\
                    Number of regular files transferred: 3\n\
                    Total transferred file size: 1,234 bytes\n";
        let stats = parse_stats(text);
        assert_eq!(stats.files_sent, 3);
        assert_eq!(stats.bytes_sent, 1234);
    }

    #[test]
    fn delete_script_removes_files_then_emptied_parents() {
        assert_eq!(delete_script("/w", &[]), "");
        assert_eq!(
            delete_script("/w", &["a/b/c.txt", "a/d.txt", "top"]),
            "(cd /w && rm -f -- a/b/c.txt a/d.txt top; rmdir -- a/b a 2>/dev/null; true) && "
        );
    }

    #[test]
    fn rsync_quoting_keeps_spaces_together() {
        assert_eq!(rsync_quote("plain"), "plain");
        assert_eq!(rsync_quote("/a b/key"), "'/a b/key'");
        assert_eq!(rsync_quote("it's"), "\"it's\"");
    }
}
