//! Runs: start ("run now"), heartbeat, finish, events, and gap recovery.

use crate::http::error::{ApiResult, ErrorEnvelope};
use crate::http::extract::{Json, Path};
use crate::http::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use console_service::commands::{FinishRun, RecoverGaps, RunEventInput};
use console_service::detail::RunWithEvents;
use console_storage::{RunRow, RunTrigger};
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct RunStarted {
    run_id: String,
    connection_id: String,
    status: console_domain::model::RunStatus,
}

/// "Run now": 202 with the new `run_id`; 409 with the active run's id when one is open.
#[utoipa::path(
    post,
    path = "/_ref/connections/{connection_id}/runs",
    tag = "runs",
    params(("connection_id" = String, Path)),
    responses(
        (status = 202, body = RunStarted),
        (status = 401, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope),
        (status = 409, description = "A run is already active (`existing` is its id), or the connection is not active", body = ErrorEnvelope),
    )
)]
pub async fn start_run(
    State(state): State<AppState>,
    Path(connection_id): Path<String>,
) -> ApiResult<(StatusCode, axum::Json<RunStarted>)> {
    let run = state
        .console
        .start_run(&connection_id, RunTrigger::Api)
        .await?;
    Ok((
        StatusCode::ACCEPTED,
        axum::Json(RunStarted {
            run_id: run.run_id,
            connection_id: run.connection_id,
            status: run.status,
        }),
    ))
}

/// One run with its events.
#[utoipa::path(
    get,
    path = "/_ref/runs/{run_id}",
    tag = "runs",
    params(("run_id" = String, Path)),
    responses(
        (status = 200, body = RunWithEvents),
        (status = 401, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope),
    )
)]
pub async fn get_run(
    State(state): State<AppState>,
    Path(run_id): Path<String>,
) -> ApiResult<axum::Json<RunWithEvents>> {
    Ok(axum::Json(state.console.run_with_events(&run_id).await?))
}

/// Liveness: keeps the run from reading as stalled. Changes no evidence.
#[utoipa::path(
    post,
    path = "/_ref/runs/{run_id}/heartbeat",
    tag = "runs",
    params(("run_id" = String, Path)),
    responses(
        (status = 200, body = RunRow),
        (status = 401, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope),
        (status = 409, description = "The run already finished", body = ErrorEnvelope),
    )
)]
pub async fn heartbeat_run(
    State(state): State<AppState>,
    Path(run_id): Path<String>,
) -> ApiResult<axum::Json<RunRow>> {
    Ok(axum::Json(state.console.heartbeat_run(&run_id).await?))
}

/// Ends a run: succeeded, succeeded_with_gaps, failed (with `failure_reason`) or cancelled.
#[utoipa::path(
    post,
    path = "/_ref/runs/{run_id}/finish",
    tag = "runs",
    params(("run_id" = String, Path)),
    request_body = FinishRun,
    responses(
        (status = 200, body = RunRow),
        (status = 400, body = ErrorEnvelope),
        (status = 401, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope),
        (status = 409, description = "The run already finished", body = ErrorEnvelope),
        (status = 422, body = ErrorEnvelope),
    )
)]
pub async fn finish_run(
    State(state): State<AppState>,
    Path(run_id): Path<String>,
    Json(body): Json<FinishRun>,
) -> ApiResult<axum::Json<RunRow>> {
    Ok(axum::Json(state.console.finish_run(&run_id, body).await?))
}

/// Appends timeline events to a run.
#[utoipa::path(
    post,
    path = "/_ref/runs/{run_id}/events",
    tag = "runs",
    params(("run_id" = String, Path)),
    request_body = Vec<RunEventInput>,
    responses(
        (status = 204, description = "Appended"),
        (status = 400, body = ErrorEnvelope),
        (status = 401, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope),
        (status = 413, body = ErrorEnvelope),
        (status = 422, body = ErrorEnvelope),
    )
)]
pub async fn append_events(
    State(state): State<AppState>,
    Path(run_id): Path<String>,
    Json(events): Json<Vec<RunEventInput>>,
) -> ApiResult<StatusCode> {
    state.console.append_run_events(&run_id, events).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Recovered {
    recovered: u64,
}

/// Marks the connection's unrecovered gaps (optionally of one stream) recovered.
#[utoipa::path(
    post,
    path = "/_ref/connections/{connection_id}/gaps/recover",
    tag = "runs",
    params(("connection_id" = String, Path)),
    request_body = RecoverGaps,
    responses(
        (status = 200, body = Recovered),
        (status = 400, body = ErrorEnvelope),
        (status = 401, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope),
    )
)]
pub async fn recover_gaps(
    State(state): State<AppState>,
    Path(connection_id): Path<String>,
    Json(body): Json<RecoverGaps>,
) -> ApiResult<axum::Json<Recovered>> {
    let recovered = state.console.recover_gaps(&connection_id, body).await?;
    Ok(axum::Json(Recovered { recovered }))
}
