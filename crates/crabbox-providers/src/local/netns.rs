//! Local leases in their own network namespace (`local.netns`): a netns
//! `cbx-<lease hex>` joined to the host by a veth pair on its own /30 from
//! 10.213.0.0/16, so each lease is a distinct host with its own address.
//! Needs root; everything is removed again on release and reap.

use std::path::Path;
use std::process::{Command, Stdio};

use serde::{Deserialize, Serialize};

use crate::ProviderError;

mod registry;

/// Number of /30 blocks in 10.213.0.0/16.
const BLOCKS: u32 = 16384;

/// The namespace plumbing of one lease, kept in its record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NetnsLease {
    pub name: String,
    pub host_veth: String,
    pub block: u32,
    pub host_ip: String,
    pub lease_ip: String,
}

impl NetnsLease {
    /// Names and addresses for `lease_id` in /30 block `block`.
    pub fn plan(lease_id: &str, block: u32) -> NetnsLease {
        let hex: String = lease_id
            .chars()
            .filter(char::is_ascii_hexdigit)
            .collect::<String>()
            .to_ascii_lowercase();
        let short = &hex[hex.len().saturating_sub(8)..];
        let base = block * 4;
        let address = |offset: u32| {
            let value = base + offset;
            format!("10.213.{}.{}", value / 256, value % 256)
        };
        NetnsLease {
            name: format!("cbx-{}", &hex[hex.len().saturating_sub(12)..]),
            host_veth: format!("cbxh{short}"),
            block,
            host_ip: address(1),
            lease_ip: address(2),
        }
    }

    fn lease_veth(&self) -> String {
        self.host_veth.replacen("cbxh", "cbxl", 1)
    }
}

/// The refusal for non-root callers.
pub fn require_root() -> Result<(), ProviderError> {
    if rustix::process::geteuid().is_root() {
        return Ok(());
    }
    Err(ProviderError::Prerequisite {
        message: "local.netns needs root: network namespaces and veth pairs cannot be created by this user".into(),
        hint: "run as root, or drop --local-netns / set local.netns: false to use 127.0.0.1".into(),
    })
}

