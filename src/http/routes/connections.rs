//! Connections: create, read (detail and diagnostics), rename, lifecycle, delete, schedule.

use crate::http::error::{ApiError, ApiResult, ErrorEnvelope};
use crate::http::extract::{Json, Path, Query};
use crate::http::json_response::JsonResponse;
use crate::http::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use console_domain::model::LifecycleAction;
use console_domain::summary::SummaryItem;
use console_service::commands::{CreateConnection, PutSchedule, RenameConnection};
use console_service::detail::MAX_RUNS_PAGE;
use serde::Deserialize;
use utoipa::IntoParams;

/// Creates a connection of a registered connector (`active` unless `draft` is asked for).
#[utoipa::path(
    post,
    path = "/_ref/connections",
    tag = "connections",
    request_body = CreateConnection,
    responses(
        (status = 201, description = "The new connection's summary", body = SummaryItem),
        (status = 400, body = ErrorEnvelope),
        (status = 401, body = ErrorEnvelope),
        (status = 422, description = "Unknown connector or invalid field", body = ErrorEnvelope),
    )
)]
pub async fn create_connection(
    State(state): State<AppState>,
    Json(body): Json<CreateConnection>,
) -> ApiResult<(StatusCode, JsonResponse<SummaryItem>)> {
    let created = state.console.create_connection(body).await?;
    let item = state.console.summary(&created.connection_id).await?;
    Ok((StatusCode::CREATED, JsonResponse(item)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DetailParams {
    /// Runs per page (1..100, default 20).
    #[param(minimum = 1, maximum = 100)]
    runs_limit: Option<u32>,
    /// `runs_next_cursor` of the previous page.
    runs_cursor: Option<String>,
}

/// Exact connection detail with deep evidence (runs, failing run's events, attention).
#[utoipa::path(
    get,
    path = "/_ref/connections/{connection_id}",
    tag = "connections",
    params(("connection_id" = String, Path), DetailParams),
    responses(
        (status = 200, description = "Detail", body = console_service::detail::ConnectionDetail),
        (status = 401, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope),
        (status = 422, description = "`runs_limit` out of range", body = ErrorEnvelope),
    )
)]
pub async fn get_connection(
    State(state): State<AppState>,
    Path(connection_id): Path<String>,
    Query(params): Query<DetailParams>,
) -> ApiResult<JsonResponse<console_service::detail::ConnectionDetail>> {
    // Out of range is refused like the list's `limit`, not quietly clamped: the caller
    // would otherwise page with a size it did not ask for.
    if params
        .runs_limit
        .is_some_and(|n| !(1..=MAX_RUNS_PAGE).contains(&n))
    {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request_error",
            "invalid_limit",
            format!("runs_limit must be between 1 and {MAX_RUNS_PAGE}"),
        )
        .with_param("runs_limit"));
    }
    let detail = state
        .console
        .detail(
            &connection_id,
            params.runs_limit.unwrap_or(20),
            params.runs_cursor.as_deref(),
        )
        .await?;
    Ok(JsonResponse(detail))
}

/// Why the verdict is what it is: inputs, the rule that fired, thresholds and `now`.
#[utoipa::path(
    get,
    path = "/_ref/connections/{connection_id}/diagnostics",
    tag = "connections",
    params(("connection_id" = String, Path)),
    responses(
        (status = 200, description = "Diagnostics", body = console_service::detail::Diagnostics),
        (status = 401, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope),
    )
)]
pub async fn diagnostics(
    State(state): State<AppState>,
    Path(connection_id): Path<String>,
) -> ApiResult<JsonResponse<console_service::detail::Diagnostics>> {
    Ok(JsonResponse(
        state.console.diagnostics(&connection_id).await?,
    ))
}

/// Sets or clears the owner's label.
#[utoipa::path(
    patch,
    path = "/_ref/connections/{connection_id}",
    tag = "connections",
    params(("connection_id" = String, Path)),
    request_body = RenameConnection,
    responses(
        (status = 200, body = SummaryItem),
        (status = 400, body = ErrorEnvelope),
        (status = 401, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope),
        (status = 422, body = ErrorEnvelope),
    )
)]
pub async fn rename_connection(
    State(state): State<AppState>,
    Path(connection_id): Path<String>,
    Json(body): Json<RenameConnection>,
) -> ApiResult<JsonResponse<SummaryItem>> {
    state
        .console
        .rename_connection(&connection_id, body)
        .await?;
    Ok(JsonResponse(state.console.summary(&connection_id).await?))
}

/// `activate`, `pause`, `resume`, `revoke` or `reactivate`; 409 when it does not apply.
#[utoipa::path(
    post,
    path = "/_ref/connections/{connection_id}/{action}",
    tag = "connections",
    params(("connection_id" = String, Path), ("action" = LifecycleAction, Path)),
    responses(
        (status = 200, body = SummaryItem),
        (status = 400, body = ErrorEnvelope),
        (status = 401, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope),
        (status = 409, description = "Not applicable from the current status", body = ErrorEnvelope),
    )
)]
pub async fn change_lifecycle(
    State(state): State<AppState>,
    Path((connection_id, action)): Path<(String, LifecycleAction)>,
) -> ApiResult<JsonResponse<SummaryItem>> {
    state
        .console
        .change_lifecycle(&connection_id, action)
        .await?;
    Ok(JsonResponse(state.console.summary(&connection_id).await?))
}

/// Deletes the connection with its records, runs, attention and evidence.
#[utoipa::path(
    delete,
    path = "/_ref/connections/{connection_id}",
    tag = "connections",
    params(("connection_id" = String, Path)),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope),
    )
)]
pub async fn delete_connection(
    State(state): State<AppState>,
    Path(connection_id): Path<String>,
) -> ApiResult<StatusCode> {
    state.console.delete_connection(&connection_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Puts the connection's schedule (interval >= 60 s, 0 <= jitter <= interval).
#[utoipa::path(
    put,
    path = "/_ref/connections/{connection_id}/schedule",
    tag = "connections",
    params(("connection_id" = String, Path)),
    request_body = PutSchedule,
    responses(
        (status = 200, body = SummaryItem),
        (status = 400, body = ErrorEnvelope),
        (status = 401, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope),
        (status = 422, body = ErrorEnvelope),
    )
)]
pub async fn put_schedule(
    State(state): State<AppState>,
    Path(connection_id): Path<String>,
    Json(body): Json<PutSchedule>,
) -> ApiResult<JsonResponse<SummaryItem>> {
    state.console.put_schedule(&connection_id, body).await?;
    Ok(JsonResponse(state.console.summary(&connection_id).await?))
}
