//! Server functions: the console's reads, through the same projector as the JSON routes.
//!
//! Every server function checks the owner session itself (the axum gate in front of them is
//! a second line, not the only one) and reports failures as [`ConsoleError`], which the
//! pages render in plain words.

use console_domain::summary::SummaryItem;
use console_domain::synthesis::HealthState;
use leptos::prelude::*;
use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};
use std::fmt;

/// What a server function can report. Serialized to the browser as JSON.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum ConsoleError {
    /// No owner session (it expired, or the owner logged out in another tab).
    OwnerSessionRequired,
    /// The thing asked for does not exist.
    NotFound { entity: String, id: String },
    /// The request was refused as invalid.
    Invalid { message: String },
    /// The server could not answer (storage down, internal error). Details are in its log.
    Unavailable,
    /// Transport or encoding trouble between the browser and the server.
    Transport { message: String },
}

impl fmt::Display for ConsoleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConsoleError::OwnerSessionRequired => {
                write!(f, "Your session has ended. Log in again.")
            }
            ConsoleError::NotFound { entity, id } => write!(f, "No {entity} called “{id}”."),
            ConsoleError::Invalid { message } => write!(f, "{message}"),
            ConsoleError::Unavailable => {
                write!(
                    f,
                    "The console could not read its data just now. Try again in a moment."
                )
            }
            ConsoleError::Transport { message } => {
                write!(f, "Could not reach the console server: {message}")
            }
        }
    }
}

impl std::error::Error for ConsoleError {}

impl FromServerFnError for ConsoleError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        ConsoleError::Transport {
            message: value.to_string(),
        }
    }
}

#[cfg(feature = "ssr")]
impl From<console_service::ServiceError> for ConsoleError {
    fn from(error: console_service::ServiceError) -> Self {
        use console_service::ServiceError as E;
        match error {
            E::NotFound { entity, id } => ConsoleError::NotFound {
                entity: entity.to_owned(),
                id,
            },
            E::Malformed { message, .. }
            | E::Invalid { message, .. }
            | E::Conflict { message, .. }
            | E::TooLarge { message } => ConsoleError::Invalid { message },
            E::Unauthenticated => ConsoleError::OwnerSessionRequired,
            E::Internal(detail) => {
                tracing::error!(error = %detail, "console server function failed");
                ConsoleError::Unavailable
            }
        }
    }
}

/// Connections per page of the list, unless its URL asks for another size.
pub const PAGE_SIZE: u32 = 50;
/// The most connections one page of the list shows (`?limit=` is clamped to it).
pub const MAX_PAGE_SIZE: u32 = 200;

/// The collection runtime as the list envelope reports it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Runtime {
    pub ok: bool,
    pub label: String,
    pub message: String,
}

/// One page of the connection list, as the console shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionList {
    /// One summary item per connection, built by the shared projector.
    pub items: Vec<SummaryItem>,
    pub has_more: bool,
    pub next_cursor: Option<String>,
    pub runtime: Runtime,
    /// The server's clock when the page was read: relative times are computed against it,
    /// so the server render and the hydrated page agree.
    pub now: chrono::DateTime<chrono::Utc>,
}

/// What the list page asks for, from its URL query.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListQuery {
    /// A health state (`healthy`, `needs_attention`, ...), or none for every connection.
    pub health: Option<String>,
    /// List the connections that need the owner first.
    pub needs_you_first: bool,
    /// The opaque cursor of the page to show.
    pub cursor: Option<String>,
    /// Connections per page; [`PAGE_SIZE`] when absent.
    pub limit: Option<u32>,
}

impl ListQuery {
    /// The page size this query shows: its `limit`, kept within 1 ..= [`MAX_PAGE_SIZE`].
    pub fn page_size(&self) -> u32 {
        self.limit.unwrap_or(PAGE_SIZE).clamp(1, MAX_PAGE_SIZE)
    }
}

/// Parses a health state as the JSON routes spell it.
pub fn parse_health(text: &str) -> Option<HealthState> {
    serde_json::from_value(serde_json::Value::String(text.to_owned())).ok()
}

