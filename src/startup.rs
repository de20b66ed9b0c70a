//! Assembling the application: storage, owner credentials, the console service, the router
//! (JSON routes, login, Leptos pages and server functions, static files) and the background
//! tasks. Tests build the same [`Application`] on a random port with their own clock.

use crate::config::ServeConfig;
use crate::http::auth::{require_owner, require_owner_page};
use crate::http::login::{login, logout, LoginLimiter};
use crate::http::state::AppState;
use axum::http::{header, HeaderValue};
use axum::middleware::from_fn_with_state;
use axum::routing::post;
use axum::Router;
use console_app::{shell, App};
use console_domain::clock::Clock;
use console_service::auth::{cursor_key, GeneratedSecrets, OwnerAuth};
use console_service::{Console, ConsoleSettings};
use console_storage::Database;
use leptos::config::LeptosOptions;
use leptos::prelude::provide_context;
use leptos_axum::{generate_route_list, LeptosRoutes};
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};
use tower_sessions_sqlx_store::{PostgresStore, SqliteStore};

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("storage: {0}")]
    Storage(#[from] console_storage::StoreError),
    #[error("{0}")]
    Service(#[from] console_service::ServiceError),
    #[error("sessions: {0}")]
    Sessions(String),
    #[error("manifests: {0}")]
    Manifests(String),
    #[error("leptos configuration: {0}")]
    Leptos(String),
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
}

/// The console over an opened, migrated database.
pub struct Opened {
    pub console: Console,
    pub database: Database,
}

/// Opens storage and registers the built-in and configured manifests. Owner credentials are
/// left to the server ([`Application::build`]), so the first `serve` is the one that
/// generates and prints them, whatever command touched the database before.
pub async fn open_console(
    config: &ServeConfig,
    clock: Arc<dyn Clock>,
    settings: ConsoleSettings,
) -> Result<Opened, StartupError> {
    let (store, database) = console_storage::open(&config.database_url).await?;
    let key = cursor_key(store.as_ref()).await?;
    let console = Console::new(store, clock, settings, key);
    for manifest in console_service::demo::builtin_manifests() {
        console.register_connector(&manifest).await?;
    }
    if let Some(dir) = &config.manifests_dir {
        let manifests = console_service::manifests::load_dir(dir)
            .map_err(|e| StartupError::Manifests(e.to_string()))?;
        for manifest in manifests {
            console.register_connector(&manifest).await?;
        }
    }
    Ok(Opened { console, database })
}

/// Leptos' settings from the environment cargo-leptos prepares, with the output name
/// defaulted so test builds (without cargo-leptos) still render pages.
pub fn leptos_options() -> Result<LeptosOptions, StartupError> {
    let mut options = leptos::config::get_configuration(None)
        .map_err(|e| StartupError::Leptos(e.to_string()))?
        .leptos_options;
    if options.output_name.is_empty() {
        options.output_name = "owner-console".into();
    }
    Ok(options)
}

pub struct Application {
    listener: TcpListener,
    router: Router,
    pub console: Console,
    background: Vec<JoinHandle<()>>,
    database: Database,
}

impl Application {
    pub async fn build(
        config: ServeConfig,
        clock: Arc<dyn Clock>,
        listener: TcpListener,
        leptos: LeptosOptions,
    ) -> Result<(Application, GeneratedSecrets), StartupError> {
        let settings = ConsoleSettings {
            embedded_runtime: config.simulate.is_some(),
            ..ConsoleSettings::default()
        };
        let opened = open_console(&config, clock, settings).await?;
        let (auth, generated) = OwnerAuth::init(
            opened.console.store.as_ref(),
            config.owner_password.as_deref(),
            config.owner_token.as_deref(),
        )
        .await?;
        let state = AppState {
            console: opened.console.clone(),
            auth: Arc::new(auth),
            leptos,
            login_limiter: Arc::new(LoginLimiter::default()),
            session_renewal: console_app::session::renewal_interval(config.session_idle),
        };
        let router = router(state, &opened.database, &config).await?;
        let mut background = vec![console_service::background::spawn_sweeper(
            opened.console.clone(),
            config.sweeper.interval,
            config.sweeper.batch,
        )];
        if let Some(simulator) = &config.simulate {
            background.push(console_service::background::spawn_simulator(
                opened.console.clone(),
                simulator.clone(),
            ));
        }
        Ok((
            Application {
                listener,
                router,
                console: opened.console,
                background,
                database: opened.database,
            },
            generated,
        ))
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.run_until(shutdown_signal()).await
    }

    /// Serves until `shutdown` completes, then stops the background tasks and closes the
    /// database pool (a benchmark runs many applications in one process, one after another).
    pub async fn run_until(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let result = serve_until(self.listener, self.router, shutdown).await;
        for task in self.background {
            task.abort();
        }
        self.database.close().await;
        result
    }
}

/// Serves `router` until `shutdown` completes, every connection sharing the one router.
/// Given the `Router` itself, axum's `serve` applies its state again for each accepted
/// connection, which clones every route's service (and what each holds: the OpenAPI route
/// held the whole document), so a client that opens a connection per request paid for a
/// copy of the route table each time (docs/performance.md, twenty-second round).
async fn serve_until(
    listener: TcpListener,
    router: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(without_nagle(listener), router.into_make_service())
        .with_graceful_shutdown(shutdown)
        .await
}

/// Accepted connections send every write at once (`TCP_NODELAY`; axum leaves Nagle's
/// algorithm on). The unpaged list is written chunk by chunk as storage streams it; with
/// Nagle's algorithm a small chunk waits until the client acknowledges the data before it,
/// and a client that delays its acknowledgement (up to 40 ms on Linux) stalls the body at
/// such a chunk: a list of 100 written in chunks of 16 took 41 ms instead of 1.1 ms
/// (docs/performance.md, twenty-first round).
fn without_nagle(
    listener: TcpListener,
) -> impl axum::serve::Listener<Io = tokio::net::TcpStream, Addr = SocketAddr> {
    use axum::serve::ListenerExt as _;
    listener.tap_io(|tcp| {
        if let Err(error) = tcp.set_nodelay(true) {
            tracing::debug!(%error, "could not set TCP_NODELAY on an accepted connection");
        }
    })
}

async fn shutdown_signal() {
    let _ = tokio::signal::ctrl_c().await;
}

async fn router(
    state: AppState,
    database: &Database,
    config: &ServeConfig,
) -> Result<Router, StartupError> {
    let (api, _) = crate::http::routes::api();
    let api = api.route_layer(from_fn_with_state(state.clone(), require_owner));

    let routes = generate_route_list(App);
    let console = state.console.clone();
    let leptos = state.leptos.clone();
    let pages = Router::new()
        .leptos_routes_with_context(
            &state,
            routes,
            move || provide_context(console.clone()),
            move || shell(leptos.clone()),
        )
        .route_layer(from_fn_with_state(state.clone(), require_owner_page));

    let router = Router::new()
        .route("/login", post(login))
        .route("/logout", post(logout))
        .merge(api)
        .merge(pages)
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        .with_state(state);

    let router = with_sessions(router, database, config).await?;
    let router = router.layer(axum::middleware::from_fn(
        crate::http::extract::refuse_nul_in_uri,
    ));
    Ok(with_security_headers(router))
}

/// Sessions live in the same database as everything else.
async fn with_sessions(
    router: Router,
    database: &Database,
    config: &ServeConfig,
) -> Result<Router, StartupError> {
    let idle = tower_sessions::cookie::time::Duration::seconds(
        i64::try_from(config.session_idle.as_secs()).unwrap_or(i64::MAX),
    );
    macro_rules! layer {
        ($store:expr) => {{
            let store = $store;
            store
                .migrate()
                .await
                .map_err(|e| StartupError::Sessions(e.to_string()))?;
            SessionManagerLayer::new(store)
                .with_name("owner_console_session")
                .with_http_only(true)
                .with_same_site(SameSite::Lax)
                .with_secure(config.secure_cookies)
                .with_expiry(Expiry::OnInactivity(idle))
        }};
    }
    Ok(match database {
        Database::Sqlite(pool) => router.layer(layer!(SqliteStore::new(pool.clone()))),
        Database::Postgres(pool) => router.layer(layer!(PostgresStore::new(pool.clone()))),
    })
}

fn with_security_headers(router: Router) -> Router {
    // Leptos' hydration bootstrap is an inline module script, hence 'unsafe-inline' for
    // scripts; everything else is same-origin only and the console cannot be framed.
    const CSP: &str = "default-src 'self'; script-src 'self' 'unsafe-inline' 'wasm-unsafe-eval'; \
                       style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; \
                       frame-ancestors 'none'; base-uri 'self'; form-action 'self'";
    router
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::serve::Listener as _;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test]
    async fn accepted_connections_write_without_nagle_delays() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let mut listener = without_nagle(listener);
        let client = tokio::net::TcpStream::connect(address);
        let ((accepted, _), client) = tokio::join!(listener.accept(), client);
        client.unwrap();
        assert!(accepted.nodelay().unwrap());
    }

    /// Counts how often it is cloned.
    struct CountsClones(Arc<AtomicUsize>);

    impl CountsClones {
        fn count(&self) -> usize {
            self.0.load(Ordering::SeqCst)
        }
    }

    impl Clone for CountsClones {
        fn clone(&self) -> Self {
            self.0.fetch_add(1, Ordering::SeqCst);
            CountsClones(self.0.clone())
        }
    }

    #[tokio::test]
    async fn new_connections_do_not_clone_the_routes_they_do_not_call() {
        let clones = Arc::new(AtomicUsize::new(0));
        let probe = CountsClones(clones.clone());
        let router = Router::new()
            .route("/", axum::routing::get(|| async { "called" }))
            .route(
                "/never-called",
                axum::routing::get(move || {
                    let seen = probe.count();
                    async move { seen.to_string() }
                }),
            );
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/", listener.local_addr().unwrap());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(serve_until(listener, router, async {
            let _ = stopped.await;
        }));
        // No connection pool: a new connection for every request.
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(0)
            .build()
            .unwrap();
        let before = clones.load(Ordering::SeqCst);
        for _ in 0..5 {
            let response = client.get(&url).send().await.unwrap();
            assert_eq!(response.text().await.unwrap(), "called");
        }
        assert_eq!(clones.load(Ordering::SeqCst), before);
        let _ = stop.send(());
        server.await.unwrap().unwrap();
    }
}
