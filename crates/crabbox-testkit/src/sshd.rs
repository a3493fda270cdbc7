//! A private sshd on a free loopback port with generated keys, for transport tests
//! that need a real SSH server without going through a provider.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

pub struct SshdFixture {
    dir: tempfile::TempDir,
    child: Child,
    pub port: u16,
    pub user: String,
    pub client_key: PathBuf,
    /// `<type> <base64>` of the server's host key.
    pub host_key: String,
}

fn keygen(path: &Path) {
    let status = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(path)
        .stdout(Stdio::null())
        .status()
        .expect("ssh-keygen");
    assert!(status.success());
}

/// A loopback port nothing listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn sshd_binary() -> PathBuf {
    ["/usr/sbin/sshd", "/usr/local/sbin/sshd", "/sbin/sshd"]
        .iter()
        .map(PathBuf::from)
        .find(|path| path.is_file())
        .expect("sshd is installed (openssh-server)")
}

impl SshdFixture {
    pub fn start() -> SshdFixture {
        let dir = tempfile::Builder::new()
            .prefix("cbx-sshd-")
            .tempdir()
            .unwrap();
        let root = dir.path();
        keygen(&root.join("host_key"));
        keygen(&root.join("client_key"));
        std::fs::copy(root.join("client_key.pub"), root.join("authorized_keys")).unwrap();
        let user = String::from_utf8(Command::new("id").arg("-un").output().unwrap().stdout)
            .unwrap()
            .trim()
            .to_string();
        let port = free_port();
        let config = format!(
            "ListenAddress 127.0.0.1\nPort {port}\nHostKey {root}/host_key\n\
             AuthorizedKeysFile {root}/authorized_keys\nPidFile {root}/sshd.pid\n\
             PasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\n\
             StrictModes no\nPermitRootLogin prohibit-password\nLogLevel VERBOSE\n\
             MaxSessions 64\nSetEnv HOME={root}/home\n",
            root = root.display()
        );
        // Sessions get a HOME of their own: the account's shell profile (root's
        // on test machines) is not the test's business.
        std::fs::create_dir_all(root.join("home")).unwrap();
        std::fs::write(root.join("sshd_config"), config).unwrap();
        if crate::is_root() {
            std::fs::create_dir_all("/run/sshd").unwrap();
        }
        let child = Command::new(sshd_binary())
            .arg("-D")
            .arg("-f")
            .arg(root.join("sshd_config"))
            .arg("-E")
            .arg(root.join("sshd.log"))
            .stdin(Stdio::null())
            .spawn()
            .expect("start sshd");
        let ready = crate::eventually(10, || {
            std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
        assert!(ready, "sshd fixture did not start listening on {port}");
        let host_key = std::fs::read_to_string(root.join("host_key.pub"))
            .unwrap()
            .split_whitespace()
            .take(2)
            .collect::<Vec<_>>()
            .join(" ");
        SshdFixture {
            client_key: root.join("client_key"),
            dir,
            child,
            port,
            user,
            host_key,
        }
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Number of SSH handshakes accepted so far.
    pub fn handshakes(&self) -> usize {
        std::fs::read_to_string(self.dir().join("sshd.log"))
            .unwrap_or_default()
            .matches("Accepted publickey")
            .count()
    }
}

impl Drop for SshdFixture {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let root = self.dir().display().to_string();
        let _ = Command::new("pkill")
            .args(["-KILL", "-f", &root])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}
