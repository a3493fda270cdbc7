//! `/v1/leases` handlers: thin wrappers over `crate::leases`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use crabbox_proto::wire::{
    CancelCreateRequest, CreateLeaseRequest, HeartbeatRequest, LeaseEnvelope, LeaseStatus,
    LeasesEnvelope, RegistrationRequest, ReleaseRequest,
};
use crabbox_store::LeaseFilter;
use serde_json::{json, Value};

use super::extract::{Id, Params};
use crate::auth::Principal;
use crate::body::JsonBody;
use crate::error::{ApiError, ApiResult};
use crate::leases::request::IdSource;
use crate::leases::{access, admin, create, lifecycle, registration};
use crate::state::Coordinator;

type LeaseResponse = ApiResult<(StatusCode, Json<LeaseEnvelope>)>;

fn envelope(
    status: StatusCode,
    lease: crabbox_proto::wire::LeaseRecord,
) -> (StatusCode, Json<LeaseEnvelope>) {
    (status, Json(LeaseEnvelope { lease }))
}

pub async fn create(
    State(coordinator): State<Coordinator>,
    principal: Principal,
    JsonBody(request): JsonBody<CreateLeaseRequest>,
) -> LeaseResponse {
    let created = create::create(&coordinator, &principal, &request, IdSource::Body).await?;
    Ok(envelope(created.status, created.record.lease))
}

pub async fn ensure(
    State(coordinator): State<Coordinator>,
    principal: Principal,
    Id(id): Id,
    JsonBody(request): JsonBody<CreateLeaseRequest>,
) -> LeaseResponse {
    let created = create::create(&coordinator, &principal, &request, IdSource::Path(&id)).await?;
    Ok(envelope(created.status, created.record.lease))
}

pub async fn get(
    State(coordinator): State<Coordinator>,
    principal: Principal,
    Id(id): Id,
) -> LeaseResponse {
    let record = access::find_visible(&coordinator, &principal, &id).await?;
    Ok(envelope(StatusCode::OK, record.lease))
}

fn filter(principal: &Principal, params: &Params, scoped: bool) -> ApiResult<LeaseFilter> {
    let state = match params.text("state") {
        None => None,
        Some(text) => Some(LeaseStatus::parse(&text).ok_or_else(|| {
            ApiError::bad_request("invalid_state", format!("unknown lease state {text:?}"))
        })?),
    };
    let mut filter = LeaseFilter {
        state,
        provider: params.text("provider"),
        owner: params.text("owner"),
        org: params.text("org"),
        limit: params.limit(100),
    };
    if scoped && !principal.admin {
        filter.owner = Some(principal.owner.clone());
        filter.org = Some(principal.org.clone());
    }
    Ok(filter)
}

pub async fn list(
    State(coordinator): State<Coordinator>,
    principal: Principal,
    params: Params,
) -> ApiResult<Json<LeasesEnvelope>> {
    let filter = filter(&principal, &params, true)?;
    let leases = coordinator.store().list_leases(&filter).await?;
    Ok(Json(LeasesEnvelope {
        leases: leases.into_iter().map(|record| record.lease).collect(),
    }))
}

pub async fn admin_list(
    State(coordinator): State<Coordinator>,
    principal: Principal,
    params: Params,
) -> ApiResult<Json<LeasesEnvelope>> {
    if !principal.admin {
        return Err(ApiError::forbidden("admin token required"));
    }
    list(State(coordinator), principal, params).await
}

pub async fn heartbeat(
    State(coordinator): State<Coordinator>,
    principal: Principal,
    Id(id): Id,
    JsonBody(request): JsonBody<HeartbeatRequest>,
) -> LeaseResponse {
    let lease = lifecycle::heartbeat(&coordinator, &principal, &id, &request).await?;
    Ok(envelope(StatusCode::OK, lease))
}

pub async fn release(
    State(coordinator): State<Coordinator>,
    principal: Principal,
    Id(id): Id,
    JsonBody(request): JsonBody<ReleaseRequest>,
) -> LeaseResponse {
    let lease = lifecycle::release(&coordinator, &principal, &id, &request).await?;
    Ok(envelope(StatusCode::OK, lease))
}

pub async fn cancel_create(
    State(coordinator): State<Coordinator>,
    principal: Principal,
    Id(id): Id,
    JsonBody(request): JsonBody<CancelCreateRequest>,
) -> ApiResult<Json<Value>> {
    let lease =
        lifecycle::cancel_create(&coordinator, &principal, &id, &request.create_attempt_id).await?;
    let mut body = json!({
        "canceledCreate": {
            "version": 1,
            "requestedLeaseID": id,
            "createAttemptID": request.create_attempt_id,
            "state": "canceled",
        }
    });
    if let Some(lease) = lease {
        body["lease"] = serde_json::to_value(lease).unwrap_or(Value::Null);
    }
    Ok(Json(body))
}

pub async fn register(
    State(coordinator): State<Coordinator>,
    principal: Principal,
    Id(id): Id,
    JsonBody(request): JsonBody<RegistrationRequest>,
) -> LeaseResponse {
    let (status, lease) = registration::register(&coordinator, &principal, &id, &request).await?;
    Ok(envelope(status, lease))
}

pub async fn admin_delete(
    State(coordinator): State<Coordinator>,
    principal: Principal,
    Id(id): Id,
) -> LeaseResponse {
    let (status, lease) = admin::force_delete(&coordinator, &principal, &id).await?;
    Ok(envelope(status, lease))
}
