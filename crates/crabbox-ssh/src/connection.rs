//! One lease's SSH connection: the multiplexing master on a pinned port, captured
//! helper calls, and the streamed user command.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use tokio::io::AsyncReadExt;
use tokio::process::Command;
use tokio::sync::mpsc;

use crate::target::{Budget, Target};
use crate::{find_tool, SshError};

/// How long output is still collected after the runner reported the command's
/// exit status while a background process it started keeps the streams open.
const BACKGROUND_LINGER: std::time::Duration = std::time::Duration::from_millis(300);

/// What the remote command reads on its standard input after the exports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stdin {
    /// End of file at once.
    Closed,
    /// This process's own standard input, until it ends.
    Forward,
}

/// How long an idle master outlives its last use, so warm runs reuse it.
pub const CONTROL_PERSIST: &str = "10m";

/// Output of a captured remote call.
#[derive(Debug, Clone)]
pub struct Captured {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Which remote stream a chunk came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

/// Receives the streamed command's output as it arrives.
pub trait OutputSink {
    fn output(&mut self, stream: Stream, bytes: &[u8]);

    /// The exit status the remote side reported in-band, if any. Once both streams
    /// have ended and a status is known, the session is not waited for any longer
    /// (the runner may still be doing housekeeping with its streams closed).
    fn reported_exit(&self) -> Option<i32> {
        None
    }
}

/// How a streamed command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamOutcome {
    /// The remote command's exit code (255 is also OpenSSH's own failure code).
    Exited(i32),
    /// The cancel future fired; the remote process group was killed.
    Cancelled,
}

/// A target whose readiness has been proven on `port`; every call rides the master.
#[derive(Debug, Clone)]
pub struct Connection {
    pub target: Target,
    pub port: u16,
    ssh: PathBuf,
}

impl Connection {
    pub fn new(target: Target, port: u16) -> Result<Connection, SshError> {
        Ok(Connection {
            target,
            port,
            ssh: find_tool("ssh")?,
        })
    }

    pub fn ssh_program(&self) -> &Path {
        &self.ssh
    }

    /// Base options for the pinned port.
    pub fn args(&self) -> Vec<String> {
        self.target.base_args(self.port, Budget::Default)
    }

    pub fn control_path(&self) -> PathBuf {
        self.target.control_path(self.port)
    }

    /// True when a master for this target is running (a local socket check, no
    /// network round trip).
    pub async fn master_alive(&self) -> bool {
        control_command(&self.ssh, &self.control_path(), "check", &self.target)
            .await
            .map(|status| status == 0)
            .unwrap_or(false)
    }

    /// Starts the master in the background. Returns OpenSSH's exit code: 0 means the
    /// connection is authenticated.
    pub async fn start_master(&self, budget: Budget) -> Result<i32, SshError> {
        let mut args = self.target.base_args(self.port, budget);
        replace_option(&mut args, "ControlMaster=", "ControlMaster=yes");
        args.extend(["-o".into(), format!("ControlPersist={CONTROL_PERSIST}")]);
        // The backgrounded master inherits stderr; a pipe would never reach EOF, so
        // its diagnostics go to a file in the private control directory.
        let log = self.master_log();
        let _ = std::fs::remove_file(&log);
        args.extend(["-E".into(), log.display().to_string()]);
        let status = Command::new(&self.ssh)
            .args(&args)
            .args(["-f", "-N", "-n"])
            .arg(self.target.destination())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .status()
            .await
            .map_err(|source| spawn_error("ssh", source))?;
        Ok(status.code().unwrap_or(255))
    }

    /// Where the master's own diagnostics go.
    pub fn master_log(&self) -> PathBuf {
        self.target.control_dir.join("master.log")
    }

    /// The last line the master logged, for error messages.
    pub fn master_error(&self) -> Option<String> {
        let text = std::fs::read_to_string(self.master_log()).ok()?;
        text.lines()
            .rev()
            .find(|line| !line.trim().is_empty())
            .map(|line| line.trim().to_string())
    }

