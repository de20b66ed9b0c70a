//! The owner's and the runtime's writes, validated before they reach storage. Every command
//! either applies whole or changes nothing; storage marks the evidence dirty in the same
//! transaction.

use crate::error::{ServiceError, ServiceResult};
use crate::retry::retrying;
use crate::Console;
use console_domain::model::{
    AttentionKind, ConnectionStatus, ConnectorManifest, FailureReason, Gap, LifecycleAction,
    RunStatus, MAX_INTERVAL_SECONDS, MIN_INTERVAL_SECONDS,
};
use console_storage::{
    AttentionRow, ConnectionChange, ConnectionRow, IngestCounts, NewConnection, NewRunEvent,
    RebuildReport, RecordDeletion, RecordInput, RunOutcome, RunRow, RunTrigger, ScheduleInput,
    StoreError,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

const MAX_NAME_LEN: usize = 200;
const MAX_KEY_LEN: usize = 512;
const MAX_TEXT_LEN: usize = 2000;
const MAX_EVENTS: usize = 1000;

#[derive(Clone, Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateConnection {
    pub connector_id: String,
    #[serde(default)]
    pub display_name: Option<String>,
    /// `active` (default) or `draft`.
    #[serde(default)]
    pub status: Option<ConnectionStatus>,
    #[serde(default)]
    pub maximum_staleness_seconds: Option<i64>,
}

#[derive(Clone, Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RenameConnection {
    /// The owner's label; null or empty clears it (the connector's name shows).
    pub display_name: Option<String>,
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PutSchedule {
    pub interval_seconds: i64,
    #[serde(default)]
    pub jitter_seconds: i64,
    #[serde(default = "yes")]
    pub enabled: bool,
}

fn yes() -> bool {
    true
}

#[derive(Clone, Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FinishRun {
    /// `succeeded`, `succeeded_with_gaps`, `failed` or `cancelled`.
    pub status: RunStatus,
    #[serde(default)]
    pub failure_reason: Option<FailureReason>,
    #[serde(default)]
    pub records_written: i64,
    #[serde(default)]
    pub gaps: Vec<Gap>,
}

#[derive(Clone, Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OpenAttention {
    pub kind: AttentionKind,
    #[serde(default)]
    pub message: Option<String>,
}

#[derive(Clone, Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeleteRecords {
    pub stream: String,
    /// Omit to delete every record of the stream.
    #[serde(default)]
    pub record_keys: Option<Vec<String>>,
}

#[derive(Clone, Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecoverGaps {
    #[serde(default)]
    pub stream: Option<String>,
}

#[derive(Clone, Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RunEventInput {
    pub kind: String,
    pub message: String,
    #[serde(default)]
    pub stream: Option<String>,
}

fn invalid(code: &'static str, message: impl Into<String>, param: &str) -> ServiceError {
    ServiceError::invalid(code, message, Some(param))
}

fn clean_label(label: Option<String>) -> ServiceResult<Option<String>> {
    let label = label.map(|l| l.trim().to_owned()).filter(|l| !l.is_empty());
    match &label {
        Some(l) if l.chars().count() > MAX_NAME_LEN => Err(invalid(
            "invalid_display_name",
            format!("display_name must be at most {MAX_NAME_LEN} characters"),
            "display_name",
        )),
        Some(l) if l.chars().any(char::is_control) => Err(invalid(
            "invalid_display_name",
            "display_name must not contain control characters",
            "display_name",
        )),
        _ => Ok(label),
    }
}

fn check_staleness(seconds: Option<i64>) -> ServiceResult<()> {
    match seconds {
        Some(s) if !(60..=MAX_INTERVAL_SECONDS * 10).contains(&s) => Err(invalid(
            "invalid_staleness",
            "maximum_staleness_seconds must be between 60 and 10 years",
            "maximum_staleness_seconds",
        )),
        _ => Ok(()),
    }
}

fn check_text(text: &str, param: &str) -> ServiceResult<()> {
    if text.len() > MAX_TEXT_LEN {
        return Err(invalid(
            "text_too_long",
            format!("{param} must be at most {MAX_TEXT_LEN} bytes"),
            param,
        ));
    }
    Ok(())
}

impl Console {
    async fn connection(&self, connection_id: &str) -> ServiceResult<ConnectionRow> {
        self.store
            .get_connection(connection_id)
            .await?
            .ok_or_else(|| ServiceError::NotFound {
                entity: "connection",
                id: connection_id.to_owned(),
            })
    }

