//! The write routes: what they do, and that bad input gets a 4xx envelope and changes nothing.

use crate::helpers::{spawn_app, Backend, TestApp};
use crate::on_both_backends;
use reqwest::Method;
use serde_json::{json, Value};

/// Sends a bad request, asserts its status and envelope, and that nothing changed.
async fn refused(
    app: &TestApp,
    method: Method,
    path: &str,
    body: Option<(&str, Vec<u8>)>,
    status: u16,
) -> Value {
    let before = app.snapshot().await;
    let mut request = app.owner(method.clone(), path);
    if let Some((content_type, bytes)) = body {
        request = request.header("content-type", content_type).body(bytes);
    }
    let response = request.send().await.unwrap();
    let got = response.status().as_u16();
    let envelope: Value = response.json().await.unwrap_or(Value::Null);
    assert_eq!(got, status, "{method} {path}: {envelope}");
    assert!(
        envelope["error"]["type"].is_string(),
        "{method} {path}: no envelope: {envelope}"
    );
    assert!(envelope["error"]["code"].is_string());
    assert!(envelope["error"]["message"].is_string());
    assert_eq!(
        app.snapshot().await,
        before,
        "{method} {path} changed something"
    );
    envelope
}

fn json_body(value: Value) -> Option<(&'static str, Vec<u8>)> {
    Some(("application/json", serde_json::to_vec(&value).unwrap()))
}

