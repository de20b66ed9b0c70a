//! The router as a whole against anonymous and hostile callers: every server function and
//! page refuses them (the `/_ref` routes are enumerated in `auth.rs`), login backs off even
//! under parallel guessing, session ids rotate and die, cookie-authenticated writes must be
//! same-origin, and the log keeps no secret.

use crate::auth::{cookie_of, login};
use crate::helpers::{spawn_app, spawn_app_with, Backend, PASSWORD, TOKEN};
use crate::on_both_backends;
use reqwest::header::{HeaderMap, LOCATION};
use reqwest::Method;
use serde_json::{json, Value};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

/// A label that must never reach an anonymous caller.
const SECRET_LABEL: &str = "Owner's private label 5b1e";

/// The server functions the console pages call; the registry must hold at least these.
const KNOWN_SERVER_FNS: &[&str] = &[
    "/api/list_connections",
    "/api/start_run",
    "/api/connection_summary",
    "/api/load_connection",
    "/api/change_lifecycle",
    "/api/rename_connection",
    "/api/save_schedule",
    "/api/resolve_attention",
];

fn assert_hardened_headers(what: &str, headers: &HeaderMap) {
    let csp = headers
        .get("content-security-policy")
        .unwrap_or_else(|| panic!("{what}: no CSP"))
        .to_str()
        .unwrap();
    assert!(
        csp.contains("default-src 'self'") && csp.contains("frame-ancestors 'none'"),
        "{what}: {csp}"
    );
    assert_eq!(headers["x-content-type-options"], "nosniff", "{what}");
    assert_eq!(headers["x-frame-options"], "DENY", "{what}");
}

/// The session id (`name=value`) of a response's session cookie.
fn session_of(response: &reqwest::Response) -> String {
    cookie_of(response)
        .expect("a session cookie")
        .split(';')
        .next()
        .unwrap()
        .to_owned()
}

/// Every server function the router mounts, from the registry the router is built from.
fn server_fns() -> Vec<(String, Method)> {
    let fns: Vec<(String, Method)> = leptos::server_fn::axum::server_fn_paths()
        .map(|(path, method)| {
            (
                path.to_owned(),
                Method::from_bytes(method.as_str().as_bytes()).unwrap(),
            )
        })
        .collect();
    for known in KNOWN_SERVER_FNS {
        assert!(
            fns.iter().any(|(path, _)| path == known),
            "{known} is not registered: {fns:?}"
        );
    }
    fns
}

async fn anonymous_callers_get_nothing_from_server_functions_or_pages(backend: Backend) {
    let app = spawn_app(backend).await;
    let id = app.create_connection("spotify", Some(SECRET_LABEL)).await;
    let forged = "owner_console_session=AAAAAAAAAAAAAAAAAAAAAA";

    for (path, method) in server_fns() {
        for (credential, value) in [
            ("none", None),
            (
                "wrong bearer",
                Some(("authorization", "Bearer wrong-token")),
            ),
            ("forged cookie", Some(("cookie", forged))),
        ] {
            let mut request = app
                .anon
                .request(method.clone(), app.url(&path))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(format!(
                    "id={id}&attention_id=x&action=pause&display_name=x"
                ));
            if let Some((name, value)) = value {
                request = request.header(name, value);
            }
            let response = request.send().await.unwrap();
            let status = response.status();
            assert_hardened_headers(&path, response.headers());
            let body = response.text().await.unwrap();
            assert_eq!(status, 401, "{method} {path} with {credential}: {body}");
            assert!(!body.contains(SECRET_LABEL), "{path} leaked data");
        }
    }

    // Pages: the router's own list, parameters filled with a real id, plus near misses the
    // page router might match while axum's routes do not (the fallback renders those).
    let routed: Vec<String> = leptos_axum::generate_route_list(console_app::App)
        .iter()
        .map(|route| {
            route
                .path()
                .split('/')
                .map(|segment| {
                    if segment.starts_with(':') || segment.starts_with('{') {
                        id.as_str()
                    } else {
                        segment
                    }
                })
                .collect::<Vec<_>>()
                .join("/")
        })
        .collect();
    assert!(routed.len() >= 3, "{routed:?}");
    let mut pages = routed.clone();
    for near_miss in [
        format!("/connections/{id}/"),
        format!("/connections/{id}/runs"),
        format!("//connections/{id}"),
        format!("/connections/{id}?tab=runs"),
        "/index.html".to_owned(),
        "/?needs_you_first=true".to_owned(),
    ] {
        pages.push(near_miss);
    }
    for page in pages {
        let response = app.anon.get(app.url(&page)).send().await.unwrap();
        let status = response.status().as_u16();
        assert_hardened_headers(&page, response.headers());
        let location = response
            .headers()
            .get(LOCATION)
            .map(|l| l.to_str().unwrap().to_owned());
        let body = response.text().await.unwrap();
        assert!(
            !body.contains(SECRET_LABEL),
            "anonymous GET {page} ({status}) shows the owner's data"
        );
        // Routed pages redirect to the login form; near misses the fallback renders are
        // refused by the server functions behind them (401) or do not exist (404).
        match status {
            200 => assert_eq!(page, "/login"),
            303 => assert!(
                location
                    .as_deref()
                    .unwrap()
                    .starts_with("/login?return_to="),
                "{page}: {location:?}"
            ),
            401 | 404 => assert!(!routed.contains(&page), "routed {page}: {status}"),
            other => panic!("anonymous GET {page}: {other}"),
        }
    }
    app.finish().await;
}