    /// Stops the master (`ssh -O exit`); harmless when none is running.
    pub async fn close(&self) {
        let _ = control_command(&self.ssh, &self.control_path(), "exit", &self.target).await;
    }

    /// True when SSH answers: `true` runs with the target's key (one attempt,
    /// readiness timeouts; over the master when one is running).
    pub async fn answers(&self) -> bool {
        self.capture_with("true", Budget::Readiness)
            .await
            .is_ok_and(|captured| captured.code == 0)
    }

    /// Runs a helper command and captures its output.
    pub async fn capture(&self, remote: &str) -> Result<Captured, SshError> {
        self.capture_with(remote, Budget::Default).await
    }

    async fn capture_with(&self, remote: &str, budget: Budget) -> Result<Captured, SshError> {
        let output = Command::new(&self.ssh)
            .args(self.target.base_args(self.port, budget))
            .arg("-n")
            .arg(self.target.destination())
            .arg(remote)
            .stdin(Stdio::null())
            .kill_on_drop(true)
            .output()
            .await
            .map_err(|source| spawn_error("ssh", source))?;
        Ok(Captured {
            code: output.status.code().unwrap_or(255),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        })
    }

    /// Streams `remote` with stdout and stderr kept apart; `input` (possibly
    /// empty) is the session's whole stdin. When `cancel` completes first, the
    /// local ssh is killed and `kill_remote` runs over the master so the
    /// runner-side process group dies too.
    pub async fn stream(
        &self,
        remote: &str,
        input: &[u8],
        stdin: Stdin,
        kill_remote: &str,
        sink: &mut dyn OutputSink,
        cancel: impl Future<Output = ()>,
    ) -> Result<StreamOutcome, SshError> {
        let mut command = Command::new(&self.ssh);
        command.args(self.args());
        if input.is_empty() && stdin == Stdin::Closed {
            command.arg("-n").stdin(Stdio::null());
        } else {
            command.stdin(Stdio::piped());
        }
        let mut child = command
            .arg(self.target.destination())
            .arg(remote)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|source| spawn_error("ssh", source))?;
        if let Some(mut pipe) = child.stdin.take() {
            use tokio::io::AsyncWriteExt;
            // The exports go first, before streaming starts (they are small). A
            // runner that exits early closes the pipe; not an error here.
            let _ = pipe.write_all(input).await;
            if stdin == Stdin::Forward {
                tokio::spawn(async move {
                    let _ = tokio::io::copy(&mut tokio::io::stdin(), &mut pipe).await;
                    let _ = pipe.shutdown().await;
                });
            }
        }
        let (sender, mut receiver) = mpsc::channel::<(Stream, Vec<u8>)>(64);
        if let Some(stdout) = child.stdout.take() {
            tokio::spawn(pump(stdout, Stream::Stdout, sender.clone()));
        }
        if let Some(stderr) = child.stderr.take() {
            tokio::spawn(pump(stderr, Stream::Stderr, sender.clone()));
        }
        drop(sender);
        tokio::pin!(cancel);
        let mut pipes_open = true;
        let mut exit: Option<i32> = None;
        // Set once the runner reported the command's status while something it
        // started in the background still holds the streams open.
        let mut linger: Option<tokio::time::Instant> = None;
        loop {
            if linger.is_none() && pipes_open && sink.reported_exit().is_some() {
                linger = Some(tokio::time::Instant::now() + BACKGROUND_LINGER);
            }
            tokio::select! {
                _ = tokio::time::sleep_until(linger.unwrap_or_else(tokio::time::Instant::now)), if linger.is_some() => {
                    // The command is done; a daemon it left running keeps its
                    // output to itself from now on.
                    let code = sink.reported_exit().expect("linger starts with a status");
                    let _ = child.start_kill();
                    let _ = child.wait().await;
                    while let Ok((stream, bytes)) = receiver.try_recv() {
                        sink.output(stream, &bytes);
                    }
                    return Ok(StreamOutcome::Exited(code));
                }
                chunk = receiver.recv(), if pipes_open => match chunk {
                    Some((stream, bytes)) => sink.output(stream, &bytes),
                    None => pipes_open = false,
                },
                status = child.wait(), if exit.is_none() => {
                    let status = status.map_err(|source| spawn_error("ssh", source))?;
                    exit = Some(status.code().unwrap_or(255));
                }
                _ = &mut cancel => {
                    let _ = child.start_kill();
                    let _ = self.capture(kill_remote).await;
                    let _ = child.wait().await;
                    while let Ok((stream, bytes)) = receiver.try_recv() {
                        sink.output(stream, &bytes);
                    }
                    return Ok(StreamOutcome::Cancelled);
                }
            }
            if let (Some(code), false) = (exit, pipes_open) {
                return Ok(StreamOutcome::Exited(code));
            }
            if let (Some(code), false) = (sink.reported_exit(), pipes_open) {
                // Only this mux client goes away; the master and the runner's
                // housekeeping carry on.
                let _ = child.start_kill();
                let _ = child.wait().await;
                return Ok(StreamOutcome::Exited(code));
            }
        }
    }
}

