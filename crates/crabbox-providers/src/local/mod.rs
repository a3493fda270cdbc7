//! The `local` provider: each lease is a private sshd on 127.0.0.1 with its own
//! host key, the lease key as its only authorized key, and a work root inside the
//! lease directory. No account anywhere is needed, which makes it the default.

mod doctor;
pub mod netns;
mod processes;
mod reaper;
mod record;
mod settings;
mod sshd;

use std::path::PathBuf;

use async_trait::async_trait;
use crabbox_core::{ensure_private_dir, is_safe_file_stem, now_unix, Paths};

use crate::{
    AcquireRequest, Doctor, Feature, Lease, LeaseState, Provider, ProviderError, ProviderKind,
    ProviderSpec, Reaper, Released,
};
pub use record::resource_name;
use record::LocalRecord;
pub use settings::LocalSettings;
use sshd::LeaseFiles;

pub static LOCAL_SPEC: ProviderSpec = ProviderSpec {
    name: "local",
    aliases: &["localhost"],
    kind: ProviderKind::SshLease,
    features: &[Feature::Ssh, Feature::CrabboxSync, Feature::Cleanup],
    targets: &["linux"],
    coordinator: true,
    description: "a private sshd on 127.0.0.1 per lease; no account needed",
};

/// Lease directories without a readable record are removed by the sweep once they
/// are this old (an acquire that died half-way).
const INCOMPLETE_GRACE_SECS: i64 = 600;

pub struct LocalProvider {
    root: PathBuf,
    /// New leases get their own network namespace (`local.netns`).
    netns: bool,
    /// HOME of the lease's sessions (`local.home`); `None` keeps the account's.
    session_home: Option<PathBuf>,
}

impl LocalProvider {
    pub fn new(paths: &Paths) -> LocalProvider {
        LocalProvider::with_netns(paths, false)
    }

    /// A provider configured by `local.*`.
    pub fn with_settings(paths: &Paths, settings: &LocalSettings) -> LocalProvider {
        LocalProvider::with_netns(paths, settings.netns).with_session_home(settings.home.clone())
    }

    pub fn with_netns(paths: &Paths, netns: bool) -> LocalProvider {
        LocalProvider {
            root: paths.local_leases_dir(),
            netns,
            session_home: None,
        }
    }

    /// Sessions get `home` as HOME, so the account's own shell profile is not
    /// read (tests use this to stay independent of the machine's root profile).
    pub fn with_session_home(mut self, home: Option<PathBuf>) -> LocalProvider {
        self.session_home = home;
        self
    }

    fn files(&self, lease_id: &str) -> Result<LeaseFiles, ProviderError> {
        if !is_safe_file_stem(lease_id) {
            return Err(ProviderError::Failed {
                message: format!("invalid lease id {lease_id:?}"),
            });
        }
        Ok(LeaseFiles::new(self.root.join(lease_id)))
    }

    fn not_found(&self, lease_id: &str) -> ProviderError {
        ProviderError::NotFound {
            lease: lease_id.to_string(),
            provider: "local".into(),
            hint: Some(format!(
                "its lease directory {} is gone; start a new lease with `crabbox warmup`",
                self.root.join(lease_id).display()
            )),
        }
    }

    fn read(&self, lease_id: &str) -> Result<(LeaseFiles, LocalRecord), ProviderError> {
        let files = self.files(lease_id)?;
        if !files.record().is_file() {
            return Err(self.not_found(lease_id));
        }
        let record = LocalRecord::read(&files.record())?;
        Ok((files, record))
    }

    async fn start_sshd(
        &self,
        files: &LeaseFiles,
        record: &mut LocalRecord,
    ) -> Result<(), ProviderError> {
        let sshd = crabbox_ssh::find_tool("sshd")?;
        let mut last_error = None;
        for attempt in 0..5 {
            // Keep the recorded port on restart so existing known_hosts entries and
            // printed ssh commands stay valid; pick a new one if it is taken.
            let port = if attempt == 0 && record.port != 0 {
                record.port
            } else {
                sshd::free_port()?
            };
            let (listen, prefix) = match &record.netns {
                Some(plan) => (plan.lease_ip.clone(), netns::exec_prefix(plan)),
                None => ("127.0.0.1".to_string(), Vec::new()),
            };
            sshd::write_config(
                files,
                &listen,
                port,
                &record.user,
                self.session_home.as_deref(),
            )?;
            match sshd::start(files, &sshd, &prefix).await {
                Ok(pid) => {
                    record.port = port;
                    record.sshd_pid = pid;
                    return Ok(());
                }
                Err(error) => last_error = Some(error),
            }
        }
        Err(last_error.expect("at least one attempt"))
    }

