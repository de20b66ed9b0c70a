//! Fleet benchmark: the owner console at N = 100, 1,000, 10,000 (and 100,000 with
//! `BENCH_MAX_N=100000`) connections, on SQLite and on Postgres, over real HTTP against the
//! real `Application`.
//!
//! ```sh
//! cargo bench --bench fleet                      # N up to 10,000, both backends (a few minutes)
//! BENCH_MAX_N=100000 cargo bench --bench fleet   # adds N = 100,000 (10 M records; long)
//! BENCH_BACKENDS=sqlite cargo bench --bench fleet
//! ```
//!
//! Per backend and N, in a fresh database (a temp SQLite file, or a new Postgres database
//! dropped afterwards): a deterministic fleet is written into the source tables
//! (`console_storage::testing::load_fleet`), the evidence is built by the production rebuild
//! (timed), and then the reads (also from the served binary as a child process), renders,
//! folds and ingest are timed. A table is printed and
//! the figures are written to `bench-results/fleet-<unix time>.json` (and `fleet-latest.json`).
//!
//! This is a benchmark, not a test: it asserts only what makes its figures meaningful (the
//! full list really holds N items, every row really folded).

use chrono::TimeZone;
use console_domain::clock::ManualClock;
use console_storage::testing::{
    load_fleet, set_dirty_marking, FleetSpec, TestBackend, TestDatabase,
};
use console_storage::{ConnectionChange, RecordInput};
use owner_console::config::ServeConfig;
use owner_console::startup::{leptos_options, Application};
use serde::Serialize;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tracing_subscriber::layer::SubscriberExt;

const PASSWORD: &str = "bench password, not a secret";
const TOKEN: &str = "oc_bench_token_0123456789abcdef";

// ---------------------------------------------------------------------------------------
// Statement counting: sqlx reports every statement as a `sqlx::query` event. The layer is
// interested only while COUNTING is set, so timed requests pay nothing for it (sqlx skips
// formatting the statement when no subscriber wants the event).

static COUNTING: AtomicBool = AtomicBool::new(false);
static STATEMENTS: AtomicU64 = AtomicU64::new(0);

struct CountStatements;

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for CountStatements {
    fn register_callsite(
        &self,
        _: &'static tracing::Metadata<'static>,
    ) -> tracing::subscriber::Interest {
        // Decided per event (the flag changes at run time), never cached.
        tracing::subscriber::Interest::sometimes()
    }

    fn enabled(
        &self,
        metadata: &tracing::Metadata<'_>,
        _: tracing_subscriber::layer::Context<'_, S>,
    ) -> bool {
        COUNTING.load(Ordering::Relaxed)
            && matches!(
                metadata.target(),
                "sqlx::query" | console_storage::STATEMENT_LOG
            )
    }

    fn on_event(&self, _: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        STATEMENTS.fetch_add(1, Ordering::SeqCst);
    }
}

// ---------------------------------------------------------------------------------------
// Results

#[derive(Clone, Debug, Serialize)]
struct Figure {
    backend: &'static str,
    n: usize,
    metric: String,
    /// The headline value, in `unit`.
    value: f64,
    unit: &'static str,
    reps: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    median_ms: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    p90_ms: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    min_ms: Option<f64>,
    /// Storage statements of one such request (session lookup included).
    #[serde(skip_serializing_if = "Option::is_none")]
    statements: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    note: Option<String>,
}

#[derive(Default)]
struct Results(Vec<Figure>);

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1_000.0
}