async fn bad_input_is_refused_without_changes(backend: Backend) {
    let app = spawn_app(backend).await;
    let id = app.create_connection("spotify", Some("Mine")).await;
    let c = |suffix: &str| format!("/_ref/connections/{id}{suffix}");

    // create
    refused(
        &app,
        Method::POST,
        "/_ref/connections",
        json_body(json!({"connector_id": 7})),
        422,
    )
    .await;
    refused(
        &app,
        Method::POST,
        "/_ref/connections",
        json_body(json!({"connector_id": "nope"})),
        422,
    )
    .await;
    refused(
        &app,
        Method::POST,
        "/_ref/connections",
        Some(("application/json", b"{".to_vec())),
        400,
    )
    .await;
    refused(
        &app,
        Method::POST,
        "/_ref/connections",
        Some(("text/plain", b"{}".to_vec())),
        415,
    )
    .await;
    refused(
        &app,
        Method::POST,
        "/_ref/connections",
        json_body(json!({"connector_id": "spotify", "status": "revoked"})),
        422,
    )
    .await;
    // rename
    refused(
        &app,
        Method::PATCH,
        &c(""),
        json_body(json!({"display_name": "x".repeat(201)})),
        422,
    )
    .await;
    refused(
        &app,
        Method::PATCH,
        "/_ref/connections/unknown",
        json_body(json!({"display_name": "x"})),
        404,
    )
    .await;
    // lifecycle
    refused(&app, Method::POST, &c("/resume"), None, 409).await;
    refused(&app, Method::POST, &c("/explode"), None, 400).await;
    refused(
        &app,
        Method::POST,
        "/_ref/connections/unknown/pause",
        None,
        404,
    )
    .await;
    // delete
    refused(&app, Method::DELETE, "/_ref/connections/unknown", None, 404).await;
    // schedule
    refused(
        &app,
        Method::PUT,
        &c("/schedule"),
        json_body(json!({"interval_seconds": 59})),
        422,
    )
    .await;
    refused(
        &app,
        Method::PUT,
        &c("/schedule"),
        json_body(json!({"interval_seconds": 600, "jitter_seconds": 601})),
        422,
    )
    .await;
    refused(
        &app,
        Method::PUT,
        &c("/schedule"),
        json_body(json!({"interval_seconds": "often"})),
        422,
    )
    .await;
    refused(
        &app,
        Method::PUT,
        "/_ref/connections/unknown/schedule",
        json_body(json!({"interval_seconds": 600})),
        404,
    )
    .await;
    // runs
    refused(
        &app,
        Method::POST,
        "/_ref/connections/unknown/runs",
        None,
        404,
    )
    .await;
    refused(
        &app,
        Method::POST,
        "/_ref/runs/unknown/heartbeat",
        None,
        404,
    )
    .await;
    refused(
        &app,
        Method::POST,
        "/_ref/runs/unknown/finish",
        json_body(json!({"status": "succeeded"})),
        404,
    )
    .await;
    refused(
        &app,
        Method::POST,
        "/_ref/runs/unknown/events",
        json_body(json!([{"kind": "x", "message": "y"}])),
        404,
    )
    .await;
    // records
    let record =
        |stream: &str, key: &str| json!({"stream": stream, "record_key": key, "data": {"n": 1}});
    refused(
        &app,
        Method::POST,
        &c("/records"),
        json_body(json!([record("plays", "a"), record("no_such_stream", "b")])),
        422,
    )
    .await;
    refused(
        &app,
        Method::POST,
        &c("/records"),
        json_body(json!([record("plays", "")])),
        422,
    )
    .await;
    refused(
        &app,
        Method::POST,
        &c("/records"),
        Some((
            "application/x-ndjson",
            b"{\"stream\":\"plays\",\"record_key\":\"a\",\"data\":1}\n{oops\n".to_vec(),
        )),
        400,
    )
    .await;
    refused(
        &app,
        Method::POST,
        &c("/records"),
        Some(("text/csv", b"a,b".to_vec())),
        415,
    )
    .await;
    // A record is an object, never its fields in order (serde's default for structs).
    refused(
        &app,
        Method::POST,
        &c("/records"),
        json_body(json!([["plays", "a", {"n": 1}]])),
        422,
    )
    .await;
    refused(
        &app,
        Method::POST,
        &c("/records"),
        Some(("application/x-ndjson", b"[\"plays\",\"a\",1]\n".to_vec())),
        422,
    )
    .await;
    let oversized: Vec<Value> = (0..10_001)
        .map(|i| record("plays", &format!("k{i}")))
        .collect();
    refused(
        &app,
        Method::POST,
        &c("/records"),
        json_body(Value::Array(oversized)),
        413,
    )
    .await;
    let huge = vec![b' '; 9 * 1024 * 1024];
    refused(
        &app,
        Method::POST,
        &c("/records"),
        Some(("application/json", huge)),
        413,
    )
    .await;
    refused(
        &app,
        Method::POST,
        "/_ref/connections/unknown/records",
        json_body(json!([record("plays", "a")])),
        404,
    )
    .await;
    refused(
        &app,
        Method::POST,
        &c("/records/delete"),
        json_body(json!({"stream": "nope"})),
        422,
    )
    .await;
    // attention
    refused(
        &app,
        Method::POST,
        &c("/attention"),
        json_body(json!({"kind": "coffee"})),
        422,
    )
    .await;
    refused(
        &app,
        Method::POST,
        "/_ref/attention/unknown/resolve",
        None,
        404,
    )
    .await;
    // manifests
    refused(
        &app,
        Method::POST,
        "/_ref/manifests",
        json_body(json!({"connector_id": "Bad Id"})),
        422,
    )
    .await;
    // An array where the schema has an object is ill-typed at any depth, never read as the
    // object's fields in order (serde's default for structs).
    refused(
        &app,
        Method::POST,
        "/_ref/connections",
        json_body(json!(["spotify"])),
        422,
    )
    .await;
    refused(
        &app,
        Method::POST,
        &c("/gaps/recover"),
        json_body(json!([])),
        422,
    )
    .await;
    let nested = refused(
        &app,
        Method::POST,
        "/_ref/manifests",
        json_body(json!({
            "connector_id": "positional", "display_name": "Positional", "version": "1",
            "streams": [["s", true]], "recommended_mode": "manual", "source_kind": "api"
        })),
        422,
    )
    .await;
    assert!(
        nested["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("invalid type: sequence")),
        "{nested}"
    );
    app.finish().await;
}

async fn runs_start_once_and_report_the_active_run(backend: Backend) {
    let app = spawn_app(backend).await;
    let id = app.create_connection("bank-csv", None).await;
    let (status, started) = app
        .send_json(
            Method::POST,
            &format!("/_ref/connections/{id}/runs"),
            Value::Null,
        )
        .await;
    assert_eq!(status, 202, "{started}");
    let run_id = started["run_id"].as_str().unwrap().to_owned();
    let (status, conflict) = app
        .send_json(
            Method::POST,
            &format!("/_ref/connections/{id}/runs"),
            Value::Null,
        )
        .await;
    assert_eq!(status, 409);
    assert_eq!(conflict["error"]["existing"], run_id.as_str());

    let (status, _) = app
        .send_json(
            Method::POST,
            &format!("/_ref/runs/{run_id}/heartbeat"),
            Value::Null,
        )
        .await;
    assert_eq!(status, 200);
    let (status, finished) = app
        .send_json(
            Method::POST,
            &format!("/_ref/runs/{run_id}/finish"),
            json!({"status": "failed"}),
        )
        .await;
    assert_eq!(status, 422, "a failed run needs a reason: {finished}");
    let (status, finished) = app
        .send_json(
            Method::POST,
            &format!("/_ref/runs/{run_id}/finish"),
            json!({"status": "succeeded_with_gaps", "records_written": 3,
                   "gaps": [{"stream": "transactions", "reason": "page 4 timed out", "retryable": true}]}),
        )
        .await;
    assert_eq!(status, 200, "{finished}");
    let (status, again) = app
        .send_json(
            Method::POST,
            &format!("/_ref/runs/{run_id}/finish"),
            json!({"status": "succeeded"}),
        )
        .await;
    assert_eq!(status, 409, "a finished run cannot finish again: {again}");

    let (status, run) = app.get_json(&format!("/_ref/runs/{run_id}")).await;
    assert_eq!(status, 200);
    assert_eq!(run["run"]["status"], "succeeded_with_gaps");

    let (_, item) = app
        .get_json(&format!("/_ref/connectors?connection={id}"))
        .await;
    assert_eq!(item["data"][0]["last_run"]["run_id"], run_id.as_str());
    assert_eq!(item["data"][0]["last_run"]["gap_count"], 1);
    app.finish().await;
}

async fn ingest_counts_and_is_idempotent(backend: Backend) {
    let app = spawn_app(backend).await;
    let id = app.create_connection("spotify", None).await;
    let path = format!("/_ref/connections/{id}/records");
    let batch = json!([
        {"stream": "plays", "record_key": "a", "data": {"track": "One"}},
        {"stream": "plays", "record_key": "b", "data": {"track": "Two"}},
        {"stream": "playlists", "record_key": "p", "data": {"name": "Mix"}}
    ]);
    let (status, counts) = app.send_json(Method::POST, &path, batch.clone()).await;
    assert_eq!(status, 200);
    assert_eq!(counts, json!({"inserted": 3, "updated": 0, "unchanged": 0}));

    let (_, counts) = app.send_json(Method::POST, &path, batch).await;
    assert_eq!(counts, json!({"inserted": 0, "updated": 0, "unchanged": 3}));

    let ndjson = "{\"stream\":\"plays\",\"record_key\":\"a\",\"data\":{\"track\":\"One (live)\"}}\n{\"stream\":\"plays\",\"record_key\":\"c\",\"data\":{}}\n";
    let response = app
        .owner(Method::POST, &path)
        .header("content-type", "application/x-ndjson")
        .body(ndjson)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let counts: Value = response.json().await.unwrap();
    assert_eq!(counts, json!({"inserted": 1, "updated": 1, "unchanged": 0}));

    let (_, list) = app
        .get_json(&format!("/_ref/connectors?connection={id}"))
        .await;
    let item = &list["data"][0];
    assert_eq!(item["total_records"], 4);
    assert_eq!(item["total_records_state"], "known");
    let plays = item["streams"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "plays")
        .unwrap();
    assert_eq!(plays["record_count"], 3);

    let (status, deleted) = app
        .send_json(
            Method::POST,
            &format!("{path}/delete"),
            json!({"stream": "plays", "record_keys": ["a", "zzz"]}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(deleted["deleted"], 1);
    let (_, list) = app
        .get_json(&format!("/_ref/connectors?connection={id}"))
        .await;
    assert_eq!(list["data"][0]["total_records"], 3);
    app.finish().await;
}

async fn lifecycle_and_schedule_round_trip(backend: Backend) {
    let app = spawn_app(backend).await;
    let id = app.create_connection("strava", None).await;
    let (status, item) = app
        .send_json(
            Method::PUT,
            &format!("/_ref/connections/{id}/schedule"),
            json!({"interval_seconds": 3600, "jitter_seconds": 60}),
        )
        .await;
    assert_eq!(status, 200, "{item}");
    assert_eq!(item["schedule"]["interval_seconds"], 3600);
    assert_eq!(item["schedule"]["enabled"], true);

    for (action, status_after) in [
        ("pause", "paused"),
        ("resume", "active"),
        ("revoke", "revoked"),
        ("reactivate", "active"),
    ] {
        let (status, item) = app
            .send_json(
                Method::POST,
                &format!("/_ref/connections/{id}/{action}"),
                Value::Null,
            )
            .await;
        assert_eq!(status, 200, "{action}: {item}");
        assert_eq!(item["status"], status_after, "{action}");
    }
    let (status, item) = app
        .send_json(
            Method::PATCH,
            &format!("/_ref/connections/{id}"),
            json!({"display_name": "  Morning rides "}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(item["display_name"], "Morning rides");

    let response = app
        .owner(Method::DELETE, &format!("/_ref/connections/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    let (status, _) = app.get_json(&format!("/_ref/connections/{id}")).await;
    assert_eq!(status, 404);
    let (_, list) = app
        .get_json(&format!("/_ref/connectors?connection={id}"))
        .await;
    assert_eq!(list["data"], json!([]));
    app.finish().await;
}

on_both_backends!(
    bad_input_is_refused_without_changes,
    runs_start_once_and_report_the_active_run,
    ingest_counts_and_is_idempotent,
    lifecycle_and_schedule_round_trip,
);