/// The `error` a login redirect reports, or `None` for a successful login.
fn login_error(response: &reqwest::Response) -> Option<String> {
    let location = response.headers()[LOCATION].to_str().unwrap();
    location
        .strip_prefix("/login?error=")
        .map(|rest| rest.split('&').next().unwrap().to_owned())
}

async fn login_backs_off_even_under_parallel_guessing(backend: Backend) {
    let app = spawn_app(backend).await;
    // Twelve guesses at once: only the five free attempts may reach the password check.
    let app_ref = &app;
    let guesses = futures::future::join_all((0..12).map(|i| async move {
        let guess = format!("guess {i}");
        login(app_ref, &guess, "/").await
    }))
    .await;
    let mut errors: Vec<String> = guesses.iter().filter_map(login_error).collect();
    errors.sort();
    assert_eq!(errors.len(), 12);
    assert_eq!(
        errors.iter().filter(|e| *e == "password").count(),
        5,
        "{errors:?}"
    );
    assert!(errors.iter().all(|e| e == "password" || e == "wait"));

    // While backing off, even the right password is not checked.
    let blocked = login(&app, PASSWORD, "/").await;
    assert_eq!(login_error(&blocked).as_deref(), Some("wait"));
    assert!(cookie_of(&blocked).is_none());

    // The first delay is one second; a failure after it doubles it to two.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let sixth = login(&app, "guess 12", "/").await;
    assert_eq!(login_error(&sixth).as_deref(), Some("password"));
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let early = login(&app, PASSWORD, "/").await;
    assert_eq!(
        login_error(&early).as_deref(),
        Some("wait"),
        "delay doubled"
    );
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let ok = login(&app, PASSWORD, "/").await;
    assert_eq!(login_error(&ok), None);
    assert!(cookie_of(&ok).is_some());

    // A success resets the count: the next mistake is a plain wrong password.
    let after = login(&app, "guess 13", "/").await;
    assert_eq!(login_error(&after).as_deref(), Some("password"));
    app.finish().await;
}

async fn session_ids_rotate_on_login_and_die_on_logout(backend: Backend) {
    let app = spawn_app(backend).await;
    let first = session_of(&login(&app, PASSWORD, "/").await);

    // Logging in again from the same browser (its cookie sent along) issues a new id and
    // retires the old one: a session id known before login is worthless after it.
    let again = app
        .anon
        .post(app.url("/login"))
        .header("cookie", &first)
        .form(&[("password", PASSWORD), ("return_to", "/")])
        .send()
        .await
        .unwrap();
    let second = session_of(&again);
    assert_ne!(second, first);
    assert_eq!(
        app.status_with_cookie(Method::GET, "/_ref/connectors", &first)
            .await,
        401,
        "the pre-login id is dead"
    );
    assert_eq!(
        app.status_with_cookie(Method::GET, "/_ref/connectors", &second)
            .await,
        200
    );

    // A cross-site page cannot log the owner out.
    let forced = app
        .anon
        .post(app.url("/logout"))
        .header("cookie", &second)
        .header("sec-fetch-site", "cross-site")
        .send()
        .await
        .unwrap();
    assert_eq!(forced.status(), 303);
    assert_eq!(
        app.status_with_cookie(Method::GET, "/_ref/connectors", &second)
            .await,
        200
    );

    let out = app
        .anon
        .post(app.url("/logout"))
        .header("cookie", &second)
        .header("origin", &app.base)
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 303);
    // Replaying the logged-out cookie: refused by routes, server functions and pages alike.
    assert_eq!(
        app.status_with_cookie(Method::GET, "/_ref/connectors", &second)
            .await,
        401
    );
    assert_eq!(
        app.status_with_cookie(Method::POST, "/api/list_connections", &second)
            .await,
        401
    );
    assert_eq!(app.status_with_cookie(Method::GET, "/", &second).await, 303);
    app.finish().await;
}

async fn session_cookie_is_secure_when_configured(backend: Backend) {
    let app = spawn_app_with(backend, |config| config.secure_cookies = true).await;
    let response = login(&app, PASSWORD, "/").await;
    let cookie = cookie_of(&response).unwrap();
    let attributes: Vec<&str> = cookie.split(';').map(str::trim).collect();
    for wanted in ["HttpOnly", "SameSite=Lax", "Secure"] {
        assert!(attributes.contains(&wanted), "{wanted} missing: {cookie}");
    }
    app.finish().await;
}