fn percentile<T: Copy>(sorted: &[T], p: f64) -> T {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

impl Results {
    /// A latency figure: median of `samples` (ms), with p90 and min.
    fn latency(
        &mut self,
        backend: &'static str,
        n: usize,
        metric: &str,
        mut samples: Vec<Duration>,
        statements: Option<u64>,
    ) {
        samples.sort();
        let median = percentile(&samples, 0.5);
        let fig = Figure {
            backend,
            n,
            metric: metric.to_owned(),
            value: ms(median),
            unit: "ms",
            reps: samples.len(),
            median_ms: Some(ms(median)),
            p90_ms: Some(ms(percentile(&samples, 0.9))),
            min_ms: Some(ms(samples[0])),
            statements,
            note: None,
        };
        println!(
            "  {backend:8} N={n:<7} {metric:44} median {:>10.3} ms  p90 {:>10.3} ms  ({} reps{})",
            ms(median),
            fig.p90_ms.unwrap_or_default(),
            fig.reps,
            statements.map_or(String::new(), |s| format!(", {s} statements"))
        );
        self.0.push(fig);
    }

    fn value(
        &mut self,
        backend: &'static str,
        n: usize,
        metric: &str,
        value: f64,
        unit: &'static str,
        note: Option<String>,
    ) {
        println!(
            "  {backend:8} N={n:<7} {metric:44} {value:>14.1} {unit}{}",
            note.as_deref()
                .map_or(String::new(), |s| format!("  ({s})"))
        );
        self.0.push(Figure {
            backend,
            n,
            metric: metric.to_owned(),
            value,
            unit,
            reps: 1,
            median_ms: None,
            p90_ms: None,
            min_ms: None,
            statements: None,
            note,
        });
    }
}

// ---------------------------------------------------------------------------------------
// The fleet under test: a database, the application serving it, and an HTTP client.

/// How a timed request is made.
#[derive(Clone, Copy)]
enum Caller {
    /// Bearer token, on the client's kept-alive connection.
    Token,
    /// Bearer token, on a new connection (a script that opens one per call).
    TokenNewConnection,
    /// The owner's session cookie (console pages).
    Cookie,
}

struct Bench {
    backend: &'static str,
    n: usize,
    base: String,
    client: reqwest::Client,
    /// Keeps no idle connection: every request opens a new one.
    one_shot: reqwest::Client,
    cookie: String,
    console: console_service::Console,
    clock: ManualClock,
    /// Connection ids in the list's stable order.
    ids: Vec<String>,
    /// First stream of each connection's connector (for ingest).
    first_stream: Vec<String>,
}

/// 2026-03-01T12:00:00Z: every run of the benchmark sees the same verdicts.
fn fleet_now() -> console_domain::Instant {
    chrono::Utc
        .with_ymd_and_hms(2026, 3, 1, 12, 0, 0)
        .single()
        .expect("valid instant")
}

impl Bench {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// One GET as `caller`; the body is read
    /// chunk by chunk and only counted, so the client holds no copy of a large list.
    async fn get(&self, path: &str, caller: Caller) -> (u16, usize) {
        let url = self.url(path);
        let request = match caller {
            Caller::Token => self.client.get(url).bearer_auth(TOKEN),
            Caller::TokenNewConnection => self.one_shot.get(url).bearer_auth(TOKEN),
            Caller::Cookie => self.client.get(url).header("cookie", &self.cookie),
        };
        let mut response = request.send().await.expect("request");
        let status = response.status().as_u16();
        let mut bytes = 0;
        while let Some(chunk) = response.chunk().await.expect("body") {
            bytes += chunk.len();
        }
        (status, bytes)
    }

    async fn get_json(&self, path: &str) -> Value {
        let response = self
            .client
            .get(self.url(path))
            .bearer_auth(TOKEN)
            .send()
            .await
            .expect("request");
        assert_eq!(response.status().as_u16(), 200, "{path}");
        response.json().await.expect("json body")
    }

    /// Times `reps` GETs of `path()` after one untimed warm-up; `before` runs untimed
    /// before each (to dirty rows). Counts the statements of one extra request.
    async fn time_get<P, B, Fut>(
        &self,
        reps: usize,
        caller: Caller,
        mut path: P,
        mut before: B,
    ) -> (Vec<Duration>, u64)
    where
        P: FnMut(usize) -> String,
        B: FnMut(usize) -> Fut,
        Fut: std::future::Future<Output = ()>,
    {
        before(usize::MAX).await;
        let (status, _) = self.get(&path(usize::MAX), caller).await;
        assert_eq!(status, 200, "{}", path(usize::MAX));
        let mut samples = Vec::with_capacity(reps);
        for rep in 0..reps {
            before(rep).await;
            let p = path(rep);
            let started = Instant::now();
            let (status, _) = self.get(&p, caller).await;
            samples.push(started.elapsed());
            assert_eq!(status, 200, "{p}");
        }
        before(reps).await;
        STATEMENTS.store(0, Ordering::SeqCst);
        COUNTING.store(true, Ordering::SeqCst);
        let _ = self.get(&path(reps), caller).await;
        COUNTING.store(false, Ordering::SeqCst);
        (samples, STATEMENTS.load(Ordering::SeqCst))
    }

    /// Renames each connection to a label it never had: a real write seam, one dirty row each.
    async fn dirty(&self, ids: &[String]) {
        static ROUND: AtomicU64 = AtomicU64::new(0);
        let label = format!("bench {}", ROUND.fetch_add(1, Ordering::SeqCst));
        for id in ids {
            self.console
                .store
                .update_connection(
                    id,
                    &ConnectionChange::Rename(Some(label.clone())),
                    self.clock_now(),
                )
                .await
                .expect("rename");
        }
    }

    fn clock_now(&self) -> console_domain::Instant {
        use console_domain::clock::Clock;
        self.clock.now()
    }

    async fn fold_everything(&self) -> u64 {
        let mut total = 0;
        loop {
            let report = self
                .console
                .store
                .fold_dirty(5_000, self.clock_now())
                .await
                .into_result()
                .expect("fold");
            total += report.folded;
            if report.folded == 0 && report.raced == 0 {
                return total;
            }
        }
    }
}

async fn login(client: &reqwest::Client, base: &str) -> String {
    let response = client
        .post(format!("{base}/login"))
        .form(&[("password", PASSWORD), ("return_to", "/")])
        .send()
        .await
        .expect("login");
    response.headers()["set-cookie"]
        .to_str()
        .expect("cookie text")
        .split(';')
        .next()
        .expect("cookie")
        .to_owned()
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.replace('_', "").parse().ok())
        .unwrap_or(default)
}

