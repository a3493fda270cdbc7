//! Starting and stopping sshd: as a daemon that detaches and outlives the caller
//! (a local lease), or as a foreground child leading its own process group (a
//! test fixture, a simulated devbox), and knowing when it accepts connections.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crabbox_core::process::{in_own_group, kill_group, wait_until, wait_until_async};

use crate::SshdError;

/// How long a daemon may take to write its pid file after its launcher exited.
const PID_FILE_WAIT: Duration = Duration::from_secs(1);

/// How to run sshd for one host.
#[derive(Debug, Clone, Copy)]
pub struct Launch<'a> {
    pub sshd: &'a Path,
    pub config: &'a Path,
    pub log: &'a Path,
    /// A wrapper to run sshd through, e.g. `ip netns exec <namespace>`.
    pub prefix: &'a [String],
    /// Start sshd with [`clean_environment`] instead of the caller's.
    pub clean_environment: bool,
}

impl Launch<'_> {
    fn command(&self, foreground: bool) -> Command {
        let mut command = match self.prefix.split_first() {
            Some((program, args)) => {
                let mut command = Command::new(program);
                command.args(args).arg(self.sshd);
                command
            }
            None => Command::new(self.sshd),
        };
        if self.clean_environment {
            clean_environment(&mut command);
        }
        if foreground {
            command.arg("-D");
        }
        command
            .arg("-f")
            .arg(self.config)
            .arg("-E")
            .arg(self.log)
            .stdin(Stdio::null())
            .stdout(Stdio::null());
        command
    }
}

/// Gives a process a clean environment: nothing the starting process holds (a
/// coordinator's tokens, database URL or provider credentials) is inherited,
/// only a fixed `PATH`, the user's `HOME` and `LANG`.
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

/// The system sshd in the usual places.
pub fn find_sshd() -> Result<PathBuf, SshdError> {
    ["/usr/sbin/sshd", "/usr/local/sbin/sshd", "/sbin/sshd"]
        .iter()
        .map(PathBuf::from)
        .find(|path| path.is_file())
        .ok_or(SshdError::NotInstalled)
}

/// A port on `host` nothing listens on right now. Another process could take it
/// before sshd binds; callers retry with a new port when that happens.
pub fn free_port(host: &str) -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind((host, 0))?.local_addr()?.port())
}

/// The pid a daemon wrote to `pid_file`.
pub fn read_pid(pid_file: &Path) -> Option<i32> {
    std::fs::read_to_string(pid_file).ok()?.trim().parse().ok()
}

/// sshd refuses to start as root without its privilege separation directory,
/// which only the system service normally creates.
fn prepare_privilege_separation() -> Result<(), SshdError> {
    if rustix::process::geteuid().is_root() {
        std::fs::create_dir_all("/run/sshd")
            .map_err(|error| SshdError::io("create /run/sshd", error))?;
    }
    Ok(())
}

/// Starts sshd as a daemon (new session, stdio on /dev/null) that outlives the
/// caller. Once its launcher exits 0 the listener is bound; returns the pid the
/// daemon wrote to `pid_file`.
pub async fn start_daemon(launch: &Launch<'_>, pid_file: &Path) -> Result<i32, SshdError> {
    prepare_privilege_separation()?;
    let _ = std::fs::remove_file(pid_file);
    let mut command = tokio::process::Command::from(launch.command(false));
    let output = command
        .stderr(Stdio::piped())
        .output()
        .await
        .map_err(|error| SshdError::io(format!("start {}", launch.sshd.display()), error))?;
    if !output.status.success() {
        let log = std::fs::read_to_string(launch.log).unwrap_or_default();
        let reason = String::from_utf8_lossy(&output.stderr)
            .lines()
            .chain(log.lines())
            .rfind(|line| !line.trim().is_empty())
            .unwrap_or("no diagnostics")
            .trim()
            .to_string();
        return Err(SshdError::Exited { reason });
    }
    if wait_until_async(PID_FILE_WAIT, || read_pid(pid_file).is_some()).await {
        if let Some(pid) = read_pid(pid_file) {
            return Ok(pid);
        }
    }
    Err(SshdError::NoPidFile {
        path: pid_file.to_path_buf(),
    })
}

