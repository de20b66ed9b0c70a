//! Read-model maintenance (status, rebuild) and the external runtime's heartbeat.

use crate::http::error::{ApiResult, ErrorEnvelope};
use crate::http::extract::Json;
use crate::http::state::AppState;
use axum::extract::State;
use console_service::background::SweeperStatus;
use console_storage::{ReadModelStatus, RebuildReport};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct StatusBody {
    read_model: ReadModelStatus,
    /// Seconds since the oldest pending write, if any row is dirty.
    oldest_dirty_age_seconds: Option<i64>,
    sweeper: SweeperStatus,
}

/// Dirty rows, failures and the oldest pending write of the connector-summary read model.
#[utoipa::path(
    get,
    path = "/_ref/connector-summary/status",
    tag = "read model",
    responses(
        (status = 200, body = StatusBody),
        (status = 401, body = ErrorEnvelope),
    )
)]
pub async fn status(State(state): State<AppState>) -> ApiResult<axum::Json<StatusBody>> {
    let read_model = state
        .console
        .store
        .read_model_status()
        .await
        .map_err(console_service::ServiceError::from)?;
    let now = state.console.now();
    Ok(axum::Json(StatusBody {
        oldest_dirty_age_seconds: read_model
            .oldest_dirty_since
            .map(|since| (now - since).num_seconds().max(0)),
        read_model,
        sweeper: state.console.sweeper.snapshot(),
    }))
}

/// Rebuilds every evidence row from the source tables; idempotent. Reports what changed.
#[utoipa::path(
    post,
    path = "/_ref/connector-summary/rebuild",
    tag = "read model",
    responses(
        (status = 200, body = RebuildReport),
        (status = 401, body = ErrorEnvelope),
    )
)]
pub async fn rebuild(State(state): State<AppState>) -> ApiResult<axum::Json<RebuildReport>> {
    let report = state.console.rebuild_read_model(500, &|_, _| {}).await?;
    Ok(axum::Json(report))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RuntimeBeat {
    /// A name for the runtime, shown in the banner.
    label: String,
}

/// An external collection runtime reports that it is alive.
#[utoipa::path(
    post,
    path = "/_ref/runtime/heartbeat",
    tag = "read model",
    request_body = RuntimeBeat,
    responses(
        (status = 204, description = "Recorded"),
        (status = 400, body = ErrorEnvelope),
        (status = 401, body = ErrorEnvelope),
        (status = 422, body = ErrorEnvelope),
    )
)]
pub async fn runtime_heartbeat(
    State(state): State<AppState>,
    Json(beat): Json<RuntimeBeat>,
) -> ApiResult<axum::http::StatusCode> {
    state.console.report_runtime(&beat.label).await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}
