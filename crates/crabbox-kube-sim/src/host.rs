//! The machine behind a Running devbox: a private sshd that accepts the devbox's
//! generated key, listening on the node host at the devbox's node port.

use std::io;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct DevboxHost {
    dir: tempfile::TempDir,
    node_host: String,
    pub port: u16,
    pub public_key: String,
    pub private_key: String,
    child: Option<Child>,
}

fn keygen(path: &Path) -> io::Result<()> {
    let status = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "sealos-devbox", "-f"])
        .arg(path)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()?;
    if status.success() {
        Ok(())
    } else {
        Err(io::Error::other("ssh-keygen failed"))
    }
}

fn sshd_binary() -> io::Result<PathBuf> {
    ["/usr/sbin/sshd", "/usr/local/sbin/sshd", "/sbin/sshd"]
        .iter()
        .map(PathBuf::from)
        .find(|path| path.is_file())
        .ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::NotFound,
                "sshd is not installed (openssh-server)",
            )
        })
}

fn free_port(host: &str) -> io::Result<u16> {
    Ok(std::net::TcpListener::bind((host, 0))?.local_addr()?.port())
}

impl DevboxHost {
    /// Generates the host key and the devbox key pair and picks a node port.
    pub fn new(node_host: &str) -> io::Result<DevboxHost> {
        let dir = tempfile::Builder::new()
            .prefix("cbx-kube-sim-host-")
            .tempdir()?;
        let root = dir.path();
        keygen(&root.join("host_key"))?;
        keygen(&root.join("devbox_key"))?;
        std::fs::copy(root.join("devbox_key.pub"), root.join("authorized_keys"))?;
        let public_key = std::fs::read_to_string(root.join("devbox_key.pub"))?
            .trim()
            .to_string();
        let private_key = std::fs::read_to_string(root.join("devbox_key"))?;
        Ok(DevboxHost {
            port: free_port(node_host)?,
            node_host: node_host.to_string(),
            public_key,
            private_key,
            child: None,
            dir,
        })
    }

    pub fn running(&mut self) -> bool {
        match &mut self.child {
            Some(child) => matches!(child.try_wait(), Ok(None)),
            None => false,
        }
    }

    /// Starts sshd (if it is not running) and waits until it accepts connections.
    pub fn start(&mut self) -> io::Result<()> {
        if self.running() {
            return Ok(());
        }
        let root = self.dir.path();
        let config = format!(
            "ListenAddress {host}\nPort {port}\nHostKey {root}/host_key\n\
             AuthorizedKeysFile {root}/authorized_keys\nPidFile {root}/sshd.pid\n\
             PasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\n\
             StrictModes no\nPermitRootLogin prohibit-password\nLogLevel VERBOSE\nMaxSessions 64\n",
            host = self.node_host,
            port = self.port,
            root = root.display()
        );
        std::fs::write(root.join("sshd_config"), config)?;
        if rustix_is_root() {
            std::fs::create_dir_all("/run/sshd")?;
        }
        let child = Command::new(sshd_binary()?)
            .arg("-D")
            .arg("-f")
            .arg(root.join("sshd_config"))
            .arg("-E")
            .arg(root.join("sshd.log"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()?;
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if std::net::TcpStream::connect((self.node_host.as_str(), self.port)).is_ok() {
                return Ok(());
            }
            if !self.running() {
                break;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        self.stop();
        Err(io::Error::other(format!(
            "sshd did not listen on {}:{}",
            self.node_host, self.port
        )))
    }

    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            // sshd runs in its own process group: ending the group also ends the
            // sessions it forked, as pausing a real devbox would.
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{}", child.id())])
                .stderr(Stdio::null())
                .status();
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn rustix_is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find(|line| line.starts_with("Uid:"))
        .and_then(|line| line.split_whitespace().nth(1).map(|uid| uid == "0"))
        .unwrap_or(false)
}

impl Drop for DevboxHost {
    fn drop(&mut self) {
        self.stop();
    }
}
