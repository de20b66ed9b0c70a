//! The pure half of evidence extraction: the source rows the set-based statements read for
//! one connection, assembled into [`Evidence`]. Both backends, the fold, the sweeper, the
//! rebuild and the detail read all go through [`assemble`].

use crate::codec::{instant, opt_instant, parse_enum};
use crate::evidence_row::Maintenance;
use console_domain::evidence::{
    CountState, Evidence, EvidenceMeta, EvidenceState, GapEvidence, RunBrief, StreamEvidence,
};
use console_domain::model::{
    AttentionKind, ConnectionStatus, ConnectorManifest, FailureReason, RecommendedMode, RunStatus,
    Schedule,
};

/// A connection joined with its schedule and evidence maintenance columns.
#[derive(Clone, Debug)]
pub(crate) struct ConnectionSource {
    pub connection_id: String,
    pub connector_id: String,
    pub display_name: Option<String>,
    pub status: String,
    pub maximum_staleness_seconds: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
    pub revoked_at: Option<i64>,
    pub schedule: Option<ScheduleSource>,
    pub maintenance: Option<Maintenance>,
}

/// A connection's connector, read once per extraction however many of its connections
/// are extracted.
#[derive(Clone, Debug)]
pub(crate) struct ConnectorSource {
    pub display_name: String,
    pub source_kind: String,
    pub recommended_mode: String,
    /// The parsed manifest, or the sanitized reason it could not be read.
    pub manifest: Result<ConnectorManifest, String>,
}

#[derive(Clone, Debug)]
pub(crate) struct ScheduleSource {
    pub interval_seconds: i64,
    pub jitter_seconds: i64,
    pub enabled: bool,
    pub next_due_at: Option<i64>,
}

#[derive(Clone, Debug)]
pub(crate) struct StatSource {
    pub stream: String,
    pub record_count: i64,
    pub last_updated_at: Option<i64>,
}

#[derive(Clone, Debug)]
pub(crate) struct RunSource {
    pub run_id: String,
    pub status: String,
    pub started_at: i64,
    pub finished_at: Option<i64>,
    pub failure_reason: Option<String>,
    pub records_written: i64,
    pub gap_count: i64,
    pub is_last: bool,
    pub is_last_success: bool,
}

#[derive(Clone, Debug)]
pub(crate) struct GapSource {
    pub run_id: String,
    pub stream: String,
    pub reason: String,
    pub retryable: bool,
}

/// Everything the per-table statements found for one connection.
#[derive(Clone, Debug, Default)]
pub(crate) struct Parts {
    pub stats: Vec<StatSource>,
    pub runs: Vec<RunSource>,
    pub consecutive_failures: i64,
    pub consecutive_connector_errors: i64,
    pub attention: Vec<String>,
    pub gaps: Vec<GapSource>,
}

fn brief(run: &RunSource) -> Result<RunBrief, String> {
    Ok(RunBrief {
        run_id: run.run_id.clone(),
        status: parse_enum(&run.status, "run status", RunStatus::parse)?,
        started_at: instant(run.started_at)?,
        finished_at: opt_instant(run.finished_at)?,
        failure_reason: run.failure_reason.as_deref().map(FailureReason::parse),
        records_written: run.records_written,
        gap_count: run.gap_count,
    })
}

