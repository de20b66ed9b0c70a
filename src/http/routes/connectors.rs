//! `GET /_ref/connectors` (the connection summaries) and the connector manifests.

use crate::http::error::{ApiError, ApiResult, ErrorEnvelope};
use crate::http::extract::{Json, Query};
use crate::http::json_response::JsonResponse;
use crate::http::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use console_domain::model::{ConnectionStatus, ConnectorManifest};
use console_domain::summary::SummaryItem;
use console_domain::summary_json::WriteJson;
use console_domain::synthesis::HealthState;
use console_service::projector::{ListPage, ListRequest, ListStream, RuntimeStatus};
use futures::StreamExt as _;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Exact `connection_id` / `connector_instance_id`, else a `connector_id` used by exactly
    /// one connection. No match or an ambiguous connector id gives an empty list.
    connection: Option<String>,
    /// Page size, 1..500. Without it every connection is returned.
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u32>,
    /// Opaque cursor from a previous page's `next_cursor`.
    cursor: Option<String>,
    status: Option<ConnectionStatus>,
    health: Option<HealthState>,
    /// `stable` (default: connector id, creation time, connection id) or `needs_you_first`.
    order: Option<ListOrderParam>,
}

#[derive(Debug, Deserialize, ToSchema, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ListOrderParam {
    Stable,
    NeedsYouFirst,
}

/// `{"object":"list","data":[...],"runtime":{...}}`; paged reads add `has_more`/`next_cursor`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ListEnvelope {
    object: &'static str,
    data: Vec<SummaryItem>,
    runtime: RuntimeStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    has_more: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_cursor: Option<String>,
}

impl ListEnvelope {
    fn new(page: ListPage, paged: bool) -> Self {
        ListEnvelope {
            object: "list",
            data: page.data,
            runtime: page.runtime,
            has_more: paged.then_some(page.has_more),
            next_cursor: if paged { page.next_cursor } else { None },
        }
    }
}

/// Connection summaries: every connection, one page, or the one a selector names.
#[utoipa::path(
    get,
    path = "/_ref/connectors",
    tag = "connectors",
    params(ListParams),
    responses(
        (status = 200, description = "Summaries", body = ListEnvelope),
        (status = 400, description = "Bad query (e.g. selector combined with paging, bad cursor)", body = ErrorEnvelope),
        (status = 401, description = "No owner credentials", body = ErrorEnvelope),
        (status = 422, description = "Limit out of range or tampered cursor", body = ErrorEnvelope),
    )
)]
pub async fn list_connectors(
    State(state): State<AppState>,
    Query(params): Query<ListParams>,
) -> ApiResult<Response> {
    if let Some(selector) = params.connection {
        if params.limit.is_some() || params.cursor.is_some() || params.order.is_some() {
            return Err(ApiError::bad_request(
                "selector_with_paging",
                "`connection` selects one connection; it cannot be combined with `limit`, `cursor` or `order`.",
            )
            .with_param("connection"));
        }
        let mut page = state.console.scoped(&selector).await?;
        // Filters still apply to the scoped entry, so a filter never widens a scoped read.
        page.data.retain(|item| {
            params.status.is_none_or(|s| item.status == s)
                && params
                    .health
                    .is_none_or(|h| item.connection_health.state == h)
        });
        return Ok(JsonResponse(ListEnvelope::new(page, false)).into_response());
    }
    let paged = params.limit.is_some() || params.cursor.is_some();
    if !paged {
        let request = ListRequest {
            limit: None,
            cursor: None,
            status: params.status,
            health: params.health,
            needs_you_first: params.order == Some(ListOrderParam::NeedsYouFirst),
        };
        let stream = state.console.list_stream(&request).await?;
        return Ok(streamed_list(stream));
    }
    let request = ListRequest {
        limit: params
            .limit
            .or(paged.then_some(state.console.settings.default_page)),
        cursor: params.cursor,
        status: params.status,
        health: params.health,
        needs_you_first: params.order == Some(ListOrderParam::NeedsYouFirst),
    };
    let page = state.console.list(&request).await?;
    Ok(JsonResponse(ListEnvelope::new(page, paged)).into_response())
}

