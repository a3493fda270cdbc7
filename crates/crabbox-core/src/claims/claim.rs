//! The claim record: what this machine remembers about a lease it uses.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

use crate::process::ProcessMark;
use crate::slug::normalize_slug;
use crate::time::parse_rfc3339;

/// One lease claim, stored as `<claims>/<leaseID>.json`.
///
/// Keys this version does not know (written by newer or other implementations) are
/// kept in `extra` so that rewriting a claim never drops them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Claim {
    #[serde(rename = "leaseID", deserialize_with = "null_as_default")]
    pub lease_id: String,
    /// Random token rewritten on every write; the compare-and-swap key.
    #[serde(
        deserialize_with = "null_as_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub revision: String,
    #[serde(
        deserialize_with = "null_as_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub slug: String,
    #[serde(
        deserialize_with = "null_as_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub provider: String,
    #[serde(
        rename = "cloudID",
        deserialize_with = "null_as_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub cloud_id: String,
    #[serde(rename = "cloudNumericID", skip_serializing_if = "Option::is_none")]
    pub cloud_numeric_id: Option<i64>,
    #[serde(
        rename = "cloudImmutableID",
        deserialize_with = "null_as_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub cloud_immutable_id: String,
    #[serde(
        rename = "providerScope",
        deserialize_with = "null_as_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub provider_scope: String,
    #[serde(
        rename = "staticHost",
        deserialize_with = "null_as_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub static_host: String,
    #[serde(
        rename = "staticUser",
        deserialize_with = "null_as_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub static_user: String,
    #[serde(
        rename = "staticPort",
        deserialize_with = "port_text",
        skip_serializing_if = "String::is_empty"
    )]
    pub static_port: String,
    #[serde(
        rename = "staticWorkRoot",
        deserialize_with = "null_as_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub static_work_root: String,
    #[serde(
        rename = "targetOS",
        deserialize_with = "null_as_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub target_os: String,
    #[serde(
        rename = "windowsMode",
        deserialize_with = "null_as_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub windows_mode: String,
    #[serde(
        rename = "sshHost",
        deserialize_with = "null_as_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub ssh_host: String,
    #[serde(
        rename = "sshPort",
        deserialize_with = "port_text",
        skip_serializing_if = "String::is_empty"
    )]
    pub ssh_port: String,
    #[serde(
        rename = "bridgeURL",
        deserialize_with = "null_as_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub bridge_url: String,
    #[serde(
        deserialize_with = "null_as_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub pond: String,
    #[serde(
        rename = "repoRoot",
        deserialize_with = "null_as_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub repo_root: String,
    /// RFC 3339 UTC; reset when the lease is reclaimed for another repository.
    #[serde(
        rename = "claimedAt",
        deserialize_with = "null_as_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub claimed_at: String,
    /// RFC 3339 UTC; refreshed on every use.
    #[serde(
        rename = "lastUsedAt",
        deserialize_with = "null_as_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub last_used_at: String,
    #[serde(
        rename = "idleTimeoutSeconds",
        deserialize_with = "null_as_default",
        skip_serializing_if = "is_zero"
    )]
    pub idle_timeout_seconds: i64,
    #[serde(
        rename = "cacheVolumes",
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub cache_volumes: Vec<String>,
    #[serde(
        deserialize_with = "null_as_default",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub labels: BTreeMap<String, String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Extra claim key naming the process that is creating the lease: set on the
/// claim written before the machine exists, removed once the lease is made.
pub const PENDING_CREATE_KEY: &str = "crabboxPendingCreate";

impl Claim {
    /// Marks the claim as written ahead of a create by `creator`.
    pub fn mark_pending(&mut self, creator: ProcessMark) {
        self.extra.insert(
            PENDING_CREATE_KEY.to_string(),
            serde_json::to_value(creator).expect("process mark serializes"),
        );
    }

    /// The process creating the lease, while the claim is pending.
    pub fn pending_creator(&self) -> Option<ProcessMark> {
        serde_json::from_value(self.extra.get(PENDING_CREATE_KEY)?.clone()).ok()
    }