async fn cookie_authenticated_writes_refuse_other_sites(backend: Backend) {
    let app = spawn_app(backend).await;
    let id = app.create_connection("spotify", None).await;
    let cookie = session_of(&login(&app, PASSWORD, "/").await);
    let before = app.snapshot().await;

    let cross_site: [(&str, &str); 3] = [
        ("origin", "http://evil.example"),
        ("sec-fetch-site", "cross-site"),
        ("sec-fetch-site", "same-site"),
    ];
    for (name, value) in cross_site {
        let server_fn = app
            .anon
            .post(app.url("/api/start_run"))
            .header("cookie", &cookie)
            .header(name, value)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("id={id}"))
            .send()
            .await
            .unwrap();
        assert_eq!(server_fn.status(), 403, "server fn with {name}: {value}");
        let route = app
            .anon
            .delete(app.url(&format!("/_ref/connections/{id}")))
            .header("cookie", &cookie)
            .header(name, value)
            .send()
            .await
            .unwrap();
        assert_eq!(route.status(), 403, "/_ref write with {name}: {value}");
        let body: Value = route.json().await.unwrap();
        assert_eq!(body["error"]["code"], "cross_origin_refused");
    }
    assert_eq!(
        app.snapshot().await,
        before,
        "a cross-site write got through"
    );

    // The same call from the console's own page goes through: the origin check is what
    // refused the others.
    let own = app
        .anon
        .post(app.url("/api/start_run"))
        .header("cookie", &cookie)
        .header("origin", &app.base)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("id={id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(own.status(), 200);
    let (_, detail) = app
        .get_json(&format!("/_ref/connections/{id}?runs_limit=5"))
        .await;
    assert_eq!(detail["runs"].as_array().map(Vec::len), Some(1), "{detail}");
    app.finish().await;
}

/// Collects what the servers log, formatted as the production log is.
#[derive(Clone, Default)]
struct CapturedLog(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for CapturedLog {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The log of every server in this test process from the first call on, at the production
/// filter. A process-wide subscriber, because tracing caches per call site whether anyone
/// listens, and a thread-local one misses call sites another test's thread reached first.
fn captured_log() -> &'static CapturedLog {
    static LOG: OnceLock<CapturedLog> = OnceLock::new();
    LOG.get_or_init(|| {
        use tracing_subscriber::layer::SubscriberExt;
        let log = CapturedLog::default();
        let writer = log.clone();
        let subscriber = tracing_subscriber::registry()
            .with(tracing_subscriber::EnvFilter::new(
                owner_console::telemetry::DEFAULT_FILTER,
            ))
            .with(
                tracing_subscriber::fmt::layer()
                    .with_ansi(false)
                    .with_writer(move || writer.clone()),
            );
        tracing::subscriber::set_global_default(subscriber)
            .expect("no other test in this binary sets a global subscriber");
        log
    })
}

async fn logs_carry_no_secrets(backend: Backend) {
    let log = captured_log();
    let app = spawn_app(backend).await;
    let wrong_password = "hunter2 is not the password 9c4d";
    let record_secret = "record-secret-3f7a";
    assert_eq!(
        login_error(&login(&app, wrong_password, "/").await).as_deref(),
        Some("password")
    );
    let session = session_of(&login(&app, PASSWORD, "/").await);
    let id = app.create_connection("spotify", None).await;
    for path in ["/_ref/connectors", "/", &format!("/connections/{id}")] {
        assert_eq!(
            app.status_with_cookie(Method::GET, path, &session).await,
            200,
            "{path}"
        );
    }
    let records = json!([
        {"stream": "plays", "record_key": "k1", "data": {"note": record_secret}},
        {"stream": "plays", "record_key": record_secret, "data": 1},
    ]);
    let (status, _) = app
        .send_json(
            Method::POST,
            &format!("/_ref/connections/{id}/records"),
            records,
        )
        .await;
    assert_eq!(status, 200);
    // Refused batches too: error messages echo input to the caller, not to the log.
    let bad = app
        .owner(Method::POST, &format!("/_ref/connections/{id}/records"))
        .header("content-type", "application/x-ndjson")
        .body(format!(
            "{{\"stream\":\"plays\",\"record_key\":\"k\",\"data\":1}}\n{{\"{record_secret}\":1}}\n"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 422);
    let out = app
        .anon
        .post(app.url("/logout"))
        .header("cookie", &session)
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 303);
    app.finish().await;

    let text = String::from_utf8(log.0.lock().unwrap().clone()).unwrap();
    assert!(
        text.contains("failed owner login") && text.contains("owner logged in"),
        "the capture missed the server's log:\n{text}"
    );
    let session_id = session.split_once('=').unwrap().1;
    for (what, secret) in [
        ("password", PASSWORD),
        ("wrong password", wrong_password),
        ("token", TOKEN),
        ("session id", session_id),
        ("record data", record_secret),
    ] {
        assert!(!text.contains(secret), "the log holds the {what}:\n{text}");
    }
}

on_both_backends!(
    anonymous_callers_get_nothing_from_server_functions_or_pages,
    session_ids_rotate_on_login_and_die_on_logout,
    session_cookie_is_secure_when_configured,
    cookie_authenticated_writes_refuse_other_sites,
    logs_carry_no_secrets,
);

on_both_backends!(multi_thread: login_backs_off_even_under_parallel_guessing);
