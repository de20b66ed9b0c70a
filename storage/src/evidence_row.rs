//! The storage shape of one `connector_summary_evidence` row, backend-agnostic: its columns,
//! how evidence maps onto them and back, and the durable "needs you first" rank.
//!
//! Scalars that lists filter and sort on are plain columns; nested parts (streams, runs,
//! attention, gaps, schedule) are JSON text. Nothing here reads a clock.

use crate::codec::{instant, opt_instant, parse_enum};
use console_domain::evidence::{
    CountState, Evidence, EvidenceMeta, EvidenceState, GapEvidence, RunBrief, StreamEvidence,
    WindowSource,
};
use console_domain::evidence_json::{self, ReadJson};
use console_domain::model::{
    AttentionKind, ConnectionStatus, FailureReason, RecommendedMode, RunStatus, Schedule,
};
use console_domain::summary_json::WriteJson;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// SQL type of a column, for set-based JSON payloads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ColType {
    Text,
    Int,
    Bool,
}

use ColType::{Bool, Int, Text};

/// The evidence columns, in table order. Must match [`EvidenceColumns`]' fields (tested).
pub(crate) const EVIDENCE_COLUMNS: &[(&str, ColType)] = &[
    ("connection_id", Text),
    ("connector_id", Text),
    ("connector_display_name", Text),
    ("display_name", Text),
    ("status", Text),
    ("source_kind", Text),
    ("recommended_mode", Text),
    ("created_at", Int),
    ("updated_at", Int),
    ("revoked_at", Int),
    ("streams", Text),
    ("total_records", Int),
    ("last_run", Text),
    ("last_successful_run", Text),
    ("consecutive_failures", Int),
    ("consecutive_connector_errors", Int),
    ("open_attention", Text),
    ("unrecovered_gaps", Text),
    ("schedule", Text),
    ("maximum_staleness_override", Int),
    ("manifest_staleness_seconds", Int),
    ("window_seconds", Int),
    ("window_source", Text),
    ("stale_at", Int),
    ("needs_rank", Int),
    ("stale_sort", Int),
];

/// Maintenance columns, in table order.
pub(crate) const MAINTENANCE_COLUMNS: &[(&str, ColType)] = &[
    ("dirty", Bool),
    ("dirty_since", Int),
    ("write_seq", Int),
    ("folded_seq", Int),
    ("computed_at", Int),
    ("error", Text),
];

/// A stored boolean as the database hands it over: `true`/`false` (Postgres's JSON) or the
/// integer 0/1 SQLite stores (its JSON and its columns).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct StoredBool(pub bool);

impl<'de> Deserialize<'de> for StoredBool {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = StoredBool;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a boolean or 0/1")
            }
            fn visit_bool<E>(self, v: bool) -> Result<StoredBool, E> {
                Ok(StoredBool(v))
            }
            fn visit_i64<E>(self, v: i64) -> Result<StoredBool, E> {
                Ok(StoredBool(v != 0))
            }
            fn visit_u64<E>(self, v: u64) -> Result<StoredBool, E> {
                Ok(StoredBool(v != 0))
            }
        }
        d.deserialize_any(Visitor)
    }
}

fn flag<'de, D: serde::Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(StoredBool::deserialize(d)?.0)
}

/// `stale_sort` of a row without `stale_at`: after every real instant.
pub(crate) const NO_STALE_AT: i64 = i64::MAX;

/// The durable evidence of one row, exactly as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct EvidenceColumns {
    pub connection_id: String,
    pub connector_id: String,
    pub connector_display_name: String,
    pub display_name: Option<String>,
    pub status: String,
    pub source_kind: String,
    pub recommended_mode: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub revoked_at: Option<i64>,
    pub streams: String,
    pub total_records: i64,
    pub last_run: Option<String>,
    pub last_successful_run: Option<String>,
    pub consecutive_failures: i64,
    pub consecutive_connector_errors: i64,
    pub open_attention: String,
    pub unrecovered_gaps: String,
    pub schedule: Option<String>,
    pub maximum_staleness_override: Option<i64>,
    pub manifest_staleness_seconds: Option<i64>,
    pub window_seconds: Option<i64>,
    pub window_source: Option<String>,
    pub stale_at: Option<i64>,
    pub needs_rank: i64,
    pub stale_sort: i64,
}