    /// A pending claim whose creating process is gone: the create was killed
    /// before it finished, and whatever it made is an orphan.
    pub fn is_abandoned(&self) -> bool {
        self.extra.contains_key(PENDING_CREATE_KEY)
            && !self
                .pending_creator()
                .is_some_and(|creator| creator.is_alive())
    }

    pub fn new(lease_id: impl Into<String>, provider: impl Into<String>) -> Self {
        Self {
            lease_id: lease_id.into(),
            provider: provider.into(),
            ..Self::default()
        }
    }

    /// Copies every field of `template` that is empty here, leaving set fields alone.
    ///
    /// Identity and timestamps (`leaseID`, `revision`, `claimedAt`, `lastUsedAt`) are
    /// never copied; they belong to the stored claim.
    pub fn fill_missing_from(&mut self, template: &Claim) {
        let text_fields: [(&mut String, &String); 16] = [
            (&mut self.slug, &template.slug),
            (&mut self.provider, &template.provider),
            (&mut self.cloud_id, &template.cloud_id),
            (&mut self.cloud_immutable_id, &template.cloud_immutable_id),
            (&mut self.provider_scope, &template.provider_scope),
            (&mut self.static_host, &template.static_host),
            (&mut self.static_user, &template.static_user),
            (&mut self.static_port, &template.static_port),
            (&mut self.static_work_root, &template.static_work_root),
            (&mut self.target_os, &template.target_os),
            (&mut self.windows_mode, &template.windows_mode),
            (&mut self.ssh_host, &template.ssh_host),
            (&mut self.ssh_port, &template.ssh_port),
            (&mut self.bridge_url, &template.bridge_url),
            (&mut self.pond, &template.pond),
            (&mut self.repo_root, &template.repo_root),
        ];
        for (field, value) in text_fields {
            if field.is_empty() {
                field.clone_from(value);
            }
        }
        if self.cloud_numeric_id.is_none() {
            self.cloud_numeric_id = template.cloud_numeric_id;
        }
        if self.idle_timeout_seconds == 0 {
            self.idle_timeout_seconds = template.idle_timeout_seconds;
        }
        if self.cache_volumes.is_empty() {
            self.cache_volumes.clone_from(&template.cache_volumes);
        }
        if self.labels.is_empty() {
            self.labels.clone_from(&template.labels);
        }
        for (key, value) in &template.extra {
            self.extra
                .entry(key.clone())
                .or_insert_with(|| value.clone());
        }
    }

    /// Why this otherwise well-formed claim cannot be trusted, if it cannot.
    pub(crate) fn validation_problem(&self) -> Option<String> {
        if self.provider.is_empty() {
            return Some("provider is empty".to_owned());
        }
        if !self.slug.is_empty() && normalize_slug(&self.slug) != self.slug {
            return Some(format!("slug {:?} is not normalized", self.slug));
        }
        for (key, value) in [
            ("claimedAt", &self.claimed_at),
            ("lastUsedAt", &self.last_used_at),
        ] {
            if !value.is_empty() && parse_rfc3339(value).is_none() {
                return Some(format!("{key} {value:?} is not an RFC 3339 timestamp"));
            }
        }
        if self.idle_timeout_seconds < 0 {
            return Some("idleTimeoutSeconds is negative".to_owned());
        }
        None
    }
}

fn is_zero(value: &i64) -> bool {
    *value == 0
}

/// Treats an explicit JSON `null` like a missing key, as Go's decoder does.
fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// Ports are strings in claims, but hand-edited files often hold numbers.
fn port_text<'de, D>(deserializer: D) -> Result<String, D::Error>
where
    D: Deserializer<'de>,
{
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Port {
        Text(String),
        Number(u64),
    }
    Ok(match Option::<Port>::deserialize(deserializer)? {
        Some(Port::Text(text)) => text,
        Some(Port::Number(number)) => number.to_string(),
        None => String::new(),
    })
}