    /// A run by id, or 404.
    pub async fn run(&self, run_id: &str) -> ServiceResult<RunRow> {
        self.store
            .get_run(run_id)
            .await?
            .ok_or_else(|| ServiceError::NotFound {
                entity: "run",
                id: run_id.to_owned(),
            })
    }

    async fn manifest_of(&self, connection: &ConnectionRow) -> ServiceResult<ConnectorManifest> {
        self.store
            .get_connector(&connection.connector_id)
            .await?
            .ok_or_else(|| {
                ServiceError::Internal(format!(
                    "connection {} references missing connector {}",
                    connection.connection_id, connection.connector_id
                ))
            })
    }

    pub async fn register_connector(&self, manifest: &ConnectorManifest) -> ServiceResult<bool> {
        manifest
            .validate()
            .map_err(|e| invalid("invalid_manifest", e.to_string(), "manifest"))?;
        Ok(retrying(|| self.store.upsert_connector(manifest, self.now())).await?)
    }

    pub async fn create_connection(&self, body: CreateConnection) -> ServiceResult<ConnectionRow> {
        let status = body.status.unwrap_or(ConnectionStatus::Active);
        if !matches!(status, ConnectionStatus::Active | ConnectionStatus::Draft) {
            return Err(invalid(
                "invalid_status",
                "a new connection is `active` or `draft`",
                "status",
            ));
        }
        check_staleness(body.maximum_staleness_seconds)?;
        if self
            .store
            .get_connector(&body.connector_id)
            .await?
            .is_none()
        {
            return Err(invalid(
                "unknown_connector",
                format!("no connector with id {:?} is registered", body.connector_id),
                "connector_id",
            ));
        }
        let new = NewConnection {
            connector_id: body.connector_id,
            display_name: clean_label(body.display_name)?,
            status,
            maximum_staleness_seconds: body.maximum_staleness_seconds,
        };
        Ok(retrying(|| self.store.create_connection(&new, self.now())).await?)
    }

    pub async fn rename_connection(
        &self,
        connection_id: &str,
        body: RenameConnection,
    ) -> ServiceResult<ConnectionRow> {
        let label = clean_label(body.display_name)?;
        let change = ConnectionChange::Rename(label);
        Ok(retrying(|| {
            self.store
                .update_connection(connection_id, &change, self.now())
        })
        .await?)
    }

