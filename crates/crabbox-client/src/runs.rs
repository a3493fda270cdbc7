//! Run routes: create, append and page events, finish, read, logs, list.

use crabbox_proto::wire::{
    AppendEventRequest, CreateRunRequest, EventEnvelope, EventsEnvelope, FinishRunRequest, Run,
    RunEnvelope, RunEventRecord, RunTelemetryRequest, RunsEnvelope, TelemetrySample,
};
use reqwest::Method;

use crate::client::{segment, Client, FINISH_TIMEOUT};
use crate::error::ClientError;
use crate::leases::query_pairs;

/// `GET /v1/runs` filters; empty fields are not sent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunFilter {
    pub lease_id: Option<String>,
    pub owner: Option<String>,
    pub org: Option<String>,
    pub state: Option<String>,
    pub limit: Option<usize>,
}

impl Client {
    /// `POST /v1/runs`: the coordinator mints the run ID and records `run.started`.
    pub async fn create_run(&self, request: &CreateRunRequest) -> Result<Run, ClientError> {
        let builder = self.request(Method::POST, "/v1/runs").json(request);
        let envelope: RunEnvelope = self.json(builder, "POST /v1/runs").await?;
        Ok(envelope.run)
    }

    /// `POST /v1/runs/{id}/events`.
    pub async fn append_event(
        &self,
        run_id: &str,
        request: &AppendEventRequest,
    ) -> Result<RunEventRecord, ClientError> {
        let path = format!("/v1/runs/{}/events", segment(run_id));
        let builder = self.request(Method::POST, &path).json(request);
        let envelope: EventEnvelope = self.json(builder, "POST run events").await?;
        Ok(envelope.event)
    }

    /// `GET /v1/runs/{id}/events?after&limit`: events with `seq > after`, ascending.
    pub async fn events(
        &self,
        run_id: &str,
        after: u64,
        limit: usize,
    ) -> Result<Vec<RunEventRecord>, ClientError> {
        let path = format!("/v1/runs/{}/events", segment(run_id));
        let query = [("after", after.to_string()), ("limit", limit.to_string())];
        let builder = self.request(Method::GET, &path).query(&query);
        let envelope: EventsEnvelope = self.json(builder, "GET run events").await?;
        Ok(envelope.events)
    }

    /// `POST /v1/runs/{id}/finish`, with a longer timeout for the log.
    pub async fn finish_run(
        &self,
        run_id: &str,
        request: &FinishRunRequest,
    ) -> Result<Run, ClientError> {
        let path = format!("/v1/runs/{}/finish", segment(run_id));
        let builder = self
            .request(Method::POST, &path)
            .timeout(FINISH_TIMEOUT)
            .json(request);
        let envelope: RunEnvelope = self.json(builder, "POST run finish").await?;
        Ok(envelope.run)
    }

    /// `POST /v1/runs/{id}/telemetry`: one machine sample, folded into the run.
    pub async fn append_run_telemetry(
        &self,
        run_id: &str,
        sample: &TelemetrySample,
    ) -> Result<Run, ClientError> {
        let path = format!("/v1/runs/{}/telemetry", segment(run_id));
        let request = RunTelemetryRequest {
            telemetry: Some(sample.clone()),
        };
        let builder = self.request(Method::POST, &path).json(&request);
        let envelope: RunEnvelope = self.json(builder, "POST run telemetry").await?;
        Ok(envelope.run)
    }

    /// `GET /v1/runs/{id}`.
    pub async fn get_run(&self, run_id: &str) -> Result<Run, ClientError> {
        let path = format!("/v1/runs/{}", segment(run_id));
        let envelope: RunEnvelope = self
            .json(self.request(Method::GET, &path), "GET /v1/runs/{id}")
            .await?;
        Ok(envelope.run)
    }

    /// `GET /v1/runs/{id}/logs`: the retained output as text.
    pub async fn run_logs(&self, run_id: &str) -> Result<String, ClientError> {
        let path = format!("/v1/runs/{}/logs", segment(run_id));
        self.text(self.request(Method::GET, &path)).await
    }

    /// `GET /v1/runs`, newest first.
    pub async fn list_runs(&self, filter: &RunFilter) -> Result<Vec<Run>, ClientError> {
        let query = query_pairs(&[
            ("leaseID", filter.lease_id.clone()),
            ("owner", filter.owner.clone()),
            ("org", filter.org.clone()),
            ("state", filter.state.clone()),
            ("limit", filter.limit.map(|limit| limit.to_string())),
        ]);
        let builder = self.request(Method::GET, "/v1/runs").query(&query);
        let envelope: RunsEnvelope = self.json(builder, "GET /v1/runs").await?;
        Ok(envelope.runs)
    }
}
