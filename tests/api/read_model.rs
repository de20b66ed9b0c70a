//! The summary surface: selector semantics, one projector everywhere, verdicts that move
//! with time and never with a write.

use crate::helpers::{spawn_app, Backend, TestApp};
use crate::on_both_backends;
use reqwest::Method;
use serde_json::{json, Value};

async fn scoped(app: &TestApp, selector: &str) -> Vec<Value> {
    let path = format!("/_ref/connectors?connection={}", urlencode(selector));
    let (status, body) = app.get_json(&path).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["object"], "list");
    body["data"].as_array().unwrap().clone()
}

fn urlencode(text: &str) -> String {
    owner_console::http::auth::encode_query_value(text)
}

async fn body_text(app: &TestApp, path: &str) -> String {
    let response = app.owner(Method::GET, path).send().await.unwrap();
    assert_eq!(response.status(), 200, "{path}");
    response.text().await.unwrap()
}

async fn unscoped_item(app: &TestApp, id: &str) -> Value {
    let (_, body) = app.get_json("/_ref/connectors").await;
    body["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|item| item["connection_id"] == id)
        .cloned()
        .expect("connection in the unscoped list")
}

async fn selector_resolves_exactly_as_specified(backend: Backend) {
    let app = spawn_app(backend).await;
    let only_github = app.create_connection("github", Some("Only one")).await;
    let spotify_a = app.create_connection("spotify", Some("A")).await;
    let _spotify_b = app.create_connection("spotify", Some("B")).await;

    // Exact connection id, and the same value as connector_instance_id.
    let items = scoped(&app, &only_github).await;
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["connection_id"], only_github.as_str());
    assert_eq!(items[0]["connector_instance_id"], only_github.as_str());
    // Byte for byte the entry of the unscoped list.
    assert_eq!(
        serde_json::to_string(&items[0]).unwrap(),
        serde_json::to_string(&unscoped_item(&app, &only_github).await).unwrap()
    );

    // A connector id used by exactly one connection resolves to it.
    let items = scoped(&app, "github").await;
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["connection_id"], only_github.as_str());

    // Two connections share spotify: no guess, an empty list.
    assert!(scoped(&app, "spotify").await.is_empty());
    // Unknown, empty and absurd selectors: empty lists, never errors.
    for selector in [
        "nope",
        "",
        &"x".repeat(5000),
        "' OR 1=1 --",
        "conn_%",
        "\u{1F600}",
    ] {
        assert!(scoped(&app, selector).await.is_empty(), "{selector:?}");
    }

    // Exact identity wins over a connector id equal to it.
    let manifest = json!({
        "connector_id": spotify_a, "display_name": "Confusing", "version": "1",
        "streams": [{"name": "s"}], "recommended_mode": "manual", "source_kind": "api"
    });
    let (status, _) = app
        .send_json(Method::POST, "/_ref/manifests", manifest)
        .await;
    assert_eq!(status, 200);
    let confusing = app.create_connection(&spotify_a, None).await;
    let items = scoped(&app, &spotify_a).await;
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["connection_id"], spotify_a.as_str());
    assert_ne!(items[0]["connection_id"], confusing.as_str());

    // Paging a scoped read makes no sense: 400.
    let (status, body) = app
        .get_json(&format!(
            "/_ref/connectors?connection={only_github}&limit=5"
        ))
        .await;
    assert_eq!(status, 400, "{body}");
    app.finish().await;
}

async fn scoped_reads_write_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let id = app.create_connection("gmail", None).await;
    // Settle the read model first so only the scoped reads are under test.
    app.get_json("/_ref/connectors").await;
    let before_counts = app.table_counts().await;
    let before = app
        .console
        .store
        .read_evidence(std::slice::from_ref(&id), app.clock_now())
        .await
        .unwrap();
    for selector in [id.as_str(), "gmail", "unknown-connector", "conn_new"] {
        scoped(&app, selector).await;
    }
    assert_eq!(app.table_counts().await, before_counts);
    let after = app
        .console
        .store
        .read_evidence(std::slice::from_ref(&id), app.clock_now())
        .await
        .unwrap();
    assert_eq!(before.rows, after.rows);
    app.finish().await;
}

