//! Who gets in: owner session or bearer token for `/_ref`, login form for pages.

use crate::helpers::{spawn_app, spawn_app_with, Backend, PASSWORD};
use crate::on_both_backends;
use reqwest::header::{LOCATION, SET_COOKIE};
use reqwest::Method;
use serde_json::Value;
use std::time::Duration;

/// Every documented route, with path parameters filled in.
async fn documented_routes(app: &crate::helpers::TestApp) -> Vec<(Method, String)> {
    let (status, doc) = app.get_json("/_ref/openapi.json").await;
    assert_eq!(status, 200);
    let mut routes = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        let concrete = path
            .split('/')
            .map(|segment| {
                if segment.starts_with('{') {
                    "x"
                } else {
                    segment
                }
            })
            .collect::<Vec<_>>()
            .join("/");
        for method in item.as_object().unwrap().keys() {
            routes.push((
                Method::from_bytes(method.to_uppercase().as_bytes()).unwrap(),
                concrete.clone(),
            ));
        }
    }
    routes
}

async fn every_ref_route_answers_401_without_credentials(backend: Backend) {
    let app = spawn_app(backend).await;
    let routes = documented_routes(&app).await;
    assert!(
        routes.len() >= 20,
        "only {} routes documented",
        routes.len()
    );
    for (method, path) in routes {
        for token in [None, Some("wrong-token")] {
            let mut request = app.anon.request(method.clone(), app.url(&path));
            if let Some(token) = token {
                request = request.bearer_auth(token);
            }
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), 401, "{method} {path} with {token:?}");
            let body: Value = response.json().await.unwrap();
            assert_eq!(
                body["error"]["type"], "authentication_error",
                "{method} {path}"
            );
            assert_eq!(body["error"]["code"], "owner_session_required");
        }
    }
    // The scoped form is gated too.
    let response = app
        .anon
        .get(app.url("/_ref/connectors?connection=spotify"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    app.finish().await;
}

pub(crate) fn cookie_of(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("owner_console_session="))
        .map(str::to_owned)
}

pub(crate) async fn login(
    app: &crate::helpers::TestApp,
    password: &str,
    return_to: &str,
) -> reqwest::Response {
    app.anon
        .post(app.url("/login"))
        .form(&[("password", password), ("return_to", return_to)])
        .send()
        .await
        .unwrap()
}

