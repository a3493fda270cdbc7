//! E2B: every running sandbox serves port N at `https://<N>-<sandboxID>.<domain>`,
//! so publishing only synthesizes that URL once the lease is confirmed to be a
//! Crabbox sandbox (`X-API-Key` control API). There is no "list previews"
//! API, so listing confirms the lease and returns nothing.

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use crabbox_core::Secret;
use serde::Deserialize;

use super::http::{self, decode, send};
use super::{check_port, BridgeAdapter, BridgeError, PeerTarget};

const PROVIDER: &str = "e2b";
pub const DEFAULT_API_URL: &str = "https://api.e2b.app";
pub const DEFAULT_DOMAIN: &str = "e2b.app";
const TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, Deserialize)]
struct Sandbox {
    #[serde(rename = "sandboxID", default)]
    sandbox_id: String,
    #[serde(default)]
    domain: Option<String>,
    #[serde(default)]
    metadata: Option<BTreeMap<String, String>>,
}

impl Sandbox {
    fn crabbox_owned(&self) -> bool {
        let metadata = self.metadata.clone().unwrap_or_default();
        metadata.get("provider").map(String::as_str) == Some(PROVIDER)
            && metadata.get("crabbox").map(String::as_str) == Some("true")
    }
}

/// The E2B bridge; `Debug` never shows the key.
pub struct E2bAdapter {
    api_url: String,
    api_key: Secret,
    domain: String,
    client: reqwest::Client,
}

impl E2bAdapter {
    /// `domain` is the fallback when a sandbox does not name its own.
    pub fn new(api_url: &str, api_key: Secret, domain: &str) -> Result<E2bAdapter, BridgeError> {
        let invalid = |reason: String| BridgeError::InvalidSetting {
            provider: PROVIDER,
            setting: "E2B_API_URL",
            reason,
        };
        let domain = domain.trim();
        Ok(E2bAdapter {
            api_url: http::base_url(api_url).map_err(invalid)?,
            api_key,
            domain: if domain.is_empty() {
                DEFAULT_DOMAIN
            } else {
                domain
            }
            .to_string(),
            client: http::client(TIMEOUT).map_err(invalid)?,
        })
    }

    /// From `E2B_API_KEY`, `E2B_API_URL` and `E2B_DOMAIN`.
    pub fn from_lookup(lookup: &dyn Fn(&str) -> Option<String>) -> Result<E2bAdapter, BridgeError> {
        let key = Secret::from_setting(lookup("E2B_API_KEY").as_deref()).ok_or(
            BridgeError::MissingSetting {
                provider: PROVIDER,
                name: "E2B_API_KEY",
            },
        )?;
        let api_url = lookup("E2B_API_URL").filter(|url| !url.trim().is_empty());
        let domain = lookup("E2B_DOMAIN").unwrap_or_default();
        E2bAdapter::new(api_url.as_deref().unwrap_or(DEFAULT_API_URL), key, &domain)
    }

    async fn get(
        &self,
        action: &'static str,
        request: reqwest::RequestBuilder,
    ) -> Result<http::Answer, BridgeError> {
        let request = request
            .header("X-API-Key", self.api_key.expose())
            .header("Accept", "application/json");
        send(PROVIDER, action, request, self.api_key.expose()).await
    }

    /// The sandbox ID and preview domain behind a `cbx_…` or `e2b_…` lease.
    async fn coordinates(&self, lease_id: &str) -> Result<(String, String), BridgeError> {
        let lease = lease_id.trim();
        let invalid = |reason| BridgeError::InvalidLease {
            provider: PROVIDER,
            lease: lease.to_string(),
            reason,
        };
        let sandbox = if let Some(id) = lease.strip_prefix("e2b_").filter(|id| !id.is_empty()) {
            let url = format!("{}/sandboxes/{}", self.api_url, http::segment(id));
            let answer = self.get("get sandbox", self.client.get(url)).await?;
            if answer.status == 404 {
                let what = format!("sandbox {lease:?}");
                return Err(BridgeError::NotFound {
                    provider: PROVIDER,
                    what,
                });
            }
            if !answer.ok() {
                return Err(answer.into_error(PROVIDER, "get sandbox", self.api_key.expose()));
            }
            let sandbox: Sandbox = decode(PROVIDER, "get sandbox", &answer)?;
            if !sandbox.crabbox_owned() {
                return Err(BridgeError::NotOwned {
                    provider: PROVIDER,
                    lease: lease.to_string(),
                });
            }
            sandbox
        } else if lease.starts_with("cbx_") {
            let filter = format!("lease={lease}&provider={PROVIDER}");
            let request = self
                .client
                .get(format!("{}/v2/sandboxes", self.api_url))
                .query(&[
                    ("metadata", filter.as_str()),
                    ("state", "running,paused"),
                    ("limit", "100"),
                ]);
            let answer = self.get("list sandboxes", request).await?;
            if !answer.ok() {
                return Err(answer.into_error(PROVIDER, "list sandboxes", self.api_key.expose()));
            }
            let sandboxes: Vec<Sandbox> = decode(PROVIDER, "list sandboxes", &answer)?;
            sandboxes
                .into_iter()
                .find(Sandbox::crabbox_owned)
                .ok_or_else(|| BridgeError::NotFound {
                    provider: PROVIDER,
                    what: format!("lease {lease:?}"),
                })?
        } else if lease.is_empty() {
            return Err(invalid("is empty"));
        } else {
            return Err(invalid(
                "is not an E2B-claimed Crabbox lease (cbx_… or e2b_…)",
            ));
        };
        if sandbox.sandbox_id.is_empty() {
            let what = format!("a sandbox bound to lease {lease:?}");
            return Err(BridgeError::NotFound {
                provider: PROVIDER,
                what,
            });
        }
        let domain = sandbox
            .domain
            .map(|domain| domain.trim().to_string())
            .filter(|domain| !domain.is_empty())
            .unwrap_or_else(|| self.domain.clone());
        Ok((sandbox.sandbox_id, domain))
    }
}

impl std::fmt::Debug for E2bAdapter {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("E2bAdapter")
            .field("api_url", &self.api_url)
            .field("api_key", &self.api_key)
            .field("domain", &self.domain)
            .finish()
    }
}

/// `https://<port>-<sandboxID>.<domain>`.
pub fn preview_url(domain: &str, sandbox_id: &str, port: u16) -> String {
    format!("https://{port}-{sandbox_id}.{domain}")
}

#[async_trait]
impl BridgeAdapter for E2bAdapter {
    fn provider(&self) -> &'static str {
        PROVIDER
    }

    async fn publish(
        &self,
        lease_id: &str,
        port: u16,
        _ttl: Duration,
    ) -> Result<PeerTarget, BridgeError> {
        check_port(PROVIDER, port)?;
        let (sandbox_id, domain) = self.coordinates(lease_id).await?;
        Ok(PeerTarget {
            port,
            url: preview_url(&domain, &sandbox_id, port),
            share_id: String::new(),
            expires_at: String::new(),
        })
    }

    async fn list(&self, lease_id: &str) -> Result<Vec<PeerTarget>, BridgeError> {
        self.coordinates(lease_id).await?;
        Ok(Vec::new())
    }
}
