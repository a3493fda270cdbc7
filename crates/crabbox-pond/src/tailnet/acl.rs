//! The opt-in ACL bootstrap: read the tailnet policy with its ETag, add the
//! pond's rows in place, write it back with `If-Match`, retrying exactly once
//! when someone else changed the policy in between.

use std::time::Duration;

use crabbox_core::Secret;
use crabbox_proto::ErrorClass;

use super::merge::{merge_policy, rows_present, MergeError};
use super::settings::AclSettings;
use crate::bridge::http;

/// Per-request timeout of the bootstrap.
pub const BOOTSTRAP_TIMEOUT: Duration = Duration::from_secs(6);
/// Largest policy file we read.
pub const MAX_POLICY_BYTES: usize = 256 * 1024;
/// Write attempts before a persisting ETag race is reported.
const ATTEMPTS: u8 = 2;

/// What the bootstrap did when it did not fail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BootstrapOutcome {
    /// A precondition was not met; nothing was sent. The text says which.
    NotRequested(&'static str),
    /// The policy already had the rows; nothing was written.
    AlreadyPresent,
    /// The merged policy was written on attempt 1 or 2.
    Written { attempts: u8 },
    /// The endpoint has no usable policy API (404, 501, or no ETag): lease
    /// creation proceeds and `doctor --pond` explains.
    Unavailable { api_url: String, reason: String },
}

/// A bootstrap failure; lease creation must stop before any resource is made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AclError {
    #[error("tailscale policy read failed: {detail}")]
    Read { status: Option<u16>, detail: String },
    #[error("tailscale policy update failed: {detail}")]
    Update { status: Option<u16>, detail: String },
    #[error("tailscale policy update failed: ETag race persisted after {ATTEMPTS} attempts")]
    RacePersisted,
    #[error("tailscale policy is larger than {MAX_POLICY_BYTES} bytes")]
    TooLarge,
    #[error(transparent)]
    Merge(#[from] MergeError),
    #[error("cannot reach the tailscale API: {0}")]
    Client(String),
}

impl AclError {
    pub fn hint(&self) -> String {
        match self {
            AclError::Read { status: Some(401 | 403), .. }
            | AclError::Update { status: Some(401 | 403), .. } => {
                "TS_API_KEY was refused; create an API key with policy-file write access".into()
            }
            AclError::RacePersisted => {
                "someone keeps editing the tailnet policy; retry, or add the pond rows by hand".into()
            }
            AclError::Merge(_) => "fix the tailnet policy file, or unset CRABBOX_POND_ACL_BOOTSTRAP and add the pond rows by hand (docs/ponds-tailnet.md)".into(),
            _ => "check TS_API_URL / CRABBOX_TS_API_URL and TS_TAILNET, or unset CRABBOX_POND_ACL_BOOTSTRAP".into(),
        }
    }

    /// What kind of failure this is; the CLI maps it to an exit code.
    pub fn class(&self) -> ErrorClass {
        match self {
            AclError::Read {
                status: Some(401 | 403),
                ..
            }
            | AclError::Update {
                status: Some(401 | 403),
                ..
            } => ErrorClass::Auth,
            AclError::Client(_) => ErrorClass::Unavailable,
            _ => ErrorClass::Failed,
        }
    }
}

/// Facts about the lease being created that gate the bootstrap; the caller
/// knows them, the bootstrap only checks them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BootstrapContext {
    pub tailscale_enabled: bool,
    /// A Tailscale-capable provider used directly (never brokered leases: the
    /// broker's key minting refuses dynamic tags).
    pub dynamic_tag_allowed: bool,
    /// A new lease, not the reuse of an existing one.
    pub new_lease: bool,
    /// A lease auth key is configured, so the node will actually enroll.
    pub lease_auth_key_configured: bool,
}

/// A policy as read, with its ETag when the endpoint sent one.
#[derive(Debug, Clone)]
pub(crate) struct Policy {
    pub text: String,
    pub etag: Option<String>,
}

/// How a read ended when it did not produce a policy.
#[derive(Debug)]
pub(crate) enum ReadFailure {
    Unavailable(String),
    Error(AclError),
}

/// Runs the bootstrap when every precondition holds; see [`ensure_rows`].
pub async fn maybe_bootstrap(
    settings: &AclSettings,
    context: BootstrapContext,
    tag: Option<&str>,
) -> Result<BootstrapOutcome, AclError> {
    let unmet = match () {
        _ if tag.is_none() => Some("no pond"),
        _ if !context.tailscale_enabled => Some("tailscale is not enabled"),
        _ if !context.dynamic_tag_allowed => Some("provider cannot carry a pond tag"),
        _ if !context.new_lease => Some("existing lease"),
        _ if !settings.bootstrap_opt_in => Some("CRABBOX_POND_ACL_BOOTSTRAP is not set"),
        _ if settings.api_key.is_none() => Some("TS_API_KEY is not set"),
        _ if !context.lease_auth_key_configured => Some("no tailscale auth key for the lease"),
        _ => None,
    };
    match (unmet, tag) {
        (None, Some(tag)) => ensure_rows(settings, tag).await,
        (reason, _) => Ok(BootstrapOutcome::NotRequested(reason.unwrap_or("no pond"))),
    }
}

