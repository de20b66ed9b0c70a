//! The pure half of evidence extraction: the source rows the set-based statements read for
//! one connection, assembled into [`Evidence`]. Both backends, the fold, the sweeper, the
//! rebuild and the detail read all go through [`assemble`].

use crate::codec::{instant, opt_instant, parse_enum};
use crate::evidence_row::{from_json, Maintenance};
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
    /// The run-side parts a fold carries over from the stored row instead of asking again.
    pub carried: Carried,
}

/// Run-side parts of the stored evidence row, as stored (JSON text), each `None` where the
/// extraction asked the source tables again (see `crate::dirty_parts`).
#[derive(Clone, Debug, Default)]
pub(crate) struct Carried {
    pub runs: Option<CarriedRuns>,
    /// `open_attention`.
    pub attention: Option<String>,
    /// `unrecovered_gaps`.
    pub gaps: Option<String>,
}

#[derive(Clone, Debug)]
pub(crate) struct CarriedRuns {
    pub last_run: Option<String>,
    pub last_successful_run: Option<String>,
    pub consecutive_failures: i64,
    pub consecutive_connector_errors: i64,
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

/// Last run, last success and the two failure streaks: carried over, or from the runs read.
type RunSide = (Option<RunBrief>, Option<RunBrief>, i64, i64);

fn run_side(carried: Option<&CarriedRuns>, parts: &Parts) -> Result<RunSide, String> {
    if let Some(runs) = carried {
        let stored = |text: &Option<String>, field: &str| {
            text.as_deref()
                .map(|t| from_json::<RunBrief>(t, field))
                .transpose()
        };
        return Ok((
            stored(&runs.last_run, "last_run")?,
            stored(&runs.last_successful_run, "last_successful_run")?,
            runs.consecutive_failures,
            runs.consecutive_connector_errors,
        ));
    }
    let newest = |is: fn(&RunSource) -> bool| parts.runs.iter().find(|r| is(r)).map(brief);
    Ok((
        newest(|r| r.is_last).transpose()?,
        newest(|r| r.is_last_success).transpose()?,
        parts.consecutive_failures,
        parts.consecutive_connector_errors,
    ))
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

    let (last_run, last_successful_run, consecutive_failures, consecutive_connector_errors) =
        run_side(c.carried.runs.as_ref(), parts)?;

    let open_attention: Vec<AttentionKind> = match &c.carried.attention {
        Some(stored) => from_json(stored, "open_attention")?,
        None => {
            let mut kinds = Vec::new();
            for kind in &parts.attention {
                let kind = parse_enum(kind, "attention kind", AttentionKind::parse)?;
                if !kinds.contains(&kind) {
                    kinds.push(kind);
                }
            }
            kinds
        }
    };

    // Whether a gap's stream is required is the manifest's say, so it is decided again
    // even for carried gaps (a manifest change sets no part). A stream the manifest no
    // longer declares is not required.
    let required = |stream: &str| {
        manifest
            .streams
            .iter()
            .any(|s| s.name == stream && s.required)
    };
    let unrecovered_gaps: Vec<GapEvidence> = match &c.carried.gaps {
        Some(stored) => from_json::<Vec<GapEvidence>>(stored, "unrecovered_gaps")?
            .into_iter()
            .map(|g| GapEvidence {
                required: required(&g.stream),
                ..g
            })
            .collect(),
        None => parts
            .gaps
            .iter()
            .map(|g| GapEvidence {
                run_id: g.run_id.clone(),
                stream: g.stream.clone(),
                reason: g.reason.clone(),
                retryable: g.retryable,
                required: required(&g.stream),
            })
            .collect(),
    };

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
        consecutive_failures,
        consecutive_connector_errors,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence_row::EvidenceColumns;
    use console_domain::model::{RefreshPolicy, StreamSpec};

    fn connector(items_required: bool, staleness: Option<i64>) -> ConnectorSource {
        let streams = [("items", items_required), ("extras", false)]
            .into_iter()
            .map(|(name, required)| StreamSpec {
                name: name.to_owned(),
                required,
            })
            .collect();
        ConnectorSource {
            display_name: "Alpha".to_owned(),
            source_kind: "api".to_owned(),
            recommended_mode: "scheduled".to_owned(),
            manifest: Ok(ConnectorManifest {
                connector_id: "alpha".to_owned(),
                display_name: "Alpha".to_owned(),
                version: "1".to_owned(),
                streams,
                refresh_policy: RefreshPolicy {
                    maximum_staleness_seconds: staleness,
                },
                recommended_mode: RecommendedMode::Scheduled,
                source_kind: "api".to_owned(),
            }),
        }
    }

    fn connection() -> ConnectionSource {
        ConnectionSource {
            connection_id: "c1".to_owned(),
            connector_id: "alpha".to_owned(),
            display_name: None,
            status: "active".to_owned(),
            maximum_staleness_seconds: None,
            created_at: 1_000,
            updated_at: 1_000,
            revoked_at: None,
            schedule: None,
            maintenance: None,
            carried: Carried::default(),
        }
    }

    fn run(id: &str, status: &str, started_at: i64, last: bool, success: bool) -> RunSource {
        RunSource {
            run_id: id.to_owned(),
            status: status.to_owned(),
            started_at,
            finished_at: Some(started_at + 10),
            failure_reason: (status == "failed").then(|| "connector_error".to_owned()),
            records_written: 3,
            gap_count: 1,
            is_last: last,
            is_last_success: success,
        }
    }

    /// Every run-side part present: two runs, streaks, attention, a gap on each stream.
    fn parts() -> Parts {
        Parts {
            stats: vec![StatSource {
                stream: "items".to_owned(),
                record_count: 4,
                last_updated_at: Some(2_000),
            }],
            runs: vec![
                run("r2", "failed", 5_000, true, false),
                run("r1", "succeeded_with_gaps", 4_000, false, true),
            ],
            consecutive_failures: 1,
            consecutive_connector_errors: 1,
            attention: vec!["reauth".to_owned(), "reauth".to_owned()],
            gaps: ["items", "extras"]
                .into_iter()
                .map(|stream| GapSource {
                    run_id: "r1".to_owned(),
                    stream: stream.to_owned(),
                    reason: "timeout".to_owned(),
                    retryable: true,
                })
                .collect(),
        }
    }

    /// The stored row's run-side parts, as a fold reads them back.
    fn carried_from(e: &Evidence) -> Carried {
        let stored = EvidenceColumns::from_evidence(e);
        Carried {
            runs: Some(CarriedRuns {
                last_run: stored.last_run,
                last_successful_run: stored.last_successful_run,
                consecutive_failures: stored.consecutive_failures,
                consecutive_connector_errors: stored.consecutive_connector_errors,
            }),
            attention: Some(stored.open_attention),
            gaps: Some(stored.unrecovered_gaps),
        }
    }

    #[test]
    fn carried_parts_assemble_the_evidence_the_source_rows_do() {
        let folded = assemble(&connection(), &connector(true, None), &parts()).unwrap();
        assert!(folded.last_run.is_some() && folded.last_successful_run.is_some());
        assert_eq!(folded.open_attention, vec![AttentionKind::Reauth]);
        assert_eq!(folded.unrecovered_gaps.len(), 2);

        // A later fold whose writes touched none of the run-side parts (a manifest change
        // that makes `items` optional and sets a staleness window) carries them over: it
        // gets what asking the unchanged source rows again gives, required flags and the
        // stale-at of the carried last success included.
        let after_change = connector(false, Some(3_600));
        let asked_again = assemble(&connection(), &after_change, &parts()).unwrap();
        let only_stats = Parts {
            stats: parts().stats,
            ..Parts::default()
        };
        let carried = ConnectionSource {
            carried: carried_from(&folded),
            ..connection()
        };
        let carried_over = assemble(&carried, &after_change, &only_stats).unwrap();
        assert_eq!(carried_over, asked_again);
        assert!(carried_over.unrecovered_gaps.iter().all(|g| !g.required));
        assert!(carried_over.stale_at.is_some());
        assert_ne!(carried_over, folded);

        // Each part alone: carried where its bit is clear, asked where it is set.
        let partly = |runs: bool, attention: bool, gaps: bool| {
            let all = carried_from(&folded);
            let source = ConnectionSource {
                carried: Carried {
                    runs: all.runs.filter(|_| runs),
                    attention: all.attention.filter(|_| attention),
                    gaps: all.gaps.filter(|_| gaps),
                },
                ..connection()
            };
            let mut sources = Parts {
                stats: parts().stats,
                ..Parts::default()
            };
            let full = parts();
            if !runs {
                sources.runs = full.runs;
                sources.consecutive_failures = full.consecutive_failures;
                sources.consecutive_connector_errors = full.consecutive_connector_errors;
            }
            if !attention {
                sources.attention = full.attention;
            }
            if !gaps {
                sources.gaps = full.gaps;
            }
            assemble(&source, &after_change, &sources).unwrap()
        };
        for mask in 0..8 {
            let e = partly(mask & 1 != 0, mask & 2 != 0, mask & 4 != 0);
            assert_eq!(e, asked_again, "carried parts {mask:03b}");
        }
    }

    #[test]
    fn unreadable_carried_parts_fail_the_row_without_quoting_it() {
        let source = ConnectionSource {
            carried: Carried {
                attention: Some("not json {secret}".to_owned()),
                ..Carried::default()
            },
            ..connection()
        };
        let reason = assemble(&source, &connector(true, None), &parts()).unwrap_err();
        assert_eq!(reason, "stored open_attention is not readable");
    }
}