    /// Pause, resume, revoke, reactivate, activate: refused with 409 when the action does not
    /// apply to the connection's current status.
    pub async fn change_lifecycle(
        &self,
        connection_id: &str,
        action: LifecycleAction,
    ) -> ServiceResult<ConnectionRow> {
        let current = self.connection(connection_id).await?;
        let to = current
            .status
            .apply(action)
            .ok_or_else(|| ServiceError::Conflict {
                code: "invalid_transition",
                message: format!(
                    "cannot {} a connection that is {}",
                    serde_json::to_value(action)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_owned))
                        .unwrap_or_default(),
                    current.status
                ),
                existing: Some(current.status.as_str().to_owned()),
            })?;
        let change = ConnectionChange::Status {
            from: current.status,
            to,
        };
        Ok(retrying(|| {
            self.store
                .update_connection(connection_id, &change, self.now())
        })
        .await?)
    }

    pub async fn delete_connection(&self, connection_id: &str) -> ServiceResult<()> {
        Ok(retrying(|| self.store.delete_connection(connection_id)).await?)
    }

    pub async fn put_schedule(&self, connection_id: &str, body: PutSchedule) -> ServiceResult<()> {
        if !(MIN_INTERVAL_SECONDS..=MAX_INTERVAL_SECONDS).contains(&body.interval_seconds) {
            return Err(invalid(
                "invalid_interval",
                format!(
                    "interval_seconds must be between {MIN_INTERVAL_SECONDS} and {MAX_INTERVAL_SECONDS}"
                ),
                "interval_seconds",
            ));
        }
        if !(0..=body.interval_seconds).contains(&body.jitter_seconds) {
            return Err(invalid(
                "invalid_jitter",
                "jitter_seconds must be between 0 and interval_seconds",
                "jitter_seconds",
            ));
        }
        let input = ScheduleInput {
            interval_seconds: body.interval_seconds,
            jitter_seconds: body.jitter_seconds,
            enabled: body.enabled,
        };
        Ok(retrying(|| self.store.put_schedule(connection_id, &input, self.now())).await?)
    }

    /// "Run now": 409 with the active run's id when one is already open.
    pub async fn start_run(
        &self,
        connection_id: &str,
        trigger: RunTrigger,
    ) -> ServiceResult<RunRow> {
        let connection = self.connection(connection_id).await?;
        if connection.status != ConnectionStatus::Active {
            return Err(ServiceError::Conflict {
                code: "connection_not_active",
                message: format!(
                    "runs start only on active connections; this one is {}",
                    connection.status
                ),
                existing: Some(connection.status.as_str().to_owned()),
            });
        }
        match retrying(|| self.store.start_run(connection_id, trigger, self.now())).await {
            Err(StoreError::Conflict {
                existing: Some(open_run_id),
                ..
            }) if self.is_stalled(&open_run_id).await? => {
                // A run whose heartbeat lapsed will never finish by itself; the owner asking
                // for a fresh one supersedes it instead of hitting a dead end.
                let superseded = RunOutcome {
                    status: RunStatus::Cancelled,
                    failure_reason: Some(FailureReason::Other("superseded_after_stall".into())),
                    records_written: 0,
                    gaps: Vec::new(),
                };
                retrying(|| self.store.finish_run(&open_run_id, &superseded, self.now())).await?;
                Ok(retrying(|| self.store.start_run(connection_id, trigger, self.now())).await?)
            }
            other => Ok(other?),
        }
    }

    /// True when the run is `running` and its heartbeat is older than the lease.
    async fn is_stalled(&self, run_id: &str) -> ServiceResult<bool> {
        let Some(run) = self.store.get_run(run_id).await? else {
            return Ok(false);
        };
        let open = console_domain::liveness::OpenRun {
            connection_id: run.connection_id,
            run_id: run.run_id,
            status: run.status,
            started_at: run.started_at,
            heartbeat_at: run.heartbeat_at,
        };
        Ok(matches!(
            console_domain::liveness::RunLiveness::classify(
                Some(&open),
                self.now(),
                self.settings.lease_seconds
            ),
            console_domain::liveness::RunLiveness::Stalled { .. }
        ))
    }

    pub async fn heartbeat_run(&self, run_id: &str) -> ServiceResult<RunRow> {
        Ok(retrying(|| self.store.heartbeat_run(run_id, self.now())).await?)
    }

    pub async fn finish_run(&self, run_id: &str, body: FinishRun) -> ServiceResult<RunRow> {
        if !body.status.is_terminal() {
            return Err(invalid(
                "invalid_run_status",
                "status must be succeeded, succeeded_with_gaps, failed or cancelled",
                "status",
            ));
        }
        if body.records_written < 0 {
            return Err(invalid(
                "invalid_records_written",
                "records_written must not be negative",
                "records_written",
            ));
        }
        if body.status == RunStatus::Failed && body.failure_reason.is_none() {
            return Err(invalid(
                "failure_reason_required",
                "a failed run needs a failure_reason",
                "failure_reason",
            ));
        }
        if let Some(reason) = &body.failure_reason {
            check_text(reason.as_str(), "failure_reason")?;
            if reason.as_str().is_empty() {
                return Err(invalid(
                    "failure_reason_required",
                    "failure_reason must not be empty",
                    "failure_reason",
                ));
            }
        }
        let run = self.run(run_id).await?;
        if !body.gaps.is_empty() {
            let connection = self.connection(&run.connection_id).await?;
            let manifest = self.manifest_of(&connection).await?;
            for gap in &body.gaps {
                check_text(&gap.reason, "gaps.reason")?;
                if !manifest.streams.iter().any(|s| s.name == gap.stream) {
                    return Err(invalid(
                        "unknown_stream",
                        format!(
                            "connector {} has no stream {:?}",
                            manifest.connector_id, gap.stream
                        ),
                        "gaps.stream",
                    ));
                }
            }
        }
        let outcome = RunOutcome {
            status: body.status,
            failure_reason: body.failure_reason,
            records_written: body.records_written,
            gaps: body.gaps,
        };
        Ok(retrying(|| self.store.finish_run(run_id, &outcome, self.now())).await?)
    }

    pub async fn append_run_events(
        &self,
        run_id: &str,
        events: Vec<RunEventInput>,
    ) -> ServiceResult<()> {
        if events.len() > MAX_EVENTS {
            return Err(ServiceError::TooLarge {
                message: format!("at most {MAX_EVENTS} events per request"),
            });
        }
        let events = events
            .into_iter()
            .map(|e| {
                check_text(&e.message, "message")?;
                if e.kind.is_empty() || e.kind.len() > 64 {
                    return Err(invalid(
                        "invalid_event_kind",
                        "kind must be 1-64 bytes",
                        "kind",
                    ));
                }
                Ok(NewRunEvent {
                    kind: e.kind,
                    message: e.message,
                    stream: e.stream,
                })
            })
            .collect::<ServiceResult<Vec<_>>>()?;
        Ok(retrying(|| self.store.append_run_events(run_id, &events, self.now())).await?)
    }

    pub async fn recover_gaps(&self, connection_id: &str, body: RecoverGaps) -> ServiceResult<u64> {
        self.connection(connection_id).await?;
        Ok(retrying(|| {
            self.store
                .recover_gaps(connection_id, body.stream.as_deref(), self.now())
        })
        .await?)
    }

    pub async fn open_attention(
        &self,
        connection_id: &str,
        body: OpenAttention,
    ) -> ServiceResult<AttentionRow> {
        if let Some(message) = &body.message {
            check_text(message, "message")?;
        }
        Ok(retrying(|| {
            self.store.open_attention(
                connection_id,
                body.kind,
                body.message.as_deref(),
                self.now(),
            )
        })
        .await?)
    }

    pub async fn resolve_attention(&self, attention_id: &str) -> ServiceResult<AttentionRow> {
        Ok(retrying(|| self.store.resolve_attention(attention_id, self.now())).await?)
    }

    /// All-or-nothing ingest of one batch; the streams must be the connector's.
    pub async fn ingest_records(
        &self,
        connection_id: &str,
        records: Vec<RecordInput>,
    ) -> ServiceResult<IngestCounts> {
        if records.len() > self.settings.max_batch_records {
            return Err(ServiceError::TooLarge {
                message: format!(
                    "a batch holds at most {} records; split it",
                    self.settings.max_batch_records
                ),
            });
        }
        let connection = self.connection(connection_id).await?;
        let manifest = self.manifest_of(&connection).await?;
        for (i, record) in records.iter().enumerate() {
            if !manifest.streams.iter().any(|s| s.name == record.stream) {
                return Err(invalid(
                    "unknown_stream",
                    format!(
                        "record {i}: connector {} has no stream {:?}",
                        manifest.connector_id, record.stream
                    ),
                    "stream",
                ));
            }
            if record.record_key.is_empty() || record.record_key.len() > MAX_KEY_LEN {
                return Err(invalid(
                    "invalid_record_key",
                    format!("record {i}: record_key must be 1-{MAX_KEY_LEN} bytes"),
                    "record_key",
                ));
            }
        }
        Ok(retrying(|| {
            self.store
                .ingest_records(connection_id, &records, self.now())
        })
        .await?)
    }

    pub async fn delete_records(
        &self,
        connection_id: &str,
        body: DeleteRecords,
    ) -> ServiceResult<u64> {
        let connection = self.connection(connection_id).await?;
        let manifest = self.manifest_of(&connection).await?;
        if !manifest.streams.iter().any(|s| s.name == body.stream) {
            return Err(invalid(
                "unknown_stream",
                format!(
                    "connector {} has no stream {:?}",
                    manifest.connector_id, body.stream
                ),
                "stream",
            ));
        }
        if body
            .record_keys
            .as_ref()
            .is_some_and(|k| k.len() > self.settings.max_batch_records)
        {
            return Err(ServiceError::TooLarge {
                message: format!(
                    "at most {} keys per request",
                    self.settings.max_batch_records
                ),
            });
        }
        let deletion = RecordDeletion {
            stream: body.stream,
            record_keys: body.record_keys,
        };
        Ok(retrying(|| {
            self.store
                .delete_records(connection_id, &deletion, self.now())
        })
        .await?)
    }

    /// Rebuilds the whole read model from the source tables.
    pub async fn rebuild_read_model(
        &self,
        batch_size: u32,
        progress: console_storage::Progress<'_>,
    ) -> ServiceResult<RebuildReport> {
        Ok(retrying(|| {
            self.store
                .rebuild_evidence(batch_size.clamp(1, 10_000), self.now(), progress)
        })
        .await?)
    }
}

impl Console {
    /// An external collection runtime says it is alive.
    pub async fn report_runtime(&self, label: &str) -> ServiceResult<()> {
        let label = label.trim();
        if label.is_empty() || label.len() > 100 || label.chars().any(char::is_control) {
            return Err(invalid(
                "invalid_label",
                "label must be 1-100 printable characters",
                "label",
            ));
        }
        Ok(retrying(|| self.store.runtime_heartbeat(label, self.now())).await?)
    }
}