/// One column's value borrowed from a row, typed as its column (see [`EvidenceColumns::values`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ColValue<'a> {
    Text(Option<&'a str>),
    Int(Option<i64>),
}

impl EvidenceColumns {
    /// The row's values in [`EVIDENCE_COLUMNS`] order (tested against it), for binding rows
    /// column by column.
    pub(crate) fn values(&self) -> [ColValue<'_>; EVIDENCE_COLUMNS.len()] {
        use ColValue::{Int, Text};
        // Destructured in full: a field added to the struct must be added here too.
        let EvidenceColumns {
            connection_id,
            connector_id,
            connector_display_name,
            display_name,
            status,
            source_kind,
            recommended_mode,
            created_at,
            updated_at,
            revoked_at,
            streams,
            total_records,
            last_run,
            last_successful_run,
            consecutive_failures,
            consecutive_connector_errors,
            open_attention,
            unrecovered_gaps,
            schedule,
            maximum_staleness_override,
            manifest_staleness_seconds,
            window_seconds,
            window_source,
            stale_at,
            needs_rank,
            stale_sort,
        } = self;
        [
            Text(Some(connection_id)),
            Text(Some(connector_id)),
            Text(Some(connector_display_name)),
            Text(display_name.as_deref()),
            Text(Some(status)),
            Text(Some(source_kind)),
            Text(Some(recommended_mode)),
            Int(Some(*created_at)),
            Int(Some(*updated_at)),
            Int(*revoked_at),
            Text(Some(streams)),
            Int(Some(*total_records)),
            Text(last_run.as_deref()),
            Text(last_successful_run.as_deref()),
            Int(Some(*consecutive_failures)),
            Int(Some(*consecutive_connector_errors)),
            Text(Some(open_attention)),
            Text(Some(unrecovered_gaps)),
            Text(schedule.as_deref()),
            Int(*maximum_staleness_override),
            Int(*manifest_staleness_seconds),
            Int(*window_seconds),
            Text(window_source.as_deref()),
            Int(*stale_at),
            Int(Some(*needs_rank)),
            Int(Some(*stale_sort)),
        ]
    }
}

/// An evidence row as a read finds it: its evidence and its maintenance columns.
pub(crate) type StoredRow = (EvidenceColumns, Maintenance);

/// The maintenance columns of one row. Deserializes from its values in column order too
/// (the streamed list's rows on SQLite, see `list_reader::sqlite`), `dirty` as a boolean or
/// SQLite's 0/1.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub(crate) struct Maintenance {
    #[serde(deserialize_with = "flag")]
    pub dirty: bool,
    pub dirty_since: Option<i64>,
    pub write_seq: i64,
    pub folded_seq: i64,
    pub computed_at: Option<i64>,
    pub error: Option<String>,
}

impl Maintenance {
    pub fn state(&self) -> EvidenceState {
        if self.error.is_some() {
            EvidenceState::Failed
        } else if self.dirty {
            EvidenceState::Dirty
        } else {
            EvidenceState::Current
        }
    }

    /// Stored counts are exact only when the row is clean; a row never folded has none.
    pub fn count_state(&self) -> CountState {
        if self.folded_seq == 0 {
            CountState::Unknown
        } else if self.state() == EvidenceState::Current {
            CountState::Known
        } else {
            CountState::Stale
        }
    }

    pub fn meta(&self) -> Result<EvidenceMeta, String> {
        Ok(EvidenceMeta {
            state: self.state(),
            computed_at: opt_instant(self.computed_at)?,
            write_seq: self.write_seq,
            folded_seq: self.folded_seq,
            error: self.error.clone(),
        })
    }
}