/// One page of connections, filtered and ordered as the list page's URL asks.
#[server(prefix = "/api", endpoint = "list_connections")]
pub async fn list_connections(query: ListQuery) -> Result<ConnectionList, ConsoleError> {
    let console = server::owner_console().await?;
    let health = match query.health.as_deref().filter(|h| !h.is_empty()) {
        None => None,
        Some(text) => Some(parse_health(text).ok_or_else(|| ConsoleError::Invalid {
            message: format!("“{text}” is not a health state."),
        })?),
    };
    let request = console_service::projector::ListRequest {
        limit: Some(query.page_size()),
        cursor: query.cursor.filter(|c| !c.is_empty()),
        status: None,
        health,
        needs_you_first: query.needs_you_first,
    };
    let page = console.list(&request).await?;
    Ok(ConnectionList {
        items: page.data,
        has_more: page.has_more,
        next_cursor: page.next_cursor,
        runtime: Runtime {
            ok: page.runtime.ok,
            label: page.runtime.label,
            message: page.runtime.message,
        },
        now: console.now(),
    })
}

/// Starts a run of one connection now, as the owner ("Refresh now", "Retry now"). A plain
/// form post before hydration (the server redirects back to the list); in place after.
#[server(prefix = "/api", endpoint = "start_run")]
pub async fn start_run(id: String) -> Result<String, ConsoleError> {
    let console = server::owner_console().await?;
    let run = console
        .start_run(&id, console_service::RunTrigger::Owner)
        .await?;
    Ok(run.run_id)
}

/// One connection's summary item (the connection page's header).
#[server(prefix = "/api", endpoint = "connection_summary")]
pub async fn connection_summary(id: String) -> Result<SummaryItem, ConsoleError> {
    let console = server::owner_console().await?;
    Ok(console.summary(&id).await?)
}

/// One run as the connection page lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunLine {
    pub run_id: String,
    pub status: console_domain::model::RunStatus,
    pub started_at: chrono::DateTime<chrono::Utc>,
    pub finished_at: Option<chrono::DateTime<chrono::Utc>>,
    pub failure_reason: Option<String>,
    pub records_written: i64,
    pub gap_count: usize,
}

/// One event of a run's timeline.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventLine {
    pub at: chrono::DateTime<chrono::Utc>,
    pub kind: String,
    pub message: String,
    pub stream: Option<String>,
}

/// Everything the connection page shows, from `Console::detail` and `Console::diagnostics`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionView {
    pub summary: SummaryItem,
    pub now: chrono::DateTime<chrono::Utc>,
    pub runs: Vec<RunLine>,
    /// The most recent failed run among those shown, with its events.
    pub failing_run: Option<(RunLine, Vec<EventLine>)>,
    /// Why the verdict is what it is, in plain words (the rule that fired).
    pub why: String,
    /// Attention items, open and resolved.
    pub attention: Vec<AttentionLine>,
}

/// Something the connector asked the owner to do.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttentionLine {
    pub attention_id: String,
    /// `reauth` or `add_info`.
    pub kind: String,
    pub message: Option<String>,
    pub opened_at: chrono::DateTime<chrono::Utc>,
    pub resolved_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// Runs the connection page shows.
pub const RUNS_SHOWN: u32 = 20;

/// One connection's page: summary, recent runs, the failing run's events, and diagnostics.
#[server(prefix = "/api", endpoint = "load_connection")]
pub async fn load_connection(id: String) -> Result<ConnectionView, ConsoleError> {
    let console = server::owner_console().await?;
    let detail = console.detail(&id, RUNS_SHOWN, None).await?;
    let diagnostics = console.diagnostics(&id).await?;
    let line = |run: &console_service::RunRow| RunLine {
        run_id: run.run_id.clone(),
        status: run.status,
        started_at: run.started_at,
        finished_at: run.finished_at,
        failure_reason: run.failure_reason.as_ref().map(|r| r.as_str().to_owned()),
        records_written: run.records_written,
        gap_count: run.gaps.len(),
    };
    Ok(ConnectionView {
        now: diagnostics.now,
        runs: detail.runs.iter().map(line).collect(),
        failing_run: detail.failing_run.as_ref().map(|f| {
            (
                line(&f.run),
                f.events
                    .iter()
                    .map(|e| EventLine {
                        at: e.at,
                        kind: e.kind.clone(),
                        message: e.message.clone(),
                        stream: e.stream.clone(),
                    })
                    .collect(),
            )
        }),
        why: diagnostics.rule.explanation,
        attention: detail
            .attention
            .iter()
            .map(|a| AttentionLine {
                attention_id: a.attention_id.clone(),
                kind: a.kind.as_str().to_owned(),
                message: a.message.clone(),
                opened_at: a.opened_at,
                resolved_at: a.resolved_at,
            })
            .collect(),
        summary: detail.summary,
    })
}

