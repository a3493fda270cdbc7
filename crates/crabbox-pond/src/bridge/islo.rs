//! Islo: per-port public HTTPS shares of a sandbox
//! (`GET|POST <base>/sandboxes/<name>/shares`). As Islo's SDK does, the API key
//! is exchanged at `POST <base>/auth/token` for a session token, which is cached
//! until shortly before it expires and sent as the bearer. Publishing reuses a
//! live share for the port before creating one; TTLs are clamped to what Islo
//! accepts.

use std::time::Duration;

use async_trait::async_trait;
use crabbox_core::Secret;
use serde::Deserialize;

use super::http::{self, decode, send};
use super::{check_port, BridgeAdapter, BridgeError, PeerTarget};
use crate::normalize_pond;

const PROVIDER: &str = "islo";
pub const DEFAULT_BASE_URL: &str = "https://api.islo.dev";
const LEASE_PREFIX: &str = "isb_";
/// Crabbox-created sandboxes are named `crabbox-<repo>-<suffix>`.
const NAME_PREFIX: &str = "crabbox-";
/// A share expiring sooner than this is not worth handing out.
const REUSE_SKEW_SECONDS: i64 = 30;
pub const MIN_TTL_SECONDS: u64 = 60;
pub const MAX_TTL_SECONDS: u64 = 7 * 24 * 3600;
const TIMEOUT: Duration = Duration::from_secs(30);
/// A session token is renewed this long before Islo says it expires.
const SESSION_REFRESH_MARGIN: Duration = Duration::from_secs(60);
const EXCHANGE: &str = "exchange the API key";

/// `POST /auth/token`'s answer.
#[derive(Debug, Deserialize)]
struct SessionAnswer {
    #[serde(default)]
    session_token: String,
    /// Seconds the session token lives.
    #[serde(default)]
    cookie_max_age: u64,
}

struct Session {
    token: Secret,
    renew_at: std::time::Instant,
}

#[derive(Debug, Deserialize)]
struct Share {
    #[serde(default)]
    share_id: String,
    #[serde(default)]
    url: String,
    #[serde(default)]
    port: u32,
    #[serde(default)]
    expires_at: Option<String>,
}

/// The Islo bridge; `Debug` never shows the key.
pub struct IsloAdapter {
    base_url: String,
    api_key: Secret,
    client: reqwest::Client,
    now: fn() -> i64,
    session: std::sync::Mutex<Option<Session>>,
}

impl IsloAdapter {
    pub fn new(base_url: &str, api_key: Secret) -> Result<IsloAdapter, BridgeError> {
        let invalid = |reason: String| BridgeError::InvalidSetting {
            provider: PROVIDER,
            setting: "ISLO_BASE_URL",
            reason,
        };
        Ok(IsloAdapter {
            base_url: http::base_url(base_url).map_err(invalid)?,
            api_key,
            client: http::client(TIMEOUT).map_err(invalid)?,
            now: crabbox_proto::time::now_unix,
            session: std::sync::Mutex::new(None),
        })
    }

    /// From `ISLO_API_KEY` and `ISLO_BASE_URL` (default the Islo API).
    pub fn from_lookup(
        lookup: &dyn Fn(&str) -> Option<String>,
    ) -> Result<IsloAdapter, BridgeError> {
        let key = Secret::from_setting(lookup("ISLO_API_KEY").as_deref()).ok_or(
            BridgeError::MissingSetting {
                provider: PROVIDER,
                name: "ISLO_API_KEY",
            },
        )?;
        let base = lookup("ISLO_BASE_URL").filter(|url| !url.trim().is_empty());
        IsloAdapter::new(base.as_deref().unwrap_or(DEFAULT_BASE_URL), key)
    }

    /// Replaces the clock (unix seconds) used to judge share expiry.
    pub fn with_clock(mut self, now: fn() -> i64) -> IsloAdapter {
        self.now = now;
        self
    }

    fn shares_url(&self, name: &str) -> String {
        format!("{}/sandboxes/{}/shares", self.base_url, http::segment(name))
    }

    /// The cached session token, or a fresh one from `POST /auth/token`.
    async fn session_token(&self) -> Result<Secret, BridgeError> {
        if let Some(session) = self.session.lock().expect("session lock").as_ref() {
            if std::time::Instant::now() < session.renew_at {
                return Ok(session.token.clone());
            }
        }
        let request = self
            .client
            .post(format!("{}/auth/token", self.base_url))
            .header("Accept", "application/json")
            .json(&serde_json::json!({ "access_key": self.api_key.expose() }));
        let answer = send(PROVIDER, EXCHANGE, request, self.api_key.expose()).await?;
        if !answer.ok() {
            return Err(answer.into_error(PROVIDER, EXCHANGE, self.api_key.expose()));
        }
        let exchanged: SessionAnswer = decode(PROVIDER, EXCHANGE, &answer)?;
        let token =
            Secret::from_setting(Some(&exchanged.session_token)).ok_or(BridgeError::Transport {
                provider: PROVIDER,
                action: EXCHANGE,
                detail: "the answer has no session_token".into(),
            })?;
        let lifetime =
            Duration::from_secs(exchanged.cookie_max_age).saturating_sub(SESSION_REFRESH_MARGIN);
        *self.session.lock().expect("session lock") = Some(Session {
            token: token.clone(),
            renew_at: std::time::Instant::now() + lifetime,
        });
        Ok(token)
    }