/// Assembles one connection's evidence. Errors are sanitized: they name what could not be
/// read, never the data.
pub(crate) fn assemble(
    c: &ConnectionSource,
    connector: &ConnectorSource,
    parts: &Parts,
) -> Result<Evidence, String> {
    let manifest = connector.manifest.as_ref().map_err(Clone::clone)?;

    let mut streams: Vec<StreamEvidence> = manifest
        .streams
        .iter()
        .map(|spec| {
            let stat = parts.stats.iter().find(|s| s.stream == spec.name);
            Ok(StreamEvidence {
                name: spec.name.clone(),
                required: spec.required,
                record_count: stat.map_or(0, |s| s.record_count),
                count_state: CountState::Known,
                last_updated_at: opt_instant(stat.and_then(|s| s.last_updated_at))?,
            })
        })
        .collect::<Result<_, String>>()?;
    // Streams the manifest no longer declares but that still hold records.
    let mut extra: Vec<&StatSource> = parts
        .stats
        .iter()
        .filter(|s| !manifest.streams.iter().any(|m| m.name == s.stream))
        .filter(|s| s.record_count > 0)
        .collect();
    extra.sort_by(|a, b| a.stream.cmp(&b.stream));
    for stat in extra {
        streams.push(StreamEvidence {
            name: stat.stream.clone(),
            required: false,
            record_count: stat.record_count,
            count_state: CountState::Known,
            last_updated_at: opt_instant(stat.last_updated_at)?,
        });
    }
    let total_records = streams.iter().map(|s| s.record_count).sum();

    let last_run = parts
        .runs
        .iter()
        .find(|r| r.is_last)
        .map(brief)
        .transpose()?;
    let last_successful_run = parts
        .runs
        .iter()
        .find(|r| r.is_last_success)
        .map(brief)
        .transpose()?;

    let mut open_attention: Vec<AttentionKind> = Vec::new();
    for kind in &parts.attention {
        let kind = parse_enum(kind, "attention kind", AttentionKind::parse)?;
        if !open_attention.contains(&kind) {
            open_attention.push(kind);
        }
    }

    let unrecovered_gaps = parts
        .gaps
        .iter()
        .map(|g| GapEvidence {
            run_id: g.run_id.clone(),
            stream: g.stream.clone(),
            reason: g.reason.clone(),
            retryable: g.retryable,
            // A stream the manifest no longer declares is not required.
            required: manifest
                .streams
                .iter()
                .any(|s| s.name == g.stream && s.required),
        })
        .collect();

    let schedule = c
        .schedule
        .as_ref()
        .map(|s| {
            Ok::<_, String>(Schedule {
                enabled: s.enabled,
                interval_seconds: s.interval_seconds,
                jitter_seconds: s.jitter_seconds,
                next_due_at: opt_instant(s.next_due_at)?,
            })
        })
        .transpose()?;

    let manifest_staleness_seconds = manifest.refresh_policy.maximum_staleness_seconds;
    let window = Evidence::effective_window(
        c.maximum_staleness_seconds,
        manifest_staleness_seconds,
        schedule.as_ref(),
    );
    let window_seconds = window.map(|(s, _)| s);
    let stale_at = Evidence::compute_stale_at(last_successful_run.as_ref(), window_seconds);

    let meta = match &c.maintenance {
        Some(m) => EvidenceMeta {
            state: if m.dirty {
                EvidenceState::Dirty
            } else {
                EvidenceState::Current
            },
            computed_at: opt_instant(m.computed_at)?,
            write_seq: m.write_seq,
            folded_seq: m.folded_seq,
            error: None,
        },
        None => EvidenceMeta {
            state: EvidenceState::Missing,
            computed_at: None,
            write_seq: 0,
            folded_seq: 0,
            error: None,
        },
    };

    Ok(Evidence {
        connection_id: c.connection_id.clone(),
        connector_id: c.connector_id.clone(),
        connector_display_name: connector.display_name.clone(),
        display_name: c.display_name.clone(),
        status: parse_enum(&c.status, "connection status", ConnectionStatus::parse)?,
        source_kind: connector.source_kind.clone(),
        recommended_mode: parse_enum(
            &connector.recommended_mode,
            "recommended_mode",
            RecommendedMode::parse,
        )?,
        created_at: instant(c.created_at)?,
        updated_at: instant(c.updated_at)?,
        revoked_at: opt_instant(c.revoked_at)?,
        streams,
        total_records,
        total_records_state: CountState::Known,
        last_run,
        last_successful_run,
        consecutive_failures: parts.consecutive_failures,
        consecutive_connector_errors: parts.consecutive_connector_errors,
        open_attention,
        unrecovered_gaps,
        schedule,
        maximum_staleness_override: c.maximum_staleness_seconds,
        manifest_staleness_seconds,
        window_seconds,
        window_source: window.map(|(_, s)| s),
        stale_at,
        meta,
    })
}