/// Repetitions for a read whose cost grows with N: enough for a median, bounded in time.
fn reps_for(n: usize, budget: usize, min: usize, max: usize) -> usize {
    (budget / n.max(1)).clamp(min, max)
}

// ---------------------------------------------------------------------------------------
// One backend at one N.

async fn run_one(
    backend: TestBackend,
    n: usize,
    largest: bool,
    records_per_connection: usize,
    results: &mut Results,
) {
    let name: &'static str = match backend {
        TestBackend::Sqlite => "sqlite",
        TestBackend::Postgres => "postgres",
    };
    println!("\n== {name}, N = {n} ==");
    let db = TestDatabase::create(backend).await;
    let now = fleet_now();

    // Fixture: source rows in big transactions, then the production rebuild builds the
    // evidence (timed: that is the rebuild figure).
    let (store, database) = console_storage::open(db.url()).await.expect("open");
    let spec = FleetSpec {
        connections: n,
        records_per_connection,
        ..FleetSpec::default()
    };
    let started = Instant::now();
    let fleet = load_fleet(&database, &spec, now).await.expect("load fleet");
    results.value(
        name,
        n,
        "fixture load (not a product figure)",
        started.elapsed().as_secs_f64(),
        "s",
        Some(format!("{} runs, {} records", fleet.runs, fleet.records)),
    );
    let started = Instant::now();
    let report = store
        .rebuild_evidence(500, now, &|_, _| {})
        .await
        .expect("rebuild");
    let secs = started.elapsed().as_secs_f64();
    assert_eq!(report.created as usize, n, "the rebuild created every row");
    results.value(
        name,
        n,
        "rebuild from scratch (batches of 500)",
        secs,
        "s",
        Some(format!("{} records", fleet.records)),
    );
    let started = Instant::now();
    let report = store
        .rebuild_evidence(500, now, &|_, _| {})
        .await
        .expect("rebuild");
    assert_eq!(
        report.changed + report.created,
        0,
        "a second rebuild changes nothing"
    );
    results.value(
        name,
        n,
        "rebuild again (idempotent, nothing changes)",
        started.elapsed().as_secs_f64(),
        "s",
        None,
    );
    database.close().await;
    drop(store);

    // The real application on a random port, with a fixed clock and an idle sweeper (the
    // benchmark folds explicitly; a timer would race the figures).
    let mut config = ServeConfig::new(db.url());
    config.sweeper.interval = Duration::from_secs(3_600);
    config.owner_password = Some(PASSWORD.to_owned());
    config.owner_token = Some(TOKEN.to_owned());
    let clock = ManualClock::new(now);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let (app, _) = Application::build(
        config,
        Arc::new(clock.clone()),
        listener,
        leptos_options().expect("leptos options"),
    )
    .await
    .expect("application builds");
    let base = format!("http://{}", app.local_addr().expect("address"));
    let console = app.console.clone();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async {
        let _ = stopped.await;
    }));
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let cookie = login(&client, &base).await;
    let one_shot = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .expect("client");

    let mut bench = Bench {
        backend: name,
        n,
        base,
        client,
        one_shot,
        cookie,
        console,
        clock,
        ids: Vec::new(),
        first_stream: Vec::new(),
    };
    // The list really holds every connection (parsed once, untimed).
    let all = bench.get_json("/_ref/connectors").await;
    let items = all["data"].as_array().expect("data");
    assert_eq!(items.len(), n, "the full list holds every connection");
    bench.ids = items
        .iter()
        .map(|i| i["connection_id"].as_str().expect("id").to_owned())
        .collect();
    bench.first_stream = items
        .iter()
        .map(|i| {
            i["streams"][0]["name"]
                .as_str()
                .unwrap_or("stream_0")
                .to_owned()
        })
        .collect();
    drop(all);

    // `BENCH_SKIP=reads,served,dirty,fold,memory,ingest,render` leaves phases out (profiling
    // one phase).
    let skip = std::env::var("BENCH_SKIP").unwrap_or_default();
    let run = |phase: &str| !skip.split(',').any(|s| s.trim() == phase);
    if run("reads") {
        reads(&bench, results).await;
    }
    if run("served") {
        served(&bench, db.url(), results).await;
    }
    if run("dirty") {
        dirty_reads(&bench, results).await;
    }
    if run("fold") {
        fold_throughput(&bench, results).await;
    }
    if largest && run("memory") {
        memory(&bench, db.url(), results).await;
    }
    if run("ingest") {
        ingest(&bench, results).await;
    }

    let _ = stop.send(());
    let _ = server.await;
    if std::env::var("BENCH_KEEP_DB").is_ok() {
        println!("KEPT {}", db.url());
        std::mem::forget(db);
        return;
    }
    db.remove().await;
}

