//! `GET /v1/control`: authenticates like every route, then upgrades to the
//! control WebSocket (426 without an upgrade request).

use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::auth::Principal;
use crate::control::{self, MAX_MESSAGE_BYTES};
use crate::error::ApiError;
use crate::state::Coordinator;

/// A single frame may be larger than a message (it is read whole, then refused
/// with a close reason); far larger ones drop the connection at their header.
const MAX_FRAME_BYTES: usize = 16 << 20;

pub async fn upgrade(
    State(coordinator): State<Coordinator>,
    principal: Principal,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let Ok(upgrade) = upgrade else {
        let error = ApiError::new(
            StatusCode::UPGRADE_REQUIRED,
            "websocket_required",
            "GET /v1/control needs a WebSocket upgrade request",
        );
        return ([(header::UPGRADE, "websocket")], error).into_response();
    };
    upgrade
        .max_message_size(MAX_MESSAGE_BYTES)
        .max_frame_size(MAX_FRAME_BYTES)
        .on_upgrade(move |socket| control::serve(socket, coordinator, principal))
}
