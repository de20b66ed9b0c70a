//! A deterministic fleet for benchmarks: connectors registered through the store, then
//! connections, schedules, runs (with gaps and events), attention and records written
//! straight into the source tables in big multi-row transactions. No evidence row and no
//! record count is written here: the caller builds them with the production rebuild
//! (`Store::rebuild_evidence`), so the evidence is exactly what production maintains.
//!
//! The same `FleetSpec` and seed give the same rows on both backends (ids included).

use crate::codec::{canonical_json, content_hash, ms};
use crate::error::StoreResult;
use crate::evidence_row::ColType;
use crate::open::Database;
use console_domain::model::{ConnectorManifest, RecommendedMode, RefreshPolicy, StreamSpec};
use console_domain::Instant;
use serde_json::{json, Value};

/// What to generate. `Default` is the shape: 100 records per connection.
#[derive(Clone, Debug)]
pub struct FleetSpec {
    pub connections: usize,
    pub connectors: usize,
    /// Finished runs per connection (drafts have none); some connections also get an open run.
    pub runs_per_connection: usize,
    pub records_per_connection: usize,
    pub seed: u64,
}

impl Default for FleetSpec {
    fn default() -> Self {
        FleetSpec {
            connections: 1_000,
            connectors: 8,
            runs_per_connection: 6,
            records_per_connection: 100,
            seed: 0x5eed,
        }
    }
}

/// What was written.
#[derive(Clone, Debug, Default)]
pub struct FleetReport {
    /// Connection ids in creation order.
    pub connection_ids: Vec<String>,
    pub connector_ids: Vec<String>,
    pub runs: u64,
    pub records: u64,
}

/// SplitMix64: tiny, seedable, identical everywhere (no dependency, no platform variance).
struct Rng(u64);