/// A stored part as JSON text: what serde_json writes for it, written directly (see
/// `console_domain::summary_json`).
fn to_json<T: WriteJson>(value: &T) -> String {
    let mut out = Vec::with_capacity(128);
    value.write_json(&mut out);
    // The writers copy `str`s and ASCII punctuation: always UTF-8, checked all the same.
    String::from_utf8(out).unwrap_or_else(|_| "null".to_owned())
}

/// Reads a stored part (see `console_domain::evidence_json`: directly in the shape
/// [`to_json`] writes, through serde otherwise).
pub(crate) fn from_json<T: ReadJson + DeserializeOwned>(
    text: &str,
    field: &str,
) -> Result<T, String> {
    evidence_json::read(text).map_err(|_| format!("stored {field} is not readable"))
}

fn window_source_text(source: WindowSource) -> &'static str {
    match source {
        WindowSource::ConnectionOverride => "connection_override",
        WindowSource::Manifest => "manifest",
        WindowSource::Schedule => "schedule",
    }
}

fn parse_window_source(text: &str) -> Option<WindowSource> {
    match text {
        "connection_override" => Some(WindowSource::ConnectionOverride),
        "manifest" => Some(WindowSource::Manifest),
        "schedule" => Some(WindowSource::Schedule),
        _ => None,
    }
}

/// "Needs you first" rank from durable evidence only (lower comes first):
/// 0 owner work now (open attention, or the last run failed needing the owner),
/// 1 failing (last run failed, or blocked by repeated failures),
/// 2 unrecovered gaps on a required stream, 3 other active connections,
/// 4 draft or paused, 5 revoked.
pub(crate) fn needs_rank(e: &Evidence) -> i64 {
    match e.status {
        ConnectionStatus::Revoked => 5,
        ConnectionStatus::Draft | ConnectionStatus::Paused => 4,
        ConnectionStatus::Active => {
            let last_failure = e
                .last_run
                .as_ref()
                .filter(|r| r.status == RunStatus::Failed)
                .map(|r| r.failure_reason.clone());
            let owner_now = !e.open_attention.is_empty()
                || matches!(
                    last_failure,
                    Some(Some(
                        FailureReason::CredentialRejected | FailureReason::NeedsOwnerInput
                    ))
                );
            if owner_now {
                0
            } else if last_failure.is_some()
                || e.consecutive_failures >= 7
                || e.consecutive_connector_errors >= 2
            {
                1
            } else if e.unrecovered_gaps.iter().any(|g| g.required) {
                2
            } else {
                3
            }
        }
    }
}

impl EvidenceColumns {
    pub fn from_evidence(e: &Evidence) -> Self {
        let stale_at = e.stale_at.map(crate::codec::ms);
        EvidenceColumns {
            connection_id: e.connection_id.clone(),
            connector_id: e.connector_id.clone(),
            connector_display_name: e.connector_display_name.clone(),
            display_name: e.display_name.clone(),
            status: e.status.as_str().to_owned(),
            source_kind: e.source_kind.clone(),
            recommended_mode: e.recommended_mode.as_str().to_owned(),
            created_at: crate::codec::ms(e.created_at),
            updated_at: crate::codec::ms(e.updated_at),
            revoked_at: e.revoked_at.map(crate::codec::ms),
            streams: to_json(&e.streams),
            total_records: e.total_records,
            last_run: e.last_run.as_ref().map(to_json),
            last_successful_run: e.last_successful_run.as_ref().map(to_json),
            consecutive_failures: e.consecutive_failures,
            consecutive_connector_errors: e.consecutive_connector_errors,
            open_attention: to_json(&e.open_attention),
            unrecovered_gaps: to_json(&e.unrecovered_gaps),
            schedule: e.schedule.as_ref().map(to_json),
            maximum_staleness_override: e.maximum_staleness_override,
            manifest_staleness_seconds: e.manifest_staleness_seconds,
            window_seconds: e.window_seconds,
            window_source: e.window_source.map(|s| window_source_text(s).to_owned()),
            stale_at,
            needs_rank: needs_rank(e),
            stale_sort: stale_at.unwrap_or(NO_STALE_AT),
        }
    }

