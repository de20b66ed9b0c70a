//! Concurrency stress: seeded random writers and readers against real `owner-console serve`
//! processes. Two independent servers share one fresh database (Postgres, or one SQLite file
//! in WAL mode), each with its sweeper folding every 50 ms, and every request goes to either
//! of them at random.
//!
//! Writers: four record writers (ingest batches and deletions, exact counts checked), two
//! run writers (start, heartbeat, finish succeeded / with gaps / failed, gap recovery), two
//! owners (rename, pause/resume, schedule, attention open/resolve, manifest re-registration,
//! a connection created, written and deleted, the occasional full rebuild); two readers hit
//! the full list, the scoped list and the detail page meanwhile. Each task
//! keeps a model of what it wrote. At quiescence:
//!
//! - no request got a 5xx (a deadlock or serialization failure must be retried by the
//!   server), and every status was one the model allows;
//! - the sweepers folded everything: nothing is dirty, every row is folded at its latest
//!   write sequence;
//! - every summary, through every server, shows every write the model holds;
//! - the stored evidence equals a rebuild from scratch (the rebuild changes nothing);
//!
//! and during the run, each record write is followed by a scoped read (through either
//! server) that must already show it.
//!
//! The op sequence of each task is reproducible from the seed; the interleaving is not
//! (that is the point). Failures name the seed, the task and the operation.
//!
//! Targeted races follow: manifest changes against rebuilds, and concurrent "run now" then
//! run finishes against connection deletes (which deadlocked before a finish locked its
//! connection first), on two Postgres servers; and three servers booting side by side on a
//! fresh database (SQLite migrations collided before they retried).
//!
//! `STRESS_SECONDS` (default 8) sets how long the writers run; `STRESS_SEED` the seed
//! (default fixed, so CI is repeatable); `STRESS_ROUNDS` the delete races (default 60) and
//! the boots (default 5, at most 10). The
//! long run: `STRESS_SECONDS=120 STRESS_SEED=$RANDOM cargo test --test stress -- --nocapture`.

// Each test binary uses its own part of the shared support.
#[allow(dead_code)]
mod process;

use console_storage::testing::{TestBackend, TestDatabase};
use process::{Deadline, Direct, Server};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use reqwest::Method;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Built-in connectors the fleet uses, with their streams.
const CONNECTORS: &[(&str, &[&str])] = &[
    ("spotify", &["plays", "playlists", "saved_tracks"]),
    ("github", &["events", "stars", "issues"]),
    ("browser-history", &["visits", "bookmarks"]),
    ("google-calendar", &["events", "calendars"]),
];

const SERVERS: usize = 2;
const CONNECTIONS: usize = 12;
/// Each (connection, stream) has one record writer and each connection one run writer and
/// one owner, so every task's model is exact; tasks of different kinds (and record writers
/// of different streams) still write the same connection at the same time.
const RECORD_WRITERS: usize = 4;
const RUN_WRITERS: usize = 2;
const OWNERS: usize = 2;
const READERS: usize = 2;
const SWEEPER_INTERVAL: Duration = Duration::from_millis(50);

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[derive(Clone, Debug)]
struct Connection {
    id: String,
    connector: &'static str,
    streams: &'static [&'static str],
}

/// What every task shares: the servers, the fleet, and the problems found so far.
struct Ctx {
    backend: TestBackend,
    seed: u64,
    servers: Vec<Server>,
    fleet: Vec<Connection>,
    until: Instant,
    problems: Mutex<Vec<String>>,
    requests: AtomicU64,
}

impl Ctx {
    fn running(&self) -> bool {
        Instant::now() < self.until
    }

    fn problem(&self, message: String) {
        self.problems.lock().unwrap().push(message);
    }

    /// Sends one request to a random server. A 5xx, a transport error or a status outside
    /// `allowed` is recorded as a problem naming the seed, task and operation.
    async fn call(
        &self,
        rng: &mut StdRng,
        op: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
        allowed: &[u16],
    ) -> (u16, Value) {
        let which = rng.gen_range(0..self.servers.len());
        let mut request = self.servers[which].owner(method.clone(), path);
        if let Some(body) = &body {
            request = request.json(body);
        }
        self.requests.fetch_add(1, Ordering::Relaxed);
        let (status, value) = match request.send().await {
            Ok(response) => {
                let status = response.status().as_u16();
                (status, response.json().await.unwrap_or(Value::Null))
            }
            Err(e) => (0, Value::String(e.to_string())),
        };
        if !allowed.contains(&status) {
            self.problem(format!(
                "{:?} seed {}: {op}: {method} {path} via server {which} -> {status} {value}",
                self.backend, self.seed
            ));
        }
        (status, value)
    }
}