    /// Ends the lease's processes and removes it (for synchronous callers).
    fn delete(&self, files: &LeaseFiles, pid: Option<i32>) -> Result<(), ProviderError> {
        processes::kill_lease_processes(pid, &files.dir);
        self.remove(files)
    }

    /// [`LocalProvider::delete`] without blocking the runtime while processes exit.
    async fn delete_async(
        &self,
        files: &LeaseFiles,
        pid: Option<i32>,
    ) -> Result<(), ProviderError> {
        processes::kill_lease_processes_async(pid, &files.dir).await;
        self.remove(files)
    }

    /// Removes the network namespace and the directory of a lease whose
    /// processes are gone.
    fn remove(&self, files: &LeaseFiles) -> Result<(), ProviderError> {
        let plan = LocalRecord::read(&files.record())
            .ok()
            .and_then(|record| record.netns)
            .or_else(|| netns::read_pending(&files.dir));
        if let Some(plan) = plan {
            netns::remove(&plan);
        }
        match std::fs::remove_dir_all(&files.dir) {
            Ok(()) => Ok(()),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(error) => Err(ProviderError::io(
                format!("remove {}", files.dir.display()),
                error,
            )),
        }
    }

    async fn create(
        &self,
        request: &AcquireRequest,
        files: &LeaseFiles,
    ) -> Result<Lease, ProviderError> {
        let host_key = crabbox_ssh::ensure_key_named(
            &files.dir,
            "ssh_host_ed25519_key",
            &format!("crabbox-local-host {}", request.lease_id),
        )?;
        let host_key = host_key
            .public_key_text()
            .map_err(|error| ProviderError::io("read the local host key", error))?;
        sshd::write_private(
            &files.authorized_keys(),
            &format!("{}\n", request.public_key.trim()),
        )?;
        std::fs::create_dir_all(files.work_root())
            .map_err(|error| ProviderError::io("create the local work root", error))?;
        let now = now_unix();
        let mut record = LocalRecord {
            lease_id: request.lease_id.to_string(),
            slug: request.slug.clone(),
            state: LeaseState::Leased,
            user: current_user(),
            port: 0,
            sshd_pid: 0,
            host_key: host_key_body(&host_key),
            work_root: files.work_root().display().to_string(),
            created_at: now,
            last_touched_at: now,
            idle_timeout_seconds: request.idle_timeout_secs,
            ttl_seconds: request.ttl_secs,
            keep: request.keep,
            class: request.class.clone(),
            profile: request.profile.clone(),
            pond: request.pond.clone(),
            exposed_ports: request.exposed_ports.clone(),
            netns: None,
        };
        // Held until lease.json names the block.
        let _lock = if self.netns {
            let (lock, plan) = netns::attach(&self.root, &files.dir, request.lease_id.as_str())?;
            record.netns = Some(plan);
            Some(lock)
        } else {
            None
        };
        self.start_sshd(files, &mut record).await?;
        record.write(&files.record())?;
        Ok(record.to_lease())
    }
}

/// `<type> <base64>` without the comment.
fn host_key_body(public_key: &str) -> String {
    public_key
        .split_whitespace()
        .take(2)
        .collect::<Vec<_>>()
        .join(" ")
}

/// The login name of the effective user: the runner's ssh user for local leases.
pub fn current_user() -> String {
    let uid = rustix::process::geteuid().as_raw();
    if let Ok(passwd) = std::fs::read_to_string("/etc/passwd") {
        for line in passwd.lines() {
            let fields: Vec<&str> = line.split(':').collect();
            if fields.len() > 2 && fields[2] == uid.to_string() {
                return fields[0].to_string();
            }
        }
    }
    std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| {
            if uid == 0 {
                "root".into()
            } else {
                uid.to_string()
            }
        })
}