    /// The evidence this row holds, with count states and meta from its maintenance columns.
    /// Consumes the row: its identity strings move into the evidence (the streamed list
    /// turns every row of the fleet into evidence; copying them was an allocation each).
    fn into_evidence(self, m: &Maintenance) -> Result<Evidence, String> {
        let evidence = self.evidence_without_identity(m)?;
        Ok(self.with_identity(evidence))
    }

    fn with_identity(self, evidence: Evidence) -> Evidence {
        Evidence {
            connection_id: self.connection_id,
            connector_id: self.connector_id,
            connector_display_name: self.connector_display_name,
            display_name: self.display_name,
            source_kind: self.source_kind,
            ..evidence
        }
    }

    /// Everything but the identity strings [`Self::with_identity`] moves in (left empty,
    /// which allocates nothing), or why a stored part cannot be read.
    fn evidence_without_identity(&self, m: &Maintenance) -> Result<Evidence, String> {
        let count_state = m.count_state();
        let mut streams: Vec<StreamEvidence> = from_json(&self.streams, "streams")?;
        for s in &mut streams {
            s.count_state = count_state;
        }
        let run = |text: &Option<String>, field: &str| -> Result<Option<RunBrief>, String> {
            text.as_deref().map(|t| from_json(t, field)).transpose()
        };
        Ok(Evidence {
            connection_id: String::new(),
            connector_id: String::new(),
            connector_display_name: String::new(),
            display_name: None,
            status: parse_enum(&self.status, "status", ConnectionStatus::parse)?,
            source_kind: String::new(),
            recommended_mode: parse_enum(
                &self.recommended_mode,
                "recommended_mode",
                RecommendedMode::parse,
            )?,
            created_at: instant(self.created_at)?,
            updated_at: instant(self.updated_at)?,
            revoked_at: opt_instant(self.revoked_at)?,
            streams,
            total_records: self.total_records,
            total_records_state: count_state,
            last_run: run(&self.last_run, "last_run")?,
            last_successful_run: run(&self.last_successful_run, "last_successful_run")?,
            consecutive_failures: self.consecutive_failures,
            consecutive_connector_errors: self.consecutive_connector_errors,
            open_attention: from_json::<Vec<AttentionKind>>(
                &self.open_attention,
                "open_attention",
            )?,
            unrecovered_gaps: from_json::<Vec<GapEvidence>>(&self.unrecovered_gaps, "gaps")?,
            schedule: self
                .schedule
                .as_deref()
                .map(|t| from_json::<Schedule>(t, "schedule"))
                .transpose()?,
            maximum_staleness_override: self.maximum_staleness_override,
            manifest_staleness_seconds: self.manifest_staleness_seconds,
            window_seconds: self.window_seconds,
            window_source: self
                .window_source
                .as_deref()
                .map(|t| parse_enum(t, "window_source", parse_window_source))
                .transpose()?,
            stale_at: opt_instant(self.stale_at)?,
            meta: m.meta()?,
        })
    }