/// Sample of ids spread over the whole fleet (deterministic).
fn spread(ids: &[String], k: usize) -> Vec<String> {
    let step = (ids.len() / k.max(1)).max(1);
    ids.iter().step_by(step).take(k).cloned().collect()
}

/// Times the full list as `server` answers it: its latency and its throughput, with `suffix`
/// after both figures' names. Statements are counted only in this process (`in_process`).
async fn full_list(server: &Bench, results: &mut Results, suffix: &str, in_process: bool) {
    let (name, n) = (server.backend, server.n);
    let reps = reps_for(n, 200_000, 3, 20);
    let (s, st) = server
        .time_get(
            reps,
            Caller::Token,
            |_| "/_ref/connectors".into(),
            |_| async {},
        )
        .await;
    let median = {
        let mut v = s.clone();
        v.sort();
        percentile(&v, 0.5)
    };
    results.latency(
        name,
        n,
        &format!("GET /_ref/connectors (full list){suffix}"),
        s,
        in_process.then_some(st),
    );
    results.value(
        name,
        n,
        &format!("full list throughput{suffix}"),
        n as f64 / median.as_secs_f64(),
        "items/s",
        None,
    );
}

async fn reads(b: &Bench, results: &mut Results) {
    let (name, n) = (b.backend, b.n);
    let noop = |_: usize| async {};
    let reps = reps_for(n, 200_000, 3, 20);
    full_list(b, results, "", true).await;

    // Where the full list's time goes, in process: storage alone (stream the rows), then
    // storage + projection + serialization (no HTTP).
    {
        use futures::StreamExt as _;
        let query = console_storage::ListQuery {
            limit: None,
            after: None,
            status: None,
            order: console_storage::ListOrder::Stable,
        };
        let mut storage = Vec::new();
        let mut projected = Vec::new();
        let (mut storage_cpu, mut projected_cpu) = (0.0, 0.0);
        let rounds = reps.min(5);
        for _ in 0..rounds {
            let cpu = process_cpu_seconds();
            let started = Instant::now();
            let mut stream = b
                .console
                .store
                .stream_evidence(&query, b.clock_now())
                .await
                .expect("stream");
            let mut rows = 0;
            while let Some(row) = stream.rows.next().await {
                row.expect("row");
                rows += 1;
            }
            assert_eq!(rows, n);
            storage.push(started.elapsed());
            storage_cpu += process_cpu_seconds() - cpu;
            let cpu = process_cpu_seconds();
            let started = Instant::now();
            let mut list = b
                .console
                .list_stream(&console_service::projector::ListRequest::default())
                .await
                .expect("list stream");
            let mut sink = Vec::with_capacity(8_192);
            while let Some(item) = list.items.next().await {
                sink.clear();
                serde_json::to_writer(&mut sink, &item.expect("item")).expect("serialize");
            }
            projected.push(started.elapsed());
            projected_cpu += process_cpu_seconds() - cpu;
        }
        results.latency(
            name,
            n,
            "full list, storage stream only (in process)",
            storage,
            None,
        );
        results.latency(
            name,
            n,
            "full list, storage+projection+JSON (in process)",
            projected,
            None,
        );
        // CPU time (all threads of this process) per item: what the list costs whatever
        // else the machine is doing, unlike wall time.
        let per_item = |cpu: f64| cpu * 1e6 / (rounds * n) as f64;
        results.value(
            name,
            n,
            "full list CPU, storage stream only",
            per_item(storage_cpu),
            "us/item",
            None,
        );
        results.value(
            name,
            n,
            "full list CPU, storage+projection+JSON",
            per_item(projected_cpu),
            "us/item",
            None,
        );
    }

    let (s, st) = b
        .time_get(
            50,
            Caller::Token,
            |_| "/_ref/connectors?limit=100".into(),
            noop,
        )
        .await;
    results.latency(name, n, "GET /_ref/connectors?limit=100", s, Some(st));
    let (s, st) = b
        .time_get(
            50,
            Caller::Token,
            |_| "/_ref/connectors?limit=100&order=needs_you_first".into(),
            noop,
        )
        .await;
    results.latency(name, n, "GET ?limit=100&order=needs_you_first", s, Some(st));

    let targets = spread(&b.ids, 100);
    // Also on a new connection per request, as a script calling `curl` makes them.
    for (caller, figure) in [
        (Caller::Token, "GET ?connection= (scoped)"),
        (
            Caller::TokenNewConnection,
            "GET ?connection= (scoped), new connection",
        ),
    ] {
        let (s, st) = b
            .time_get(
                targets.len(),
                caller,
                |i| format!("/_ref/connectors?connection={}", targets[i % targets.len()]),
                noop,
            )
            .await;
        results.latency(name, n, figure, s, Some(st));
    }
    let (s, st) = b
        .time_get(
            targets.len(),
            Caller::Token,
            |i| format!("/_ref/connections/{}", targets[i % targets.len()]),
            noop,
        )
        .await;
    results.latency(name, n, "GET /_ref/connections/{id} (detail)", s, Some(st));

    let reps = reps_for(n, 20_000, 1, 20);
    // A page of 100 rows, as issue 6 and 5 ask (the console's default page is 50).
    let (s, st) = b
        .time_get(reps, Caller::Cookie, |_| "/?limit=100".into(), noop)
        .await;
    results.latency(
        name,
        n,
        "render /?limit=100 (console list page)",
        s,
        Some(st),
    );
    let (s, st) = b
        .time_get(
            50,
            Caller::Cookie,
            |i| format!("/connections/{}", targets[i % targets.len()]),
            noop,
        )
        .await;
    results.latency(name, n, "render /connections/{id}", s, Some(st));
}

