//! Paging the connection list: opaque signed cursors over the immutable order, each
//! connection exactly once even while writes land between pages.

use crate::helpers::{spawn_app, Backend, TestApp};
use crate::on_both_backends;
use reqwest::Method;
use serde_json::{json, Value};
use std::collections::HashMap;

/// Walks every page of `query`, writing between pages with `between`; returns the ids seen.
async fn walk(
    app: &TestApp,
    query: &str,
    mut between: impl FnMut(usize) -> Option<(Method, String, Value)>,
) -> Vec<String> {
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    for page_number in 0.. {
        let path = match &cursor {
            Some(c) => format!("/_ref/connectors?{query}&cursor={c}"),
            None => format!("/_ref/connectors?{query}"),
        };
        let (status, page) = app.get_json(&path).await;
        assert_eq!(status, 200, "{page}");
        for item in page["data"].as_array().unwrap() {
            seen.push(item["connection_id"].as_str().unwrap().to_owned());
        }
        if let Some((method, path, body)) = between(page_number) {
            let (status, response) = app.send_json(method, &path, body).await;
            assert!(status < 300, "{path}: {response}");
        }
        if page["has_more"] == true {
            cursor = Some(page["next_cursor"].as_str().unwrap().to_owned());
        } else {
            assert!(page["next_cursor"].is_null());
            break;
        }
    }
    seen
}

fn assert_each_once(seen: &[String], expected: &[String]) {
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for id in seen {
        *counts.entry(id.as_str()).or_default() += 1;
    }
    let repeated: Vec<_> = counts.iter().filter(|(_, n)| **n > 1).collect();
    assert!(repeated.is_empty(), "seen more than once: {repeated:?}");
    for id in expected {
        assert_eq!(counts.get(id.as_str()), Some(&1), "{id} missing");
    }
}

async fn walking_pages_returns_each_connection_once_under_writes(backend: Backend) {
    let app = spawn_app(backend).await;
    let spotify = app.create_connection("spotify", None).await;
    let mut ids = vec![spotify.clone()];
    app.grow_fleet(10_000, &mut ids).await;
    let targets = ids.clone();
    let seen = walk(&app, "limit=500", |page| {
        let id = &targets[(page * 397) % targets.len()];
        Some(match page % 3 {
            0 => (Method::PATCH, format!("/_ref/connections/{id}"), json!({"display_name": format!("page {page}")})),
            1 => (Method::POST, "/_ref/connections".into(), json!({"connector_id": "strava"})),
            _ => (Method::POST, format!("/_ref/connections/{spotify}/records"),
                  json!([{"stream": "plays", "record_key": format!("k{page}"), "data": {"page": page}}])),
        })
    })
    .await;
    assert_each_once(&seen, &ids);

    let needs_first = walk(&app, "limit=333&order=needs_you_first", |_| None).await;
    assert_each_once(&needs_first, &ids);
    app.finish().await;
}

async fn cursors_are_tamper_evident_and_bound_to_their_query(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut ids = Vec::new();
    app.grow_fleet(5, &mut ids).await;
    let (_, page) = app.get_json("/_ref/connectors?limit=2").await;
    let cursor = page["next_cursor"].as_str().unwrap().to_owned();
    assert_eq!(page["has_more"], true);

    let mut tampered = cursor.clone().into_bytes();
    let i = tampered.len() / 2;
    tampered[i] = if tampered[i] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    for bad in [tampered.as_str(), "garbage", "", &"A".repeat(5000)] {
        let (status, body) = app
            .get_json(&format!("/_ref/connectors?limit=2&cursor={bad}"))
            .await;
        if bad.is_empty() {
            continue;
        }
        assert_eq!(status, 400, "{bad}: {body}");
        assert_eq!(body["error"]["code"], "invalid_cursor");
    }
    let (status, _) = app
        .get_json(&format!(
            "/_ref/connectors?limit=2&status=paused&cursor={cursor}"
        ))
        .await;
    assert_eq!(
        status, 400,
        "a cursor only continues the query it came from"
    );
    for bad_limit in ["0", "501", "-1", "ten"] {
        let (status, body) = app
            .get_json(&format!("/_ref/connectors?limit={bad_limit}"))
            .await;
        assert!(
            status == 400 || status == 422,
            "limit={bad_limit}: {status} {body}"
        );
        assert!(body["error"]["code"].is_string());
    }
    app.finish().await;
}

async fn filters_select_matching_rows(backend: Backend) {
    let app = spawn_app(backend).await;
    let a = app.create_connection("spotify", None).await;
    let b = app.create_connection("gmail", None).await;
    let c = app.create_connection("bank-csv", None).await;
    app.send_json(
        Method::POST,
        &format!("/_ref/connections/{b}/pause"),
        Value::Null,
    )
    .await;
    let (_, paused) = app.get_json("/_ref/connectors?status=paused").await;
    let paused: Vec<_> = paused["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["connection_id"].clone())
        .collect();
    assert_eq!(paused, vec![json!(b)]);

    let (_, all) = app.get_json("/_ref/connectors").await;
    for state in ["healthy", "idle", "unknown", "degraded"] {
        let expected: Vec<_> = all["data"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|i| i["connection_health"]["state"] == state)
            .map(|i| i["connection_id"].clone())
            .collect();
        let (_, filtered) = app
            .get_json(&format!("/_ref/connectors?health={state}"))
            .await;
        let got: Vec<_> = filtered["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["connection_id"].clone())
            .collect();
        assert_eq!(got, expected, "health={state}");
    }
    let (status, _) = app.get_json("/_ref/connectors?health=splendid").await;
    assert_eq!(status, 400);
    let _ = (a, c);
    app.finish().await;
}

on_both_backends!(
    walking_pages_returns_each_connection_once_under_writes,
    cursors_are_tamper_evident_and_bound_to_their_query,
    filters_select_matching_rows,
);
