//! The private sshd behind each local lease: its config, start and liveness.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

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

/// Writes `sshd_config` for `listen:port` (loopback, or the lease's netns address), the lease's own host key, the
/// lease key as the only authorized key, no passwords, verbose log (one
/// `Accepted publickey` line per handshake, which tests count).
pub fn write_config(
    files: &LeaseFiles,
    listen: &str,
    port: u16,
    user: &str,
    session_home: Option<&Path>,
) -> Result<(), ProviderError> {
    let mut config = format!(
        "ListenAddress {listen}\n\
         Port {port}\n\
         HostKey {host_key}\n\
         AuthorizedKeysFile {authorized_keys}\n\
         PidFile {pid_file}\n\
         AllowUsers {user}\n\
         PubkeyAuthentication yes\n\
         PasswordAuthentication no\n\
         KbdInteractiveAuthentication no\n\
         UsePAM no\n\
         StrictModes no\n\
         PermitRootLogin prohibit-password\n\
         X11Forwarding no\n\
         AllowAgentForwarding no\n\
         PermitUserEnvironment no\n\
         PrintMotd no\n\
         MaxSessions 64\n\
         MaxStartups 64:30:128\n\
         ClientAliveInterval 30\n\
         LogLevel VERBOSE\n\
         Subsystem sftp internal-sftp\n",
        host_key = files.host_key().display(),
        authorized_keys = files.authorized_keys().display(),
        pid_file = files.pid_file().display(),
    );
    if let Some(home) = session_home {
        config.push_str(&format!("SetEnv HOME={}\n", home.display()));
    }
    write_private(&files.config(), &config)
}

/// Gives a process the local provider starts a clean environment: nothing the
/// starting process holds (a coordinator's tokens, database URL or provider
/// credentials) is inherited, only a fixed `PATH`, the user's `HOME` and `LANG`.
pub fn clean_environment(command: &mut Command) -> &mut Command {
    let home = std::env::var_os("HOME").unwrap_or_else(|| "/".into());
    command
        .env_clear()
        .env(
            "PATH",
            "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        )
        .env("HOME", home)
        .env("LANG", "C.UTF-8")
}

pub fn write_private(path: &Path, text: &str) -> Result<(), ProviderError> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let failed = |error| ProviderError::io(format!("write {}", path.display()), error);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(failed)?;
    file.write_all(text.as_bytes()).map_err(failed)
}

/// A free loopback port. Another process could take it before sshd binds; `start`
/// retries with a new port when that happens.
pub fn free_port() -> Result<u16, ProviderError> {
    let listener = TcpListener::bind("127.0.0.1:0")
        .map_err(|error| ProviderError::io("find a free loopback port", error))?;
    listener
        .local_addr()
        .map(|address| address.port())
        .map_err(|error| ProviderError::io("find a free loopback port", error))
}

/// Starts sshd for the lease. sshd daemonizes itself (new session, stdio on
/// /dev/null), so it outlives the CLI; once the launcher exits 0 the listener is
/// bound. Returns the daemon's pid.
/// `prefix` (e.g. `ip netns exec <ns>`) runs sshd inside a network namespace.
pub fn start(files: &LeaseFiles, sshd: &Path, prefix: &[String]) -> Result<i32, ProviderError> {
    if rustix::process::geteuid().is_root() {
        // sshd refuses to start as root without its privilege separation directory,
        // which only the system service normally creates.
        std::fs::create_dir_all("/run/sshd")
            .map_err(|error| ProviderError::io("create /run/sshd", error))?;
    }
    let _ = std::fs::remove_file(files.pid_file());
    let mut command = match prefix.split_first() {
        Some((program, args)) => {
            let mut command = Command::new(program);
            command.args(args).arg(sshd);
            command
        }
        None => Command::new(sshd),
    };
    let output = clean_environment(&mut command)
        .arg("-f")
        .arg(files.config())
        .arg("-E")
        .arg(files.log())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .map_err(|error| ProviderError::io(format!("start {}", sshd.display()), error))?;
    if !output.status.success() {
        let log = std::fs::read_to_string(files.log()).unwrap_or_default();
        let reason = String::from_utf8_lossy(&output.stderr)
            .lines()
            .chain(log.lines())
            .rfind(|line| !line.trim().is_empty())
            .unwrap_or("no diagnostics")
            .trim()
            .to_string();
        return Err(ProviderError::Failed {
            message: format!("sshd for the local lease did not start: {reason}"),
        });
    }
    for _ in 0..200 {
        if let Some(pid) = read_pid(files) {
            return Ok(pid);
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    Err(ProviderError::Failed {
        message: format!(
            "sshd for the local lease started but wrote no pid file {}",
            files.pid_file().display()
        ),
    })
}

pub fn read_pid(files: &LeaseFiles) -> Option<i32> {
    std::fs::read_to_string(files.pid_file())
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// True when `pid` is this lease's sshd listener.
pub fn is_running(files: &LeaseFiles, pid: i32) -> bool {
    super::processes::is_alive_with(pid, &files.config().display().to_string())
}
