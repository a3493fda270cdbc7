//! Per-devbox network namespaces (root only): each devbox host gets a netns
//! `cbxk-<block>` joined to the simulator's host by a veth pair on its own /30
//! from 10.214.0.0/16 (the local provider uses 10.213/16). A block is held by a
//! lock file under `/run/crabbox-kube-sim/blocks` naming the holder's pid, so
//! concurrent simulators never share one and a crashed holder's block is reused.

use std::io;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

/// Number of /30 blocks in 10.214.0.0/16.
const BLOCKS: u32 = 16384;
const LOCK_DIR: &str = "/run/crabbox-kube-sim/blocks";

/// One namespace and its veth pair; dropping it removes both.
pub struct Namespace {
    pub name: String,
    host_veth: String,
    pub devbox_ip: String,
    lock: PathBuf,
}

pub fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find(|line| line.starts_with("Uid:"))
        .and_then(|line| line.split_whitespace().nth(1).map(|uid| uid == "0"))
        .unwrap_or(false)
}

fn run(program: &str, args: &[&str]) -> io::Result<()> {
    let output = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()?;
    if output.status.success() {
        return Ok(());
    }
    Err(io::Error::other(format!(
        "`{program} {}` failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&output.stderr).trim()
    )))
}

fn address(block: u32, offset: u32) -> String {
    let value = block * 4 + offset;
    format!("10.214.{}.{}", value / 256, value % 256)
}

/// Takes the first free block from a per-process starting point.
fn claim_block() -> io::Result<(u32, PathBuf)> {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    std::fs::create_dir_all(LOCK_DIR)?;
    let start = std::process::id().wrapping_mul(97) + NEXT.fetch_add(1, Ordering::SeqCst);
    for step in 0..BLOCKS {
        let block = (start + step) % BLOCKS;
        let path = Path::new(LOCK_DIR).join(block.to_string());
        let created = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path);
        match created {
            Ok(_) => {
                std::fs::write(&path, std::process::id().to_string())?;
                return Ok((block, path));
            }
            Err(error) if error.kind() == io::ErrorKind::AlreadyExists => {
                // A holder that is gone (a crash) leaves its block free again. The
                // pid is written right after the create: an empty file is in use.
                let holder = std::fs::read_to_string(&path).unwrap_or_default();
                if holder
                    .trim()
                    .parse::<u32>()
                    .is_ok_and(|pid| !Path::new("/proc").join(pid.to_string()).exists())
                {
                    let _ = std::fs::remove_file(&path);
                }
            }
            Err(error) => return Err(error),
        }
    }
    Err(io::Error::other("no free /30 left in 10.214.0.0/16"))
}

impl Namespace {
    /// Creates the namespace, the veth pair and the addresses.
    pub fn create() -> io::Result<Namespace> {
        let (block, lock) = claim_block()?;
        let namespace = Namespace {
            name: format!("cbxk-{block}"),
            host_veth: format!("cbxk{block}h"),
            devbox_ip: address(block, 2),
            lock,
        };
        // Leftovers of a crashed holder of this block go first.
        namespace.remove_links();
        let devbox_veth = format!("cbxk{block}d");
        let host_ip = address(block, 1);
        let setup = || -> io::Result<()> {
            run("ip", &["netns", "add", &namespace.name])?;
            run(
                "ip",
                &[
                    "link",
                    "add",
                    &namespace.host_veth,
                    "type",
                    "veth",
                    "peer",
                    "name",
                    &devbox_veth,
                ],
            )?;
            run(
                "ip",
                &["link", "set", &devbox_veth, "netns", &namespace.name],
            )?;
            run(
                "ip",
                &[
                    "addr",
                    "add",
                    &format!("{host_ip}/30"),
                    "dev",
                    &namespace.host_veth,
                ],
            )?;
            run("ip", &["link", "set", &namespace.host_veth, "up"])?;
            let inside = |args: &[&str]| {
                let mut full = vec!["-n", namespace.name.as_str()];
                full.extend_from_slice(args);
                run("ip", &full)
            };
            inside(&["link", "set", "lo", "up"])?;
            inside(&[
                "addr",
                "add",
                &format!("{}/30", namespace.devbox_ip),
                "dev",
                &devbox_veth,
            ])?;
            inside(&["link", "set", &devbox_veth, "up"])
        };
        // On failure `namespace` drops here and removes what was made.
        setup()?;
        Ok(namespace)
    }

    /// `ip netns exec <name>`: the argv prefix that runs a program inside.
    pub fn exec_prefix(&self) -> [&str; 3] {
        ["netns", "exec", &self.name]
    }

    /// Kills every process inside (sshd, its sessions and whatever they left
    /// running), as stopping a devbox's container would.
    pub fn kill_all(&self) {
        let Ok(output) = Command::new("ip")
            .args(["netns", "pids", &self.name])
            .stderr(Stdio::null())
            .output()
        else {
            return;
        };
        for pid in String::from_utf8_lossy(&output.stdout).split_whitespace() {
            if let Ok(pid) = pid.parse() {
                crabbox_core::process::kill(pid);
            }
        }
    }

    fn remove_links(&self) {
        let quiet = |args: &[&str]| {
            let _ = Command::new("ip")
                .args(args)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        };
        // Deleting the namespace destroys its veth end and with it the pair.
        quiet(&["netns", "del", &self.name]);
        if Path::new("/sys/class/net").join(&self.host_veth).exists() {
            quiet(&["link", "del", &self.host_veth]);
        }
    }
}

impl Drop for Namespace {
    fn drop(&mut self) {
        self.kill_all();
        self.remove_links();
        let _ = std::fs::remove_file(&self.lock);
    }
}

/// The `devbox` user the devboxes' sshd serves, created (system user, home
/// `/home/devbox`, password field `*` so sshd does not treat it as locked) when
/// missing.
pub fn ensure_devbox_user() -> io::Result<()> {
    let exists = || {
        Command::new("id")
            .args(["-u", "devbox"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success())
    };
    if exists() {
        return Ok(());
    }
    let shell = if Path::new("/bin/bash").exists() {
        "/bin/bash"
    } else {
        "/bin/sh"
    };
    let created = run(
        "useradd",
        &[
            "--system",
            "--create-home",
            "--home-dir",
            "/home/devbox",
            "--shell",
            shell,
            "--password",
            "*",
            "devbox",
        ],
    );
    // A concurrent simulator may have created it first.
    match created {
        Err(_) if exists() => Ok(()),
        other => other,
    }
}