    /// A row whose stored parts cannot be read still shows its identity, marked failed.
    pub fn into_evidence_or_failed(self, m: &Maintenance) -> Result<Evidence, String> {
        match self.evidence_without_identity(m) {
            Ok(evidence) => Ok(self.with_identity(evidence)),
            Err(reason) => {
                let failed = Maintenance {
                    error: Some(format!("stored evidence unreadable: {reason}")),
                    folded_seq: 0,
                    ..m.clone()
                };
                let empty = EvidenceColumns {
                    streams: "[]".into(),
                    last_run: None,
                    last_successful_run: None,
                    open_attention: "[]".into(),
                    unrecovered_gaps: "[]".into(),
                    schedule: None,
                    window_source: None,
                    ..self
                };
                empty.into_evidence(&failed)
            }
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    #[test]
    fn column_list_matches_struct_fields_in_order() {
        let text = |s: &str| s.to_owned();
        let cols = EvidenceColumns {
            connection_id: text("a"),
            connector_id: text("b"),
            connector_display_name: text("c"),
            display_name: Some(text("d")),
            status: text("e"),
            source_kind: text("f"),
            recommended_mode: text("g"),
            created_at: 1,
            updated_at: 2,
            revoked_at: Some(3),
            streams: text("h"),
            total_records: 4,
            last_run: Some(text("i")),
            last_successful_run: Some(text("j")),
            consecutive_failures: 5,
            consecutive_connector_errors: 6,
            open_attention: text("k"),
            unrecovered_gaps: text("l"),
            schedule: Some(text("m")),
            maximum_staleness_override: Some(7),
            manifest_staleness_seconds: Some(8),
            window_seconds: Some(9),
            window_source: Some(text("n")),
            stale_at: Some(10),
            needs_rank: 11,
            stale_sort: 12,
        };
        // Serialized fields come in declaration order: it must be the column order.
        let serialized = serde_json::to_string(&cols).unwrap();
        let positions: Vec<usize> = EVIDENCE_COLUMNS
            .iter()
            .map(|(name, _)| serialized.find(&format!("\"{name}\":")).expect(name))
            .collect();
        assert!(positions.windows(2).all(|w| w[0] < w[1]), "{serialized}");
        let value = serde_json::to_value(&cols).unwrap();
        assert_eq!(value.as_object().unwrap().len(), EVIDENCE_COLUMNS.len());
        // Deserialized from its values in column order (a streamed chunk's rows).
        let array: Vec<serde_json::Value> = EVIDENCE_COLUMNS
            .iter()
            .map(|(name, _)| value[*name].clone())
            .collect();
        let from_array: EvidenceColumns =
            serde_json::from_value(serde_json::Value::Array(array.clone())).unwrap();
        assert_eq!(from_array, cols);
        // Fold and rebuild payloads bind the same values column by column (both backends),
        // each typed as its column.
        let values: Vec<serde_json::Value> = cols
            .values()
            .iter()
            .zip(EVIDENCE_COLUMNS)
            .map(|(value, (name, ty))| match (value, ty) {
                (ColValue::Text(v), Text) => serde_json::json!(v),
                (ColValue::Int(v), Int) => serde_json::json!(v),
                _ => panic!("{name} is bound as another type than its column"),
            })
            .collect();
        assert_eq!(values, array);
    }

    pub(crate) fn stored_row(streams: &str) -> EvidenceColumns {
        let text = |s: &str| s.to_owned();
        let run = r#"{"run_id":"r1","status":"failed","started_at":"2026-03-01T05:15:16.936Z",
            "finished_at":"2026-03-01T05:24:16.936Z","failure_reason":"rate_limited",
            "records_written":95,"gap_count":1}"#;
        EvidenceColumns {
            connection_id: text("conn-1"),
            connector_id: text("mail"),
            connector_display_name: text("Mail"),
            display_name: Some(text("Work mail")),
            status: text("active"),
            source_kind: text("api"),
            recommended_mode: text("scheduled"),
            created_at: 1_000,
            updated_at: 2_000,
            revoked_at: None,
            streams: text(streams),
            total_records: 25,
            last_run: Some(text(run)),
            last_successful_run: None,
            consecutive_failures: 2,
            consecutive_connector_errors: 0,
            open_attention: text(r#"["reauth"]"#),
            unrecovered_gaps: text(
                r#"[{"run_id":"r1","stream":"inbox","reason":"timeout","retryable":true,"required":true}]"#,
            ),
            schedule: Some(text(
                r#"{"enabled":true,"interval_seconds":3600,"jitter_seconds":60,"next_due_at":null}"#,
            )),
            maximum_staleness_override: None,
            manifest_staleness_seconds: Some(86_400),
            window_seconds: Some(86_400),
            window_source: Some(text("manifest")),
            stale_at: Some(3_000),
            needs_rank: 0,
            stale_sort: 3_000,
        }
    }

    fn clean(seq: i64) -> Maintenance {
        Maintenance {
            dirty: false,
            dirty_since: None,
            write_seq: seq,
            folded_seq: seq,
            computed_at: Some(5_000),
            error: None,
        }
    }

    #[test]
    fn a_stored_row_reads_as_the_evidence_it_was_written_from() {
        let streams = r#"[{"name":"inbox","required":true,"record_count":25,"count_state":"known","last_updated_at":"2026-02-28T20:39:33.953Z"}]"#;
        let cols = stored_row(streams);
        let evidence = cols.clone().into_evidence_or_failed(&clean(7)).unwrap();
        assert_eq!(evidence.connection_id, "conn-1");
        assert_eq!(evidence.meta.error, None);
        // Every column, identity and parsed parts alike, comes back when written again.
        let mut written = EvidenceColumns::from_evidence(&evidence);
        // Needs rank and stale sort are the writer's to compute; the rest is stored data.
        (written.needs_rank, written.stale_sort) = (cols.needs_rank, cols.stale_sort);
        let reparsed = |c: &EvidenceColumns| {
            let parse = |t: &str| serde_json::from_str::<serde_json::Value>(t).unwrap();
            (
                parse(&c.streams),
                c.last_run.as_deref().map(parse),
                parse(&c.open_attention),
                parse(&c.unrecovered_gaps),
                c.schedule.as_deref().map(parse),
            )
        };
        assert_eq!(reparsed(&written), reparsed(&cols));
        let plain = |c: EvidenceColumns| EvidenceColumns {
            streams: String::new(),
            last_run: None,
            open_attention: String::new(),
            unrecovered_gaps: String::new(),
            schedule: None,
            ..c
        };
        assert_eq!(plain(written), plain(cols));
    }

    #[test]
    fn an_unreadable_stored_row_keeps_its_identity_and_reads_as_failed() {
        let evidence = stored_row("not json")
            .into_evidence_or_failed(&clean(7))
            .unwrap();
        assert_eq!(
            (
                evidence.connection_id.as_str(),
                evidence.connector_id.as_str(),
                evidence.connector_display_name.as_str(),
                evidence.display_name.as_deref(),
                evidence.source_kind.as_str(),
            ),
            ("conn-1", "mail", "Mail", Some("Work mail"), "api")
        );
        assert_eq!(
            evidence.meta.error.as_deref(),
            Some("stored evidence unreadable: stored streams is not readable")
        );
        assert_eq!(evidence.meta.folded_seq, 0);
        assert!(evidence.streams.is_empty() && evidence.last_run.is_none());
    }

    #[test]
    fn maintenance_reads_from_a_column_ordered_array() {
        let names: Vec<&str> = MAINTENANCE_COLUMNS.iter().map(|(name, _)| *name).collect();
        assert_eq!(
            names,
            [
                "dirty",
                "dirty_since",
                "write_seq",
                "folded_seq",
                "computed_at",
                "error"
            ]
        );
        let sqlite: Maintenance = serde_json::from_str(r#"[1, 5, 7, 6, null, "boom"]"#).unwrap();
        let postgres: Maintenance =
            serde_json::from_str(r#"[true, 5, 7, 6, null, "boom"]"#).unwrap();
        let expected = Maintenance {
            dirty: true,
            dirty_since: Some(5),
            write_seq: 7,
            folded_seq: 6,
            computed_at: None,
            error: Some("boom".into()),
        };
        assert_eq!(sqlite, expected);
        assert_eq!(postgres, expected);
        let clean: Maintenance = serde_json::from_str("[0, null, 7, 7, 9, null]").unwrap();
        assert!(!clean.dirty);
    }
}