    async fn list_shares(&self, name: &str) -> Result<Vec<Share>, BridgeError> {
        let token = self.session_token().await?;
        let request = self
            .client
            .get(self.shares_url(name))
            .bearer_auth(token.expose())
            .header("Accept", "application/json");
        let answer = send(PROVIDER, "list shares", request, token.expose()).await?;
        if answer.status == 404 {
            return Ok(Vec::new());
        }
        if !answer.ok() {
            return Err(answer.into_error(PROVIDER, "list shares", token.expose()));
        }
        decode(PROVIDER, "list shares", &answer)
    }

    fn reusable(&self, share: &Share, port: u16) -> bool {
        if share.port != u32::from(port) || share.url.is_empty() {
            return false;
        }
        match share.expires_at.as_deref().filter(|text| !text.is_empty()) {
            None => true,
            // An expiry we cannot read counts as set, and as unknown: not reused.
            Some(text) => crabbox_proto::time::parse_rfc3339(text)
                .is_some_and(|expires| expires > (self.now)() + REUSE_SKEW_SECONDS),
        }
    }
}

impl std::fmt::Debug for IsloAdapter {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("IsloAdapter")
            .field("base_url", &self.base_url)
            .field("api_key", &self.api_key)
            .finish()
    }
}

/// The TTL Islo accepts: zero means "omit"; otherwise 60 s to 7 days.
pub fn clamp_ttl(ttl: Duration) -> Option<u64> {
    (!ttl.is_zero()).then(|| ttl.as_secs().clamp(MIN_TTL_SECONDS, MAX_TTL_SECONDS))
}

/// The sandbox name of `isb_<name>` or a bare name, which must be a
/// Crabbox-created sandbox so no share is made on someone else's resource.
pub fn sandbox_name(lease_id: &str) -> Result<String, BridgeError> {
    let lease = lease_id.trim();
    let invalid = |reason| BridgeError::InvalidLease {
        provider: PROVIDER,
        lease: lease.to_string(),
        reason,
    };
    if lease.is_empty() {
        return Err(invalid("is empty"));
    }
    let name = lease.strip_prefix(LEASE_PREFIX).unwrap_or(lease);
    if name != normalize_pond(name) || !name.starts_with(NAME_PREFIX) {
        return Err(invalid("is not a Crabbox-owned islo sandbox"));
    }
    Ok(name.to_string())
}

fn target(share: Share) -> PeerTarget {
    let expires_at = share
        .expires_at
        .filter(|text| crabbox_proto::time::parse_rfc3339(text).is_some())
        .unwrap_or_default();
    PeerTarget {
        port: u16::try_from(share.port).unwrap_or(0),
        url: share.url,
        share_id: share.share_id,
        expires_at,
    }
}

#[async_trait]
impl BridgeAdapter for IsloAdapter {
    fn provider(&self) -> &'static str {
        PROVIDER
    }

    async fn publish(
        &self,
        lease_id: &str,
        port: u16,
        ttl: Duration,
    ) -> Result<PeerTarget, BridgeError> {
        check_port(PROVIDER, port)?;
        let name = sandbox_name(lease_id)?;
        // A failed listing must never fall through to a create: every share
        // counts against the tenant.
        let existing = self.list_shares(&name).await?;
        if let Some(share) = existing
            .into_iter()
            .find(|share| self.reusable(share, port))
        {
            return Ok(target(share));
        }
        let mut body = serde_json::json!({ "port": port });
        if let Some(seconds) = clamp_ttl(ttl) {
            body["ttl_seconds"] = seconds.into();
        }
        let token = self.session_token().await?;
        let request = self
            .client
            .post(self.shares_url(&name))
            .bearer_auth(token.expose())
            .header("Accept", "application/json")
            .json(&body);
        let answer = send(PROVIDER, "create share", request, token.expose()).await?;
        if !answer.ok() {
            return Err(answer.into_error(PROVIDER, "create share", token.expose()));
        }
        Ok(target(decode(PROVIDER, "create share", &answer)?))
    }

    async fn list(&self, lease_id: &str) -> Result<Vec<PeerTarget>, BridgeError> {
        let name = sandbox_name(lease_id)?;
        let shares = self.list_shares(&name).await?;
        Ok(shares
            .into_iter()
            .filter(|share| !share.url.is_empty())
            .map(target)
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttl_clamping() {
        assert_eq!(clamp_ttl(Duration::ZERO), None);
        assert_eq!(clamp_ttl(Duration::from_millis(500)), Some(60));
        assert_eq!(clamp_ttl(Duration::from_secs(59)), Some(60));
        assert_eq!(clamp_ttl(Duration::from_secs(3600)), Some(3600));
        assert_eq!(
            clamp_ttl(Duration::from_secs(30 * 24 * 3600)),
            Some(604_800)
        );
    }

    #[test]
    fn sandbox_names() {
        assert_eq!(
            sandbox_name("isb_crabbox-web-a1b2c3").unwrap(),
            "crabbox-web-a1b2c3"
        );
        assert_eq!(
            sandbox_name(" crabbox-web-a1b2c3 ").unwrap(),
            "crabbox-web-a1b2c3"
        );
        for bad in [
            "",
            "isb_",
            "isb_other-box",
            "Crabbox-Web",
            "crabbox-web_x",
            "cbx_0123456789ab",
        ] {
            let error = sandbox_name(bad).unwrap_err();
            assert_eq!(error.class(), crabbox_proto::ErrorClass::Usage, "{bad}");
        }
    }
}
