//! The streamed full list on a database with a single connection.

use console_domain::clock::ManualClock;
use console_domain::Instant;
use console_service::projector::ListRequest;
use console_service::{Console, ConsoleSettings};
use console_storage::testing::{load_fleet, FleetSpec};
use futures::StreamExt as _;
use std::sync::Arc;
use std::time::Duration;

/// `sqlite::memory:` is one connection (every other would be another database). The stream's
/// task holds it until the last row is taken, and the rows are only taken once
/// `list_stream` has returned, so anything `list_stream` reads after starting the stream
/// waits for the connection. It used to read the runtime's liveness there: whenever the
/// stream's task took the connection first (often: loops of 300 attempts failed at attempt
/// 0, 0 and 8), the call waited for the pool's 30-second timeout and failed. The fleet is
/// larger than the rows the stream buffers, so its task cannot finish on its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_list_on_a_one_connection_database_never_waits_for_its_own_stream() {
    let (store, db) = console_storage::open("sqlite::memory:").await.unwrap();
    let now = Instant::from_timestamp_millis(1_800_000_000_000).unwrap();
    let spec = FleetSpec {
        connections: 600,
        records_per_connection: 1,
        ..FleetSpec::default()
    };
    load_fleet(&db, &spec, now).await.unwrap();
    store.rebuild_evidence(500, now, &|_, _| {}).await.unwrap();
    let console = Console::new(
        store,
        Arc::new(ManualClock::new(now)),
        ConsoleSettings::default(),
        vec![7; 32],
    );
    for attempt in 0..20 {
        let read = async {
            let mut list = console.list_stream(&ListRequest::default()).await?;
            let mut items = 0;
            while let Some(item) = list.items.next().await {
                item?;
                items += 1;
            }
            Ok::<_, console_service::ServiceError>(items)
        };
        let items = tokio::time::timeout(Duration::from_secs(10), read)
            .await
            .unwrap_or_else(|_| panic!("attempt {attempt}: the full list did not finish in 10 s"))
            .unwrap_or_else(|e| panic!("attempt {attempt}: {e}"));
        assert_eq!(items, spec.connections, "attempt {attempt}");
    }
    db.close().await;
}