async fn pump(
    mut reader: impl tokio::io::AsyncRead + Unpin,
    stream: Stream,
    sender: mpsc::Sender<(Stream, Vec<u8>)>,
) {
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        match reader.read(&mut buffer).await {
            Ok(0) | Err(_) => return,
            Ok(read) => {
                if sender
                    .send((stream, buffer[..read].to_vec()))
                    .await
                    .is_err()
                {
                    return;
                }
            }
        }
    }
}

async fn control_command(
    ssh: &Path,
    control_path: &Path,
    operation: &str,
    target: &Target,
) -> std::io::Result<i32> {
    let status = Command::new(ssh)
        .arg("-o")
        .arg(format!("ControlPath={}", control_path.display()))
        .args(["-O", operation])
        .arg(target.destination())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .await?;
    Ok(status.code().unwrap_or(255))
}

fn replace_option(args: &mut [String], prefix: &str, replacement: &str) {
    for arg in args.iter_mut() {
        if arg.starts_with(prefix) {
            *arg = replacement.to_string();
        }
    }
}

fn spawn_error(program: &str, source: std::io::Error) -> SshError {
    SshError::Spawn {
        program: program.into(),
        source,
    }
}

/// Creates (or verifies) the private control directory for a lease:
/// `$XDG_RUNTIME_DIR/crabbox/<lease>` or `/tmp/crabbox-<uid>/<lease>`, each level
/// owned by us, mode 0700 and not a symlink. Kept short because Unix socket paths
/// are limited to about 100 bytes.
pub fn control_dir_for(lease_id: &str) -> Result<PathBuf, SshError> {
    let uid = rustix::process::geteuid().as_raw();
    let base = match std::env::var_os("XDG_RUNTIME_DIR") {
        Some(dir) if !dir.is_empty() && Path::new(&dir).is_dir() => {
            PathBuf::from(dir).join("crabbox")
        }
        _ => std::env::temp_dir().join(format!("crabbox-{uid}")),
    };
    let dir = base.join(lease_id);
    for level in [&base, &dir] {
        ensure_owned_private_dir(level, uid)?;
    }
    Ok(dir)
}

fn ensure_owned_private_dir(path: &Path, uid: u32) -> Result<(), SshError> {
    use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
    let unsafe_dir = |reason: &str| SshError::UnsafeControlDir {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    };
    match std::fs::symlink_metadata(path) {
        Ok(meta) => {
            if meta.file_type().is_symlink() || !meta.is_dir() {
                return Err(unsafe_dir("not a plain directory"));
            }
            if meta.uid() != uid {
                return Err(unsafe_dir("owned by another user"));
            }
            if meta.permissions().mode() & 0o077 != 0 {
                std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700))
                    .map_err(|_| unsafe_dir("cannot make it private"))?;
            }
            Ok(())
        }
        Err(_) => std::fs::DirBuilder::new()
            .mode(0o700)
            .create(path)
            .or_else(|error| match error.kind() {
                std::io::ErrorKind::AlreadyExists => Ok(()),
                _ => Err(error),
            })
            .map_err(|_| unsafe_dir("cannot create it")),
    }
}