async fn verdict_turns_stale_when_only_time_passes(backend: Backend) {
    let app = spawn_app(backend).await;
    // bank-csv is manual with a 30-day window.
    let id = app.create_connection("bank-csv", Some("Checking")).await;
    let (_, run) = app
        .send_json(
            Method::POST,
            &format!("/_ref/connections/{id}/runs"),
            Value::Null,
        )
        .await;
    let run_id = run["run_id"].as_str().unwrap();
    let (status, _) = app
        .send_json(
            Method::POST,
            &format!("/_ref/runs/{run_id}/finish"),
            json!({"status": "succeeded"}),
        )
        .await;
    assert_eq!(status, 200);

    let fresh = scoped(&app, &id).await.remove(0);
    assert_eq!(fresh["freshness"]["status"], "current");
    assert_eq!(fresh["connection_health"]["state"], "healthy");
    assert_eq!(fresh["rendered_verdict"]["pill"]["tone"], "green");
    let stale_at = fresh["freshness"]["stale_at"].as_str().unwrap().to_owned();
    let evidence_before = app
        .console
        .store
        .read_evidence(std::slice::from_ref(&id), app.clock_now())
        .await
        .unwrap();
    let counts_before = app.table_counts().await;

    // Exactly at the window: still current. One second later: stale. No write in between.
    app.clock.set(
        chrono::DateTime::parse_from_rfc3339(&stale_at)
            .unwrap()
            .into(),
    );
    assert_eq!(scoped(&app, &id).await[0]["freshness"]["status"], "current");
    app.clock.advance(chrono::Duration::seconds(1));
    let stale = scoped(&app, &id).await.remove(0);
    assert_eq!(stale["freshness"]["status"], "stale");
    assert_ne!(stale["rendered_verdict"]["pill"]["tone"], "green");
    assert_eq!(stale["rendered_verdict"]["pill"]["label"], "Needs refresh");
    assert_eq!(stale["next_action"]["kind"], "refresh_now");
    assert_eq!(
        unscoped_item(&app, &id).await,
        stale,
        "the list agrees with the scoped entry"
    );

    let evidence_after = app
        .console
        .store
        .read_evidence(std::slice::from_ref(&id), app.clock_now())
        .await
        .unwrap();
    assert_eq!(
        evidence_before.rows, evidence_after.rows,
        "no evidence row changed"
    );
    assert_eq!(app.table_counts().await, counts_before);
    app.finish().await;
}

async fn server_functions_and_json_routes_agree(backend: Backend) {
    let app = spawn_app(backend).await;
    app.create_connection("spotify", Some("Mine")).await;
    app.create_connection("bank-csv", None).await;
    let cookie = app.session_cookie().await;
    let from_fn: Value = app
        .anon
        .post(app.url("/api/list_connections"))
        .header("cookie", &cookie)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("query[needs_you_first]=false")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let (_, from_route) = app.get_json("/_ref/connectors").await;
    assert_eq!(from_fn["items"], from_route["data"]);

    let anonymous = app
        .anon
        .post(app.url("/api/list_connections"))
        .header("content-type", "application/x-www-form-urlencoded")
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    app.finish().await;
}

async fn detail_and_diagnostics_are_exact_and_deep(backend: Backend) {
    let app = spawn_app(backend).await;
    let id = app.create_connection("github", None).await;
    let (_, run) = app
        .send_json(
            Method::POST,
            &format!("/_ref/connections/{id}/runs"),
            Value::Null,
        )
        .await;
    let run_id = run["run_id"].as_str().unwrap();
    app.send_json(
        Method::POST,
        &format!("/_ref/runs/{run_id}/events"),
        json!([{"kind": "source_error", "message": "503 from the API", "stream": "events"}]),
    )
    .await;
    app.send_json(
        Method::POST,
        &format!("/_ref/runs/{run_id}/finish"),
        json!({"status": "failed", "failure_reason": "source_unavailable"}),
    )
    .await;
    let (status, detail) = app.get_json(&format!("/_ref/connections/{id}")).await;
    assert_eq!(status, 200, "{detail}");
    assert_eq!(detail["summary"], unscoped_item(&app, &id).await);
    assert_eq!(detail["runs"][0]["run_id"], run_id);
    assert_eq!(
        detail["failing_run"]["events"][0]["message"],
        "503 from the API"
    );

    let (status, diagnostics) = app
        .get_json(&format!("/_ref/connections/{id}/diagnostics"))
        .await;
    assert_eq!(status, 200, "{diagnostics}");
    assert!(diagnostics["rule"]["health_rule"].as_u64().unwrap() > 0);
    assert!(!diagnostics["rule"]["explanation"]
        .as_str()
        .unwrap()
        .is_empty());
    assert_eq!(diagnostics["now"], json!(app.clock_now()));

    for path in [
        "/_ref/connections/nope",
        "/_ref/connections/nope/diagnostics",
        "/_ref/runs/nope",
    ] {
        let (status, body) = app.get_json(path).await;
        assert_eq!(status, 404, "{path}: {body}");
        assert_eq!(body["error"]["type"], "not_found_error");
    }
    app.finish().await;
}

