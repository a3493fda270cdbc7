//! Lease routes: create, ensure, get, list, heartbeat, release, cancel-create.

use crabbox_proto::wire::{
    CancelCreateRequest, CreateLeaseRequest, HeartbeatRequest, LeaseEnvelope, LeaseRecord,
    LeasesEnvelope, ReleaseRequest,
};
use reqwest::Method;
use serde::{Deserialize, Serialize};

use crate::client::{segment, Client};
use crate::error::ClientError;

/// `GET /v1/leases` filters; empty fields are not sent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LeaseFilter {
    pub state: Option<String>,
    pub provider: Option<String>,
    pub owner: Option<String>,
    pub org: Option<String>,
    pub limit: Option<usize>,
}

/// The tombstone `cancel-create` writes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct CanceledCreate {
    pub version: i64,
    #[serde(rename = "requestedLeaseID")]
    pub requested_lease_id: String,
    #[serde(rename = "createAttemptID")]
    pub create_attempt_id: String,
    pub state: String,
}

/// `POST /v1/leases/{id}/cancel-create`: the tombstone and the lease it ended.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct CancelCreateResponse {
    pub canceled_create: CanceledCreate,
    pub lease: Option<LeaseRecord>,
}

/// `(name, value)` query pairs for the fields that are set.
pub(crate) fn query_pairs(pairs: &[(&'static str, Option<String>)]) -> Vec<(&'static str, String)> {
    pairs
        .iter()
        .filter_map(|(name, value)| {
            value
                .as_ref()
                .filter(|value| !value.is_empty())
                .map(|value| (*name, value.clone()))
        })
        .collect()
}

impl Client {
    /// `POST /v1/leases`: creates a machine and returns the lease (201).
    pub async fn create_lease(
        &self,
        request: &CreateLeaseRequest,
    ) -> Result<LeaseRecord, ClientError> {
        let builder = self.request(Method::POST, "/v1/leases").json(request);
        let envelope: LeaseEnvelope = self.json(builder, "POST /v1/leases").await?;
        Ok(envelope.lease)
    }

    /// `PUT /v1/leases/{id}`: the idempotent fixed-ID create.
    pub async fn ensure_lease(
        &self,
        lease_id: &str,
        request: &CreateLeaseRequest,
    ) -> Result<LeaseRecord, ClientError> {
        let path = format!("/v1/leases/{}", segment(lease_id));
        let builder = self.request(Method::PUT, &path).json(request);
        let envelope: LeaseEnvelope = self.json(builder, "PUT /v1/leases/{id}").await?;
        Ok(envelope.lease)
    }

    /// `GET /v1/leases/{idOrSlug}`.
    pub async fn get_lease(&self, id_or_slug: &str) -> Result<LeaseRecord, ClientError> {
        let path = format!("/v1/leases/{}", segment(id_or_slug));
        let envelope: LeaseEnvelope = self
            .json(self.request(Method::GET, &path), "GET /v1/leases/{id}")
            .await?;
        Ok(envelope.lease)
    }

    /// `GET /v1/leases`, newest first.
    pub async fn list_leases(&self, filter: &LeaseFilter) -> Result<Vec<LeaseRecord>, ClientError> {
        let query = query_pairs(&[
            ("state", filter.state.clone()),
            ("provider", filter.provider.clone()),
            ("owner", filter.owner.clone()),
            ("org", filter.org.clone()),
            ("limit", filter.limit.map(|limit| limit.to_string())),
        ]);
        let builder = self.request(Method::GET, "/v1/leases").query(&query);
        let envelope: LeasesEnvelope = self.json(builder, "GET /v1/leases").await?;
        Ok(envelope.leases)
    }

    /// `POST /v1/leases/{id}/heartbeat`: resets the idle clock.
    pub async fn heartbeat(
        &self,
        lease_id: &str,
        request: &HeartbeatRequest,
    ) -> Result<LeaseRecord, ClientError> {
        let path = format!("/v1/leases/{}/heartbeat", segment(lease_id));
        let builder = self.request(Method::POST, &path).json(request);
        let envelope: LeaseEnvelope = self.json(builder, "POST heartbeat").await?;
        Ok(envelope.lease)
    }

    /// `POST /v1/leases/{id}/release`.
    pub async fn release_lease(
        &self,
        lease_id: &str,
        request: &ReleaseRequest,
    ) -> Result<LeaseRecord, ClientError> {
        let path = format!("/v1/leases/{}/release", segment(lease_id));
        let builder = self.request(Method::POST, &path).json(request);
        let envelope: LeaseEnvelope = self.json(builder, "POST release").await?;
        Ok(envelope.lease)
    }

    /// `POST /v1/leases/{id}/cancel-create`: abandons a create still in flight.
    pub async fn cancel_create(
        &self,
        lease_id: &str,
        create_attempt_id: &str,
    ) -> Result<CancelCreateResponse, ClientError> {
        let path = format!("/v1/leases/{}/cancel-create", segment(lease_id));
        let body = CancelCreateRequest {
            create_attempt_id: create_attempt_id.to_string(),
        };
        let builder = self.request(Method::POST, &path).json(&body);
        self.json(builder, "POST cancel-create").await
    }
}