/// Starts sshd in the foreground as a child leading its own process group and
/// waits (up to `timeout`) until `host:port` accepts connections.
pub fn start_foreground(
    launch: &Launch<'_>,
    host: &str,
    port: u16,
    timeout: Duration,
) -> Result<Sshd, SshdError> {
    prepare_privilege_separation()?;
    let mut command = launch.command(true);
    command.stderr(Stdio::null());
    let child = in_own_group(&mut command)
        .spawn()
        .map_err(|error| SshdError::io(format!("start {}", launch.sshd.display()), error))?;
    let mut sshd = Sshd { child: Some(child) };
    let listening = wait_until(timeout, || {
        TcpStream::connect((host, port)).is_ok() || !sshd.is_running()
    }) && sshd.is_running();
    if listening {
        return Ok(sshd);
    }
    sshd.stop();
    Err(SshdError::NotListening {
        host: host.to_string(),
        port,
    })
}

/// A foreground sshd; stopped when dropped.
#[derive(Debug)]
pub struct Sshd {
    child: Option<Child>,
}

impl Sshd {
    pub fn pid(&self) -> Option<i32> {
        self.child.as_ref().map(|child| child.id() as i32)
    }

    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|child| matches!(child.try_wait(), Ok(None)))
    }

    /// Kills sshd's whole process group (the listener and the connections it
    /// forked) and reaps it. Sessions that started a session of their own are
    /// the caller's to end.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            kill_group(child.id() as i32);
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        self.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SshdConfig;

    fn keygen(path: &Path) {
        let status = Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-f"])
            .arg(path)
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success());
    }

    fn host(dir: &Path, port: u16) -> SshdConfig {
        keygen(&dir.join("host_key"));
        std::fs::write(dir.join("authorized_keys"), "").unwrap();
        SshdConfig::new(
            "127.0.0.1",
            port,
            dir.join("host_key"),
            dir.join("authorized_keys"),
            dir.join("sshd.pid"),
        )
    }

    #[test]
    fn a_foreground_sshd_listens_until_stopped() {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port("127.0.0.1").unwrap();
        host(dir.path(), port)
            .write(&dir.path().join("sshd_config"))
            .unwrap();
        let sshd_path = find_sshd().unwrap();
        let launch = Launch {
            sshd: &sshd_path,
            config: &dir.path().join("sshd_config"),
            log: &dir.path().join("sshd.log"),
            prefix: &[],
            clean_environment: false,
        };
        let mut sshd =
            start_foreground(&launch, "127.0.0.1", port, Duration::from_secs(10)).unwrap();
        assert!(sshd.is_running());
        assert!(TcpStream::connect(("127.0.0.1", port)).is_ok());
        sshd.stop();
        assert!(!sshd.is_running());
        assert!(TcpStream::connect(("127.0.0.1", port)).is_err());
    }

    #[tokio::test]
    async fn a_daemon_reports_its_pid_or_why_it_failed() {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port("127.0.0.1").unwrap();
        let config = host(dir.path(), port);
        config.write(&dir.path().join("sshd_config")).unwrap();
        let sshd_path = find_sshd().unwrap();
        let launch = Launch {
            sshd: &sshd_path,
            config: &dir.path().join("sshd_config"),
            log: &dir.path().join("sshd.log"),
            prefix: &[],
            clean_environment: true,
        };
        let pid = start_daemon(&launch, &config.pid_file).await.unwrap();
        assert!(TcpStream::connect(("127.0.0.1", port)).is_ok());
        assert!(crabbox_core::process::kill(pid));
        let broken = Launch {
            config: &dir.path().join("missing_config"),
            ..launch
        };
        assert!(matches!(
            start_daemon(&broken, &config.pid_file).await,
            Err(SshdError::Exited { .. })
        ));
    }
}
