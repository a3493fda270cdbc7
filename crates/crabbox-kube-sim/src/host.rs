//! The machine behind a Running devbox: a private sshd that accepts the devbox's
//! generated key at the devbox's node port on the node host. As root each devbox
//! gets its own network namespace: sshd listens on port 22 of the namespace's
//! address and a relay on the node port carries connections to it (what
//! kube-proxy does for a NodePort); otherwise sshd listens on the node port itself.

use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use crabbox_sshd::{Launch, Sshd, SshdConfig, SshdError};

use crate::netns::Namespace;

/// How long a starting sshd may take to accept connections.
const LISTEN_TIMEOUT: Duration = Duration::from_secs(10);

pub struct DevboxHost {
    dir: tempfile::TempDir,
    node_host: String,
    pub port: u16,
    pub public_key: String,
    pub private_key: String,
    sshd: Option<Sshd>,
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

fn sshd_failure(error: SshdError) -> io::Error {
    match error {
        SshdError::Io { source, .. } => source,
        other => io::Error::other(other.to_string()),
    }
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
            port: crabbox_sshd::free_port(node_host)?,
            node_host: node_host.to_string(),
            public_key,
            private_key,
            sshd: None,
            dir,
        })
    }

    pub fn running(&mut self) -> bool {
        self.sshd.as_mut().is_some_and(Sshd::is_running)
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
        SshdConfig::new(
            listen_host.as_str(),
            listen_port,
            root.join("host_key"),
            root.join("authorized_keys"),
            root.join("sshd.pid"),
        )
        .write(&root.join("sshd_config"))
        .map_err(sshd_failure)?;
        let prefix: Vec<String> = match &self.namespace {
            Some(namespace) => std::iter::once("ip".to_string())
                .chain(namespace.exec_prefix().iter().map(|part| part.to_string()))
                .collect(),
            None => Vec::new(),
        };
        let sshd_path = crabbox_sshd::find_sshd().map_err(sshd_failure)?;
        let launch = Launch {
            sshd: &sshd_path,
            config: &root.join("sshd_config"),
            log: &root.join("sshd.log"),
            prefix: &prefix,
            clean_environment: false,
        };
        match crabbox_sshd::start_foreground(&launch, &listen_host, listen_port, LISTEN_TIMEOUT) {
            Ok(sshd) => {
                self.sshd = Some(sshd);
                self.start_relay(&listen_host)
            }
            Err(error) => {
                self.stop();
                Err(sshd_failure(error))
            }
        }
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
        if let Some(mut sshd) = self.sshd.take() {
            // sshd runs in its own process group: ending the group also ends the
            // sessions it forked, as pausing a real devbox would.
            sshd.stop();
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
