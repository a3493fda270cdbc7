//! `lease.json`: what the local provider remembers about one lease.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::{Lease, LeaseState, ProviderError};

/// The persisted state of a local lease, written atomically.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LocalRecord {
    #[serde(rename = "leaseID")]
    pub lease_id: String,
    pub slug: String,
    pub state: LeaseState,
    pub user: String,
    pub port: u16,
    #[serde(default)]
    pub sshd_pid: i32,
    pub host_key: String,
    pub work_root: String,
    pub created_at: i64,
    pub last_touched_at: i64,
    pub idle_timeout_seconds: i64,
    pub ttl_seconds: i64,
    pub keep: bool,
    #[serde(default)]
    pub class: String,
    #[serde(default)]
    pub profile: String,
    #[serde(default)]
    pub pond: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exposed_ports: Vec<u16>,
    /// The lease's own address when its sshd runs in a network namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub netns: Option<crate::local::netns::NetnsLease>,
}

impl LocalRecord {
    pub fn read(path: &Path) -> Result<LocalRecord, ProviderError> {
        let text = std::fs::read(path)
            .map_err(|error| ProviderError::io(format!("read {}", path.display()), error))?;
        serde_json::from_slice(&text).map_err(|error| ProviderError::Failed {
            message: format!("corrupt local lease record {}: {error}", path.display()),
        })
    }

    pub fn write(&self, path: &Path) -> Result<(), ProviderError> {
        let mut text = serde_json::to_vec_pretty(self).expect("record serializes");
        text.push(b'\n');
        crabbox_core::write_private_atomic(path, &text)
            .map_err(|error| ProviderError::io(format!("write {}", path.display()), error))
    }

    pub fn to_lease(&self) -> Lease {
        let mut labels = BTreeMap::new();
        let expires_at = (self.created_at + self.ttl_seconds)
            .min(self.last_touched_at + self.idle_timeout_seconds);
        for (key, value) in [
            ("crabbox", "true".to_string()),
            ("created_by", "crabbox".to_string()),
            ("provider", "local".to_string()),
            ("lease", self.lease_id.clone()),
            ("slug", self.slug.clone()),
            ("keep", self.keep.to_string()),
            ("class", self.class.clone()),
            ("profile", self.profile.clone()),
            ("target", "linux".to_string()),
            ("server_type", "local".to_string()),
            ("state", self.state.as_str().to_string()),
            ("created_at", self.created_at.to_string()),
            ("last_touched_at", self.last_touched_at.to_string()),
            (
                "idle_timeout",
                crabbox_core::format_duration(std::time::Duration::from_secs(
                    self.idle_timeout_seconds.max(0) as u64,
                )),
            ),
            ("idle_timeout_secs", self.idle_timeout_seconds.to_string()),
            ("ttl_secs", self.ttl_seconds.to_string()),
            ("expires_at", expires_at.to_string()),
            ("work_root", self.work_root.clone()),
        ] {
            if !value.is_empty() {
                labels.insert(key.to_string(), value);
            }
        }
        if !self.pond.is_empty() {
            labels.insert("pond".into(), self.pond.clone());
        }
        if !self.exposed_ports.is_empty() {
            let ports: Vec<String> = self.exposed_ports.iter().map(u16::to_string).collect();
            labels.insert("crabbox_exposed_ports".into(), ports.join("-"));
        }
        if let Some(netns) = &self.netns {
            labels.insert("netns".into(), netns.name.clone());
        }
        Lease {
            id: self.lease_id.clone(),
            slug: self.slug.clone(),
            provider: "local".into(),
            state: self.state,
            server_id: self.sshd_pid.to_string(),
            name: resource_name(&self.lease_id, &self.slug),
            server_type: "local".into(),
            host: self
                .netns
                .as_ref()
                .map_or_else(|| "127.0.0.1".to_string(), |netns| netns.lease_ip.clone()),
            user: self.user.clone(),
            port: self.port,
            fallback_ports: Vec::new(),
            work_root: self.work_root.clone(),
            host_key: Some(self.host_key.clone()),
            ssh_key: None,
            created_at: self.created_at,
            last_touched_at: self.last_touched_at,
            idle_timeout_secs: self.idle_timeout_seconds,
            ttl_secs: self.ttl_seconds,
            keep: self.keep,
            pond: self.pond.clone(),
            labels,
        }
    }
}

/// The id of the inventory under `root`, created on first use (`O_EXCL`, so
/// processes racing to create it agree on one).
pub fn inventory_id(root: &Path) -> std::io::Result<String> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let path = root.join(".inventory-id");
    if let Ok(text) = std::fs::read_to_string(&path) {
        let id = text.trim();
        if !id.is_empty() {
            return Ok(id.to_string());
        }
    }
    crabbox_core::ensure_private_dir(root)?;
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).map_err(std::io::Error::other)?;
    let id: String = bytes.iter().map(|byte| format!("{byte:02x}")).collect();
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
    {
        Ok(mut file) => {
            file.write_all(format!("{id}\n").as_bytes())?;
            Ok(id)
        }
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {
            // Another process won; it may still be writing, so wait for its id.
            let mut outcome = None;
            crabbox_core::process::wait_until(std::time::Duration::from_millis(500), || {
                outcome = match std::fs::read_to_string(&path) {
                    Ok(text) if text.ends_with('\n') => Some(Ok(text.trim().to_string())),
                    Ok(_) => None,
                    Err(error) => Some(Err(error)),
                };
                outcome.is_some()
            });
            outcome.unwrap_or_else(|| {
                Err(std::io::Error::other(format!(
                    "{} stays empty",
                    path.display()
                )))
            })
        }
        Err(error) => Err(error),
    }
}

/// `crabbox-<slug>-<8 hex of fnv1a32(lease)>`.
pub fn resource_name(lease_id: &str, slug: &str) -> String {
    let hash = crabbox_core::fnv1a32(lease_id.as_bytes());
    if slug.is_empty() {
        format!("crabbox-cbx-{hash:08x}")
    } else {
        format!("crabbox-{slug}-{hash:08x}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn older_records_read_and_pond_metadata_becomes_labels() {
        let old = r#"{"leaseID":"cbx_0123456789ab","slug":"db","state":"ready","user":"root",
            "port":2222,"hostKey":"ssh-ed25519 AAAA","workRoot":"/w","createdAt":1,
            "lastTouchedAt":1,"idleTimeoutSeconds":60,"ttlSeconds":60,"keep":true}"#;
        let mut record: LocalRecord = serde_json::from_str(old).unwrap();
        assert!(record.exposed_ports.is_empty() && record.netns.is_none());
        let lease = record.to_lease();
        assert_eq!(lease.host, "127.0.0.1");
        assert!(!lease.labels.contains_key("crabbox_exposed_ports"));
        record.pond = "alpha".into();
        record.exposed_ports = vec![80, 8080];
        record.netns = Some(crate::local::netns::NetnsLease::plan(&record.lease_id, 3));
        let lease = record.to_lease();
        assert_eq!(lease.host, "10.213.0.14");
        assert_eq!(lease.labels["pond"], "alpha");
        assert_eq!(lease.labels["crabbox_exposed_ports"], "80-8080");
        assert_eq!(lease.labels["netns"], "cbx-0123456789ab");
        let text = serde_json::to_string(&record).unwrap();
        let back: LocalRecord = serde_json::from_str(&text).unwrap();
        assert_eq!(back.netns, record.netns);
    }
}