async fn dirty_reads(b: &Bench, results: &mut Results) {
    let (name, n) = (b.backend, b.n);
    // 1% of the fleet, spread evenly over the stable order: every page of 100 holds one.
    let one_percent: Vec<String> = b.ids.iter().step_by(100).cloned().collect();

    let reps = reps_for(n, 100_000, 3, 10);
    let (s, st) = b
        .time_get(
            reps,
            Caller::Token,
            |_| "/_ref/connectors".into(),
            |_| b.dirty(&one_percent),
        )
        .await;
    results.latency(
        name,
        n,
        "GET /_ref/connectors, 1% dirty (lazy fold)",
        s,
        Some(st),
    );

    // Pages: the 1% stays dirty elsewhere; the page's own dirty row is re-dirtied each time.
    b.dirty(&one_percent).await;
    let first = vec![b.ids[0].clone()];
    let (s, st) = b
        .time_get(
            50,
            Caller::Token,
            |_| "/_ref/connectors?limit=100".into(),
            |_| b.dirty(&first),
        )
        .await;
    results.latency(name, n, "GET ?limit=100, 1 of 100 dirty", s, Some(st));

    // Scoped and detail: the target itself is dirty (the worst case of a 1%-dirty fleet).
    let targets = spread(&b.ids, 50);
    let t = &targets;
    let (s, st) = b
        .time_get(
            targets.len(),
            Caller::Token,
            |i| format!("/_ref/connectors?connection={}", t[i % t.len()]),
            |i| async move { b.dirty(&[t[i % t.len()].clone()]).await },
        )
        .await;
    results.latency(name, n, "GET ?connection=, target dirty", s, Some(st));
    let (s, st) = b
        .time_get(
            targets.len(),
            Caller::Token,
            |i| format!("/_ref/connections/{}", t[i % t.len()]),
            |i| async move { b.dirty(&[t[i % t.len()].clone()]).await },
        )
        .await;
    results.latency(
        name,
        n,
        "GET /_ref/connections/{id}, target dirty",
        s,
        Some(st),
    );
    b.fold_everything().await;
}

/// Fold throughput: a manifest change dirties every row, then sweeper ticks fold them, as
/// the server runs them. `BENCH_FOLD_REPS` (default 1) repeats both and reports the median
/// run: one fold of 10,000 rows lasts about a second, and this machine's noise is larger
/// than most effects worth measuring.
///
/// First rounds warm the fold up, as one untimed request does for every read: on Postgres
/// the first fold on each pooled connection prepares and plans its statements (3-7 ms of
/// binding in Postgres's log, against 0.2 ms once planned, and a few ms for the whole fold
/// of a small fleet), which a running server has long done. They are left out of the
/// median, and the first is reported apart, as the cold figure.
async fn fold_throughput(b: &Bench, results: &mut Results) {
    let (name, n) = (b.backend, b.n);
    let reps = env_usize("BENCH_FOLD_REPS", 1).max(1);
    let (cold, _) = fold_once(b, results, 0).await;
    results.value(
        name,
        n,
        "fold throughput, warm-up fold (cold)",
        cold,
        "rows/s",
        None,
    );
    // A fleet of 100 is folded as two folds of 50, on two of the Postgres sweeper's four
    // connections; the pool hands out its longest-idle connection first, so the next
    // round's two folds ran on the other two, unplanned: in Postgres's log the first timed
    // round spent 2.8 and 5.8 ms binding its extractions. A second warm-up round plans
    // those too.
    fold_once(b, results, 1).await;
    let mut rates = Vec::with_capacity(reps);
    let mut cpu_per_row = Vec::with_capacity(reps);
    for rep in 2..reps + 2 {
        let (rate, cpu) = fold_once(b, results, rep).await;
        rates.push(rate);
        cpu_per_row.push(cpu);
    }
    let runs = rates
        .iter()
        .map(|r| format!("{r:.0}"))
        .collect::<Vec<_>>()
        .join(" / ");
    // This process's CPU per folded row (the database's own CPU too on SQLite, which runs
    // in process; not on Postgres): steadier than wall time on a busy machine.
    results.value(
        name,
        n,
        "fold CPU in this process",
        median(&mut cpu_per_row),
        "us/row",
        None,
    );
    results.value(
        name,
        n,
        "fold throughput (sweeper ticks)",
        median(&mut rates),
        "rows/s",
        Some(format!("{n} rows per run; runs: {runs}")),
    );
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    percentile(values, 0.5)
}