/// A task's own random stream, reproducible from the seed and the task's name.
fn task_rng(seed: u64, task: &str) -> StdRng {
    let salt = task.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    });
    StdRng::seed_from_u64(seed ^ salt)
}

/// Live records by (connection index, stream): key -> data value.
type RecordModel = HashMap<(usize, &'static str), BTreeMap<String, u32>>;

/// Ingests and deletes records on its share of the (connection, stream) pairs.
async fn record_writer(ctx: Arc<Ctx>, writer: usize) -> (RecordModel, u64) {
    let task = format!("records-{writer}");
    let mut rng = task_rng(ctx.seed, &task);
    let mine: Vec<(usize, &'static str)> = ctx
        .fleet
        .iter()
        .enumerate()
        .flat_map(|(i, c)| {
            c.streams
                .iter()
                .enumerate()
                .map(move |(s, name)| (i, s, *name))
        })
        .filter(|(i, s, _)| (i + s) % RECORD_WRITERS == writer)
        .map(|(i, _, name)| (i, name))
        .collect();
    let mut model = RecordModel::new();
    let mut ops = 0;
    while ctx.running() {
        ops += 1;
        let (index, stream) = *mine.choose(&mut rng).unwrap();
        let connection = &ctx.fleet[index];
        let live = model.entry((index, stream)).or_default();
        let path = format!("/_ref/connections/{}/records", connection.id);
        if !live.is_empty() && rng.gen_bool(0.15) {
            let mut keys: Vec<String> = live.keys().cloned().collect();
            keys.shuffle(&mut rng);
            keys.truncate(rng.gen_range(1..=5));
            let op = format!("{task} op {ops}: delete {} keys of {stream}", keys.len());
            let (status, body) = ctx
                .call(
                    &mut rng,
                    &op,
                    Method::POST,
                    &format!("{path}/delete"),
                    Some(json!({"stream": stream, "record_keys": keys})),
                    &[200],
                )
                .await;
            if status == 200 {
                if body["deleted"] != json!(keys.len()) {
                    ctx.problem(format!("{op}: deleted {body}, expected {}", keys.len()));
                }
                for key in &keys {
                    live.remove(key);
                }
                let count = live.len();
                read_your_write(&ctx, &mut rng, &op, &connection.id, stream, count).await;
            }
            continue;
        }
        let mut keys: Vec<u32> = (0..100).collect();
        keys.shuffle(&mut rng);
        keys.truncate(rng.gen_range(1..=30));
        let batch: Vec<(String, u32)> = keys
            .iter()
            .map(|k| (format!("k{k}"), rng.gen_range(0..3)))
            .collect();
        let expected = json!({
            "inserted": batch.iter().filter(|(k, _)| !live.contains_key(k)).count(),
            "updated": batch.iter().filter(|(k, v)| live.get(k).is_some_and(|old| old != v)).count(),
            "unchanged": batch.iter().filter(|(k, v)| live.get(k) == Some(v)).count(),
        });
        let records: Vec<Value> = batch
            .iter()
            .map(|(k, v)| json!({"stream": stream, "record_key": k, "data": {"v": v}}))
            .collect();
        let op = format!("{task} op {ops}: ingest {} into {stream}", records.len());
        let (status, body) = ctx
            .call(
                &mut rng,
                &op,
                Method::POST,
                &path,
                Some(json!(records)),
                &[200],
            )
            .await;
        if status == 200 {
            if body != expected {
                ctx.problem(format!("{op}: counts {body}, expected {expected}"));
            }
            live.extend(batch);
            let count = live.len();
            read_your_write(&ctx, &mut rng, &op, &connection.id, stream, count).await;
        }
    }
    (model, ops)
}

/// The scoped read right after a write, through either server, shows the write: the read
/// folds the row (or, when another folder holds it, computes it) before answering, and
/// never answers from evidence older than a write it could see. Only this task writes the
/// stream, so its count is known exactly.
async fn read_your_write(
    ctx: &Ctx,
    rng: &mut StdRng,
    op: &str,
    connection_id: &str,
    stream: &str,
    count: usize,
) {
    let path = format!("/_ref/connectors?connection={connection_id}");
    let (status, body) = ctx.call(rng, op, Method::GET, &path, None, &[200]).await;
    let got = body["data"][0]["streams"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["name"] == stream))
        .map(|s| s["record_count"].clone());
    if status == 200 && got != Some(json!(count)) {
        ctx.problem(format!(
            "{op}: the next read shows {got:?} records in {stream}, expected {count}"
        ));
    }
}

/// The last finished run of each connection: (run id, status).
type RunModel = HashMap<usize, (String, String)>;

/// Connection indexes of one task's share.
fn share(task: usize, tasks: usize) -> Vec<usize> {
    (0..CONNECTIONS).filter(|i| i % tasks == task).collect()
}

async fn run_writer(ctx: Arc<Ctx>, writer: usize) -> (RunModel, u64) {
    let task = format!("runs-{writer}");
    let mut rng = task_rng(ctx.seed, &task);
    let mine = share(writer, RUN_WRITERS);
    let mut open: BTreeMap<usize, String> = BTreeMap::new();
    let mut last = RunModel::new();
    let mut ops = 0;
    while ctx.running() {
        ops += 1;
        let index = *mine.choose(&mut rng).unwrap();
        let connection = &ctx.fleet[index];
        if let Some(run_id) = open.get(&index).cloned() {
            if rng.gen_bool(0.5) {
                let op = format!("{task} op {ops}: heartbeat");
                let path = format!("/_ref/runs/{run_id}/heartbeat");
                ctx.call(&mut rng, &op, Method::POST, &path, None, &[200])
                    .await;
            } else {
                let status = finish(
                    &ctx,
                    &mut rng,
                    &format!("{task} op {ops}"),
                    connection,
                    &run_id,
                )
                .await;
                if let Some(status) = status {
                    last.insert(index, (run_id, status));
                }
                open.remove(&index);
            }
        } else if rng.gen_bool(0.1) {
            let op = format!("{task} op {ops}: recover gaps");
            let path = format!("/_ref/connections/{}/gaps/recover", connection.id);
            ctx.call(&mut rng, &op, Method::POST, &path, Some(json!({})), &[200])
                .await;
        } else {
            // 409 when the owner has paused the connection (never because a run is open:
            // this task starts every run and knows which are open).
            let op = format!("{task} op {ops}: start");
            let path = format!("/_ref/connections/{}/runs", connection.id);
            let (status, body) = ctx
                .call(&mut rng, &op, Method::POST, &path, None, &[202, 409])
                .await;
            match status {
                202 => {
                    open.insert(
                        index,
                        body["run_id"].as_str().unwrap_or_default().to_owned(),
                    );
                }
                409 if body["error"]["code"] != "connection_not_active" => {
                    ctx.problem(format!("{op}: unexpected conflict {body}"));
                }
                _ => {}
            }
        }
    }
    // Quiescence needs every run closed.
    for (index, run_id) in open {
        let op = format!("{task} closing");
        if let Some(status) = finish(&ctx, &mut rng, &op, &ctx.fleet[index], &run_id).await {
            last.insert(index, (run_id, status));
        }
    }
    (last, ops)
}

/// Finishes a run with a random outcome; returns the status it finished with.
async fn finish(
    ctx: &Ctx,
    rng: &mut StdRng,
    op: &str,
    connection: &Connection,
    run_id: &str,
) -> Option<String> {
    let stream = *connection.streams.choose(rng).unwrap();
    let body = match rng.gen_range(0..4) {
        0 => json!({"status": "succeeded_with_gaps", "records_written": 5,
                    "gaps": [{"stream": stream, "reason": "page limit", "retryable": true}]}),
        1 => json!({"status": "failed",
                    "failure_reason": *["source_unavailable", "rate_limited", "connector_error"]
                        .choose(rng).unwrap()}),
        _ => json!({"status": "succeeded", "records_written": rng.gen_range(0..50)}),
    };
    let op = format!("{op}: finish {}", body["status"]);
    let path = format!("/_ref/runs/{run_id}/finish");
    let (status, _) = ctx
        .call(rng, &op, Method::POST, &path, Some(body.clone()), &[200])
        .await;
    (status == 200).then(|| body["status"].as_str().unwrap().to_owned())
}

#[derive(Clone, Debug, Default)]
struct OwnerView {
    label: Option<String>,
    paused: bool,
    /// (interval, jitter, enabled)
    schedule: Option<(i64, i64, bool)>,
    open_attention: Vec<String>,
}

/// What the owners did: per connection, and the connector display names they registered.
#[derive(Debug, Default)]
struct OwnerModel {
    views: HashMap<usize, OwnerView>,
    connector_names: HashMap<String, String>,
}

async fn owner(ctx: Arc<Ctx>, owner: usize) -> (OwnerModel, u64) {
    let task = format!("owner-{owner}");
    let mut rng = task_rng(ctx.seed, &task);
    let mine = share(owner, OWNERS);
    let mut model = OwnerModel::default();
    let mut ops = 0;
    while ctx.running() {
        ops += 1;
        let index = *mine.choose(&mut rng).unwrap();
        let id = ctx.fleet[index].id.clone();
        let view = model.views.entry(index).or_default();
        let c = format!("/_ref/connections/{id}");
        match rng.gen_range(0..100) {
            0..=24 => {
                let label = rng
                    .gen_bool(0.8)
                    .then(|| format!("label {}", rng.gen_range(0..1000)));
                let op = format!("{task} op {ops}: rename");
                let (status, _) = ctx
                    .call(
                        &mut rng,
                        &op,
                        Method::PATCH,
                        &c,
                        Some(json!({"display_name": label})),
                        &[200],
                    )
                    .await;
                if status == 200 {
                    view.label = label;
                }
            }
            25..=44 => {
                let action = if view.paused { "resume" } else { "pause" };
                let op = format!("{task} op {ops}: {action}");
                let path = format!("{c}/{action}");
                let (status, _) = ctx
                    .call(&mut rng, &op, Method::POST, &path, None, &[200])
                    .await;
                if status == 200 {
                    view.paused = !view.paused;
                }
            }
            45..=69 => {
                let interval = rng.gen_range(60..86_400);
                let schedule = (
                    interval,
                    rng.gen_range(0..=interval / 10),
                    rng.gen_bool(0.8),
                );
                let op = format!("{task} op {ops}: schedule {schedule:?}");
                let body = json!({"interval_seconds": schedule.0, "jitter_seconds": schedule.1,
                                  "enabled": schedule.2});
                let path = format!("{c}/schedule");
                let (status, _) = ctx
                    .call(&mut rng, &op, Method::PUT, &path, Some(body), &[200])
                    .await;
                if status == 200 {
                    view.schedule = Some(schedule);
                }
            }
            70..=84 => {
                let kind = *["reauth", "add_info"].choose(&mut rng).unwrap();
                let op = format!("{task} op {ops}: open {kind} attention");
                let path = format!("{c}/attention");
                let (status, body) = ctx
                    .call(
                        &mut rng,
                        &op,
                        Method::POST,
                        &path,
                        Some(json!({"kind": kind})),
                        &[201],
                    )
                    .await;
                // Opening a kind that is already open returns the open item.
                let attention = body["attention_id"].as_str().unwrap_or_default().to_owned();
                if status == 201 && !view.open_attention.contains(&attention) {
                    view.open_attention.push(attention);
                }
            }
            85..=94 => {
                if let Some(attention) = view.open_attention.pop() {
                    let op = format!("{task} op {ops}: resolve attention");
                    let path = format!("/_ref/attention/{attention}/resolve");
                    let (status, _) = ctx
                        .call(&mut rng, &op, Method::POST, &path, None, &[200])
                        .await;
                    if status != 200 {
                        view.open_attention.push(attention);
                    }
                }
            }
            95..=96 if owner == 0 => {
                // A manifest change dirties every connection of the connector at once.
                let connector = ctx.fleet[index].connector;
                let op = format!("{task} op {ops}: re-register {connector}");
                let (status, list) = ctx
                    .call(&mut rng, &op, Method::GET, "/_ref/manifests", None, &[200])
                    .await;
                let manifest = list["data"]
                    .as_array()
                    .and_then(|m| m.iter().find(|m| m["connector_id"] == connector));
                if let (200, Some(manifest)) = (status, manifest) {
                    let mut manifest = manifest.clone();
                    let name = format!("{connector} v{ops}");
                    manifest["display_name"] = json!(name);
                    let (status, _) = ctx
                        .call(
                            &mut rng,
                            &op,
                            Method::POST,
                            "/_ref/manifests",
                            Some(manifest),
                            &[200],
                        )
                        .await;
                    if status == 200 {
                        model.connector_names.insert(connector.to_owned(), name);
                    }
                }
            }
            97..=98 => {
                // A connection that lives a moment: created, written, deleted, racing the
                // sweepers and any rebuild.
                let connector = ctx.fleet[index].connector;
                let op = format!("{task} op {ops}: churn {connector}");
                let (status, created) = ctx
                    .call(
                        &mut rng,
                        &op,
                        Method::POST,
                        "/_ref/connections",
                        Some(json!({"connector_id": connector})),
                        &[201],
                    )
                    .await;
                if status == 201 {
                    let temp = created["connection_id"].as_str().unwrap_or_default();
                    let stream = ctx.fleet[index].streams[0];
                    let records = json!([{"stream": stream, "record_key": "x", "data": 1}]);
                    let path = format!("/_ref/connections/{temp}/records");
                    ctx.call(&mut rng, &op, Method::POST, &path, Some(records), &[200])
                        .await;
                    let path = format!("/_ref/connections/{temp}");
                    ctx.call(&mut rng, &op, Method::DELETE, &path, None, &[204])
                        .await;
                }
            }
            _ => {
                // A full rebuild racing every writer and both sweepers.
                let op = format!("{task} op {ops}: rebuild");
                let path = "/_ref/connector-summary/rebuild";
                ctx.call(&mut rng, &op, Method::POST, path, None, &[200])
                    .await;
            }
        }
    }
    (model, ops)
}

async fn reader(ctx: Arc<Ctx>, reader: usize) -> u64 {
    let task = format!("reader-{reader}");
    let mut rng = task_rng(ctx.seed, &task);
    let mut ops = 0;
    while ctx.running() {
        ops += 1;
        let id = &ctx.fleet[rng.gen_range(0..CONNECTIONS)].id;
        match rng.gen_range(0..3) {
            0 => {
                let op = format!("{task} op {ops}: full list");
                let (status, body) = ctx
                    .call(&mut rng, &op, Method::GET, "/_ref/connectors", None, &[200])
                    .await;
                // Churned connections come and go; the fleet is always there.
                let ids: Vec<&Value> = body["data"]
                    .as_array()
                    .map(|rows| rows.iter().map(|r| &r["connection_id"]).collect())
                    .unwrap_or_default();
                let missing = ctx
                    .fleet
                    .iter()
                    .filter(|c| !ids.contains(&&json!(c.id)))
                    .count();
                if status == 200 && missing > 0 {
                    ctx.problem(format!("{op}: {missing} connections of the fleet missing"));
                }
            }
            1 => {
                let op = format!("{task} op {ops}: scoped list");
                let path = format!("/_ref/connectors?connection={id}");
                let (status, body) = ctx
                    .call(&mut rng, &op, Method::GET, &path, None, &[200])
                    .await;
                if status == 200 && body["data"][0]["connection_id"] != json!(id) {
                    ctx.problem(format!("{op}: {body}"));
                }
            }
            _ => {
                let op = format!("{task} op {ops}: detail");
                let path = format!("/_ref/connections/{id}");
                ctx.call(&mut rng, &op, Method::GET, &path, None, &[200])
                    .await;
            }
        }
    }
    ops
}

/// Compares one summary item with everything the writers know they wrote.
fn check_summary(
    item: &Value,
    index: usize,
    records: &RecordModel,
    runs: &RunModel,
    owners: &OwnerModel,
    connection: &Connection,
) -> Vec<String> {
    let unchanged = OwnerView::default();
    let owner = owners.views.get(&index).unwrap_or(&unchanged);
    let mut wrong = Vec::new();
    let mut expect = |what: &str, got: &Value, want: Value| {
        if *got != want {
            wrong.push(format!("{what}: {got}, expected {want}"));
        }
    };
    expect("display_name", &item["display_name"], json!(owner.label));
    expect(
        "status",
        &item["status"],
        json!(if owner.paused { "paused" } else { "active" }),
    );
    expect(
        "evidence.state",
        &item["evidence"]["state"],
        json!("current"),
    );
    if let Some(name) = owners.connector_names.get(connection.connector) {
        expect(
            "connector_display_name",
            &item["connector_display_name"],
            json!(name),
        );
    }
    let mut total = 0;
    for stream in connection.streams {
        let n = records.get(&(index, *stream)).map_or(0, BTreeMap::len);
        total += n;
        let got = item["streams"]
            .as_array()
            .and_then(|s| s.iter().find(|s| s["name"] == *stream))
            .map(|s| s["record_count"].clone())
            .unwrap_or(Value::Null);
        expect(&format!("streams.{stream}.record_count"), &got, json!(n));
    }
    expect("total_records", &item["total_records"], json!(total));
    match runs.get(&index) {
        Some((run_id, status)) => {
            expect(
                "last_run.run_id",
                &item["last_run"]["run_id"],
                json!(run_id),
            );
            expect(
                "last_run.status",
                &item["last_run"]["status"],
                json!(status),
            );
        }
        None => expect("last_run", &item["last_run"], Value::Null),
    }
    match owner.schedule {
        Some((interval, jitter, enabled)) => {
            let s = &item["schedule"];
            expect(
                "schedule.interval_seconds",
                &s["interval_seconds"],
                json!(interval),
            );
            expect(
                "schedule.jitter_seconds",
                &s["jitter_seconds"],
                json!(jitter),
            );
            expect("schedule.enabled", &s["enabled"], json!(enabled));
        }
        None => expect("schedule", &item["schedule"], Value::Null),
    }
    // Open attention outranks every other rule; no failure this test writes asks the owner.
    let needs_owner = item["connection_health"]["state"] == "needs_attention";
    let attention_open = !owner.open_attention.is_empty();
    if needs_owner != attention_open {
        wrong.push(format!(
            "health {} with {} open attention items",
            item["connection_health"]["state"],
            owner.open_attention.len()
        ));
    }
    wrong
        .into_iter()
        .map(|w| format!("connection {index} ({}): {w}", connection.id))
        .collect()
}

async fn stress(backend: TestBackend) {
    let seed = env_or("STRESS_SEED", 0x5eed_0007_u64);
    let seconds = env_or("STRESS_SECONDS", 8_u64);
    let db = TestDatabase::create(backend).await;
    let url = db.url().to_owned();
    // Started side by side: both migrate the fresh database and register the manifests at
    // the same moment, as two replicas booting together would.
    let servers = futures::future::join_all((0..SERVERS).map(|i| {
        let url = &url;
        async move { Server::start(url, SWEEPER_INTERVAL, &format!("stress-{i}")).await }
    }))
    .await;

    let mut fleet = Vec::new();
    for i in 0..CONNECTIONS {
        let (connector, streams) = CONNECTORS[i % CONNECTORS.len()];
        fleet.push(Connection {
            id: servers[i % SERVERS].create_connection(connector).await,
            connector,
            streams,
        });
    }

    let started = Instant::now();
    let ctx = Arc::new(Ctx {
        backend,
        seed,
        servers,
        fleet,
        until: started + Duration::from_secs(seconds),
        problems: Mutex::new(Vec::new()),
        requests: AtomicU64::new(0),
    });
    let record_writers: Vec<_> = (0..RECORD_WRITERS)
        .map(|w| tokio::spawn(record_writer(ctx.clone(), w)))
        .collect();
    let run_writers: Vec<_> = (0..RUN_WRITERS)
        .map(|w| tokio::spawn(run_writer(ctx.clone(), w)))
        .collect();
    let owners: Vec<_> = (0..OWNERS)
        .map(|o| tokio::spawn(owner(ctx.clone(), o)))
        .collect();
    let readers: Vec<_> = (0..READERS)
        .map(|r| tokio::spawn(reader(ctx.clone(), r)))
        .collect();

    let mut records = RecordModel::new();
    let mut ops = BTreeMap::new();
    for (w, task) in record_writers.into_iter().enumerate() {
        let (model, n) = task.await.unwrap();
        records.extend(model);
        ops.insert(format!("records-{w}"), n);
    }
    let mut runs = RunModel::new();
    for (w, task) in run_writers.into_iter().enumerate() {
        let (model, n) = task.await.unwrap();
        runs.extend(model);
        ops.insert(format!("runs-{w}"), n);
    }
    let mut owner_model = OwnerModel::default();
    for (o, task) in owners.into_iter().enumerate() {
        let (model, n) = task.await.unwrap();
        owner_model.views.extend(model.views);
        owner_model.connector_names.extend(model.connector_names);
        ops.insert(format!("owner-{o}"), n);
    }
    for (r, task) in readers.into_iter().enumerate() {
        ops.insert(format!("reader-{r}"), task.await.unwrap());
    }
    let writing = started.elapsed();

    // Quiescence: no one writes; the sweepers alone must fold what is left.
    let deadline = Deadline::new(Duration::from_secs(60), "the sweepers to fold every row");
    loop {
        let (status, body) = ctx.servers[0]
            .get_json("/_ref/connector-summary/status")
            .await;
        assert_eq!(status, 200, "{body}");
        if body["read_model"]["dirty"] == 0 {
            break;
        }
        deadline.tick().await;
    }
    let swept_in = deadline.elapsed();

    let direct = Direct::open(&url).await;
    for row in direct.admin.evidence_maintenance().await.unwrap() {
        if row.dirty || row.folded_seq != row.write_seq || row.error.is_some() {
            ctx.problem(format!(
                "seed {seed}: not folded at its latest write: {row:?}"
            ));
        }
    }
    for (which, server) in ctx.servers.iter().enumerate() {
        let (status, list) = server.get_json("/_ref/connectors").await;
        assert_eq!(status, 200, "{list}");
        for (index, connection) in ctx.fleet.iter().enumerate() {
            let item = list["data"]
                .as_array()
                .and_then(|rows| rows.iter().find(|r| r["connection_id"] == *connection.id))
                .cloned()
                .unwrap_or(Value::Null);
            for wrong in check_summary(&item, index, &records, &runs, &owner_model, connection) {
                ctx.problem(format!("seed {seed}, server {which}: {wrong}"));
            }
        }
    }
    let snapshot = direct.evidence_snapshot().await;
    for divergence in direct.rebuild_and_compare(&snapshot).await {
        ctx.problem(format!("seed {seed}: {divergence}"));
    }
    direct.close().await;

    eprintln!(
        "{backend:?} stress, seed {seed}, {SERVERS} servers: {} requests in {writing:?} \
         of writing ({ops:?}); the sweepers converged {swept_in:?} after the writers stopped",
        ctx.requests.load(Ordering::Relaxed)
    );
    let problems = ctx.problems.lock().unwrap().clone();
    if !problems.is_empty() {
        let logs: Vec<String> = ctx
            .servers
            .iter()
            .enumerate()
            .map(|(i, s)| format!("server {i} errors:\n{}", s.log_errors()))
            .collect();
        panic!(
            "{} problems (seed {seed}; rerun with STRESS_SEED={seed}):\n{}\n{}",
            problems.len(),
            problems
                .iter()
                .take(30)
                .cloned()
                .collect::<Vec<_>>()
                .join("\n"),
            logs.join("\n")
        );
    }
    drop(ctx);
    db.remove().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_two_servers() {
    stress(TestBackend::Postgres).await;
}

/// SQLite takes one writer at a time; two processes on one WAL file still must not lose a
/// write or answer 500 (a busy database is waited for, then retried).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_two_servers() {
    stress(TestBackend::Sqlite).await;
}

/// A manifest change marks every connection of the connector in one statement, in the order
/// the connections table yields them; a rebuild batch locks the same evidence rows in id
/// order. Renaming the connections in reverse id order scrambles the physical order, so the
/// two lock orders disagree and, racing, the two transactions deadlock. Postgres then aborts
/// one of them: the server must retry it, not answer 500.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_manifest_changes_race_rebuilds() {
    let db = TestDatabase::create(TestBackend::Postgres).await;
    let url = db.url().to_owned();
    let servers = [
        Server::start(&url, SWEEPER_INTERVAL, "race-0").await,
        Server::start(&url, SWEEPER_INTERVAL, "race-1").await,
    ];
    let mut ids = Vec::new();
    for _ in 0..40 {
        ids.push(servers[0].create_connection("spotify").await);
    }
    for id in ids.iter().rev() {
        let path = format!("/_ref/connections/{id}");
        let (status, body) = servers[1]
            .send_json(Method::PATCH, &path, &json!({"display_name": "renamed"}))
            .await;
        assert_eq!(status, 200, "{body}");
    }
    let (_, list) = servers[0].get_json("/_ref/manifests").await;
    let spotify = list["data"]
        .as_array()
        .and_then(|m| m.iter().find(|m| m["connector_id"] == "spotify"))
        .cloned()
        .unwrap();
    let until = Instant::now() + Duration::from_secs(env_or("STRESS_SECONDS", 8_u64).min(20));
    let rebuilds = async {
        let mut statuses = BTreeMap::new();
        while Instant::now() < until {
            let (status, body) = servers[0]
                .send_json(
                    Method::POST,
                    "/_ref/connector-summary/rebuild",
                    &json!(null),
                )
                .await;
            *statuses
                .entry((status, body["error"]["code"].to_string()))
                .or_insert(0) += 1;
        }
        statuses
    };
    let manifests = async {
        let mut statuses = BTreeMap::new();
        let mut n = 0;
        while Instant::now() < until {
            n += 1;
            let mut manifest = spotify.clone();
            manifest["display_name"] = json!(format!("Spotify {n}"));
            let (status, body) = servers[1]
                .send_json(Method::POST, "/_ref/manifests", &manifest)
                .await;
            *statuses
                .entry((status, body["error"]["code"].to_string()))
                .or_insert(0) += 1;
        }
        statuses
    };
    let (rebuilds, manifests) = tokio::join!(rebuilds, manifests);
    eprintln!("rebuilds {rebuilds:?}; manifest changes {manifests:?}");
    let failed = |s: &BTreeMap<(u16, String), u32>| s.keys().any(|(status, _)| *status != 200);
    assert!(
        !failed(&rebuilds) && !failed(&manifests),
        "rebuilds {rebuilds:?}; manifest changes {manifests:?}\n{}\n{}",
        servers[0].log_errors(),
        servers[1].log_errors()
    );
    drop(servers);
    db.remove().await;
}