/// Changes a connection's lifecycle (`pause`, `resume`, `revoke`, `reactivate`, `activate`),
/// or turns its schedule back on (`enable_schedule`). Revoking needs `confirm=yes`.
#[server(prefix = "/api", endpoint = "change_lifecycle")]
pub async fn change_lifecycle(
    id: String,
    action: String,
    confirm: Option<String>,
) -> Result<(), ConsoleError> {
    let console = server::owner_console().await?;
    if action == "enable_schedule" {
        let schedule =
            console
                .summary(&id)
                .await?
                .schedule
                .ok_or_else(|| ConsoleError::Invalid {
                    message: "This connection has no schedule to turn on.".to_owned(),
                })?;
        let body = console_service::commands::PutSchedule {
            interval_seconds: schedule.interval_seconds,
            jitter_seconds: schedule.jitter_seconds,
            enabled: true,
        };
        console.put_schedule(&id, body).await?;
        return Ok(());
    }
    let lifecycle: console_domain::model::LifecycleAction =
        serde_json::from_value(serde_json::Value::String(action.clone())).map_err(|_| {
            ConsoleError::Invalid {
                message: format!("“{action}” is not a lifecycle action."),
            }
        })?;
    if lifecycle == console_domain::model::LifecycleAction::Revoke
        && confirm.as_deref() != Some("yes")
    {
        return Err(ConsoleError::Invalid {
            message: "Tick the confirmation box to revoke this connection.".to_owned(),
        });
    }
    console.change_lifecycle(&id, lifecycle).await?;
    Ok(())
}

/// Sets (or, when empty, clears) the owner's label of a connection.
#[server(prefix = "/api", endpoint = "rename_connection")]
pub async fn rename_connection(id: String, display_name: String) -> Result<(), ConsoleError> {
    let console = server::owner_console().await?;
    let body = console_service::commands::RenameConnection {
        display_name: Some(display_name).filter(|n| !n.trim().is_empty()),
    };
    console.rename_connection(&id, body).await?;
    Ok(())
}

/// Sets a connection's schedule from the editor's form (minutes; `enabled` is a checkbox).
#[server(prefix = "/api", endpoint = "save_schedule")]
pub async fn save_schedule(
    id: String,
    interval_minutes: i64,
    jitter_minutes: i64,
    enabled: Option<String>,
) -> Result<(), ConsoleError> {
    let console = server::owner_console().await?;
    let body = console_service::commands::PutSchedule {
        interval_seconds: interval_minutes.saturating_mul(60),
        jitter_seconds: jitter_minutes.saturating_mul(60),
        enabled: enabled.is_some(),
    };
    console.put_schedule(&id, body).await?;
    Ok(())
}

/// Marks an attention item as done.
#[server(prefix = "/api", endpoint = "resolve_attention")]
pub async fn resolve_attention(attention_id: String) -> Result<(), ConsoleError> {
    let console = server::owner_console().await?;
    console.resolve_attention(&attention_id).await?;
    Ok(())
}

#[cfg(feature = "ssr")]
mod server {
    use super::ConsoleError;
    use console_service::Console;
    use leptos::prelude::*;

    /// The shared `Console`, once the request is known to come from the owner.
    pub async fn owner_console() -> Result<Console, ConsoleError> {
        let session = leptos_axum::extract::<tower_sessions::Session>()
            .await
            .map_err(|e| {
                tracing::error!(error = %e, "no session layer in front of a server function");
                ConsoleError::Unavailable
            })?;
        if !crate::session::is_owner(&session).await {
            if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
                response.set_status(axum::http::StatusCode::UNAUTHORIZED);
            }
            return Err(ConsoleError::OwnerSessionRequired);
        }
        use_context::<Console>().ok_or_else(|| {
            tracing::error!("the server did not provide the Console to server functions");
            ConsoleError::Unavailable
        })
    }
}