async fn sweeper_folds_and_reports_its_state(backend: Backend) {
    let app = spawn_app(backend).await;
    let id = app.create_connection("spotify", None).await;
    // Write straight through storage: the write routes answer with a (folded) summary.
    app.console
        .store
        .update_connection(
            &id,
            &console_storage::ConnectionChange::Rename(Some("dirty".into())),
            app.clock_now(),
        )
        .await
        .unwrap();
    app.clock.advance(chrono::Duration::seconds(30));
    let (status, before) = app.get_json("/_ref/connector-summary/status").await;
    assert_eq!(status, 200, "{before}");
    assert_eq!(before["read_model"]["dirty"], 1, "{before}");
    assert_eq!(before["oldest_dirty_age_seconds"], 30);
    // The sweeper's timer is an hour: it has not swept since start-up.
    assert!(before["sweeper"]["last_sweep_at"].is_null(), "{before}");

    let folded = console_service::background::sweep_once(&app.console, 100).await;
    assert_eq!(folded, 1);
    let (_, after) = app.get_json("/_ref/connector-summary/status").await;
    assert_eq!(after["read_model"]["dirty"], 0, "{after}");
    assert!(after["oldest_dirty_age_seconds"].is_null());
    assert_eq!(after["sweeper"]["last_folded"], 1);
    assert_eq!(after["sweeper"]["last_sweep_at"], json!(app.clock_now()));
    app.finish().await;
}

/// A tick is several committed folds: when one fails, the status counts the rows the
/// others folded (it showed 0 for such a tick) and carries the error.
async fn a_sweep_that_fails_part_way_reports_what_it_folded(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut ids = Vec::new();
    for _ in 0..600 {
        // One second apart, so the sweep's oldest-first order is the creation order.
        ids.push(app.create_dirty_connection("spotify").await);
        app.clock.advance(chrono::Duration::seconds(1));
    }
    let db = console_storage::connect(&app.database_url).await.unwrap();
    console_storage::testing::refuse_to_fold(&db, &ids[599]).await;

    // A batch of 30 gives a tick budget of 600: every row, the newest in the last fold.
    let folded = console_service::background::sweep_once(&app.console, 30).await;
    let (status, body) = app.get_json("/_ref/connector-summary/status").await;
    assert_eq!(status, 200, "{body}");
    let dirty = body["read_model"]["dirty"].as_u64().unwrap();
    assert!(folded >= 350, "the folds before the failure count: {body}");
    assert_eq!(folded + dirty, 600, "{body}");
    assert_eq!(body["sweeper"]["last_folded"], folded, "{body}");
    assert_eq!(body["sweeper"]["total_folded"], folded, "{body}");
    let error = body["sweeper"]["last_error"].as_str().unwrap_or_default();
    assert!(error.contains("injected fold failure"), "{body}");
    db.close().await;
    app.finish().await;
}

/// The streamed full list and a page holding every connection are the same document (the
/// page adds `has_more`), byte for byte, also for names that need escaping: the stream's
/// items are written by the domain's direct JSON writer, the page through serde (sonic-rs).
async fn the_streamed_list_is_byte_for_byte_the_page(backend: Backend) {
    let app = spawn_app(backend).await;
    let manifest = json!({
        "connector_id": "escapes", "display_name": "Quote \" back\\slash / <b>&amp;</b> \u{2028}\u{2029} \u{7f}",
        "version": "1", "streams": [{"name": "s"}], "recommended_mode": "manual", "source_kind": "api"
    });
    let (status, body) = app
        .send_json(Method::POST, "/_ref/manifests", manifest)
        .await;
    assert_eq!(status, 200, "{body}");
    for label in [
        Some("caf\u{e9} \u{1F600} \"quoted\" C:\\path"),
        Some("'single' \u{fffd} \u{10ffff}"),
        None,
    ] {
        app.create_connection("escapes", label).await;
        app.create_connection("github", label).await;
    }
    let streamed = body_text(&app, "/_ref/connectors").await;
    let page = body_text(&app, "/_ref/connectors?limit=100").await;
    // The names are in the list, escaped.
    assert!(streamed.contains(r#"Quote \" back\\slash"#), "{streamed}");
    assert!(streamed.contains(r#"\"quoted\" C:\\path"#), "{streamed}");
    let streamed_as_page = format!("{},\"has_more\":false}}", &streamed[..streamed.len() - 1]);
    assert_eq!(page, streamed_as_page);
    app.finish().await;
}

on_both_backends!(
    sweeper_folds_and_reports_its_state,
    the_streamed_list_is_byte_for_byte_the_page,
    a_sweep_that_fails_part_way_reports_what_it_folded,
    selector_resolves_exactly_as_specified,
    scoped_reads_write_nothing,
    verdict_turns_stale_when_only_time_passes,
    server_functions_and_json_routes_agree,
    detail_and_diagnostics_are_exact_and_deep,
);
