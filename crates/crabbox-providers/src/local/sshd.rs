//! The private sshd behind each local lease: its config, start and liveness.

use std::path::{Path, PathBuf};

use crabbox_sshd::{Launch, SshdConfig, SshdError};

pub use crabbox_sshd::clean_environment;

use crate::ProviderError;

/// Files of one lease directory.
pub struct LeaseFiles {
    pub dir: PathBuf,
}

impl LeaseFiles {
    pub fn new(dir: PathBuf) -> LeaseFiles {
        LeaseFiles { dir }
    }
    pub fn record(&self) -> PathBuf {
        self.dir.join("lease.json")
    }
    pub fn config(&self) -> PathBuf {
        self.dir.join("sshd_config")
    }
    pub fn host_key(&self) -> PathBuf {
        self.dir.join("ssh_host_ed25519_key")
    }
    pub fn authorized_keys(&self) -> PathBuf {
        self.dir.join("authorized_keys")
    }
    pub fn pid_file(&self) -> PathBuf {
        self.dir.join("sshd.pid")
    }
    pub fn log(&self) -> PathBuf {
        self.dir.join("sshd.log")
    }
    pub fn work_root(&self) -> PathBuf {
        self.dir.join("work")
    }
}

/// Directives only a lease's sshd carries: key logins only, nothing forwarded
/// to or from the runner but ports, room for parallel connections, dead
/// clients noticed, and sftp for tools that want it.
const LEASE_DIRECTIVES: &[&str] = &[
    "PubkeyAuthentication yes",
    "X11Forwarding no",
    "AllowAgentForwarding no",
    "PermitUserEnvironment no",
    "PrintMotd no",
    "MaxStartups 64:30:128",
    "ClientAliveInterval 30",
    "Subsystem sftp internal-sftp",
];

/// Writes `sshd_config` for `listen:port` (loopback, or the lease's netns
/// address): the lease's own host key, the lease key as the only authorized key,
/// only the lease's user.
pub fn write_config(
    files: &LeaseFiles,
    listen: &str,
    port: u16,
    user: &str,
    session_home: Option<&Path>,
) -> Result<(), ProviderError> {
    let mut config = SshdConfig::new(
        listen,
        port,
        files.host_key(),
        files.authorized_keys(),
        files.pid_file(),
    );
    config.allow_user = Some(user.to_string());
    config.session_home = session_home.map(Path::to_path_buf);
    config.extra_directives = LEASE_DIRECTIVES
        .iter()
        .map(|line| line.to_string())
        .collect();
    config
        .write(&files.config())
        .map_err(|error| sshd_error(error, &files.config()))
}

/// Writes `text` to `path`, readable by this user only (0600).
pub fn write_private(path: &Path, text: &str) -> Result<(), ProviderError> {
    crabbox_sshd::write_private(path, text).map_err(|error| sshd_error(error, path))
}

/// A free loopback port. Another process could take it before sshd binds; `start`
/// retries with a new port when that happens.
pub fn free_port() -> Result<u16, ProviderError> {
    crabbox_sshd::free_port("127.0.0.1")
        .map_err(|error| ProviderError::io("find a free loopback port", error))
}

/// Starts sshd for the lease as a daemon, so it outlives the CLI. Returns the
/// daemon's pid. `prefix` (e.g. `ip netns exec <ns>`) runs sshd inside a
/// network namespace.
pub async fn start(
    files: &LeaseFiles,
    sshd: &Path,
    prefix: &[String],
) -> Result<i32, ProviderError> {
    let launch = Launch {
        sshd,
        config: &files.config(),
        log: &files.log(),
        prefix,
        clean_environment: true,
    };
    crabbox_sshd::start_daemon(&launch, &files.pid_file())
        .await
        .map_err(|error| sshd_error(error, sshd))
}

/// The local provider's wording of a launcher failure.
fn sshd_error(error: SshdError, subject: &Path) -> ProviderError {
    match error {
        SshdError::Exited { reason } => ProviderError::Failed {
            message: format!("sshd for the local lease did not start: {reason}"),
        },
        SshdError::NoPidFile { path } => ProviderError::Failed {
            message: format!(
                "sshd for the local lease started but wrote no pid file {}",
                path.display()
            ),
        },
        SshdError::Io { action, source } => ProviderError::io(action, source),
        other => ProviderError::Failed {
            message: format!("{}: {other}", subject.display()),
        },
    }
}

pub fn read_pid(files: &LeaseFiles) -> Option<i32> {
    crabbox_sshd::read_pid(&files.pid_file())
}

/// True when `pid` is this lease's sshd listener.
pub fn is_running(files: &LeaseFiles, pid: i32) -> bool {
    crabbox_core::process::is_alive_with(pid, &files.config().display().to_string())
}
