//! Health, identity and usage routes.

use crabbox_proto::wire::{Health, UsageReport, Whoami};
use reqwest::Method;

use crate::client::Client;
use crate::error::ClientError;
use crate::leases::query_pairs;

/// `GET /v1/usage` parameters; empty fields are not sent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UsageQuery {
    /// `user`, `org` or `all`.
    pub scope: Option<String>,
    pub owner: Option<String>,
    pub org: Option<String>,
    /// `YYYY-MM`; the coordinator defaults to the current UTC month.
    pub month: Option<String>,
}

impl Client {
    /// `GET /v1/health` (unauthenticated).
    pub async fn health(&self) -> Result<Health, ClientError> {
        self.json(self.request(Method::GET, "/v1/health"), "GET /v1/health")
            .await
    }

    /// `GET /v1/whoami`: who the token authenticates as.
    pub async fn whoami(&self) -> Result<Whoami, ClientError> {
        self.json(self.request(Method::GET, "/v1/whoami"), "GET /v1/whoami")
            .await
    }

    /// `GET /v1/usage`.
    pub async fn usage(&self, query: &UsageQuery) -> Result<UsageReport, ClientError> {
        let pairs = query_pairs(&[
            ("scope", query.scope.clone()),
            ("owner", query.owner.clone()),
            ("org", query.org.clone()),
            ("month", query.month.clone()),
        ]);
        let builder = self.request(Method::GET, "/v1/usage").query(&pairs);
        self.json(builder, "GET /v1/usage").await
    }
}