fn ip(args: &[&str]) -> Result<(), ProviderError> {
    let output = super::sshd::clean_environment(&mut Command::new("ip"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|error| ProviderError::Prerequisite {
            message: format!("cannot run `ip`: {error}"),
            hint: "install iproute2 (apt-get install iproute2)".into(),
        })?;
    if output.status.success() {
        return Ok(());
    }
    Err(ProviderError::Failed {
        message: format!(
            "`ip {}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        ),
    })
}

fn link_exists(name: &str) -> bool {
    Path::new("/sys/class/net").join(name).exists()
}

/// Chooses a free block, starting at a hash of the lease so names and addresses
/// are stable; `taken` is read under the allocation lock.
fn choose(lease_id: &str, taken: &[u32]) -> Result<NetnsLease, ProviderError> {
    let start = crabbox_core::fnv1a32(lease_id.as_bytes()) % BLOCKS;
    (0..BLOCKS)
        .map(|step| NetnsLease::plan(lease_id, (start + step) % BLOCKS))
        .find(|plan| !taken.contains(&plan.block))
        .ok_or_else(|| ProviderError::Failed {
            message: "no free /30 left in 10.213.0.0/16 for a local netns lease".into(),
        })
}

/// Creates the namespace, the veth pair and the addresses of `plan`.
fn create(plan: NetnsLease) -> Result<NetnsLease, ProviderError> {
    if link_exists(&plan.host_veth) || Path::new("/run/netns").join(&plan.name).exists() {
        // Left over from a crash: start clean.
        remove(&plan);
    }
    let result = (|| {
        ip(&["netns", "add", &plan.name])?;
        let lease_veth = plan.lease_veth();
        ip(&[
            "link",
            "add",
            &plan.host_veth,
            "type",
            "veth",
            "peer",
            "name",
            &lease_veth,
        ])?;
        ip(&["link", "set", &lease_veth, "netns", &plan.name])?;
        ip(&[
            "addr",
            "add",
            &format!("{}/30", plan.host_ip),
            "dev",
            &plan.host_veth,
        ])?;
        ip(&["link", "set", &plan.host_veth, "up"])?;
        let inside = |args: &[&str]| {
            let mut full = vec!["-n", plan.name.as_str()];
            full.extend_from_slice(args);
            ip(&full)
        };
        inside(&["link", "set", "lo", "up"])?;
        inside(&[
            "addr",
            "add",
            &format!("{}/30", plan.lease_ip),
            "dev",
            &lease_veth,
        ])?;
        inside(&["link", "set", &lease_veth, "up"])?;
        // Replies to the host only; no forwarding or NAT is enabled anywhere.
        inside(&["route", "add", "default", "via", &plan.host_ip])
    })();
    match result {
        Ok(()) => Ok(plan),
        Err(error) => {
            remove(&plan);
            Err(error)
        }
    }
}

/// Serializes /30 allocation between concurrent acquires of one state directory.
fn lock(root: &Path) -> Result<std::fs::File, ProviderError> {
    let path = root.join(".netns.lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|error| ProviderError::io(format!("open {}", path.display()), error))?;
    rustix::fs::flock(&file, rustix::fs::FlockOperation::LockExclusive)
        .map_err(|error| ProviderError::io(format!("lock {}", path.display()), error.into()))?;
    Ok(file)
}

/// Takes the allocation lock, picks a block no other lease directory records
/// (`netns.json` stays until the directory is removed), creates the namespace and
/// records it. The caller holds the returned lock until its lease is written.
pub fn attach(
    root: &Path,
    lease_dir: &Path,
    lease_id: &str,
) -> Result<(std::fs::File, NetnsLease), ProviderError> {
    let lock = lock(root)?;
    let plan = choose(lease_id, &blocks_in_use(root))?;
    // Recorded before anything exists, in the lease directory and in the
    // machine-wide registry, so a process killed mid-way leaves nothing that
    // release, reap or the orphan sweep cannot find.
    write_pending(lease_dir, &plan)?;
    registry::record(&plan, lease_dir)?;
    let plan = create(plan)?;
    Ok((lock, plan))
}

/// Blocks recorded by every lease directory under `root`.
fn blocks_in_use(root: &Path) -> Vec<u32> {
    std::fs::read_dir(root)
        .map(|entries| {
            entries
                .flatten()
                .filter_map(|entry| read_pending(&entry.path()))
                .map(|plan| plan.block)
                .collect()
        })
        .unwrap_or_default()
}

/// Pids still running inside the namespace.
pub fn pids(plan: &NetnsLease) -> Vec<i32> {
    super::sshd::clean_environment(&mut Command::new("ip"))
        .args(["netns", "pids", &plan.name])
        .stderr(Stdio::null())
        .output()
        .map(|output| {
            String::from_utf8_lossy(&output.stdout)
                .split_whitespace()
                .filter_map(|pid| pid.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

/// Kills what is left inside, deletes the namespace and the host end of the veth
/// pair (the peer goes with it). Best effort: every step runs.
pub fn remove(plan: &NetnsLease) {
    for pid in pids(plan) {
        crabbox_core::process::kill(pid);
    }
    let _ = ip(&["netns", "del", &plan.name]);
    if link_exists(&plan.host_veth) {
        let _ = ip(&["link", "del", &plan.host_veth]);
    }
    registry::forget(plan);
}

/// Namespaces the machine's registry records for a lease directory under
/// `root` (one state directory's leases) that no longer exists: their lease
/// was deleted behind our back, or the process that created them was killed
/// before it could. Other state directories' namespaces are theirs to sweep.
pub fn orphans(root: &Path) -> Vec<NetnsLease> {
    registry::orphans(root)
}

const PENDING_FILE: &str = "netns.json";

/// Records a namespace in its lease directory before the lease record exists, so
/// a failed acquire or a sweep of an incomplete lease directory can still remove
/// it, and allocation sees the block as taken.
fn write_pending(lease_dir: &Path, plan: &NetnsLease) -> Result<(), ProviderError> {
    let text = serde_json::to_string(plan).expect("netns plan serializes");
    super::sshd::write_private(&lease_dir.join(PENDING_FILE), &text)
}

pub fn read_pending(lease_dir: &Path) -> Option<NetnsLease> {
    let text = std::fs::read(lease_dir.join(PENDING_FILE)).ok()?;
    serde_json::from_slice(&text).ok()
}

/// The `ip netns exec <name>` prefix for starting sshd inside.
pub fn exec_prefix(plan: &NetnsLease) -> Vec<String> {
    vec![
        "ip".into(),
        "netns".into(),
        "exec".into(),
        plan.name.clone(),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_are_deterministic_and_fit_interface_names() {
        let plan = NetnsLease::plan("cbx_0123456789ab", 5);
        assert_eq!(plan.name, "cbx-0123456789ab");
        assert_eq!(plan.host_veth, "cbxh456789ab");
        assert_eq!(plan.lease_veth(), "cbxl456789ab");
        assert!(plan.host_veth.len() <= 15);
        assert_eq!(plan.host_ip, "10.213.0.21");
        assert_eq!(plan.lease_ip, "10.213.0.22");
        let last = NetnsLease::plan("cbx_0123456789ab", BLOCKS - 1);
        assert_eq!(last.lease_ip, "10.213.255.254");
    }
}
