//! Record ingest (JSON array or NDJSON, one all-or-nothing batch) and record deletion.

use crate::http::error::{ApiError, ApiResult, ErrorEnvelope};
use crate::http::extract::{nul_refused, too_large, Json, Path};
use crate::http::state::AppState;
use crate::http::strict_json::ObjectOnly;
use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use console_service::commands::DeleteRecords;
use console_storage::{IngestCounts, RecordInput};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// One record as sent by a collector.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordBody {
    stream: String,
    record_key: String,
    data: serde_json::Value,
    #[serde(default)]
    emitted_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl From<RecordBody> for RecordInput {
    fn from(r: RecordBody) -> Self {
        RecordInput {
            stream: r.stream,
            record_key: r.record_key,
            data: r.data,
            emitted_at: r.emitted_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct IngestResult {
    inserted: u64,
    updated: u64,
    unchanged: u64,
}

impl From<IngestCounts> for IngestResult {
    fn from(c: IngestCounts) -> Self {
        IngestResult {
            inserted: c.inserted,
            updated: c.updated,
            unchanged: c.unchanged,
        }
    }
}

fn parse_error(line: Option<usize>, e: serde_json::Error) -> ApiError {
    let at = line.map(|n| format!("line {n}: ")).unwrap_or_default();
    let code = if e.is_data() {
        "invalid_record"
    } else {
        "malformed_json"
    };
    ApiError::new(
        if e.is_data() {
            StatusCode::UNPROCESSABLE_ENTITY
        } else {
            StatusCode::BAD_REQUEST
        },
        "invalid_request_error",
        code,
        format!("{at}{e}"),
    )
}

/// Parses a JSON array, or NDJSON when the content type says so (blank lines are skipped).
/// Record data may hold anything JSON can (it is stored as JSON text, NULs escaped); the
/// stream and key are identifiers and may not hold NUL.
fn parse_batch(content_type: &str, bytes: &[u8]) -> ApiResult<Vec<RecordInput>> {
    let records = parse_records(content_type, bytes)?;
    if records
        .iter()
        .any(|r| r.stream.contains('\0') || r.record_key.contains('\0'))
    {
        return Err(nul_refused());
    }
    Ok(records)
}

fn parse_records(content_type: &str, bytes: &[u8]) -> ApiResult<Vec<RecordInput>> {
    let essence = content_type.split(';').next().unwrap_or("").trim();
    match essence {
        "application/x-ndjson" | "application/ndjson" | "application/jsonl" => bytes
            .split(|b| *b == b'\n')
            .enumerate()
            .filter(|(_, line)| !line.iter().all(u8::is_ascii_whitespace))
            .map(|(i, line)| {
                serde_json::from_slice::<ObjectOnly<RecordBody>>(line)
                    .map(|ObjectOnly(record)| RecordInput::from(record))
                    .map_err(|e| parse_error(Some(i + 1), e))
            })
            .collect(),
        "application/json" => serde_json::from_slice::<Vec<ObjectOnly<RecordBody>>>(bytes)
            .map(|records| {
                records
                    .into_iter()
                    .map(|ObjectOnly(record)| RecordInput::from(record))
                    .collect()
            })
            .map_err(|e| parse_error(None, e)),
        _ => Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "invalid_request_error",
            "unsupported_media_type",
            "Send records as `application/json` (an array) or `application/x-ndjson`.",
        )),
    }
}

/// Ingests one batch. All or nothing: any bad record rejects the whole batch.
#[utoipa::path(
    post,
    path = "/_ref/connections/{connection_id}/records",
    tag = "records",
    params(("connection_id" = String, Path)),
    request_body(content = Vec<RecordBody>, description = "A JSON array, or NDJSON with `Content-Type: application/x-ndjson`"),
    responses(
        (status = 200, body = IngestResult),
        (status = 400, body = ErrorEnvelope),
        (status = 401, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope),
        (status = 413, body = ErrorEnvelope),
        (status = 415, body = ErrorEnvelope),
        (status = 422, body = ErrorEnvelope),
    )
)]
pub async fn ingest_records(
    State(state): State<AppState>,
    Path(connection_id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<axum::Json<IngestResult>> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let limit = state.console.settings.max_body_bytes;
    let bytes = axum::body::to_bytes(body, limit)
        .await
        .map_err(|_| too_large())?;
    let records = parse_batch(&content_type, &bytes)?;
    let counts = state
        .console
        .ingest_records(&connection_id, records)
        .await?;
    Ok(axum::Json(counts.into()))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Deleted {
    deleted: u64,
}

/// Soft-deletes records of one stream (all of them, or the listed keys).
#[utoipa::path(
    post,
    path = "/_ref/connections/{connection_id}/records/delete",
    tag = "records",
    params(("connection_id" = String, Path)),
    request_body = DeleteRecords,
    responses(
        (status = 200, body = Deleted),
        (status = 400, body = ErrorEnvelope),
        (status = 401, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope),
        (status = 413, body = ErrorEnvelope),
        (status = 422, body = ErrorEnvelope),
    )
)]
pub async fn delete_records(
    State(state): State<AppState>,
    Path(connection_id): Path<String>,
    Json(body): Json<DeleteRecords>,
) -> ApiResult<axum::Json<Deleted>> {
    let deleted = state.console.delete_records(&connection_id, body).await?;
    Ok(axum::Json(Deleted { deleted }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn ndjson_reports_the_bad_line() {
        let body = b"{\"stream\":\"s\",\"record_key\":\"a\",\"data\":1}\n\n{not json}\n";
        let err = parse_batch("application/x-ndjson", body).unwrap_err();
        assert_eq!(err.status(), StatusCode::BAD_REQUEST);
    }

    #[test]
    fn json_array_and_ndjson_parse_the_same_records() {
        let ndjson = b"{\"stream\":\"s\",\"record_key\":\"a\",\"data\":{\"x\":1}}\n{\"stream\":\"s\",\"record_key\":\"b\",\"data\":2}";
        let array = b"[{\"stream\":\"s\",\"record_key\":\"a\",\"data\":{\"x\":1}},{\"stream\":\"s\",\"record_key\":\"b\",\"data\":2}]";
        let a = parse_batch("application/x-ndjson", ndjson).unwrap();
        let b = parse_batch("application/json; charset=utf-8", array).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.len(), 2);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(3000))]

        /// Any bytes under any content type: parsed or refused with a 4xx, never a panic.
        #[test]
        fn any_body_is_parsed_or_refused(
            content_type in proptest::sample::select(vec![
                "application/json", "application/x-ndjson", "application/ndjson",
                "application/jsonl", "application/json; charset=utf-8", "text/plain", "",
            ]),
            body in proptest::prop_oneof![
                proptest::collection::vec(proptest::prelude::any::<u8>(), 0..512),
                "(\\{\"stream\":\"[a-z\\\\\\u0000]{0,3}\",\"record_key\":\"[a-z]{0,3}\",\"data\":[0-9\\[\\]{}\"]{0,6}\\}[ \n]{0,2}){0,4}"
                    .prop_map(String::into_bytes),
            ],
        ) {
            match parse_batch(content_type, &body) {
                Ok(records) => {
                    // Every accepted record came from a well-formed line or array element.
                    proptest::prop_assert!(content_type.starts_with("application/"));
                    proptest::prop_assert!(records.len() <= body.len() / 30 + 1);
                }
                Err(e) => proptest::prop_assert!(e.status().is_client_error()),
            }
        }

        /// A batch is all or nothing: one broken NDJSON line refuses the whole batch.
        #[test]
        fn one_bad_line_refuses_the_batch(good in 0usize..5, at in 0usize..5, junk in "[^\n]{1,40}") {
            proptest::prop_assume!(serde_json::from_str::<RecordBody>(&junk).is_err());
            let mut lines: Vec<String> = (0..good)
                .map(|i| format!("{{\"stream\":\"s\",\"record_key\":\"k{i}\",\"data\":{i}}}"))
                .collect();
            lines.insert(at.min(lines.len()), junk.clone());
            let body = lines.join("\n");
            let refused = parse_batch("application/x-ndjson", body.as_bytes());
            // Blank junk (JSON's whitespace, so not e.g. a vertical tab) is skipped like any
            // blank line; everything else refuses the batch.
            if junk.bytes().all(|b| b.is_ascii_whitespace()) {
                proptest::prop_assert_eq!(refused.unwrap().len(), good);
            } else {
                proptest::prop_assert!(refused.is_err());
            }
        }
    }

    #[test]
    fn unknown_fields_and_wrong_types_are_refused() {
        let err = parse_batch(
            "application/json",
            b"[{\"stream\":1,\"record_key\":\"a\",\"data\":1}]",
        )
        .unwrap_err();
        assert_eq!(err.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let err = parse_batch("text/plain", b"[]").unwrap_err();
        assert_eq!(err.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    }
}
