//! A private sshd on a free loopback port with generated keys, for transport tests
//! that need a real SSH server without going through a provider.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use crabbox_sshd::{Launch, Sshd, SshdConfig};

pub struct SshdFixture {
    dir: tempfile::TempDir,
    sshd: Sshd,
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
    crabbox_sshd::free_port("127.0.0.1").unwrap()
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
        let mut config = SshdConfig::new(
            "127.0.0.1",
            port,
            root.join("host_key"),
            root.join("authorized_keys"),
            root.join("sshd.pid"),
        );
        // Sessions get a HOME of their own: the account's shell profile (root's
        // on test machines) is not the test's business.
        config.session_home = Some(root.join("home"));
        std::fs::create_dir_all(root.join("home")).unwrap();
        config.write(&root.join("sshd_config")).unwrap();
        let sshd_path = crabbox_sshd::find_sshd().expect("sshd is installed (openssh-server)");
        let launch = Launch {
            sshd: &sshd_path,
            config: &root.join("sshd_config"),
            log: &root.join("sshd.log"),
            prefix: &[],
            clean_environment: false,
        };
        let sshd =
            crabbox_sshd::start_foreground(&launch, "127.0.0.1", port, Duration::from_secs(10))
                .unwrap_or_else(|error| {
                    panic!("sshd fixture did not start listening on {port}: {error}")
                });
        let host_key = std::fs::read_to_string(root.join("host_key.pub"))
            .unwrap()
            .split_whitespace()
            .take(2)
            .collect::<Vec<_>>()
            .join(" ");
        SshdFixture {
            client_key: root.join("client_key"),
            dir,
            sshd,
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
        let listener = self.sshd.pid();
        self.sshd.stop();
        // Sessions run in sessions of their own; they still work in (or name)
        // the fixture's directory.
        let dir = self.dir.path().to_path_buf();
        crabbox_core::process::kill_all_until_gone(|| {
            crabbox_core::process::family_of(listener, &dir)
        });
    }
}