impl Rng {
    fn new(seed: u64, stream: u64) -> Self {
        Rng(seed ^ stream.wrapping_mul(0x9e37_79b9_7f4a_7c15))
    }
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// 0..n
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;

pub(crate) const CONNECTION_FIELDS: &[(&str, ColType)] = &[
    ("connection_id", ColType::Text),
    ("connector_id", ColType::Text),
    ("display_name", ColType::Text),
    ("status", ColType::Text),
    ("maximum_staleness_seconds", ColType::Int),
    ("created_at", ColType::Int),
    ("updated_at", ColType::Int),
    ("revoked_at", ColType::Int),
];
pub(crate) const SCHEDULE_FIELDS: &[(&str, ColType)] = &[
    ("connection_id", ColType::Text),
    ("interval_seconds", ColType::Int),
    ("jitter_seconds", ColType::Int),
    ("enabled", ColType::Bool),
    ("next_due_at", ColType::Int),
    ("created_at", ColType::Int),
    ("updated_at", ColType::Int),
];
pub(crate) const RUN_FIELDS: &[(&str, ColType)] = &[
    ("run_id", ColType::Text),
    ("connection_id", ColType::Text),
    ("status", ColType::Text),
    ("run_trigger", ColType::Text),
    ("started_at", ColType::Int),
    ("heartbeat_at", ColType::Int),
    ("finished_at", ColType::Int),
    ("failure_reason", ColType::Text),
    ("records_written", ColType::Int),
    ("gap_count", ColType::Int),
];
pub(crate) const GAP_FIELDS: &[(&str, ColType)] = &[
    ("run_id", ColType::Text),
    ("seq", ColType::Int),
    ("connection_id", ColType::Text),
    ("stream", ColType::Text),
    ("reason", ColType::Text),
    ("retryable", ColType::Bool),
    ("recovered_at", ColType::Int),
];
pub(crate) const EVENT_FIELDS: &[(&str, ColType)] = &[
    ("run_id", ColType::Text),
    ("seq", ColType::Int),
    ("at", ColType::Int),
    ("kind", ColType::Text),
    ("message", ColType::Text),
    ("stream", ColType::Text),
];
pub(crate) const ATTENTION_FIELDS: &[(&str, ColType)] = &[
    ("attention_id", ColType::Text),
    ("connection_id", ColType::Text),
    ("kind", ColType::Text),
    ("message", ColType::Text),
    ("opened_at", ColType::Int),
    ("resolved_at", ColType::Int),
];
pub(crate) const RECORD_FIELDS: &[(&str, ColType)] = &[
    ("connection_id", ColType::Text),
    ("stream", ColType::Text),
    ("record_key", ColType::Text),
    ("data", ColType::Text),
    ("content_hash", ColType::Text),
    ("emitted_at", ColType::Int),
    ("updated_at", ColType::Int),
    ("deleted_at", ColType::Int),
];

/// The rows of one chunk of connections, per table, as JSON arrays (bound as one value).
#[derive(Default)]
pub(crate) struct Chunk {
    pub connections: Vec<Value>,
    pub schedules: Vec<Value>,
    pub runs: Vec<Value>,
    pub gaps: Vec<Value>,
    pub events: Vec<Value>,
    pub attention: Vec<Value>,
    pub records: Vec<Value>,
}

fn manifests(spec: &FleetSpec) -> Vec<ConnectorManifest> {
    (0..spec.connectors.max(1))
        .map(|c| {
            let streams = 2 + c % 3;
            ConnectorManifest {
                connector_id: format!("fleet-{c:02}"),
                display_name: format!("Fleet connector {c}"),
                version: "1.0.0".to_owned(),
                streams: (0..streams)
                    .map(|s| StreamSpec {
                        name: format!("stream_{s}"),
                        // The last stream of every other connector is optional.
                        required: !(c % 2 == 0 && s == streams - 1),
                    })
                    .collect(),
                refresh_policy: RefreshPolicy {
                    maximum_staleness_seconds: (c % 4 == 0).then_some(2 * 86_400),
                },
                recommended_mode: if c % 5 == 4 {
                    RecommendedMode::Manual
                } else {
                    RecommendedMode::Scheduled
                },
                source_kind: ["api", "file", "local"][c % 3].to_owned(),
            }
        })
        .collect()
}

fn connection_id(seed: u64, i: usize) -> String {
    format!("conn_{seed:016x}{i:016x}")
}

/// Every row of connection `i`, appended to `chunk`.
fn generate(spec: &FleetSpec, manifest: &ConnectorManifest, i: usize, now: i64, chunk: &mut Chunk) {
    let mut rng = Rng::new(spec.seed, i as u64);
    let id = connection_id(spec.seed, i);
    let created = now - 400 * DAY + i as i64 * 1_000;
    let status = match rng.below(100) {
        0..=2 => "draft",
        3..=6 => "paused",
        7..=9 => "revoked",
        _ => "active",
    };
    let display_name = (rng.below(10) < 3).then(|| format!("Fleet source {i}"));
    let staleness_override = (rng.below(20) == 0).then_some(3 * 86_400i64);
    chunk.connections.push(json!({
        "connection_id": id, "connector_id": manifest.connector_id,
        "display_name": display_name, "status": status,
        "maximum_staleness_seconds": staleness_override,
        "created_at": created, "updated_at": created,
        "revoked_at": (status == "revoked").then_some(now - 5 * DAY),
    }));

    let scheduled = manifest.recommended_mode == RecommendedMode::Scheduled && rng.below(10) < 8;
    let interval_s = [3_600i64, 21_600, 86_400][rng.below(3) as usize];
    let interval = if scheduled { interval_s * 1_000 } else { DAY };
    // Most connections ran recently; some stopped ten days ago (stale).
    let end = if rng.below(100) < 85 {
        now - rng.below(interval as u64) as i64
    } else {
        now - 10 * DAY
    };
    let streams = &manifest.streams;
    let mut last_start = None;
    if status != "draft" {
        let runs = spec.runs_per_connection;
        for k in 0..runs {
            let run_id = format!("run_{:016x}{:016x}", spec.seed ^ i as u64, k);
            let started = end - (runs - 1 - k) as i64 * interval - 10 * MINUTE;
            let finished = started + (1 + rng.below(10) as i64) * MINUTE;
            last_start = Some(started);
            let (status, reason) = match rng.below(100) {
                0..=79 => ("succeeded", None),
                80..=85 => ("succeeded_with_gaps", None),
                86..=97 => (
                    "failed",
                    Some(
                        [
                            "rate_limited",
                            "rate_limited",
                            "source_unavailable",
                            "connector_error",
                            "credential_rejected",
                            "needs_owner_input",
                        ][rng.below(6) as usize],
                    ),
                ),
                _ => ("cancelled", Some("owner_cancelled")),
            };
            let mut gaps = 0;
            if status == "succeeded_with_gaps" {
                gaps = 1;
                let stream = &streams[rng.below(streams.len() as u64) as usize].name;
                chunk.gaps.push(json!({
                    "run_id": run_id, "seq": 1, "connection_id": id, "stream": stream,
                    "reason": "page limit reached", "retryable": true,
                    // Older gaps were recovered by later runs; the latest may still be open.
                    "recovered_at": (k + 1 < runs).then_some(finished + interval),
                }));
            }
            if status == "failed" {
                for (seq, (kind, message)) in [
                    ("started", "run started"),
                    ("progress", "fetched first page"),
                    ("failed", "the source refused the request"),
                ]
                .into_iter()
                .enumerate()
                {
                    chunk.events.push(json!({
                        "run_id": run_id, "seq": seq as i64 + 1,
                        "at": started + seq as i64 * MINUTE, "kind": kind,
                        "message": message, "stream": streams[0].name,
                    }));
                }
            }
            chunk.runs.push(json!({
                "run_id": run_id, "connection_id": id, "status": status,
                "run_trigger": if scheduled { "schedule" } else { "owner" },
                "started_at": started, "heartbeat_at": finished, "finished_at": finished,
                "failure_reason": reason, "records_written": rng.below(200) as i64,
                "gap_count": gaps,
            }));
        }
        // A few connections are collecting right now; a few of those have stalled.
        if status == "active" && rng.below(100) < 2 {
            let stalled = rng.below(3) == 0;
            chunk.runs.push(json!({
                "run_id": format!("run_{:016x}{:016x}", spec.seed ^ i as u64, 9_999),
                "connection_id": id, "status": "running", "run_trigger": "schedule",
                "started_at": now - 2 * HOUR,
                "heartbeat_at": if stalled { now - HOUR } else { now - 30_000 },
                "finished_at": None::<i64>, "failure_reason": None::<&str>,
                "records_written": 0, "gap_count": 0,
            }));
        }
    }
    if scheduled {
        let enabled = status == "active";
        let next_due = enabled.then(|| match last_start {
            Some(s) => s + interval,
            None => created + interval_s * 100,
        });
        chunk.schedules.push(json!({
            "connection_id": id, "interval_seconds": interval_s,
            "jitter_seconds": interval_s / 10, "enabled": enabled, "next_due_at": next_due,
            "created_at": created, "updated_at": created,
        }));
    }
    if status == "active" {
        let roll = rng.below(100);
        if roll < 5 {
            chunk.attention.push(json!({
                "attention_id": format!("att_{:016x}{:016x}", spec.seed, i),
                "connection_id": id, "kind": if roll < 3 { "reauth" } else { "add_info" },
                "message": "the source asked for the owner",
                "opened_at": now - DAY,
                // 2 in 100 stay open; the others were resolved.
                "resolved_at": (roll >= 2).then_some(now - HOUR),
            }));
        }
    }
    for j in 0..spec.records_per_connection {
        let stream = &streams[j % streams.len()].name;
        let data = canonical_json(&json!({
            "id": j, "title": format!("Item {j} of source {i}"),
            "value": rng.below(10_000), "tags": ["fleet", "bench"],
        }));
        let updated = now - rng.below(30 * DAY as u64) as i64;
        chunk.records.push(json!({
            "connection_id": id, "stream": stream, "record_key": format!("k{j:06}"),
            "content_hash": content_hash(&data), "data": data,
            "emitted_at": created + j as i64 * 1_000, "updated_at": updated,
            // 2 in 100 were soft-deleted.
            "deleted_at": (rng.below(50) == 0).then_some(updated),
        }));
    }
}

/// Connections per transaction: big enough that commits do not dominate, small enough that
/// one chunk's JSON stays a few tens of MB.
const CHUNK: usize = 1_000;

/// Registers the fleet's connectors through the store and writes the source rows. The
/// evidence table is left for the caller's rebuild.
pub async fn load_fleet(db: &Database, spec: &FleetSpec, now: Instant) -> StoreResult<FleetReport> {
    let store = crate::open::store_for(db);
    let manifests = manifests(spec);
    for m in &manifests {
        store.upsert_connector(m, now).await?;
    }
    let now_ms = ms(now);
    let mut report = FleetReport {
        connector_ids: manifests.iter().map(|m| m.connector_id.clone()).collect(),
        ..FleetReport::default()
    };
    let mut start = 0;
    while start < spec.connections {
        let end = (start + CHUNK).min(spec.connections);
        let mut chunk = Chunk::default();
        for i in start..end {
            generate(spec, &manifests[i % manifests.len()], i, now_ms, &mut chunk);
            report.connection_ids.push(connection_id(spec.seed, i));
        }
        report.runs += chunk.runs.len() as u64;
        report.records += chunk.records.len() as u64;
        match db {
            Database::Sqlite(pool) => {
                crate::backend::sqlite::fixture::write_chunk(pool, chunk).await?
            }
            Database::Postgres(pool) => {
                crate::backend::postgres::fixture::write_chunk(pool, chunk).await?
            }
        }
        start = end;
    }
    // A Postgres database this size in production has statistics (autovacuum analyzes
    // tables as they grow); a freshly bulk-loaded one has none until autovacuum gets to it,
    // and the planner then scans `records` whole for every rebuild batch. SQLite gets no
    // ANALYZE: nothing runs it in production either.
    if let Database::Postgres(pool) = db {
        sqlx::query("ANALYZE").execute(pool).await?;
    }
    Ok(report)
}