/// One manifest change of every fleet connector and the sweeper ticks that fold it: rows/s
/// and this process's CPU per folded row.
async fn fold_once(b: &Bench, results: &mut Results, rep: usize) -> (f64, f64) {
    let (name, n) = (b.backend, b.n);
    // A manifest change is the production seam that dirties every connection of a connector.
    let store = &b.console.store;
    let started = Instant::now();
    for mut manifest in store.list_connectors().await.expect("connectors") {
        if !manifest.connector_id.starts_with("fleet-") {
            continue;
        }
        manifest.version = format!("{}-changed{rep}", manifest.version);
        store
            .upsert_connector(&manifest, b.clock_now())
            .await
            .expect("manifest change");
    }
    if rep == 0 {
        results.value(
            name,
            n,
            "manifest changes dirtying every row",
            ms(started.elapsed()),
            "ms",
            None,
        );
    }
    let dirty = store.read_model_status().await.expect("status").dirty;
    assert_eq!(dirty as usize, n, "every row is dirty");
    let started = Instant::now();
    let cpu = process_cpu_seconds();
    let mut folded = 0;
    // Sweeper ticks with the default batch, as the server runs them, until one folds
    // nothing (a tick that fails logs it and counts only its committed folds; the count
    // below catches rows left dirty).
    let batch = owner_console::config::SweeperConfig::default().batch;
    loop {
        let tick = console_service::background::sweep_once(&b.console, batch).await;
        folded += tick;
        if tick == 0 {
            break;
        }
    }
    let secs = started.elapsed().as_secs_f64();
    let cpu = process_cpu_seconds() - cpu;
    assert_eq!(folded as usize, n, "every dirty row folded");
    (folded as f64 / secs, cpu * 1e6 / folded.max(1) as f64)
}

/// Ingest throughput in batches of 1,000 new records, with dirty marking and without it
/// (the storage-level `testing` switch skips exactly the marking: the sequence bump and the
/// evidence upsert). The two modes alternate in small rounds so drift hits both alike.
async fn ingest(b: &Bench, results: &mut Results) {
    let (name, n) = (b.backend, b.n);
    const BATCH: usize = 1_000;
    const ROUNDS: usize = 15;
    const PER_ROUND: usize = 4;
    let targets: Vec<usize> = (0..b.ids.len())
        .step_by((b.ids.len() / 64).max(1))
        .collect();
    let mut spent: [Vec<Duration>; 2] = [Vec::new(), Vec::new()];
    let mut counter = 0usize;
    for round in 0..ROUNDS {
        for (mode, marking) in [(0usize, true), (1, false)] {
            set_dirty_marking(marking);
            for _ in 0..PER_ROUND {
                let t = targets[counter % targets.len()];
                counter += 1;
                let batch: Vec<RecordInput> = (0..BATCH)
                    .map(|k| RecordInput {
                        stream: b.first_stream[t].clone(),
                        record_key: format!("ingest-{round}-{counter}-{k}"),
                        data: json!({"id": k, "title": format!("Ingested item {k}"),
                                     "value": (k * 7919) % 10_000, "tags": ["bench"]}),
                        emitted_at: None,
                    })
                    .collect();
                let started = Instant::now();
                let counts = b
                    .console
                    .store
                    .ingest_records(&b.ids[t], &batch, b.clock_now())
                    .await
                    .expect("ingest");
                spent[mode].push(started.elapsed());
                assert_eq!(counts.inserted as usize, BATCH);
            }
        }
    }
    set_dirty_marking(true);
    // Medians of the per-batch times: other work on the machine (builds) hits single
    // batches, and a median ignores those where a sum would not.
    let median = |samples: &mut Vec<Duration>| {
        samples.sort();
        percentile(samples, 0.5).as_secs_f64()
    };
    let (with_s, without_s) = (median(&mut spent[0]), median(&mut spent[1]));
    let with = BATCH as f64 / with_s;
    let without = BATCH as f64 / without_s;
    results.value(
        name,
        n,
        "ingest, batches of 1,000, dirty marking on",
        with,
        "records/s",
        None,
    );
    results.value(
        name,
        n,
        "ingest, batches of 1,000, marking off",
        without,
        "records/s",
        None,
    );
    results.value(
        name,
        n,
        "dirty marking cost (time with / without - 1)",
        (with_s / without_s - 1.0) * 100.0,
        "%",
        None,
    );
}

