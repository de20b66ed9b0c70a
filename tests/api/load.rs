//! Load: 50 concurrent clients against the real server on loopback, mixing list pages, the
//! full list, scoped `?connection=` reads, connection detail and ingest batches, bounded in
//! time and requests. Prints requests, errors and p50/p99 per kind and overall, and asserts
//! that nothing failed.
//!
//! CI runs a short variant. The full run (a bigger fleet, a minute per backend):
//!
//! ```sh
//! LOAD_FULL=1 cargo test --release --test api load -- --nocapture
//! ```
//!
//! `LOAD_SECONDS`, `LOAD_REQUESTS`, `LOAD_FLEET` and `LOAD_CLIENTS` override either variant.

use crate::helpers::{spawn_app, Backend, TestApp};
use crate::on_both_backends;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reqwest::Method;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

struct Spec {
    clients: usize,
    fleet: usize,
    duration: Duration,
    max_requests: usize,
}

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

impl Spec {
    fn from_env() -> Spec {
        let full = std::env::var("LOAD_FULL").is_ok_and(|v| v == "1");
        let (seconds, requests, fleet) = if full {
            (60, 1_000_000, 2_000)
        } else {
            (4, 2_000, 200)
        };
        Spec {
            clients: env_or("LOAD_CLIENTS", 50),
            fleet: env_or("LOAD_FLEET", fleet),
            duration: Duration::from_secs(env_or("LOAD_SECONDS", seconds) as u64),
            max_requests: env_or("LOAD_REQUESTS", requests),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    ListPage,
    FullList,
    Scoped,
    Detail,
    Ingest,
}

impl Kind {
    const ALL: [Kind; 5] = [
        Kind::ListPage,
        Kind::FullList,
        Kind::Scoped,
        Kind::Detail,
        Kind::Ingest,
    ];

    /// The mix, in percent: mostly the reads a console and its automation make.
    fn pick(rng: &mut StdRng) -> Kind {
        match rng.gen_range(0..100) {
            0..25 => Kind::ListPage,
            25..30 => Kind::FullList,
            30..60 => Kind::Scoped,
            60..85 => Kind::Detail,
            _ => Kind::Ingest,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Kind::ListPage => "list page",
            Kind::FullList => "full list",
            Kind::Scoped => "scoped",
            Kind::Detail => "detail",
            Kind::Ingest => "ingest",
        }
    }
}

/// One finished request: what, how long, and why it failed if it did.
struct Sample {
    kind: Kind,
    latency: Duration,
    error: Option<String>,
}

/// Records per ingest batch.
const BATCH: usize = 50;

/// Every connection with a stream its connector declares, for ingest batches.
async fn ingest_targets(app: &TestApp) -> Vec<(String, String)> {
    let (_, manifests) = app.get_json("/_ref/manifests").await;
    let first_stream = |connector: &Value| {
        manifests["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| &m["connector_id"] == connector)
            .and_then(|m| m["streams"][0]["name"].as_str())
            .expect("every connector declares a stream")
            .to_owned()
    };
    let (_, list) = app.get_json("/_ref/connectors").await;
    list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| {
            (
                item["connection_id"].as_str().unwrap().to_owned(),
                first_stream(&item["connector_id"]),
            )
        })
        .collect()
}

/// Sends one request of `kind` to a random connection and checks the answer's shape.
async fn one(
    app: &TestApp,
    targets: &[(String, String)],
    fleet: usize,
    rng: &mut StdRng,
    kind: Kind,
    cursor: &mut Option<String>,
) -> Result<(), String> {
    let (id, stream) = &targets[rng.gen_range(0..targets.len())];
    let request = match kind {
        Kind::ListPage => {
            let path = match cursor.take() {
                Some(c) => format!("/_ref/connectors?limit=50&cursor={c}"),
                None => "/_ref/connectors?limit=50".to_owned(),
            };
            app.owner(Method::GET, &path)
        }
        Kind::FullList => app.owner(Method::GET, "/_ref/connectors"),
        Kind::Scoped => app.owner(Method::GET, &format!("/_ref/connectors?connection={id}")),
        Kind::Detail => app.owner(Method::GET, &format!("/_ref/connections/{id}")),
        Kind::Ingest => {
            let first = rng.gen_range(0..10_000);
            let records: Vec<Value> = (first..first + BATCH)
                .map(|k| json!({"stream": stream, "record_key": format!("r{k}"), "data": {"n": k}}))
                .collect();
            app.owner(Method::POST, &format!("/_ref/connections/{id}/records"))
                .json(&records)
        }
    };
    let response = request.send().await.map_err(|e| e.to_string())?;
    let status = response.status();
    let body: Value = response
        .json()
        .await
        .map_err(|e| format!("{status}: unreadable body: {e}"))?;
    if !status.is_success() {
        return Err(format!("{status}: {body}"));
    }
    let items = body["data"].as_array().map(Vec::len);
    let ok = match kind {
        Kind::ListPage => {
            *cursor = body["next_cursor"].as_str().map(str::to_owned);
            items.is_some_and(|n| n > 0)
        }
        Kind::FullList => items == Some(fleet),
        Kind::Scoped => items == Some(1) && body["data"][0]["connection_id"] == id.as_str(),
        Kind::Detail => body["summary"]["connection_id"] == id.as_str(),
        Kind::Ingest => {
            ["inserted", "updated", "unchanged"]
                .iter()
                .map(|k| body[k].as_u64().unwrap_or(0))
                .sum::<u64>()
                == BATCH as u64
        }
    };
    if ok {
        Ok(())
    } else {
        Err(format!("wrong answer: {}", truncate(&body.to_string())))
    }
}

fn truncate(text: &str) -> String {
    text.chars().take(300).collect()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((sorted.len() as f64) * p).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

async fn mixed_traffic_from_fifty_clients_has_no_errors(backend: Backend) {
    let spec = Spec::from_env();
    let app = Arc::new(spawn_app(backend).await);
    let mut ids = Vec::new();
    app.grow_fleet(spec.fleet, &mut ids).await;
    let targets = Arc::new(ingest_targets(&app).await);

    let sent = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let deadline = started + spec.duration;
    let clients: Vec<_> = (0..spec.clients)
        .map(|client| {
            let (app, targets, sent) = (app.clone(), targets.clone(), sent.clone());
            let (fleet, max) = (spec.fleet, spec.max_requests);
            tokio::spawn(async move {
                let mut rng = StdRng::seed_from_u64(client as u64);
                let mut cursor = None;
                let mut samples = Vec::new();
                while Instant::now() < deadline && sent.fetch_add(1, Ordering::Relaxed) < max {
                    let kind = Kind::pick(&mut rng);
                    let begun = Instant::now();
                    let result = one(&app, &targets, fleet, &mut rng, kind, &mut cursor).await;
                    samples.push(Sample {
                        kind,
                        latency: begun.elapsed(),
                        error: result.err(),
                    });
                }
                samples
            })
        })
        .collect();
    let mut samples = Vec::new();
    for client in clients {
        samples.extend(client.await.expect("client task"));
    }
    let elapsed = started.elapsed();

    println!(
        "\nload ({backend:?}): {} clients, fleet {}, {:.1} s, {:.0} requests/s",
        spec.clients,
        spec.fleet,
        elapsed.as_secs_f64(),
        samples.len() as f64 / elapsed.as_secs_f64()
    );
    println!(
        "{:<10} {:>9} {:>7} {:>9} {:>9} {:>9}",
        "kind", "requests", "errors", "p50 ms", "p99 ms", "max ms"
    );
    let report = |name: &str, picked: Vec<&Sample>| {
        let mut latencies: Vec<Duration> = picked.iter().map(|s| s.latency).collect();
        latencies.sort();
        println!(
            "{:<10} {:>9} {:>7} {:>9.1} {:>9.1} {:>9.1}",
            name,
            picked.len(),
            picked.iter().filter(|s| s.error.is_some()).count(),
            ms(percentile(&latencies, 0.50)),
            ms(percentile(&latencies, 0.99)),
            ms(latencies.last().copied().unwrap_or_default()),
        );
    };
    for kind in Kind::ALL {
        report(
            kind.name(),
            samples.iter().filter(|s| s.kind == kind).collect(),
        );
    }
    report("overall", samples.iter().collect());

    let errors: Vec<String> = samples
        .iter()
        .filter_map(|s| s.error.as_ref().map(|e| format!("{}: {e}", s.kind.name())))
        .collect();
    assert!(
        errors.is_empty(),
        "{} of {} requests failed, e.g. {:?}",
        errors.len(),
        samples.len(),
        &errors[..errors.len().min(5)]
    );
    for kind in Kind::ALL {
        assert!(
            samples.iter().any(|s| s.kind == kind),
            "no {} request was made",
            kind.name()
        );
    }
    Arc::into_inner(app)
        .expect("clients are done")
        .finish()
        .await;
}

on_both_backends!(multi_thread: mixed_traffic_from_fifty_clients_has_no_errors);
