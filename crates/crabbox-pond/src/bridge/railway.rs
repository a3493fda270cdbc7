//! Railway: a lease is a service; its one public URL is the latest
//! deployment's, read over GraphQL (bearer token). Only a ready deployment
//! (SUCCESS, or SLEEPING which wakes on request) yields a URL; the requested
//! port is echoed, since Railway routes one port per service.

use std::time::Duration;

use async_trait::async_trait;
use crabbox_core::Secret;
use serde::Deserialize;

use super::http::{self, decode, send};
use super::{check_port, BridgeAdapter, BridgeError, PeerTarget};

const PROVIDER: &str = "railway";
pub const DEFAULT_API_URL: &str = "https://backboard.railway.com/graphql/v2";
const TIMEOUT: Duration = Duration::from_secs(60);

const LATEST_DEPLOYMENT: &str = "query crabboxLatestDeployment($input: DeploymentListInput!) {
  deployments(input: $input, first: 1) { edges { node { id status url createdAt } } }
}";

#[derive(Debug, Default, Deserialize)]
struct Deployment {
    #[serde(default)]
    status: String,
    #[serde(default)]
    url: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Envelope {
    #[serde(default)]
    data: Option<serde_json::Value>,
    #[serde(default)]
    errors: Vec<GraphqlError>,
}

#[derive(Debug, Deserialize)]
struct GraphqlError {
    #[serde(default)]
    message: String,
}

/// The Railway bridge; `Debug` never shows the token.
pub struct RailwayAdapter {
    api_url: String,
    token: Secret,
    project_id: String,
    environment_id: String,
    client: reqwest::Client,
}

impl RailwayAdapter {
    /// Project and environment may be empty here; every call then fails with
    /// the missing setting named.
    pub fn new(
        api_url: &str,
        token: Secret,
        project_id: &str,
        environment_id: &str,
    ) -> Result<RailwayAdapter, BridgeError> {
        let invalid = |reason: String| BridgeError::InvalidSetting {
            provider: PROVIDER,
            setting: "RAILWAY_API_URL",
            reason,
        };
        Ok(RailwayAdapter {
            api_url: http::base_url(api_url).map_err(invalid)?,
            token,
            project_id: project_id.trim().to_string(),
            environment_id: environment_id.trim().to_string(),
            client: http::client(TIMEOUT).map_err(invalid)?,
        })
    }

    /// From `RAILWAY_API_TOKEN`, `RAILWAY_API_URL`, `RAILWAY_PROJECT_ID` and
    /// `RAILWAY_ENVIRONMENT_ID`.
    pub fn from_lookup(
        lookup: &dyn Fn(&str) -> Option<String>,
    ) -> Result<RailwayAdapter, BridgeError> {
        let token = Secret::from_setting(lookup("RAILWAY_API_TOKEN").as_deref()).ok_or(
            BridgeError::MissingSetting {
                provider: PROVIDER,
                name: "RAILWAY_API_TOKEN",
            },
        )?;
        let api_url = lookup("RAILWAY_API_URL").filter(|url| !url.trim().is_empty());
        RailwayAdapter::new(
            api_url.as_deref().unwrap_or(DEFAULT_API_URL),
            token,
            &lookup("RAILWAY_PROJECT_ID").unwrap_or_default(),
            &lookup("RAILWAY_ENVIRONMENT_ID").unwrap_or_default(),
        )
    }

    /// The latest deployment's URL when it is ready, and its status.
    async fn ready_url(&self, lease_id: &str) -> Result<(Option<String>, String), BridgeError> {
        let service = lease_id.trim();
        if service.is_empty() {
            return Err(BridgeError::InvalidLease {
                provider: PROVIDER,
                lease: String::new(),
                reason: "is empty",
            });
        }
        for (value, name) in [
            (&self.project_id, "RAILWAY_PROJECT_ID"),
            (&self.environment_id, "RAILWAY_ENVIRONMENT_ID"),
        ] {
            if value.is_empty() {
                return Err(BridgeError::MissingSetting {
                    provider: PROVIDER,
                    name,
                });
            }
        }
        let body = serde_json::json!({
            "query": LATEST_DEPLOYMENT,
            "variables": {"input": {
                "projectId": self.project_id,
                "environmentId": self.environment_id,
                "serviceId": service,
            }},
        });
        let request = self
            .client
            .post(&self.api_url)
            .bearer_auth(self.token.expose())
            .header("Accept", "application/json")
            .json(&body);
        let action = "latest deployment";
        let answer = send(PROVIDER, action, request, self.token.expose()).await?;
        if !answer.ok() {
            return Err(answer.into_error(PROVIDER, action, self.token.expose()));
        }
        let envelope: Envelope = decode(PROVIDER, action, &answer)?;
        if !envelope.errors.is_empty() {
            let messages: Vec<&str> = envelope
                .errors
                .iter()
                .map(|error| error.message.as_str())
                .collect();
            return Err(BridgeError::Api {
                provider: PROVIDER,
                action,
                status: answer.status,
                detail: http::snippet(&messages.join("; "), &[self.token.expose()]),
            });
        }
        let node = envelope
            .data
            .as_ref()
            .and_then(|data| data.pointer("/deployments/edges/0/node"))
            .cloned();
        let deployment: Deployment = match node {
            Some(node) => serde_json::from_value(node).unwrap_or_default(),
            None => Deployment::default(),
        };
        let status = deployment.status.trim().to_uppercase();
        let ready = matches!(status.as_str(), "SUCCESS" | "SLEEPING");
        let url = deployment
            .url
            .map(|url| url.trim().to_string())
            .filter(|url| ready && !url.is_empty())
            .map(|url| {
                if url.contains("://") {
                    url
                } else {
                    format!("https://{url}")
                }
            });
        Ok((url, status))
    }
}

impl std::fmt::Debug for RailwayAdapter {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("RailwayAdapter")
            .field("api_url", &self.api_url)
            .field("token", &self.token)
            .field("project_id", &self.project_id)
            .field("environment_id", &self.environment_id)
            .finish()
    }
}

#[async_trait]
impl BridgeAdapter for RailwayAdapter {
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
        match self.ready_url(lease_id).await? {
            (Some(url), _) => Ok(PeerTarget {
                port,
                url,
                share_id: String::new(),
                expires_at: String::new(),
            }),
            (None, status) => Err(BridgeError::NotReady {
                lease: lease_id.trim().to_string(),
                status: if status.is_empty() {
                    "unknown".into()
                } else {
                    status
                },
            }),
        }
    }

    async fn list(&self, lease_id: &str) -> Result<Vec<PeerTarget>, BridgeError> {
        let (url, _) = self.ready_url(lease_id).await?;
        Ok(url
            .map(|url| PeerTarget {
                port: 0,
                url,
                share_id: String::new(),
                expires_at: String::new(),
            })
            .into_iter()
            .collect())
    }
}
