//! Health, readiness, identity and usage.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use crabbox_proto::wire::{Health, UsageReport, Whoami};

use super::extract::Params;
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use crate::state::Coordinator;
use crate::usage::{self, UsageQuery};

pub async fn health() -> Json<Health> {
    Json(Health {
        ok: true,
        service: "crabbox-coordinator".into(),
        ..Health::default()
    })
}

pub async fn ready(State(coordinator): State<Coordinator>) -> (StatusCode, Json<Health>) {
    match coordinator.store().ping().await {
        Ok(()) => (
            StatusCode::OK,
            Json(Health {
                ok: true,
                ..Health::default()
            }),
        ),
        Err(error) => {
            tracing::error!("coordinator: readiness check failed: {error}");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(Health {
                    ok: false,
                    error: "dependency_unavailable".into(),
                    ..Health::default()
                }),
            )
        }
    }
}

pub async fn whoami(principal: Principal) -> Json<Whoami> {
    Json(Whoami {
        owner: principal.owner,
        org: principal.org,
        auth: principal.auth.as_str().into(),
        admin: principal.admin,
        token_expires_at: principal.token_expires_at,
    })
}

pub async fn usage(
    State(coordinator): State<Coordinator>,
    principal: Principal,
    params: Params,
) -> ApiResult<Json<UsageReport>> {
    let query = UsageQuery {
        scope: params.text("scope"),
        owner: params.text("owner"),
        org: params.text("org"),
        month: params.text("month"),
    };
    Ok(Json(usage::report(&coordinator, &principal, query).await?))
}

pub async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such route")
}

pub async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "method not allowed on this route",
    )
}
