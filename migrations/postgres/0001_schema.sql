-- Owner console schema (Postgres). Keep equivalent to ../sqlite/0001_schema.sql.
-- Instants are epoch milliseconds (BIGINT); ids are text; booleans are BOOLEAN.

CREATE TABLE connectors (
    connector_id TEXT PRIMARY KEY NOT NULL,
    display_name TEXT NOT NULL,
    version TEXT NOT NULL,
    source_kind TEXT NOT NULL,
    recommended_mode TEXT NOT NULL,
    maximum_staleness_seconds BIGINT,
    manifest TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE connections (
    connection_id TEXT PRIMARY KEY NOT NULL,
    connector_id TEXT NOT NULL REFERENCES connectors (connector_id),
    display_name TEXT,
    status TEXT NOT NULL,
    maximum_staleness_seconds BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX connections_by_connector ON connections (connector_id, created_at, connection_id);

CREATE TABLE records (
    connection_id TEXT NOT NULL REFERENCES connections (connection_id) ON DELETE CASCADE,
    stream TEXT NOT NULL,
    record_key TEXT NOT NULL,
    data TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    emitted_at BIGINT,
    updated_at BIGINT NOT NULL,
    deleted_at BIGINT,
    PRIMARY KEY (connection_id, stream, record_key)
);

-- Exact per-(connection, stream) counts, maintained as a delta in the ingest/delete
-- transaction; rebuild recomputes them from `records`.
CREATE TABLE record_stats (
    connection_id TEXT NOT NULL REFERENCES connections (connection_id) ON DELETE CASCADE,
    stream TEXT NOT NULL,
    record_count BIGINT NOT NULL,
    last_updated_at BIGINT,
    PRIMARY KEY (connection_id, stream)
);

CREATE TABLE runs (
    run_id TEXT PRIMARY KEY NOT NULL,
    connection_id TEXT NOT NULL REFERENCES connections (connection_id) ON DELETE CASCADE,
    status TEXT NOT NULL,
    run_trigger TEXT NOT NULL,
    started_at BIGINT NOT NULL,
    heartbeat_at BIGINT,
    finished_at BIGINT,
    failure_reason TEXT,
    records_written BIGINT NOT NULL DEFAULT 0,
    gap_count BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX runs_by_connection ON runs (connection_id, started_at, run_id);
-- At most one open run per connection: start_run is race-free.
CREATE UNIQUE INDEX runs_one_open ON runs (connection_id) WHERE status IN ('queued', 'running');

CREATE TABLE run_gaps (
    run_id TEXT NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
    seq BIGINT NOT NULL,
    connection_id TEXT NOT NULL REFERENCES connections (connection_id) ON DELETE CASCADE,
    stream TEXT NOT NULL,
    reason TEXT NOT NULL,
    retryable BOOLEAN NOT NULL,
    recovered_at BIGINT,
    PRIMARY KEY (run_id, seq)
);
CREATE INDEX run_gaps_unrecovered ON run_gaps (connection_id, stream) WHERE recovered_at IS NULL;

CREATE TABLE run_events (
    run_id TEXT NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
    seq BIGINT NOT NULL,
    at BIGINT NOT NULL,
    kind TEXT NOT NULL,
    message TEXT NOT NULL,
    stream TEXT,
    PRIMARY KEY (run_id, seq)
);

CREATE TABLE schedules (
    connection_id TEXT PRIMARY KEY NOT NULL REFERENCES connections (connection_id) ON DELETE CASCADE,
    interval_seconds BIGINT NOT NULL,
    jitter_seconds BIGINT NOT NULL,
    enabled BOOLEAN NOT NULL,
    next_due_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX schedules_due ON schedules (next_due_at) WHERE enabled;

CREATE TABLE attention (
    attention_id TEXT PRIMARY KEY NOT NULL,
    connection_id TEXT NOT NULL REFERENCES connections (connection_id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    message TEXT,
    opened_at BIGINT NOT NULL,
    resolved_at BIGINT
);
CREATE INDEX attention_by_connection ON attention (connection_id, opened_at, attention_id);
CREATE INDEX attention_open ON attention (connection_id) WHERE resolved_at IS NULL;

CREATE TABLE runtime_heartbeats (
    label TEXT PRIMARY KEY NOT NULL,
    last_heartbeat_at BIGINT NOT NULL
);
CREATE INDEX runtime_heartbeats_latest ON runtime_heartbeats (last_heartbeat_at);

CREATE TABLE settings (
    key TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
);

-- The global write sequence (SQLite: one-row table evidence_write_seq). Never reset.
CREATE SEQUENCE evidence_write_seq AS BIGINT START WITH 1 MINVALUE 1;

-- The connector-summary read model: durable evidence only, one row per connection.
-- No foreign key: a rebuild removes orphans.
CREATE TABLE connector_summary_evidence (
    connection_id TEXT PRIMARY KEY NOT NULL,
    connector_id TEXT NOT NULL,
    connector_display_name TEXT NOT NULL,
    display_name TEXT,
    status TEXT NOT NULL,
    source_kind TEXT NOT NULL,
    recommended_mode TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    revoked_at BIGINT,
    streams TEXT NOT NULL DEFAULT '[]',
    total_records BIGINT NOT NULL DEFAULT 0,
    last_run TEXT,
    last_successful_run TEXT,
    consecutive_failures BIGINT NOT NULL DEFAULT 0,
    consecutive_connector_errors BIGINT NOT NULL DEFAULT 0,
    open_attention TEXT NOT NULL DEFAULT '[]',
    unrecovered_gaps TEXT NOT NULL DEFAULT '[]',
    schedule TEXT,
    maximum_staleness_override BIGINT,
    manifest_staleness_seconds BIGINT,
    window_seconds BIGINT,
    window_source TEXT,
    stale_at BIGINT,
    -- "needs you first" order inputs: derived from durable evidence only, never from now.
    needs_rank BIGINT NOT NULL,
    stale_sort BIGINT NOT NULL,
    -- maintenance
    dirty BOOLEAN NOT NULL,
    dirty_since BIGINT,
    write_seq BIGINT NOT NULL,
    folded_seq BIGINT NOT NULL DEFAULT 0,
    computed_at BIGINT,
    error TEXT
);
CREATE INDEX cse_stable ON connector_summary_evidence (connector_id, created_at, connection_id);
CREATE INDEX cse_status_stable ON connector_summary_evidence (status, connector_id, created_at, connection_id);
CREATE INDEX cse_needs ON connector_summary_evidence (needs_rank, stale_sort, connector_id, created_at, connection_id);
CREATE INDEX cse_status_needs ON connector_summary_evidence (status, needs_rank, stale_sort, connector_id, created_at, connection_id);
CREATE INDEX cse_dirty ON connector_summary_evidence (dirty_since, connection_id) WHERE dirty;
