//! Attention: things only the owner can do (reauthenticate, add information).

use crate::http::error::{ApiResult, ErrorEnvelope};
use crate::http::extract::{Json, Path};
use crate::http::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use console_service::commands::OpenAttention;
use console_storage::AttentionRow;

/// Opens an attention item on a connection.
#[utoipa::path(
    post,
    path = "/_ref/connections/{connection_id}/attention",
    tag = "attention",
    params(("connection_id" = String, Path)),
    request_body = OpenAttention,
    responses(
        (status = 201, body = AttentionRow),
        (status = 400, body = ErrorEnvelope),
        (status = 401, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope),
        (status = 422, body = ErrorEnvelope),
    )
)]
pub async fn open_attention(
    State(state): State<AppState>,
    Path(connection_id): Path<String>,
    Json(body): Json<OpenAttention>,
) -> ApiResult<(StatusCode, axum::Json<AttentionRow>)> {
    let row = state.console.open_attention(&connection_id, body).await?;
    Ok((StatusCode::CREATED, axum::Json(row)))
}

/// Resolves an attention item.
#[utoipa::path(
    post,
    path = "/_ref/attention/{attention_id}/resolve",
    tag = "attention",
    params(("attention_id" = String, Path)),
    responses(
        (status = 200, body = AttentionRow),
        (status = 401, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope),
        (status = 409, description = "Already resolved", body = ErrorEnvelope),
    )
)]
pub async fn resolve_attention(
    State(state): State<AppState>,
    Path(attention_id): Path<String>,
) -> ApiResult<axum::Json<AttentionRow>> {
    Ok(axum::Json(
        state.console.resolve_attention(&attention_id).await?,
    ))
}
