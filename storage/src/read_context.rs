//! What a read is read with besides its rows: the open runs of the connections it returns,
//! the runtime's latest heartbeat and, for the streamed list, every dirty row. One statement
//! (a `UNION ALL`, one branch per part, see `read_model::page::context_statement`) returns
//! them as rows of one shape, [`ContextRow`], which both backends decode the same way: a
//! page through sqlx (`FromRow`), the SQLite stream in place on its reader's connection
//! (`Deserialize`, column by column in field order).

use crate::codec::{corrupt, instant, lift, opt_instant, parse_enum};
use crate::error::StoreResult;
use console_domain::liveness::OpenRun;
use console_domain::model::RunStatus;
use console_domain::Instant;
use serde::Deserialize;

/// One row of the context statement. The fields are its columns in order: the reader that
/// deserializes it takes them by position.
#[derive(Debug, Deserialize, sqlx::FromRow)]
pub(crate) struct ContextRow {
    /// `dirty`, `run` or `runtime`.
    kind: String,
    /// The connection (the runtime's label for `runtime`).
    connection_id: String,
    /// The dirty row's summary status, or the run's status.
    status: Option<String>,
    run_id: Option<String>,
    started_at: Option<i64>,
    /// The run's heartbeat, or the runtime's.
    heartbeat_at: Option<i64>,
}

/// The rows of one read's context, decoded.
#[derive(Debug, Default)]
pub(crate) struct ReadContext {
    /// Every dirty row's id and status (the streamed list's context only).
    pub dirty: Vec<(String, String)>,
    pub open_runs: Vec<OpenRun>,
    pub runtime_heartbeat: Option<(String, Instant)>,
}

impl ReadContext {
    pub(crate) fn from_rows(rows: Vec<ContextRow>) -> StoreResult<Self> {
        let missing = |column: &str| corrupt(format!("a context row without its {column}"));
        let mut context = ReadContext::default();
        for row in rows {
            match row.kind.as_str() {
                "dirty" => {
                    let status = row.status.ok_or_else(|| missing("status"))?;
                    context.dirty.push((row.connection_id, status));
                }
                "run" => {
                    let status = row.status.ok_or_else(|| missing("status"))?;
                    context.open_runs.push(OpenRun {
                        run_id: row.run_id.ok_or_else(|| missing("run id"))?,
                        status: lift(parse_enum(&status, "run status", RunStatus::parse))?,
                        started_at: lift(instant(row.started_at.ok_or_else(|| missing("start"))?))?,
                        heartbeat_at: lift(opt_instant(row.heartbeat_at))?,
                        connection_id: row.connection_id,
                    });
                }
                "runtime" => {
                    let at = row.heartbeat_at.ok_or_else(|| missing("heartbeat"))?;
                    context.runtime_heartbeat = Some((row.connection_id, lift(instant(at))?));
                }
                _ => return Err(corrupt("a context row of an unknown kind")),
            }
        }
        Ok(context)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::StoreError;

    fn row(kind: &str, id: &str, status: Option<&str>, run: Option<&str>) -> ContextRow {
        ContextRow {
            kind: kind.to_owned(),
            connection_id: id.to_owned(),
            status: status.map(str::to_owned),
            run_id: run.map(str::to_owned),
            started_at: run.map(|_| 1_000),
            heartbeat_at: Some(2_000),
        }
    }

    #[test]
    fn each_kind_lands_in_its_part() {
        let context = ReadContext::from_rows(vec![
            row("dirty", "conn_a", Some("active"), None),
            row("run", "conn_b", Some("running"), Some("run_1")),
            row("runtime", "collector", None, None),
        ])
        .unwrap();
        assert_eq!(context.dirty, [("conn_a".to_owned(), "active".to_owned())]);
        let run = &context.open_runs[0];
        assert_eq!(
            (run.connection_id.as_str(), run.run_id.as_str(), run.status),
            ("conn_b", "run_1", RunStatus::Running)
        );
        assert_eq!(run.started_at.timestamp_millis(), 1_000);
        assert_eq!(
            run.heartbeat_at.map(|at| at.timestamp_millis()),
            Some(2_000)
        );
        let (label, at) = context.runtime_heartbeat.unwrap();
        assert_eq!(
            (label.as_str(), at.timestamp_millis()),
            ("collector", 2_000)
        );
    }

    /// A row that lacks what its kind needs, or of a kind no branch has, is corrupt storage,
    /// never a default.
    #[test]
    fn a_row_missing_what_its_kind_needs_is_corrupt() {
        let mut no_start = row("run", "conn_b", Some("running"), Some("run_1"));
        no_start.started_at = None;
        let mut no_beat = row("runtime", "collector", None, None);
        no_beat.heartbeat_at = None;
        for bad in [
            row("dirty", "conn_a", None, None),
            row("run", "conn_b", Some("running"), None),
            row("run", "conn_b", Some("sleeping"), Some("run_1")),
            no_start,
            no_beat,
            row("other", "conn_a", None, None),
        ] {
            let shown = format!("{bad:?}");
            let result = ReadContext::from_rows(vec![bad]);
            assert!(matches!(result, Err(StoreError::Corrupt(_))), "{shown}");
        }
    }
}
