//! Who may call what. `/_ref` routes and server functions need the owner (session cookie or
//! bearer token); pages redirect anonymous visitors to the login form; cookie-authenticated
//! writes must come from this origin.

use crate::http::error::ApiError;
use crate::http::server_fns;
use crate::http::state::AppState;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use tower_sessions::Session;

/// How the caller proved to be the owner.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Credential {
    Bearer,
    Session,
}

/// Checks the bearer token first (automation), then the session cookie (the console).
/// A wrong bearer token is refused outright rather than falling back to the cookie.
pub async fn owner_credential(
    state: &AppState,
    headers: &HeaderMap,
    session: &Session,
) -> Option<Credential> {
    if let Some(value) = headers.get(header::AUTHORIZATION) {
        let token = value.to_str().ok()?.strip_prefix("Bearer ")?.trim();
        return state.auth.verify_token(token).then_some(Credential::Bearer);
    }
    console_app::session::is_owner(session)
        .await
        .then_some(Credential::Session)
}

/// True when a browser says the request came from this console's own pages. Requests with
/// neither `Sec-Fetch-Site` nor `Origin` are not from a browser form or script on another
/// site, so they pass (curl with a copied cookie is not a CSRF vector).
pub fn is_same_origin(headers: &HeaderMap) -> bool {
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        return matches!(site, "same-origin" | "none");
    }
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    let origin_host = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"));
    matches!((origin_host, host), (Some(o), Some(h)) if o.eq_ignore_ascii_case(h))
}

