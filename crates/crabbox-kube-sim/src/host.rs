//! The machine behind a Running devbox: a private sshd that accepts the devbox's
//! generated key at the devbox's node port on the node host. As root each devbox
//! gets its own network namespace: sshd listens on port 22 of the namespace's
//! address and a relay on the node port carries connections to it (what
//! kube-proxy does for a NodePort); otherwise sshd listens on the node port itself.

use std::io;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::netns::Namespace;

pub struct DevboxHost {
    dir: tempfile::TempDir,
    node_host: String,
    pub port: u16,
    pub public_key: String,
    pub private_key: String,
    child: Option<Child>,
    namespace: Option<Namespace>,
    relay: Option<(Arc<AtomicBool>, JoinHandle<()>)>,
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
    /// Generates the host key and the devbox key pair and picks a node port;
    /// `isolated` puts the host in its own network namespace (root only).
    pub fn new(node_host: &str, isolated: bool) -> io::Result<DevboxHost> {
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
        let namespace = if isolated {
            // sshd reads the keys file as the logging-in user (`devbox`).
            std::fs::set_permissions(root, std::fs::Permissions::from_mode(0o755))?;
            std::fs::set_permissions(
                root.join("authorized_keys"),
                std::fs::Permissions::from_mode(0o644),
            )?;
            Some(Namespace::create()?)
        } else {
            None
        };
        Ok(DevboxHost {
            namespace,
            relay: None,
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
        let (listen_host, listen_port) = match &self.namespace {
            Some(namespace) => (namespace.devbox_ip.clone(), 22),
            None => (self.node_host.clone(), self.port),
        };
        let config = format!(
            "ListenAddress {host}\nPort {port}\nHostKey {root}/host_key\n\
             AuthorizedKeysFile {root}/authorized_keys\nPidFile {root}/sshd.pid\n\
             PasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\n\
             StrictModes no\nPermitRootLogin prohibit-password\nLogLevel VERBOSE\nMaxSessions 64\n",
            host = listen_host,
            port = listen_port,
            root = root.display()
        );
        std::fs::write(root.join("sshd_config"), config)?;
        if crate::netns::is_root() {
            std::fs::create_dir_all("/run/sshd")?;
        }
        let mut command = match &self.namespace {
            Some(namespace) => {
                let mut command = Command::new("ip");
                command.args(namespace.exec_prefix()).arg(sshd_binary()?);
                command
            }
            None => Command::new(sshd_binary()?),
        };
        let child = command
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
            if std::net::TcpStream::connect((listen_host.as_str(), listen_port)).is_ok() {
                return self.start_relay(&listen_host);
            }
            if !self.running() {
                break;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        self.stop();
        Err(io::Error::other(format!(
            "sshd did not listen on {listen_host}:{listen_port}"
        )))
    }

    /// For a namespaced host: the node port relays to sshd inside.
    fn start_relay(&mut self, devbox_ip: &str) -> io::Result<()> {
        if self.namespace.is_none() || self.relay.is_some() {
            return Ok(());
        }
        let listener = std::net::TcpListener::bind((self.node_host.as_str(), self.port))?;
        listener.set_nonblocking(true)?;
        let stop = Arc::new(AtomicBool::new(false));
        let target = (devbox_ip.to_string(), 22);
        let thread = crate::gateway::serve(listener, stop.clone(), move || Some(target.clone()));
        self.relay = Some((stop, thread));
        Ok(())
    }

    pub fn stop(&mut self) {
        if let Some((stop, thread)) = self.relay.take() {
            stop.store(true, Ordering::SeqCst);
            let _ = thread.join();
        }
        if let Some(mut child) = self.child.take() {
            // sshd runs in its own process group: ending the group also ends the
            // sessions it forked, as pausing a real devbox would.
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{}", child.id())])
                .stderr(Stdio::null())
                .status();
            let _ = child.kill();
            let _ = child.wait();
            // Daemons the sessions detached (setsid) die with the devbox too.
            if let Some(namespace) = &self.namespace {
                namespace.kill_all();
            }
        }
    }
}

impl Drop for DevboxHost {
    fn drop(&mut self) {
        self.stop();
    }
}