/// Makes sure the policy has the owner entry and an access row for `tag`.
pub async fn ensure_rows(settings: &AclSettings, tag: &str) -> Result<BootstrapOutcome, AclError> {
    let Some(key) = settings.api_key.as_ref() else {
        return Ok(BootstrapOutcome::NotRequested("TS_API_KEY is not set"));
    };
    let client = http::client(BOOTSTRAP_TIMEOUT).map_err(AclError::Client)?;
    for attempt in 1..=ATTEMPTS {
        let policy = match read_policy(&client, settings, key).await {
            Ok(policy) => policy,
            Err(ReadFailure::Unavailable(reason)) => return Ok(unavailable(settings, reason)),
            Err(ReadFailure::Error(error)) => return Err(error),
        };
        let Some(etag) = policy.etag else {
            // Never write without compare-and-set.
            return Ok(unavailable(
                settings,
                "the policy came without an ETag".into(),
            ));
        };
        if rows_present(&policy.text, tag)? {
            return Ok(BootstrapOutcome::AlreadyPresent);
        }
        let merged = merge_policy(&policy.text, tag)?;
        match write_policy(&client, settings, key, &etag, merged).await? {
            true => return Ok(BootstrapOutcome::Written { attempts: attempt }),
            false => continue,
        }
    }
    Err(AclError::RacePersisted)
}

fn unavailable(settings: &AclSettings, reason: String) -> BootstrapOutcome {
    BootstrapOutcome::Unavailable {
        api_url: settings.api_url.clone(),
        reason,
    }
}

/// GETs the policy as HuJSON. 404 and 501 mean "no policy API here".
pub(crate) async fn read_policy(
    client: &reqwest::Client,
    settings: &AclSettings,
    key: &Secret,
) -> Result<Policy, ReadFailure> {
    let secrets = [key.expose()];
    let read_error =
        |status: Option<u16>, detail: String| ReadFailure::Error(AclError::Read { status, detail });
    let mut response = client
        .get(settings.policy_url())
        .basic_auth(key.expose(), Some(""))
        .header("Accept", "application/hujson")
        .send()
        .await
        .map_err(|error| read_error(None, http::transport(&error, &secrets)))?;
    let status = response.status().as_u16();
    if matches!(status, 404 | 501) {
        return Err(ReadFailure::Unavailable(format!(
            "the policy API answered {status}"
        )));
    }
    let etag = response
        .headers()
        .get("etag")
        .and_then(|value| value.to_str().ok())
        .map(str::to_string)
        .filter(|value| !value.is_empty());
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|error| read_error(Some(status), http::transport(&error, &secrets)))?
    {
        body.extend_from_slice(&chunk);
        if body.len() > MAX_POLICY_BYTES {
            return Err(ReadFailure::Error(AclError::TooLarge));
        }
    }
    let text = String::from_utf8_lossy(&body).into_owned();
    if !(200..300).contains(&status) {
        return Err(read_error(
            Some(status),
            api_message(status, &text, &secrets),
        ));
    }
    Ok(Policy { text, etag })
}

/// POSTs `policy` with `If-Match`; `Ok(false)` on 412 (the policy changed).
async fn write_policy(
    client: &reqwest::Client,
    settings: &AclSettings,
    key: &Secret,
    etag: &str,
    policy: String,
) -> Result<bool, AclError> {
    let secrets = [key.expose()];
    let response = client
        .post(settings.policy_url())
        .basic_auth(key.expose(), Some(""))
        .header("Content-Type", "application/hujson")
        .header("Accept", "application/json")
        .header("If-Match", etag)
        .body(policy)
        .send()
        .await
        .map_err(|error| AclError::Update {
            status: None,
            detail: http::transport(&error, &secrets),
        })?;
    let status = response.status().as_u16();
    if status == 412 {
        return Ok(false);
    }
    if (200..300).contains(&status) {
        return Ok(true);
    }
    let body = response.text().await.unwrap_or_default();
    Err(AclError::Update {
        status: Some(status),
        detail: api_message(status, &body, &secrets),
    })
}

/// `tailscale api <status>[: <message>]`, the message taken from a JSON body.
fn api_message(status: u16, body: &str, secrets: &[&str]) -> String {
    let message = serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|value| value["message"].as_str().map(str::to_string))
        .map(|message| http::snippet(&message, secrets))
        .unwrap_or_default();
    if message.is_empty() {
        format!("tailscale api {status}")
    } else {
        format!("tailscale api {status}: {message}")
    }
}