fn is_write(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Gate for `/_ref/*` and the server functions: 401 envelope without owner credentials,
/// 403 for a cross-origin cookie-authenticated write.
pub async fn require_owner(
    State(state): State<AppState>,
    session: Session,
    request: Request,
    next: Next,
) -> Response {
    match owner_credential(&state, request.headers(), &session).await {
        None => ApiError::unauthenticated().into_response(),
        Some(Credential::Session)
            if is_write(request.method()) && !is_same_origin(request.headers()) =>
        {
            ApiError::cross_origin().into_response()
        }
        Some(_) => next.run(request).await,
    }
}

/// Gate for the Leptos router: the login page is open, server functions are API calls
/// (401/403 like `/_ref`), every other page sends anonymous visitors to the login form and
/// brings them back after.
pub async fn require_owner_page(
    state: State<AppState>,
    session: Session,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path();
    if path == "/login" {
        return next.run(request).await;
    }
    if path.starts_with(SERVER_FN_PREFIX) {
        let request = match server_fns::buffered(request).await {
            Ok(request) => request,
            Err(too_large) => return too_large.into_response(),
        };
        let response = require_owner(state.clone(), session.clone(), request, next).await;
        if !matches!(
            response.status(),
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN
        ) {
            renew_session(&state, &session).await;
        }
        return server_fns::with_error_status(response).await;
    }
    if owner_credential(&state, request.headers(), &session)
        .await
        .is_some()
    {
        renew_session(&state, &session).await;
        return next.run(request).await;
    }
    let target = request
        .uri()
        .path_and_query()
        .map(|pq| pq.as_str().to_owned())
        .unwrap_or_else(|| "/".to_owned());
    let mut login = String::from("/login?return_to=");
    login.push_str(&encode_query_value(&target));
    Redirect::to(&login).into_response()
}

/// Renews the owner's session on the console's own traffic, pages and server functions the
/// gate let through (a refused cross-site call must not extend it). Not on `/_ref`, which
/// automation calls with a bearer token. It must stay off `/_ref`: the streamed list holds
/// a pool connection from its handler until its body is sent, so on a pool of one
/// (`sqlite::memory:`) a session save after the handler would wait for it
/// (`a_session_reads_the_full_list_on_a_one_connection_database`). A failed renewal is
/// logged: the session still holds.
async fn renew_session(state: &AppState, session: &Session) {
    let now = state.console.now();
    if let Err(e) = console_app::session::renew_if_due(session, now, state.session_renewal).await {
        tracing::warn!(error = %e, "could not renew the owner session");
    }
}

/// Where Leptos mounts server functions.
pub const SERVER_FN_PREFIX: &str = "/api/";

/// Percent-encodes a query parameter value (RFC 3986 unreserved characters pass through).
pub fn encode_query_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.~/".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Only local paths: `/x` but not `//host`, `/\host` or anything with a scheme.
pub fn safe_return_to(candidate: Option<&str>) -> String {
    match candidate {
        Some(path)
            if path.starts_with('/')
                && !path.starts_with("//")
                && !path.starts_with("/\\")
                && !path.chars().any(|c| c.is_control() || c == '\\')
                && path.len() <= 2048 =>
        {
            path.to_owned()
        }
        _ => "/".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn return_to_accepts_only_local_paths() {
        assert_eq!(
            safe_return_to(Some("/connections/c1?x=1")),
            "/connections/c1?x=1"
        );
        for bad in [
            "//evil.example",
            "https://evil.example",
            "/\\evil",
            "evil",
            "",
            "/a\nb",
        ] {
            assert_eq!(safe_return_to(Some(bad)), "/", "{bad:?}");
        }
        assert_eq!(safe_return_to(None), "/");
    }

    #[test]
    fn same_origin_rules() {
        let mut h = HeaderMap::new();
        assert!(is_same_origin(&h), "non-browser clients pass");
        h.insert(header::HOST, HeaderValue::from_static("127.0.0.1:3000"));
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://127.0.0.1:3000"),
        );
        assert!(is_same_origin(&h));
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://evil.example"),
        );
        assert!(!is_same_origin(&h));
        h.insert("sec-fetch-site", HeaderValue::from_static("cross-site"));
        assert!(!is_same_origin(&h));
        h.insert("sec-fetch-site", HeaderValue::from_static("same-origin"));
        assert!(is_same_origin(&h));
    }

    /// Prefixes browsers may read as "another origin", in plain and encoded forms.
    const HOSTILE_PREFIXES: &[&str] = &[
        "//",
        "/\\",
        "\\",
        "\\\\",
        "///",
        "/\t/",
        "/\n/",
        "\t//",
        " //",
        "https:",
        "http://",
        "HTTPS://",
        "javascript:",
        "data:",
        "//%2F",
        "/%2F",
        "%2F%2F",
        "/%5C",
        "%5C",
        "/./",
        "/../",
        "?",
        "#",
        "\u{3000}//",
        "\u{FF0F}\u{FF0F}",
        "/\u{0}/",
        "\r\n//",
    ];

    fn hostile_return_to() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        (
            proptest::sample::select(HOSTILE_PREFIXES),
            "(evil\\.example|@evil\\.example|[a-z/\\\\%.:@?#]{0,12})",
            any::<String>(),
        )
            .prop_map(|(prefix, host, tail)| format!("{prefix}{host}{tail}"))
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]

        /// Whatever the form sends, the redirect target is a valid `Location` and resolves,
        /// as a browser resolves it, to this console's own origin.
        #[test]
        fn return_to_never_leaves_the_origin(
            candidate in proptest::prop_oneof![hostile_return_to(), proptest::prelude::any::<String>()],
        ) {
            let target = safe_return_to(Some(&candidate));
            proptest::prop_assert!(HeaderValue::try_from(target.as_str()).is_ok(), "{target:?}");
            let base = url::Url::parse("http://console.invalid/login").unwrap();
            let resolved = base.join(&target).unwrap();
            proptest::prop_assert_eq!(resolved.origin(), base.origin(), "{:?} -> {}", candidate, resolved);
        }

        /// Ordinary local paths survive unchanged (the filter is not just "always /").
        #[test]
        fn local_paths_are_kept(path in "/[a-z0-9_-]{1,20}(/[a-z0-9_-]{1,20}){0,3}(\\?[a-z]=[a-z0-9%]{0,8})?") {
            proptest::prop_assert_eq!(safe_return_to(Some(&path)), path);
        }
    }

    #[test]
    fn query_values_are_encoded() {
        assert_eq!(encode_query_value("/c?a=1&b=2"), "/c%3Fa%3D1%26b%3D2");
    }
}
