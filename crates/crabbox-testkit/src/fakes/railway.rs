//! A fake Railway GraphQL endpoint (`POST /graphql/v2`, bearer token) that
//! answers the latest-deployment query for a (project, environment, service).

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{json, Value};

use super::{header, spawn, Shared};

#[derive(Debug, Clone)]
pub struct RailwayDeployment {
    pub project_id: String,
    pub environment_id: String,
    pub service_id: String,
    pub id: String,
    pub status: String,
    pub url: String,
}

#[derive(Debug, Default)]
pub struct RailwayState {
    pub token: String,
    pub deployments: Vec<RailwayDeployment>,
    pub queries: Vec<Value>,
}

#[derive(Debug, Clone)]
pub struct FakeRailway {
    /// The GraphQL endpoint itself (what the API URL setting points at).
    pub url: String,
    pub state: Shared<RailwayState>,
}

impl FakeRailway {
    pub async fn start(token: &str) -> FakeRailway {
        let state = Shared::new(RailwayState {
            token: token.to_string(),
            ..RailwayState::default()
        });
        let router = Router::new()
            .route("/graphql/v2", post(graphql))
            .with_state(state.clone());
        FakeRailway {
            url: format!("{}/graphql/v2", spawn(router).await),
            state,
        }
    }

    pub fn add_deployment(
        &self,
        project: &str,
        environment: &str,
        service: &str,
        status: &str,
        url: &str,
    ) {
        let mut state = self.state.lock();
        let id = format!("dep_{}", state.deployments.len());
        state.deployments.push(RailwayDeployment {
            project_id: project.to_string(),
            environment_id: environment.to_string(),
            service_id: service.to_string(),
            id,
            status: status.to_string(),
            url: url.to_string(),
        });
    }
}

async fn graphql(
    State(shared): State<Shared<RailwayState>>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let mut state = shared.lock();
    state.queries.push(body.clone());
    if header(&headers, "authorization") != format!("Bearer {}", state.token) {
        let body = json!({"errors": [{"message": "Not Authorized"}]});
        return (StatusCode::UNAUTHORIZED, Json(body)).into_response();
    }
    let query = body["query"].as_str().unwrap_or_default();
    if !query.contains("deployments(") {
        let body = json!({"errors": [{"message": "unsupported query in fake"}]});
        return Json(body).into_response();
    }
    let input = &body["variables"]["input"];
    let field = |name: &str| input[name].as_str().unwrap_or_default().to_string();
    let (project, environment, service) = (
        field("projectId"),
        field("environmentId"),
        field("serviceId"),
    );
    // Railway lists newest first; the fake's newest is the last one added.
    let edges: Vec<Value> = state
        .deployments
        .iter()
        .rev()
        .filter(|deployment| {
            deployment.project_id == project
                && deployment.environment_id == environment
                && deployment.service_id == service
        })
        .take(1)
        .map(|deployment| {
            json!({"node": {
                "id": deployment.id,
                "status": deployment.status,
                "url": deployment.url,
                "createdAt": "2026-01-01T00:00:00Z",
            }})
        })
        .collect();
    Json(json!({"data": {"deployments": {"edges": edges}}})).into_response()
}
