//! The `pond` check of `doctor --pond`: does the tailnet policy carry the
//! pond's tag owner and access row? Read-only; reason codes in `details`.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;

use super::acl::{read_policy, ReadFailure};
use super::merge::{rows_present, TAG_OWNER};
use super::settings::AclSettings;
use crate::bridge::http;

/// Per-request timeout of the doctor lookup.
pub const DOCTOR_TIMEOUT: Duration = Duration::from_secs(4);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CheckStatus {
    Ok,
    Skip,
    Failed,
}

impl CheckStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CheckStatus::Ok => "ok",
            CheckStatus::Skip => "skip",
            CheckStatus::Failed => "failed",
        }
    }
}

/// One doctor check; `check` is always `pond`. A `failed` check makes doctor
/// exit 1.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PolicyCheck {
    pub status: CheckStatus,
    pub check: &'static str,
    pub message: String,
    pub details: BTreeMap<String, String>,
}

/// What the check needs to know about one local claim of the pond.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ClaimPlanes {
    /// The provider declares Tailscale (bidirectional or egress-only).
    pub tailscale: bool,
    pub url_bridge: bool,
    /// The claim recorded any tailnet address, name, tag or state.
    pub has_tailnet_metadata: bool,
}

impl ClaimPlanes {
    /// URL-first providers only count once the lease actually joined the tailnet.
    fn uses_tailnet(&self) -> bool {
        self.tailscale && (!self.url_bridge || self.has_tailnet_metadata)
    }
}

/// The HuJSON rows an operator adds by hand when the bootstrap cannot.
pub fn manual_snippet(tag: &str) -> String {
    format!(
        "\"tagOwners\": {{\"{tag}\": [\"{TAG_OWNER}\"]}},\n\
         \"grants\": [{{\"src\": [\"{tag}\"], \"dst\": [\"{tag}\"], \"ip\": [\"*\"]}}]"
    )
}

/// The check for `pond` (normalized) and its `tag`.
pub async fn tailscale_policy_check(
    pond: &str,
    tag: &str,
    claims: &[ClaimPlanes],
    settings: &AclSettings,
) -> PolicyCheck {
    let mut details = BTreeMap::from([
        ("pond".to_string(), pond.to_string()),
        ("tag".to_string(), tag.to_string()),
    ]);
    let verdict = |status, reason: &str, message: String, details: &mut BTreeMap<_, _>| {
        if !reason.is_empty() {
            details.insert("reason".to_string(), reason.to_string());
        }
        PolicyCheck {
            status,
            check: "pond",
            message,
            details: std::mem::take(details),
        }
    };
    if claims.is_empty() {
        let message = format!("pond {pond:?}: no local leases in this pond");
        return verdict(CheckStatus::Skip, "no_pond_claims", message, &mut details);
    }
    if !claims.iter().any(ClaimPlanes::uses_tailnet) {
        let message = format!("pond {pond:?}: no member uses the Tailscale plane");
        return verdict(
            CheckStatus::Skip,
            "no_tailscale_capable_provider",
            message,
            &mut details,
        );
    }
    let Some(key) = settings.api_key.as_ref() else {
        let message = format!(
            "pond {pond:?}: TS_API_KEY is not set, so the tailnet policy for {tag} cannot be verified"
        );
        return verdict(
            CheckStatus::Skip,
            "ts_api_key_missing",
            message,
            &mut details,
        );
    };
    details.insert("tailnet".to_string(), settings.tailnet.clone());
    let client = match http::client(DOCTOR_TIMEOUT) {
        Ok(client) => client,
        Err(error) => {
            let message = format!("tailscale policy lookup failed: {error}");
            return verdict(CheckStatus::Failed, "", message, &mut details);
        }
    };
    let policy = match read_policy(&client, settings, key).await {
        Ok(policy) => policy,
        Err(ReadFailure::Unavailable(reason)) => {
            details.insert("api_url".to_string(), settings.api_url.clone());
            let message = format!(
                "pond {pond:?}: {} has no Tailscale policy API ({reason}); on Headscale or \
                 another control server, add the pond rows to its policy by hand \
                 (docs/ponds-tailnet.md)",
                settings.api_url
            );
            return verdict(
                CheckStatus::Skip,
                "control_plane_incompatible",
                message,
                &mut details,
            );
        }
        Err(ReadFailure::Error(error)) => {
            let message = format!("tailscale policy lookup failed: {error}");
            return verdict(CheckStatus::Failed, "", message, &mut details);
        }
    };
    match rows_present(&policy.text, tag) {
        Ok(true) => {
            details.insert("mode".to_string(), "auto-managed".to_string());
            let message = format!("pond {pond:?}: Tailscale plane auto-managed ({tag})");
            verdict(CheckStatus::Ok, "", message, &mut details)
        }
        Ok(false) => {
            details.insert(
                "remedy".to_string(),
                "see_docs_features_pond_md".to_string(),
            );
            let message = format!(
                "pond {pond:?}: the tailnet policy lacks the owner or access rows for {tag}; \
                 set TS_API_KEY and CRABBOX_POND_ACL_BOOTSTRAP=1, or add them by hand: {}",
                manual_snippet(tag).replace('\n', " ")
            );
            verdict(CheckStatus::Failed, "", message, &mut details)
        }
        Err(error) => {
            let message = format!("tailscale policy lookup failed: {error}");
            verdict(CheckStatus::Failed, "", message, &mut details)
        }
    }
}