/// User + system CPU seconds of this process so far (all threads), from /proc/self/stat.
/// CPU time of this whole process (every thread), in seconds, at the clock's nanosecond
/// resolution: `/proc/self/stat` counts in 10 ms ticks, which read a fold of 100 rows (a few
/// milliseconds) as 0 us per row.
fn process_cpu_seconds() -> f64 {
    let mut t = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `t` is a valid, writable timespec for the duration of the call.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut t) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_PROCESS_CPUTIME_ID)");
    t.tv_sec as f64 + t.tv_nsec as f64 * 1e-9
}

/// Checks that [`process_cpu_seconds`] steps by less than a millisecond, far below a small
/// fold: a coarser clock reports CPU per row as 0 (or as ten times the truth) at N = 100.
fn assert_cpu_clock_resolution() {
    let start = process_cpu_seconds();
    let mut now = start;
    while now == start {
        now = process_cpu_seconds();
    }
    let step_ms = (now - start) * 1e3;
    assert!(step_ms < 1.0, "the CPU clock steps by {step_ms:.1} ms");
}

fn proc_status_kb(pid: u32, field: &str) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    text.lines()
        .find(|l| l.starts_with(field))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// The real `owner-console serve` binary as a child process on the fleet's database, once
/// it answers, with a `Bench` that talks to it. The served process is what owners run; the
/// in-process server of the other figures shares this process's allocator state, which
/// hid how the served binary's memory behaved (twenty-third round).
async fn spawn_served(b: &Bench, url: &str) -> (std::process::Child, Bench) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let addr = format!("127.0.0.1:{port}");
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_owner-console"))
        .args(["serve", "--database-url", url])
        .env("LEPTOS_SITE_ADDR", &addr)
        .env("OWNER_PASSWORD", PASSWORD)
        .env("OWNER_TOKEN", TOKEN)
        .env("RUST_LOG", "warn")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn the server binary");
    let probe = Bench {
        base: format!("http://{addr}"),
        backend: b.backend,
        n: b.n,
        client: b.client.clone(),
        one_shot: b.one_shot.clone(),
        cookie: String::new(),
        console: b.console.clone(),
        clock: b.clock.clone(),
        ids: Vec::new(),
        first_stream: Vec::new(),
    };
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let ready = probe
            .client
            .get(probe.url("/_ref/connectors?limit=1"))
            .bearer_auth(TOKEN)
            .send()
            .await
            .map(|r| r.status().as_u16() == 200)
            .unwrap_or(false);
        if ready {
            break;
        }
        assert!(Instant::now() < deadline, "the server binary did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    (child, probe)
}

/// The full list as the served binary answers it (same reps as the in-process figure).
async fn served(b: &Bench, url: &str, results: &mut Results) {
    let (mut child, probe) = spawn_served(b, url).await;
    full_list(&probe, results, ", served binary", false).await;
    let _ = child.kill();
    let _ = child.wait();
}

/// Peak memory growth of a separate server process (the real `owner-console serve` binary)
/// while it answers one unscoped full list: RSS before, then the high-water mark reset
/// (`/proc/PID/clear_refs` 5) and read after the response.
async fn memory(b: &Bench, url: &str, results: &mut Results) {
    let (name, n) = (b.backend, b.n);
    let (mut child, probe) = spawn_served(b, url).await;
    let pid = child.id();
    // Warm the pools and lazy statics with a page read first.
    let _ = probe.get("/_ref/connectors?limit=100", Caller::Token).await;
    let rss_before = proc_status_kb(pid, "VmRSS:").unwrap_or(0);
    let _ = std::fs::write(format!("/proc/{pid}/clear_refs"), "5");
    let started = Instant::now();
    let (status, bytes) = probe.get("/_ref/connectors", Caller::Token).await;
    let elapsed = started.elapsed();
    assert_eq!(status, 200);
    let hwm = proc_status_kb(pid, "VmHWM:").unwrap_or(0);
    let _ = child.kill();
    let _ = child.wait();
    results.value(
        name,
        n,
        "server peak RSS growth, full list (separate process)",
        hwm.saturating_sub(rss_before) as f64 / 1024.0,
        "MiB",
        Some(format!(
            "RSS before {:.1} MiB, peak {:.1} MiB, body {:.1} MiB in {:.0} ms",
            rss_before as f64 / 1024.0,
            hwm as f64 / 1024.0,
            bytes as f64 / 1_048_576.0,
            ms(elapsed)
        )),
    );
}

