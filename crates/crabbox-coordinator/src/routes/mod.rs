//! The HTTP API routes and the control socket's upgrade (paths as the reference
//! coordinator names them).

mod control;
mod extract;
mod info;
mod leases;
mod runs;

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post, put};
use axum::Router;

use crate::state::Coordinator;

pub fn router(coordinator: Coordinator) -> Router {
    Router::new()
        .route("/v1/health", get(info::health))
        .route("/v1/ready", get(info::ready).head(info::ready))
        .route("/v1/whoami", get(info::whoami))
        .route("/v1/usage", get(info::usage))
        .route("/v1/leases", post(leases::create).get(leases::list))
        .route("/v1/leases/capability-aware", post(leases::create))
        .route("/v1/leases/{id}", get(leases::get).put(leases::ensure))
        .route("/v1/leases/{id}/heartbeat", post(leases::heartbeat))
        .route("/v1/leases/{id}/release", post(leases::release))
        .route("/v1/leases/{id}/cancel-create", post(leases::cancel_create))
        .route("/v1/leases/{id}/registration", put(leases::register))
        .route("/v1/admin/leases", get(leases::admin_list))
        .route("/v1/admin/leases/{id}/delete", post(leases::admin_delete))
        .route("/v1/runs", post(runs::create).get(runs::list))
        .route("/v1/runs/{id}", get(runs::get))
        .route(
            "/v1/runs/{id}/events",
            post(runs::append_event).get(runs::list_events),
        )
        .route("/v1/runs/{id}/finish", post(runs::finish))
        .route("/v1/runs/{id}/telemetry", post(runs::telemetry))
        .route("/v1/runs/{id}/logs", get(runs::logs))
        .route("/v1/control", get(control::upgrade))
        .fallback(info::not_found)
        .method_not_allowed_fallback(info::method_not_allowed)
        // Bodies are bounded by the JSON extractor itself, per route.
        .layer(DefaultBodyLimit::disable())
        .with_state(coordinator)
}
