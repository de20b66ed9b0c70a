//! JSON response bodies written by sonic-rs, for the reads that carry summaries (a page of
//! the list, a connection's detail and diagnostics). A summary is ~2.3 KB of mostly string
//! content; serde_json checks every byte of it for escapes one at a time, and writing a
//! page of 100 was half of that request's instructions. sonic-rs checks 32 bytes at a time
//! and writes the same bytes for what these bodies hold (`sonic_rs_writes_what_serde_json_writes`
//! below). The streamed full list writes its items the same way.

use super::error::ApiError;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use console_service::ServiceError;
use serde::Serialize;

/// A `200` (or the status paired with it) whose body is `T` as JSON.
#[derive(Debug)]
pub struct JsonResponse<T>(pub T);

impl<T: Serialize> IntoResponse for JsonResponse<T> {
    fn into_response(self) -> Response {
        match sonic_rs::to_vec(&self.0) {
            Ok(body) => (
                [(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                )],
                body,
            )
                .into_response(),
            // Only a value serde cannot write as JSON gets here (a map with non-string keys),
            // which the response types do not hold: the error envelope's internal error,
            // with the reason in the log.
            Err(error) => ApiError::from(ServiceError::Internal(format!(
                "response body could not be serialized: {error}"
            )))
            .into_response(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::StatusCode;
    use chrono::{DateTime, TimeZone, Utc};
    use proptest::prelude::*;
    use serde_json::Value;

    /// JSON values as summaries hold them: no floats (a summary has none, and the two
    /// crates may spell a float differently), any text, nested objects and arrays.
    fn value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            any::<String>().prop_map(Value::String),
            // Every byte serde_json escapes, with ASCII around it.
            proptest::collection::vec(0u8..0x80, 0..80)
                .prop_map(|bytes| Value::String(bytes.into_iter().map(char::from).collect())),
        ];
        leaf.prop_recursive(4, 64, 8, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
                proptest::collection::btree_map(any::<String>(), inner, 0..8)
                    .prop_map(|map| Value::Object(map.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn sonic_rs_writes_what_serde_json_writes(value in value()) {
            let mut sonic = Vec::new();
            sonic_rs::to_writer(&mut sonic, &value).unwrap();
            prop_assert_eq!(String::from_utf8(sonic).unwrap(), serde_json::to_string(&value).unwrap());
        }
    }

    /// The shapes derived `Serialize` gives the response types (structs, renamed and
    /// skipped fields, unit enum variants, options, instants, nested values), which the
    /// proptest's `Value`s do not go through.
    #[derive(Serialize)]
    #[serde(rename_all = "snake_case")]
    enum Verdict {
        NeedsYou,
        Fine,
    }

    #[derive(Serialize)]
    struct Inner {
        #[serde(rename = "type")]
        kind: &'static str,
        at: DateTime<Utc>,
        #[serde(with = "console_domain::instant_json::option")]
        since: Option<DateTime<Utc>>,
    }

    #[derive(Serialize)]
    struct Outer {
        object: &'static str,
        name: String,
        missing: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        skipped: Option<i64>,
        verdicts: Vec<Verdict>,
        inner: Inner,
        document: Value,
        count: u64,
        delta: i64,
    }

    #[tokio::test]
    async fn a_response_body_is_what_serde_json_writes() {
        let at = Utc.with_ymd_and_hms(2026, 3, 1, 11, 30, 27).unwrap();
        let outer = Outer {
            object: "connection",
            name: "Quote \" backslash \\ tab \t newline \n bell \u{7} é ☃ 🎉".to_owned(),
            missing: None,
            skipped: None,
            verdicts: vec![Verdict::NeedsYou, Verdict::Fine],
            inner: Inner {
                kind: "stale",
                at: at + chrono::Duration::milliseconds(632),
                since: Some(at),
            },
            document: serde_json::json!({"b": [1, -2, null, true], "a": {"</script>": "x"}}),
            count: u64::MAX,
            delta: i64::MIN,
        };
        let response = JsonResponse(&outer).into_response();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        assert_eq!(
            String::from_utf8(body.to_vec()).unwrap(),
            serde_json::to_string(&outer).unwrap()
        );
    }

    #[tokio::test]
    async fn a_body_that_cannot_be_written_is_the_internal_error_envelope() {
        let mut map = std::collections::HashMap::new();
        map.insert(vec![1u8], "a map with non-string keys");
        let response = JsonResponse(map).into_response();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        let envelope: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(envelope["error"]["code"], "internal_error");
        assert_eq!(envelope["error"]["type"], "api_error");
    }
}