// ---------------------------------------------------------------------------------------

fn print_summary(results: &Results, sizes: &[usize]) -> Vec<Value> {
    println!("\n== Summary (median ms or the unit shown) ==");
    let mut metrics: Vec<(&'static str, String, &'static str)> = Vec::new();
    for f in &results.0 {
        let key = (f.backend, f.metric.clone(), f.unit);
        if !metrics.contains(&key) {
            metrics.push(key);
        }
    }
    let header: Vec<String> = sizes.iter().map(|n| format!("N={n}")).collect();
    println!(
        "{:10} {:54} {:>8} {}",
        "backend",
        "metric",
        "unit",
        header
            .iter()
            .map(|h| format!("{h:>14}"))
            .collect::<String>()
    );
    let mut ratios = Vec::new();
    for (backend, metric, unit) in &metrics {
        let values: Vec<Option<f64>> = sizes
            .iter()
            .map(|n| {
                results
                    .0
                    .iter()
                    .find(|f| f.backend == *backend && f.metric == *metric && f.n == *n)
                    .map(|f| f.value)
            })
            .collect();
        let cells: String = values
            .iter()
            .map(|v| match v {
                Some(v) => format!("{v:>14.3}"),
                None => format!("{:>14}", "-"),
            })
            .collect();
        println!("{backend:10} {metric:54} {unit:>8} {cells}");
        // Cost growth between consecutive sizes (and against N = 1,000) for latencies.
        if *unit == "ms" {
            for w in 1..sizes.len() {
                if let (Some(a), Some(b)) = (values[w - 1], values[w]) {
                    ratios.push(json!({
                        "backend": backend, "metric": metric,
                        "from_n": sizes[w - 1], "to_n": sizes[w], "ratio": b / a,
                    }));
                }
            }
        }
    }
    println!("\n== Cost growth (latency at N / latency at the previous N; N is x10 each step) ==");
    for r in &ratios {
        println!(
            "{:10} {:54} {:>7} -> {:<7} x{:.2}",
            r["backend"].as_str().unwrap_or(""),
            r["metric"].as_str().unwrap_or(""),
            r["from_n"],
            r["to_n"],
            r["ratio"].as_f64().unwrap_or(0.0)
        );
    }
    ratios
}

fn main() {
    assert_cpu_clock_resolution();
    // 2 worker threads: the machine the targets are stated for has 2 cores.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let subscriber = tracing_subscriber::registry().with(CountStatements);
    tracing::subscriber::set_global_default(subscriber).expect("first subscriber");

    let max_n = env_usize("BENCH_MAX_N", 10_000);
    let min_n = env_usize("BENCH_MIN_N", 100);
    let records = env_usize("BENCH_RECORDS", 100);
    let sizes: Vec<usize> = [100, 1_000, 10_000, 100_000]
        .into_iter()
        .filter(|n| *n <= max_n && *n >= min_n)
        .collect();
    let backends: Vec<TestBackend> = std::env::var("BENCH_BACKENDS")
        .unwrap_or_else(|_| "sqlite,postgres".to_owned())
        .split(',')
        .filter_map(|b| match b.trim() {
            "sqlite" => Some(TestBackend::Sqlite),
            "postgres" => Some(TestBackend::Postgres),
            _ => None,
        })
        .collect();
    println!(
        "fleet benchmark: N in {sizes:?}, {records} records per connection, backends {backends:?}"
    );
    let mut results = Results::default();
    let started = Instant::now();
    runtime.block_on(async {
        for backend in &backends {
            for (i, n) in sizes.iter().enumerate() {
                run_one(*backend, *n, i + 1 == sizes.len(), records, &mut results).await;
            }
        }
    });
    let ratios = print_summary(&results, &sizes);
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("bench-results");
    let _ = std::fs::create_dir_all(&dir);
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let doc = json!({
        "benchmark": "fleet",
        "command": "cargo bench --bench fleet",
        "unix_time": stamp,
        "cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        "sizes": sizes,
        "records_per_connection": records,
        "elapsed_seconds": started.elapsed().as_secs_f64(),
        "figures": results.0,
        "cost_growth": ratios,
    });
    let text = serde_json::to_string_pretty(&doc).expect("json");
    let path = dir.join(format!("fleet-{stamp}.json"));
    std::fs::write(&path, &text).expect("write results");
    std::fs::write(dir.join("fleet-latest.json"), &text).expect("write results");
    println!("\nwrote {}", path.display());
}
