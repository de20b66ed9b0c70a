//! Randomized hostile input at every route input: selectors of any bytes and length, cursors
//! (random and tampered), query strings, path ids, JSON and NDJSON bodies, schedules,
//! manifests and server-function arguments. Whatever arrives, the server answers below 500,
//! every refusal is the error envelope, and a refused request writes nothing.
//!
//! Seeded and reproducible: `FUZZ_SEED` picks the seed (each failure prints it) and
//! `FUZZ_CASES` the number of cases per input kind (default 60, quick enough for CI;
//! e.g. `FUZZ_CASES=2000 cargo test --test api fuzz` for a long run).

use crate::helpers::{spawn_app, Backend, TestApp};
use crate::on_both_backends;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use reqwest::Method;
use serde_json::{json, Value};

fn cases() -> usize {
    std::env::var("FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(60)
}

/// The run's seed: `FUZZ_SEED`, or a fixed one so CI is reproducible.
fn seed() -> u64 {
    std::env::var("FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0x0c0f_fee5_eed5)
}

/// Characters that break naive parsers: separators, escapes, quotes, controls, non-ASCII.
const NASTY: &[&str] = &[
    "/",
    "\\",
    "%",
    "%00",
    "%2F",
    "%5C",
    "?",
    "#",
    "&",
    "=",
    ";",
    "+",
    " ",
    "\0",
    "\n",
    "\r",
    "\t",
    "\"",
    "'",
    "<",
    ">",
    "{",
    "}",
    "[",
    "]",
    ":",
    ",",
    ".",
    "..",
    "*",
    "_",
    "' OR 1=1 --",
    "\u{7f}",
    "\u{a0}",
    "\u{200b}",
    "\u{fffd}",
    "\u{1F600}",
    "é",
    "ß",
    "conn_",
    "spotify",
];

/// A length spread over orders of magnitude up to `max`, so short and huge both occur.
fn length(rng: &mut StdRng, max: usize) -> usize {
    let bits = usize::BITS - max.leading_zeros();
    let cap = (1usize << rng.gen_range(0..=bits)).min(max);
    rng.gen_range(0..=cap)
}

fn nasty_bytes(rng: &mut StdRng, max: usize) -> Vec<u8> {
    let target = length(rng, max);
    let mut out = Vec::with_capacity(target);
    while out.len() < target {
        match rng.gen_range(0..4) {
            0 => out.extend_from_slice(NASTY.choose(rng).unwrap().as_bytes()),
            1 => out.push(rng.gen()),
            _ => out.push(rng.gen_range(b'a'..=b'z')),
        }
    }
    out.truncate(target);
    out
}

fn nasty_string(rng: &mut StdRng, max: usize) -> String {
    String::from_utf8_lossy(&nasty_bytes(rng, max)).into_owned()
}

/// Every byte outside the RFC 3986 unreserved set percent-encoded, so any bytes travel.
fn encode(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(b) {
                (*b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn nasty_number(rng: &mut StdRng) -> Value {
    match rng.gen_range(0..8) {
        0 => json!(i64::MIN),
        1 => json!(i64::MAX),
        2 => json!(u64::MAX),
        3 => json!(-1),
        4 => json!(0),
        5 => json!(1e308),
        6 => json!(rng.gen::<f64>() * 1e6 - 5e5),
        _ => json!(rng.gen_range(-100_000i64..100_000)),
    }
}

/// Any JSON value, nested a little.
fn nasty_json(rng: &mut StdRng, depth: u32) -> Value {
    match rng.gen_range(0..if depth == 0 { 5 } else { 7 }) {
        0 => Value::Null,
        1 => json!(rng.gen::<bool>()),
        2 => nasty_number(rng),
        3 | 4 => Value::String(nasty_string(rng, 300)),
        5 => Value::Array(
            (0..rng.gen_range(0..4))
                .map(|_| nasty_json(rng, depth - 1))
                .collect(),
        ),
        _ => Value::Object(
            (0..rng.gen_range(0..4))
                .map(|_| (nasty_string(rng, 12), nasty_json(rng, depth - 1)))
                .collect(),
        ),
    }
}

/// A valid body with one to three random changes: a field replaced by anything, removed,
/// or joined by an unknown one; sometimes the whole body replaced.
fn mutate(rng: &mut StdRng, valid: &Value) -> Value {
    if rng.gen_ratio(1, 8) {
        return nasty_json(rng, 3);
    }
    let mut value = valid.clone();
    for _ in 0..rng.gen_range(1..=3) {
        mutate_once(rng, &mut value);
    }
    value
}

fn mutate_once(rng: &mut StdRng, value: &mut Value) {
    match value {
        Value::Object(map) if !map.is_empty() && rng.gen_ratio(3, 4) => {
            let key = map.keys().nth(rng.gen_range(0..map.len())).unwrap().clone();
            match rng.gen_range(0..4) {
                0 => {
                    map.remove(&key);
                }
                1 => mutate_once(rng, map.get_mut(&key).unwrap()),
                _ => {
                    map.insert(key, nasty_json(rng, 2));
                }
            }
        }
        Value::Object(map) => {
            map.insert(nasty_string(rng, 12), nasty_json(rng, 1));
        }
        Value::Array(items) if !items.is_empty() && rng.gen_ratio(3, 4) => {
            let i = rng.gen_range(0..items.len());
            mutate_once(rng, &mut items[i]);
        }
        Value::Array(items) => items.push(nasty_json(rng, 2)),
        other => *other = nasty_json(rng, 2),
    }
}

/// Row counts of the tables a write can touch, over one connection held for the test.
enum Counter {
    Sqlite(sqlx::SqliteConnection),
    Postgres(sqlx::PgConnection),
}

const COUNTS_SQL: &str = "SELECT (SELECT COUNT(*) FROM connectors) + 1000 * (SELECT COUNT(*) FROM connections), \
     (SELECT COUNT(*) FROM records WHERE deleted_at IS NULL) + 1000000 * (SELECT COUNT(*) FROM records WHERE deleted_at IS NOT NULL), \
     (SELECT COUNT(*) FROM runs) + 1000 * (SELECT COUNT(*) FROM run_events) + 1000000 * (SELECT COUNT(*) FROM run_gaps), \
     (SELECT COUNT(*) FROM attention) + 1000 * (SELECT COUNT(*) FROM schedules) + 1000000 * (SELECT COUNT(*) FROM settings)";

impl Counter {
    async fn open(app: &TestApp) -> Counter {
        use sqlx::Connection;
        match app.backend {
            Backend::Sqlite => Counter::Sqlite(
                sqlx::SqliteConnection::connect(&app.database_url)
                    .await
                    .unwrap(),
            ),
            Backend::Postgres => Counter::Postgres(
                sqlx::PgConnection::connect(&app.database_url)
                    .await
                    .unwrap(),
            ),
        }
    }

    async fn counts(&mut self) -> (i64, i64, i64, i64) {
        match self {
            Counter::Sqlite(c) => sqlx::query_as(COUNTS_SQL).fetch_one(c).await.unwrap(),
            Counter::Postgres(c) => sqlx::query_as(COUNTS_SQL).fetch_one(c).await.unwrap(),
        }
    }
}

/// What a refused request must leave as it was: the owner-visible summaries (record counts,
/// stream timestamps, schedules, verdicts) and the row counts behind them.
async fn state(app: &TestApp, counter: &mut Counter) -> (Value, (i64, i64, i64, i64)) {
    (app.snapshot().await, counter.counts().await)
}

/// Checks one answer: below 500, and a refusal carries the envelope. Returns whether the
/// request was refused.
fn check(what: &str, seed: u64, status: u16, body: &[u8]) -> bool {
    assert!(
        status < 500,
        "{what} (FUZZ_SEED={seed}) answered {status}: {}",
        String::from_utf8_lossy(body)
    );
    if status < 400 {
        return false;
    }
    let envelope: Value = serde_json::from_slice(body).unwrap_or_else(|_| {
        panic!(
            "{what} (FUZZ_SEED={seed}): {status} without an envelope: {}",
            String::from_utf8_lossy(body)
        )
    });
    for field in ["type", "code", "message"] {
        assert!(
            envelope["error"][field].is_string(),
            "{what} (FUZZ_SEED={seed}): {status} envelope lacks {field}: {envelope}"
        );
    }
    true
}

async fn send(request: reqwest::RequestBuilder) -> (u16, Vec<u8>) {
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.bytes().await.unwrap().to_vec())
}

/// A small fleet to aim at: two connections (one with records, a run and attention).
async fn target(app: &TestApp) -> (String, String, String) {
    let id = app.create_connection("spotify", Some("Fuzz target")).await;
    app.create_connection("gmail", None).await;
    let (status, _) = app
        .send_json(
            Method::POST,
            &format!("/_ref/connections/{id}/records"),
            json!([{"stream": "plays", "record_key": "k1", "data": {"a": 1}}]),
        )
        .await;
    assert_eq!(status, 200);
    let (status, run) = app
        .send_json(
            Method::POST,
            &format!("/_ref/connections/{id}/runs"),
            json!({}),
        )
        .await;
    assert_eq!(status, 202, "{run}");
    let (status, attention) = app
        .send_json(
            Method::POST,
            &format!("/_ref/connections/{id}/attention"),
            json!({"kind": "reauth"}),
        )
        .await;
    assert_eq!(status, 201, "{attention}");
    (
        id,
        run["run_id"].as_str().unwrap().to_owned(),
        attention["attention_id"].as_str().unwrap().to_owned(),
    )
}

async fn hostile_reads_are_answered_and_write_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let (id, run_id, _) = target(&app).await;
    let seed = seed();
    let mut rng = StdRng::seed_from_u64(seed);
    let mut counter = Counter::open(&app).await;
    let before = state(&app, &mut counter).await;
    let (_, page) = app.get_json("/_ref/connectors?limit=1").await;
    let cursor = page["next_cursor"]
        .as_str()
        .expect("a second page")
        .to_owned();
    let mut sent = 0;

    for _ in 0..cases() {
        // Selectors of any bytes and length, alone or with filters.
        let selector = nasty_bytes(&mut rng, 4096);
        let mut query = format!("connection={}", encode(&selector));
        if rng.gen_ratio(1, 3) {
            query.push_str(&format!("&status={}", encode(&nasty_bytes(&mut rng, 20))));
        }
        let (status, body) =
            send(app.owner(Method::GET, &format!("/_ref/connectors?{query}"))).await;
        if !check(&query, seed, status, &body) {
            let list: Value = serde_json::from_slice(&body).unwrap();
            assert!(list["data"].as_array().unwrap().len() <= 1, "{query}");
        }

        // Cursors: random text, and a real one truncated, extended or with a byte changed.
        let mut tampered = cursor.clone().into_bytes();
        match rng.gen_range(0..4) {
            0 => tampered = nasty_bytes(&mut rng, 3000),
            1 => tampered.truncate(rng.gen_range(0..tampered.len())),
            2 => tampered.extend(nasty_bytes(&mut rng, 8)),
            _ => {
                let i = rng.gen_range(0..tampered.len());
                tampered[i] = *b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
                    .choose(&mut rng)
                    .unwrap();
            }
        }
        if tampered != cursor.as_bytes() {
            let query = format!("limit=1&cursor={}", encode(&tampered));
            let (status, body) =
                send(app.owner(Method::GET, &format!("/_ref/connectors?{query}"))).await;
            assert!(check(&query, seed, status, &body), "{query} accepted");
        }

        // Query strings: known and unknown keys with any values, repeated keys included.
        let keys = [
            "limit",
            "cursor",
            "status",
            "health",
            "order",
            "connection",
            "runs_limit",
            "runs_cursor",
        ];
        let query = (0..rng.gen_range(1..5))
            .map(|_| {
                let key = if rng.gen_ratio(4, 5) {
                    keys.choose(&mut rng).unwrap().as_bytes().to_vec()
                } else {
                    nasty_bytes(&mut rng, 16)
                };
                let value = match rng.gen_range(0..3) {
                    0 => nasty_number(&mut rng).to_string().into_bytes(),
                    1 => [
                        "healthy",
                        "needs_you_first",
                        "stable",
                        "active",
                        "paused",
                        "1",
                        "500",
                        "501",
                        "0",
                    ]
                    .choose(&mut rng)
                    .unwrap()
                    .as_bytes()
                    .to_vec(),
                    _ => nasty_bytes(&mut rng, 64),
                };
                format!("{}={}", encode(&key), encode(&value))
            })
            .collect::<Vec<_>>()
            .join("&");
        for path in [
            format!("/_ref/connectors?{query}"),
            format!("/_ref/connections/{id}?{query}"),
        ] {
            let (status, body) = send(app.owner(Method::GET, &path)).await;
            check(&path, seed, status, &body);
        }

        // Path ids of any bytes on every read route.
        let bad_id = encode(&nasty_bytes(&mut rng, 600));
        for path in [
            format!("/_ref/connections/{bad_id}"),
            format!("/_ref/connections/{bad_id}/diagnostics"),
            format!("/_ref/runs/{bad_id}"),
        ] {
            let (status, body) = send(app.owner(Method::GET, &path)).await;
            check(&path, seed, status, &body);
        }
        sent += 7;
    }
    let (status, _) = app.get_json(&format!("/_ref/runs/{run_id}")).await;
    assert_eq!(status, 200, "the server still answers");
    assert_eq!(state(&app, &mut counter).await, before, "a read wrote");
    eprintln!("fuzz reads ({backend:?}, FUZZ_SEED={seed}): {sent} requests");
    app.finish().await;
}

/// One write route with a valid body to start mutating from.
struct WriteRoute {
    method: Method,
    path: String,
    valid: Value,
}

fn write_routes(id: &str, run_id: &str, attention_id: &str) -> Vec<WriteRoute> {
    let route = |method: Method, path: String, valid: Value| WriteRoute {
        method,
        path,
        valid,
    };
    let c = |suffix: &str| format!("/_ref/connections/{id}{suffix}");
    vec![
        route(
            Method::POST,
            "/_ref/connections".into(),
            json!({"connector_id": "github", "display_name": "G", "status": "draft", "maximum_staleness_seconds": 3600}),
        ),
        route(Method::PATCH, c(""), json!({"display_name": "Renamed"})),
        route(
            Method::PUT,
            c("/schedule"),
            json!({"interval_seconds": 3600, "jitter_seconds": 60, "enabled": true}),
        ),
        route(
            Method::POST,
            c("/attention"),
            json!({"kind": "add_info", "message": "m"}),
        ),
        route(Method::POST, c("/gaps/recover"), json!({"stream": "plays"})),
        route(
            Method::POST,
            c("/records/delete"),
            json!({"stream": "plays", "record_keys": ["k1"]}),
        ),
        route(
            Method::POST,
            c("/records"),
            json!([{"stream": "plays", "record_key": "k2", "data": {"x": [1, "two"]}, "emitted_at": "2026-03-01T11:00:00Z"}]),
        ),
        route(
            Method::POST,
            format!("/_ref/runs/{run_id}/events"),
            json!([{"kind": "progress", "message": "m", "stream": "plays"}]),
        ),
        route(
            Method::POST,
            format!("/_ref/runs/{run_id}/finish"),
            json!({"status": "failed", "failure_reason": "credential_rejected", "records_written": 3, "gaps": [{"stream": "plays", "reason": "rate_limited", "retryable": true}]}),
        ),
        route(
            Method::POST,
            format!("/_ref/attention/{attention_id}/resolve"),
            json!({}),
        ),
        route(
            Method::POST,
            "/_ref/runtime/heartbeat".into(),
            json!({"label": "runner"}),
        ),
        route(
            Method::POST,
            "/_ref/manifests".into(),
            json!({
                "connector_id": "fuzzed", "display_name": "Fuzzed", "version": "1",
                "streams": [{"name": "s", "required": true}], "recommended_mode": "manual", "source_kind": "api"
            }),
        ),
    ]
}

async fn hostile_bodies_are_refused_and_write_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let (id, run_id, attention_id) = target(&app).await;
    let seed = seed();
    let mut rng = StdRng::seed_from_u64(seed ^ 0xb0d1e5);
    let mut counter = Counter::open(&app).await;
    let routes = write_routes(&id, &run_id, &attention_id);
    let cookie = app.session_cookie().await;
    let mut baseline = state(&app, &mut counter).await;
    let (mut refused, mut accepted) = (0, 0);

    for case in 0..cases() {
        for route in &routes {
            let (content_type, body) = match rng.gen_range(0..10) {
                // Not JSON at all, or JSON under a wrong or missing content type.
                0 => ("application/json", nasty_bytes(&mut rng, 2048)),
                1 => (
                    *[
                        "text/plain",
                        "",
                        "application/x-www-form-urlencoded",
                        "application/json; charset=latin1",
                    ]
                    .choose(&mut rng)
                    .unwrap(),
                    serde_json::to_vec(&route.valid).unwrap(),
                ),
                _ => (
                    "application/json",
                    serde_json::to_vec(&mutate(&mut rng, &route.valid)).unwrap(),
                ),
            };
            let mut request = app
                .owner(route.method.clone(), &route.path)
                .body(body.clone());
            if !content_type.is_empty() {
                request = request.header("content-type", content_type);
            }
            let (status, answer) = send(request).await;
            let what = format!(
                "case {case}: {} {} {content_type} {}",
                route.method,
                route.path,
                String::from_utf8_lossy(&body)
            );
            if check(&what, seed, status, &answer) {
                refused += 1;
                assert_eq!(
                    state(&app, &mut counter).await,
                    baseline,
                    "{what} was refused but wrote"
                );
            } else {
                accepted += 1;
                baseline = state(&app, &mut counter).await;
            }
        }

        // NDJSON batches: good lines mixed with broken ones; any bad line refuses them all.
        let lines: Vec<Vec<u8>> = (0..rng.gen_range(1..6))
            .map(|i| {
                let good = json!({"stream": "plays", "record_key": format!("n{case}-{i}"), "data": nasty_json(&mut rng, 2)});
                match rng.gen_range(0..4) {
                    0 => nasty_bytes(&mut rng, 200),
                    1 => serde_json::to_vec(&mutate(&mut rng, &good)).unwrap(),
                    _ => serde_json::to_vec(&good).unwrap(),
                }
            })
            .collect();
        let body = lines.join(&b"\n"[..]);
        let (status, answer) = send(
            app.owner(Method::POST, &format!("/_ref/connections/{id}/records"))
                .header("content-type", "application/x-ndjson")
                .body(body.clone()),
        )
        .await;
        let what = format!("case {case}: NDJSON {}", String::from_utf8_lossy(&body));
        if check(&what, seed, status, &answer) {
            refused += 1;
            assert_eq!(
                state(&app, &mut counter).await,
                baseline,
                "{what} was refused but wrote"
            );
        } else {
            // The new baseline is taken after the server-function call below.
            accepted += 1;
        }

        // Server-function arguments of any shape, from the owner's own page.
        let function = [
            "list_connections",
            "start_run",
            "connection_summary",
            "load_connection",
            "change_lifecycle",
            "rename_connection",
            "save_schedule",
            "resolve_attention",
        ]
        .choose(&mut rng)
        .unwrap();
        let form = (0..rng.gen_range(0..4))
            .map(|_| {
                let key = [
                    "id",
                    "action",
                    "display_name",
                    "interval_minutes",
                    "enabled",
                    "attention_id",
                    "query[cursor]",
                    "query[health]",
                ]
                .choose(&mut rng)
                .unwrap();
                format!(
                    "{}={}",
                    encode(key.as_bytes()),
                    encode(&nasty_bytes(&mut rng, 300))
                )
            })
            .collect::<Vec<_>>()
            .join("&");
        let (status, answer) = send(
            app.anon
                .post(app.url(&format!("/api/{function}")))
                .header("cookie", &cookie)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(form.clone()),
        )
        .await;
        assert!(
            status < 500,
            "/api/{function} {form} (FUZZ_SEED={seed}) answered {status}: {}",
            String::from_utf8_lossy(&answer)
        );
        baseline = state(&app, &mut counter).await;
    }
    eprintln!(
        "fuzz writes ({backend:?}, FUZZ_SEED={seed}): {refused} refused, {accepted} accepted, {} server-function calls",
        cases()
    );
    app.finish().await;
}

async fn oversized_input_is_refused_with_413(backend: Backend) {
    let app = spawn_app(backend).await;
    let id = app.create_connection("spotify", None).await;
    let mut counter = Counter::open(&app).await;
    let before = state(&app, &mut counter).await;

    // Ingest accepts up to the configured body limit (8 MiB), then 413.
    let limit = app.console.settings.max_body_bytes;
    let record = br#"{"stream":"plays","record_key":"k","data":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}"#;
    let mut ndjson = Vec::with_capacity(limit + record.len() + 1);
    while ndjson.len() <= limit {
        ndjson.extend_from_slice(record);
        ndjson.push(b'\n');
    }
    let (status, body) = send(
        app.owner(Method::POST, &format!("/_ref/connections/{id}/records"))
            .header("content-type", "application/x-ndjson")
            .body(ndjson),
    )
    .await;
    assert_eq!(status, 413);
    assert!(check("oversized ingest", 0, status, &body));

    // Every other JSON body: axum's default limit (2 MiB) answered with the envelope.
    let big = json!({"display_name": "x".repeat(3 << 20)});
    for (method, path) in [
        (Method::PATCH, format!("/_ref/connections/{id}")),
        (Method::POST, "/_ref/connections".to_owned()),
        (Method::POST, "/_ref/manifests".to_owned()),
    ] {
        let (status, body) = send(app.owner(method.clone(), &path).json(&big)).await;
        assert_eq!(status, 413, "{method} {path}");
        assert!(check(&path, 0, status, &body));
    }

    // Server functions take small arguments (64 KiB at most); the login form has axum's
    // default 2 MiB limit.
    let cookie = app.session_cookie().await;
    let just_over = format!(
        "id={}",
        "x".repeat(owner_console::http::server_fns::BODY_LIMIT)
    );
    let (status, body) = send(
        app.anon
            .post(app.url("/api/rename_connection"))
            .header("cookie", &cookie)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(just_over),
    )
    .await;
    assert_eq!(status, 413, "server function");
    assert!(check("server function", 0, status, &body));
    let login = app
        .anon
        .post(app.url("/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("password={}", "x".repeat(3 << 20)))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 413, "login form");

    // A selector longer than any id is never looked up; a query longer than the server
    // reads at all is refused before routing.
    let (status, list) = app
        .get_json(&format!(
            "/_ref/connectors?connection={}",
            "s".repeat(60_000)
        ))
        .await;
    assert!(
        status == 200 && list["data"] == json!([]) || (400..500).contains(&status),
        "{status}"
    );
    assert_eq!(
        state(&app, &mut counter).await,
        before,
        "oversized input wrote"
    );
    app.finish().await;
}

/// The refusals the fuzzing first found, pinned down: NUL anywhere, unknown `/_ref` routes
/// and methods, and server functions given bad arguments or unknown ids.
async fn edge_refusals_are_enveloped_and_say_whose_fault(backend: Backend) {
    let app = spawn_app(backend).await;
    let id = app.create_connection("spotify", None).await;
    let code = |body: &[u8]| -> Value {
        serde_json::from_slice::<Value>(body).unwrap()["error"]["code"].clone()
    };
    // NUL inside record data is data: accepted, stored escaped.
    let (status, _) = app
        .send_json(
            Method::POST,
            &format!("/_ref/connections/{id}/records"),
            json!([{"stream": "plays", "record_key": "k", "data": "a\u{0}b"}]),
        )
        .await;
    assert_eq!(status, 200);
    let mut counter = Counter::open(&app).await;
    let before = state(&app, &mut counter).await;

    for path in [
        "/_ref/connections/%00".to_owned(),
        "/_ref/connectors?connection=spot%00ify".to_owned(),
        format!("/_ref/connections/{id}?runs_cursor=%00"),
    ] {
        let (status, body) = send(app.owner(Method::GET, &path)).await;
        assert_eq!(
            (status, code(&body)),
            (400, json!("nul_character")),
            "{path}"
        );
    }
    let bodies: [(&str, Value); 3] = [
        (
            "/records",
            json!([{"stream": "plays", "record_key": "a\u{0}b", "data": 1}]),
        ),
        (
            "/attention",
            json!({"kind": "add_info", "message": "a\u{0}b"}),
        ),
        (
            "/records/delete",
            json!({"stream": "plays", "record_keys": ["\u{0}"]}),
        ),
    ];
    for (suffix, body) in bodies {
        let path = format!("/_ref/connections/{id}{suffix}");
        let (status, answer) = send(app.owner(Method::POST, &path).json(&body)).await;
        assert_eq!(
            (status, code(&answer)),
            (400, json!("nul_character")),
            "{path}"
        );
    }
    let (status, body) = send(app.owner(Method::GET, "/_ref/no-such-route")).await;
    assert_eq!((status, code(&body)), (404, json!("unknown_route")));
    let response = app
        .owner(Method::DELETE, "/_ref/connectors")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 405);
    assert!(response.headers().contains_key("allow"));
    assert_eq!(
        code(&response.bytes().await.unwrap()),
        json!("method_not_allowed")
    );
    let anonymous = app
        .anon
        .get(app.url("/_ref/no-such-route"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401, "unknown routes are gated too");

    let cookie = app.session_cookie().await;
    for (function, form, status) in [
        ("start_run", "", 400),
        ("start_run", "id=no-such-connection", 404),
        ("load_connection", "id=%00", 400),
        ("change_lifecycle", &*format!("id={id}&action=explode"), 422),
    ] {
        let (got, body) = send(
            app.anon
                .post(app.url(&format!("/api/{function}")))
                .header("cookie", &cookie)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(form.to_owned()),
        )
        .await;
        assert_eq!(
            got,
            status,
            "/api/{function} {form}: {}",
            String::from_utf8_lossy(&body)
        );
    }
    assert_eq!(
        state(&app, &mut counter).await,
        before,
        "a refused request wrote"
    );
    app.finish().await;
}

on_both_backends!(
    edge_refusals_are_enveloped_and_say_whose_fault,
    hostile_reads_are_answered_and_write_nothing,
    hostile_bodies_are_refused_and_write_nothing,
    oversized_input_is_refused_with_413,
);
