//! `/v1/runs` handlers: thin wrappers over `crate::runs`.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use crabbox_proto::wire::{
    AppendEventRequest, CreateRunRequest, EventEnvelope, EventsEnvelope, FinishRunRequest,
    RunEnvelope, RunState, RunTelemetryRequest, RunsEnvelope,
};
use crabbox_store::RunFilter;

use super::extract::{Id, Params};
use crate::auth::Principal;
use crate::body::{JsonBody, OutputBody, FINISH_LIMIT};
use crate::error::{ApiError, ApiResult};
use crate::runs;
use crate::state::Coordinator;

pub async fn create(
    State(coordinator): State<Coordinator>,
    principal: Principal,
    JsonBody(request): JsonBody<CreateRunRequest>,
) -> ApiResult<(StatusCode, Json<RunEnvelope>)> {
    let run = runs::create(&coordinator, &principal, &request).await?;
    Ok((StatusCode::CREATED, Json(RunEnvelope { run })))
}

pub async fn get(
    State(coordinator): State<Coordinator>,
    principal: Principal,
    Id(id): Id,
) -> ApiResult<Json<RunEnvelope>> {
    let run = runs::readable(&coordinator, &principal, &id).await?;
    Ok(Json(RunEnvelope { run }))
}

pub async fn list(
    State(coordinator): State<Coordinator>,
    principal: Principal,
    params: Params,
) -> ApiResult<Json<RunsEnvelope>> {
    let state = match params.text("state") {
        None => None,
        Some(text) => Some(RunState::parse(&text).ok_or_else(|| {
            ApiError::bad_request("invalid_state", format!("unknown run state {text:?}"))
        })?),
    };
    let filter = RunFilter {
        lease_id: params.text("leaseID"),
        owner: params.text("owner"),
        org: params.text("org"),
        state,
        readable_by: (!principal.admin).then(|| (principal.owner.clone(), principal.org.clone())),
        limit: params.limit(50),
    };
    let runs = coordinator.store().list_runs(&filter).await?;
    Ok(Json(RunsEnvelope { runs }))
}

pub async fn append_event(
    State(coordinator): State<Coordinator>,
    principal: Principal,
    Id(id): Id,
    OutputBody(request): OutputBody<AppendEventRequest>,
) -> ApiResult<(StatusCode, Json<EventEnvelope>)> {
    let event = runs::append(&coordinator, &principal, &id, &request).await?;
    Ok((StatusCode::CREATED, Json(EventEnvelope { event })))
}

pub async fn list_events(
    State(coordinator): State<Coordinator>,
    principal: Principal,
    Id(id): Id,
    params: Params,
) -> ApiResult<Json<EventsEnvelope>> {
    runs::readable(&coordinator, &principal, &id).await?;
    let after = params.number("after", 0).max(0);
    let events = coordinator
        .store()
        .list_events(&id, after, params.limit(500))
        .await?;
    Ok(Json(EventsEnvelope { events }))
}

pub async fn finish(
    State(coordinator): State<Coordinator>,
    principal: Principal,
    Id(id): Id,
    OutputBody(request): OutputBody<FinishRunRequest, FINISH_LIMIT>,
) -> ApiResult<Json<RunEnvelope>> {
    let run = runs::finish(&coordinator, &principal, &id, request).await?;
    Ok(Json(RunEnvelope { run }))
}

pub async fn telemetry(
    State(coordinator): State<Coordinator>,
    principal: Principal,
    Id(id): Id,
    JsonBody(request): JsonBody<RunTelemetryRequest>,
) -> ApiResult<Json<RunEnvelope>> {
    let run = runs::append_telemetry(&coordinator, &principal, &id, request).await?;
    Ok(Json(RunEnvelope { run }))
}

pub async fn logs(
    State(coordinator): State<Coordinator>,
    principal: Principal,
    Id(id): Id,
) -> ApiResult<impl IntoResponse> {
    runs::readable(&coordinator, &principal, &id).await?;
    let log = coordinator.store().read_log(&id).await?.unwrap_or_default();
    Ok(([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], log))
}