/// Items per body chunk: big enough that chunk framing costs nothing, small enough that the
/// server holds only a few chunks of the body (about 150 KB each) at a time.
const ITEMS_PER_CHUNK: usize = 64;

/// Bytes reserved per item of a chunk: a summary is about 2.3 KB, so a chunk's buffer is not
/// grown and copied while it fills (with 2,048 it was, once per chunk: a full list of 100
/// took 0.7% more instructions).
const ITEM_BYTES: usize = 2_560;

/// The unpaged list as a chunked body, byte for byte what serializing [`ListEnvelope`]
/// gives: `{"object":"list","data":[` items `],"runtime":{...}}`. Items are serialized as
/// storage streams them, so memory stays flat at any fleet size. A storage error after the
/// first byte cannot change the status any more: it is logged and the body is cut short, so
/// the client sees a truncated (invalid) document, never a silently shorter list.
///
/// Each item is written by the domain's direct JSON writer ([`WriteJson`]: through serde,
/// its object keys alone were a sixth of the served binary's instructions on a full list of
/// 100), the runtime object by sonic-rs as every summary-carrying body is (see
/// [`crate::http::json_response`]). The bytes are the page's, which serde writes (the API
/// test `the_streamed_list_is_byte_for_byte_the_page`).
fn streamed_list(stream: ListStream) -> Response {
    let ListStream { runtime, items } = stream;
    let head = futures::stream::once(std::future::ready(Ok::<_, std::io::Error>(
        Bytes::from_static(br#"{"object":"list","data":["#),
    )));
    let mut first = true;
    let body = items.ready_chunks(ITEMS_PER_CHUNK).map(move |chunk| {
        let mut buffer = Vec::with_capacity(chunk.len() * ITEM_BYTES);
        for item in chunk {
            let item = item.map_err(|e| {
                tracing::error!(error = %e, "streamed connector list failed; body cut short");
                std::io::Error::other("connector list failed while streaming")
            })?;
            if !std::mem::take(&mut first) {
                buffer.push(b',');
            }
            item.write_json(&mut buffer);
        }
        Ok(Bytes::from(buffer))
    });
    let tail = futures::stream::once(async move {
        let mut buffer = br#"],"runtime":"#.to_vec();
        sonic_rs::to_writer(&mut buffer, &runtime).map_err(std::io::Error::other)?;
        buffer.push(b'}');
        Ok(Bytes::from(buffer))
    });
    (
        [(
            axum::http::header::CONTENT_TYPE,
            axum::http::HeaderValue::from_static("application/json"),
        )],
        axum::body::Body::from_stream(head.chain(body).chain(tail)),
    )
        .into_response()
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ManifestList {
    object: &'static str,
    data: Vec<ConnectorManifest>,
}

/// Registered connector manifests.
#[utoipa::path(
    get,
    path = "/_ref/manifests",
    tag = "connectors",
    responses(
        (status = 200, body = ManifestList),
        (status = 401, body = ErrorEnvelope),
    )
)]
pub async fn list_manifests(State(state): State<AppState>) -> ApiResult<axum::Json<ManifestList>> {
    let data = state
        .console
        .store
        .list_connectors()
        .await
        .map_err(console_service::ServiceError::from)?;
    Ok(axum::Json(ManifestList {
        object: "list",
        data,
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RegisterResult {
    connector_id: String,
    changed: bool,
}

/// Registers or replaces a connector manifest. A change dirties every connection using it.
#[utoipa::path(
    post,
    path = "/_ref/manifests",
    tag = "connectors",
    request_body = ConnectorManifest,
    responses(
        (status = 200, body = RegisterResult),
        (status = 400, body = ErrorEnvelope),
        (status = 401, body = ErrorEnvelope),
        (status = 422, body = ErrorEnvelope),
    )
)]
pub async fn register_manifest(
    State(state): State<AppState>,
    Json(manifest): Json<ConnectorManifest>,
) -> ApiResult<(StatusCode, axum::Json<RegisterResult>)> {
    let changed = state.console.register_connector(&manifest).await?;
    Ok((
        StatusCode::OK,
        axum::Json(RegisterResult {
            connector_id: manifest.connector_id,
            changed,
        }),
    ))
}