#[async_trait]
impl Provider for LocalProvider {
    fn spec(&self) -> &'static ProviderSpec {
        &LOCAL_SPEC
    }

    async fn acquire(&self, request: &AcquireRequest) -> Result<Lease, ProviderError> {
        crabbox_ssh::find_tool("sshd")?;
        if self.netns {
            netns::require_root()?;
        }
        let files = self.files(request.lease_id.as_str())?;
        ensure_private_dir(&self.root)
            .map_err(|error| ProviderError::io(format!("create {}", self.root.display()), error))?;
        std::fs::create_dir(&files.dir)
            .map_err(|error| ProviderError::io(format!("create {}", files.dir.display()), error))?;
        match self.create(request, &files).await {
            Ok(lease) => Ok(lease),
            Err(error) => {
                // Roll back: no half-made lease and no stray sshd.
                let _ = self.delete_async(&files, sshd::read_pid(&files)).await;
                Err(error)
            }
        }
    }

    async fn resolve(&self, lease_id: &str) -> Result<Lease, ProviderError> {
        let (files, mut record) = self.read(lease_id)?;
        if record.to_lease().is_expired(now_unix()) {
            self.delete_async(&files, Some(record.sshd_pid)).await?;
            return Err(ProviderError::Expired {
                lease: lease_id.to_string(),
            });
        }
        if !sshd::is_running(&files, record.sshd_pid) {
            // The machine rebooted or someone killed sshd: bring the lease back.
            self.start_sshd(&files, &mut record).await?;
            record.write(&files.record())?;
        }
        Ok(record.to_lease())
    }

    async fn touch(
        &self,
        lease_id: &str,
        state: Option<LeaseState>,
        idle_timeout_secs: Option<i64>,
    ) -> Result<Lease, ProviderError> {
        let (files, mut record) = self.read(lease_id)?;
        record.last_touched_at = now_unix();
        if let Some(state) = state {
            record.state = state;
        }
        if let Some(idle) = idle_timeout_secs {
            record.idle_timeout_seconds = idle;
        }
        record.write(&files.record())?;
        Ok(record.to_lease())
    }

    async fn release(&self, lease_id: &str) -> Result<Released, ProviderError> {
        let files = self.files(lease_id)?;
        // "Already gone" must be proven: only an inventory we can list proves it.
        if let Err(error) = std::fs::read_dir(&self.root) {
            if error.kind() != std::io::ErrorKind::NotFound {
                return Err(ProviderError::io(
                    format!("list the local leases in {}", self.root.display()),
                    error,
                ));
            }
        }
        let existed = files.dir.exists();
        let pid = LocalRecord::read(&files.record())
            .ok()
            .map(|record| record.sshd_pid)
            .or_else(|| sshd::read_pid(&files));
        // Also ends an orphaned sshd whose directory was deleted behind our back.
        self.delete_async(&files, pid).await?;
        Ok(if existed {
            Released::Deleted
        } else {
            Released::AlreadyGone
        })
    }

    async fn list(&self) -> Result<Vec<Lease>, ProviderError> {
        Ok(self
            .records()
            .into_iter()
            .map(|(_, record)| record.to_lease())
            .collect())
    }

    /// The random id stored in the lease directory: processes sharing that
    /// directory share the inventory; another host or state directory does not.
    fn inventory_scope(&self) -> Option<String> {
        Some(match record::inventory_id(&self.root) {
            Ok(id) => format!("local:{id}"),
            // Matches no recorded scope, so nothing is deleted on a guess.
            Err(error) => format!("local-unreadable:{}:{error}", self.root.display()),
        })
    }

    fn ready_check(&self, lease: &Lease) -> Option<String> {
        Some(format!(
            "test -d {}",
            crabbox_ssh::shell_quote(&lease.work_root)
        ))
    }

    fn doctor(&self) -> Option<&dyn Doctor> {
        Some(self)
    }

    fn reaper(&self) -> Option<&dyn Reaper> {
        Some(self)
    }
}

impl LocalProvider {
    fn lease_dirs(&self) -> Vec<PathBuf> {
        let Ok(entries) = std::fs::read_dir(&self.root) else {
            return Vec::new();
        };
        let mut dirs: Vec<PathBuf> = entries
            .flatten()
            .map(|entry| entry.path())
            .filter(|path| path.is_dir())
            .collect();
        dirs.sort();
        dirs
    }

    fn records(&self) -> Vec<(PathBuf, LocalRecord)> {
        self.lease_dirs()
            .into_iter()
            .filter_map(|dir| {
                let record = LocalRecord::read(&dir.join("lease.json")).ok()?;
                Some((dir, record))
            })
            .collect()
    }
}