/// Two servers take "run now" for one connection at once: exactly one run starts. Then an
/// owner deletes the connection while its collector finishes the run with gaps (and appends
/// run events). Every request gets its answer: the finish a 200 or a 404 (the run went with
/// the connection), the delete a 204; never a 500 from a deadlock between the two.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_run_writes_race_connection_delete() {
    let db = TestDatabase::create(TestBackend::Postgres).await;
    let url = db.url().to_owned();
    let servers = [
        Server::start(&url, SWEEPER_INTERVAL, "delete-0").await,
        Server::start(&url, SWEEPER_INTERVAL, "delete-1").await,
    ];
    let rounds = env_or("STRESS_ROUNDS", 60_usize);
    let mut statuses: BTreeMap<(&str, u16), usize> = BTreeMap::new();
    for round in 0..rounds {
        let id = servers[0].create_connection("spotify").await;
        // "Run now" on both servers at once: one run starts, the other start reports it.
        let start_path = format!("/_ref/connections/{id}/runs");
        let (a, b) = tokio::join!(
            servers[0].send_json(Method::POST, &start_path, &Value::Null),
            servers[1].send_json(Method::POST, &start_path, &Value::Null),
        );
        let (run, conflict) = match (a, b) {
            ((202, run), (409, conflict)) | ((409, conflict), (202, run)) => (run, conflict),
            other => panic!("round {round}: two concurrent starts, not 202 and 409: {other:?}"),
        };
        let run_id = run["run_id"].as_str().unwrap().to_owned();
        assert_eq!(conflict["error"]["existing"], json!(run_id), "{conflict}");
        let finish = json!({"status": "succeeded_with_gaps", "records_written": 1,
            "gaps": [{"stream": "plays", "reason": "page limit", "retryable": true}]});
        let events = json!([{"kind": "page", "message": "page 2"}]);
        let (finish_path, events_path) = (
            format!("/_ref/runs/{run_id}/finish"),
            format!("/_ref/runs/{run_id}/events"),
        );
        let delete_path = format!("/_ref/connections/{id}");
        // The delete leaves 0 to 2.5 ms after the finish: both orders happen.
        let delay = Duration::from_micros(500 * (round as u64 % 6));
        let (finished, appended, deleted) = tokio::join!(
            servers[0].send_json(Method::POST, &finish_path, &finish),
            servers[0].send_json(Method::POST, &events_path, &events),
            async {
                tokio::time::sleep(delay).await;
                servers[1]
                    .send_json(Method::DELETE, &delete_path, &Value::Null)
                    .await
            },
        );
        for (what, (status, body), allowed) in [
            ("finish", finished, &[200, 404][..]),
            ("events", appended, &[204, 404, 409][..]),
            ("delete", deleted, &[204][..]),
        ] {
            *statuses.entry((what, status)).or_default() += 1;
            assert!(
                allowed.contains(&status),
                "round {round}: {what} -> {status} {body}\n{}\n{}",
                servers[0].log_errors(),
                servers[1].log_errors()
            );
        }
    }
    eprintln!("{rounds} rounds: {statuses:?}");
    drop(servers);
    db.remove().await;
}

/// Servers started at the same moment on a database nobody has opened yet all come up:
/// each migrates it (SQLite has no lock for that, so one process's first migration meets
/// the tables another just created) and registers the same manifests.
async fn servers_start_side_by_side(backend: TestBackend) {
    for round in 0..env_or("STRESS_ROUNDS", 5_usize).min(10) {
        let db = TestDatabase::create(backend).await;
        let url = db.url().to_owned();
        let servers =
            futures::future::join_all(
                (0..3).map(|i| {
                    let url = &url;
                    async move {
                        Server::start(url, SWEEPER_INTERVAL, &format!("boot-{round}-{i}")).await
                    }
                }),
            )
            .await;
        for server in &servers {
            let (status, body) = server.get_json("/_ref/connectors").await;
            assert_eq!(status, 200, "round {round}: {body}");
        }
        drop(servers);
        db.remove().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_servers_start_side_by_side() {
    servers_start_side_by_side(TestBackend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_servers_start_side_by_side() {
    servers_start_side_by_side(TestBackend::Postgres).await;
}