async fn login_sets_a_hardened_session_and_logout_ends_it(backend: Backend) {
    let app = spawn_app(backend).await;

    let page = app
        .anon
        .get(app.url("/connections/abc?tab=runs"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 303);
    assert_eq!(
        page.headers()[LOCATION],
        "/login?return_to=/connections/abc%3Ftab%3Druns"
    );

    let wrong = login(&app, "not the password", "/").await;
    assert_eq!(wrong.status(), 303);
    assert!(wrong.headers()[LOCATION]
        .to_str()
        .unwrap()
        .starts_with("/login?error=password"));
    assert!(cookie_of(&wrong).is_none());

    let ok = login(&app, PASSWORD, "/connections/abc?tab=runs").await;
    assert_eq!(ok.status(), 303);
    assert_eq!(ok.headers()[LOCATION], "/connections/abc?tab=runs");
    let set_cookie = cookie_of(&ok).expect("session cookie");
    assert!(set_cookie.contains("HttpOnly"), "{set_cookie}");
    assert!(set_cookie.contains("SameSite=Lax"), "{set_cookie}");
    let cookie = set_cookie.split(';').next().unwrap().to_owned();

    assert_eq!(
        app.status_with_cookie(Method::GET, "/_ref/connectors", &cookie)
            .await,
        200
    );

    // A second login issues a different session id (no fixation).
    let again = login(&app, PASSWORD, "/").await;
    let second = cookie_of(&again).unwrap();
    assert_ne!(second.split(';').next().unwrap(), cookie);

    let out = app
        .anon
        .post(app.url("/logout"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 303);
    let after = app
        .anon
        .get(app.url("/_ref/connectors"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(
        after.status(),
        401,
        "the old session id is dead after logout"
    );
    app.finish().await;
}

async fn return_to_only_accepts_local_paths(backend: Backend) {
    let app = spawn_app(backend).await;
    for target in ["https://evil.example/", "//evil.example", "/\\evil.example"] {
        let response = login(&app, PASSWORD, target).await;
        assert_eq!(response.headers()[LOCATION], "/", "{target}");
    }
    app.finish().await;
}

async fn cookie_writes_must_be_same_origin(backend: Backend) {
    let app = spawn_app(backend).await;
    let ok = login(&app, PASSWORD, "/").await;
    let cookie = cookie_of(&ok)
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let body = serde_json::json!({"connector_id": "spotify"});
    let cross = app
        .anon
        .post(app.url("/_ref/connections"))
        .header("cookie", &cookie)
        .header("origin", "http://evil.example")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(cross.status(), 403);
    let (_, list) = app.get_json("/_ref/connectors").await;
    assert_eq!(
        list["data"].as_array().unwrap().len(),
        0,
        "nothing was created"
    );
    let same = app
        .anon
        .post(app.url("/_ref/connections"))
        .header("cookie", &cookie)
        .header("origin", app.base.clone())
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(same.status(), 201);
    app.finish().await;
}

async fn openapi_documents_every_route_with_its_errors(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, doc) = app.get_json("/_ref/openapi.json").await;
    let schemas = doc["components"]["schemas"].as_object().expect("schemas");
    let text = doc.to_string();
    // Every $ref resolves to a component schema.
    for reference in text.split("\"$ref\":\"#/components/schemas/").skip(1) {
        let name = reference.split('"').next().unwrap();
        assert!(schemas.contains_key(name), "dangling $ref {name}");
    }
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let responses = operation["responses"].as_object().unwrap();
            assert!(
                responses.contains_key("401"),
                "{method} {path} does not document 401"
            );
            assert!(
                responses.keys().any(|code| code.starts_with('2')),
                "{method} {path} documents no success"
            );
        }
    }
    app.finish().await;
}

async fn responses_carry_security_headers(backend: Backend) {
    let app = spawn_app(backend).await;
    for path in ["/login", "/_ref/connectors", "/no-such-page"] {
        let response = app.anon.get(app.url(path)).send().await.unwrap();
        let headers = response.headers();
        let csp = headers["content-security-policy"].to_str().unwrap();
        assert!(
            csp.contains("default-src 'self'") && csp.contains("frame-ancestors 'none'"),
            "{path}: {csp}"
        );
        assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(headers["x-frame-options"], "DENY", "{path}");
    }
    app.finish().await;
}

/// The idle lifetime runs from the owner's last use of the console, not from the login:
/// pages and server functions renew the session (a new stored expiry and cookie `Max-Age`)
/// once half the lifetime has passed since the last renewal, and an unused session still
/// ends.
async fn using_the_console_keeps_the_session_alive(backend: Backend) {
    const IDLE: u64 = 4;
    let app = spawn_app_with(backend, |config| {
        config.session_idle = Duration::from_secs(IDLE);
    })
    .await;
    let set_cookie = cookie_of(&login(&app, PASSWORD, "/").await).expect("session cookie");
    assert!(
        set_cookie.contains(&format!("Max-Age={IDLE}")),
        "{set_cookie}"
    );
    let cookie = set_cookie.split(';').next().unwrap().to_owned();
    let page = |path: &'static str| app.anon.get(app.url(path)).header("cookie", &cookie).send();
    // Both clocks move: the console's decides when a renewal is due, tower-sessions keeps
    // the session's expiry on the wall clock.
    let wait = |seconds: f64| {
        app.clock
            .advance(chrono::Duration::milliseconds((seconds * 1000.0) as i64));
        tokio::time::sleep(Duration::from_secs_f64(seconds))
    };

    // Not due yet: nothing is written, no new cookie.
    let early = page("/").await.unwrap();
    assert_eq!(early.status(), 200);
    assert_eq!(cookie_of(&early), None);

    wait(2.5).await;
    // Due now, but a call the gate refuses (a cross-site server function call) renews nothing.
    let server_fn = |site: &'static str| {
        app.anon
            .post(app.url("/api/list_connections"))
            .header("cookie", &cookie)
            .header("sec-fetch-site", site)
            .header("content-type", "application/x-www-form-urlencoded")
            .body("query[needs_you_first]=false")
            .send()
    };
    let refused = server_fn("cross-site").await.unwrap();
    assert_eq!(refused.status(), 403);
    assert_eq!(cookie_of(&refused), None);
    let renewed = server_fn("same-origin").await.unwrap();
    assert_eq!(renewed.status(), 200);
    let again = cookie_of(&renewed).expect("a renewed cookie");
    assert!(
        again.starts_with(&format!("{cookie};")),
        "same session: {again}"
    );
    assert!(again.contains(&format!("Max-Age={IDLE}")), "{again}");

    // Past the login's idle lifetime, within the renewal's.
    wait(2.5).await;
    assert_eq!(
        app.status_with_cookie(Method::GET, "/_ref/connectors", &cookie)
            .await,
        200
    );

    // Unused for longer than the lifetime: the session is over.
    wait(2.5).await;
    assert_eq!(
        app.status_with_cookie(Method::GET, "/_ref/connectors", &cookie)
            .await,
        401
    );
    app.finish().await;
}

on_both_backends!(
    responses_carry_security_headers,
    openapi_documents_every_route_with_its_errors,
    every_ref_route_answers_401_without_credentials,
    login_sets_a_hardened_session_and_logout_ends_it,
    return_to_only_accepts_local_paths,
    cookie_writes_must_be_same_origin,
    using_the_console_keeps_the_session_alive,
);

/// The unpaged list holds a pool connection from the handler until its body is sent: it
/// reads the list's context on the connection the rows then come from. On a one-connection
/// database (`sqlite::memory:`) anything the session layer wrote after the handler would
/// wait for that connection while the body waited for it: `/_ref` must never save the
/// session (it does not renew it, see `renew_session`). An owner's browser reads the whole
/// list with its cookie; the fleet is larger than the rows the stream buffers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_reads_the_full_list_on_a_one_connection_database() {
    let app = spawn_app_with(Backend::Sqlite, |config| {
        config.database_url = "sqlite::memory:".to_owned();
    })
    .await;
    let mut ids = Vec::new();
    app.grow_fleet(600, &mut ids).await;
    let cookie = app.session_cookie().await;
    // Due for renewal, were `/_ref` to renew: the pages renew after an hour at most.
    app.clock.advance(chrono::Duration::hours(2));
    for _ in 0..3 {
        let read = app
            .anon
            .get(app.url("/_ref/connectors"))
            .header(reqwest::header::COOKIE, &cookie)
            .send();
        let response = tokio::time::timeout(Duration::from_secs(10), async {
            let response = read.await.unwrap();
            let status = response.status().as_u16();
            (status, response.json::<Value>().await.unwrap())
        })
        .await
        .expect("the full list waited for its own connection");
        assert_eq!(response.0, 200);
        assert_eq!(response.1["data"].as_array().unwrap().len(), 600);
    }
    app.finish().await;
}
