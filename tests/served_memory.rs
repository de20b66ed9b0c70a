//! Memory the real `owner-console serve` process touches per request.
//!
//! The bundled SQLite allocates with the C library's `malloc` unless the process's allocator
//! replaces it. glibc gave the streamed list's chunk text of the time (SQLite-built, and the
//! driver's copy of it, each a few hundred KB) fresh pages on every request, returning them
//! after: ~170 page faults per full list of a fleet of 100 and a fifth of the request's time. jemalloc now
//! serves C code too (`unprefixed_malloc_on_supported_platforms`) and keeps freed pages for
//! the next request. The benchmark runs the application in its own process, whose earlier
//! large allocations had already raised glibc's thresholds, so only the served binary
//! showed this.

// Each test binary uses its own part of the shared support.
#[allow(dead_code)]
mod process;

use console_domain::Instant;
use console_storage::testing::{load_fleet, FleetSpec, TestBackend, TestDatabase};
use process::{Direct, Server, NO_SWEEPER};

/// Minor page faults of a process so far (`/proc/PID/stat`, field 10).
fn minor_faults(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("the process runs");
    // Field 2, the command name, is in parentheses and may hold spaces: count after it.
    let fields = &stat[stat.rfind(')').expect("a stat line") + 2..];
    fields
        .split(' ')
        .nth(7)
        .and_then(|f| f.parse().ok())
        .expect("minflt")
}

#[tokio::test]
async fn full_lists_reuse_the_memory_of_the_last_one() {
    const REQUESTS: u64 = 30;
    let db = TestDatabase::create(TestBackend::Sqlite).await;
    let direct = Direct::open(db.url()).await;
    let now = Instant::from_timestamp_millis(1_800_000_000_000).unwrap();
    let spec = FleetSpec {
        connections: 100,
        ..FleetSpec::default()
    };
    load_fleet(&direct.database, &spec, now).await.unwrap();
    direct
        .store
        .rebuild_evidence(500, now, &|_, _| {})
        .await
        .unwrap();
    direct.close().await;

    let server = Server::start(db.url(), NO_SWEEPER, "served-memory").await;
    let full_list = || async {
        let (status, body) = server.get_json("/_ref/connectors").await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["data"].as_array().map(Vec::len), Some(100));
    };
    // Warm-up: pools, prepared statements, the allocator's caches.
    for _ in 0..5 {
        full_list().await;
    }
    let before = minor_faults(server.pid());
    for _ in 0..REQUESTS {
        full_list().await;
    }
    let per_request = (minor_faults(server.pid()) - before) / REQUESTS;
    // 168 with glibc serving SQLite; 11-32 with jemalloc (a debug build; 2-3 in release).
    assert!(
        per_request < 80,
        "{per_request} page faults per full list of 100: memory is mapped afresh per request"
    );
    drop(server);
    db.remove().await;
}
