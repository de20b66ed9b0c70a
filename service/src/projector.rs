//! The one per-connection projector. The unscoped list, the scoped list entry, the detail
//! route and the console's server functions all build summary items here, from the same
//! evidence through the same synthesis, so they cannot disagree.

use crate::cursor::Cursor;
use crate::error::{ServiceError, ServiceResult};
use crate::Console;
use console_domain::evidence::Evidence;
use console_domain::liveness::{Liveness, OpenRun, RunLiveness, RuntimeLiveness};
use console_domain::model::ConnectionStatus;
use console_domain::selector;
use console_domain::summary::SummaryItem;
use console_domain::synthesis::HealthState;
use console_domain::Instant;
use console_storage::{EvidencePage, ListOrder, ListQuery};
use futures::stream::BoxStream;
use futures::StreamExt as _;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// The list envelope's `runtime` object.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RuntimeStatus {
    pub ok: bool,
    pub label: String,
    pub message: String,
    pub last_heartbeat_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// A list request as the edges parse it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ListRequest {
    /// `None`: every connection.
    pub limit: Option<u32>,
    pub cursor: Option<String>,
    pub status: Option<ConnectionStatus>,
    pub health: Option<HealthState>,
    pub needs_you_first: bool,
}

/// One page (or all) of summary items.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListPage {
    pub data: Vec<SummaryItem>,
    pub runtime: RuntimeStatus,
    pub has_more: bool,
    pub next_cursor: Option<String>,
}

/// The unpaged list as a stream of summary items (see [`Console::list_stream`]).
pub struct ListStream {
    /// The envelope's runtime object, read before the first item.
    pub runtime: RuntimeStatus,
    pub items: BoxStream<'static, ServiceResult<SummaryItem>>,
}

/// Everything synthesis needs to know about the world outside the evidence, read once per
/// request (one statement for the runtime, one for the open runs of the page).
pub struct Observation {
    pub now: Instant,
    pub runtime: RuntimeLiveness,
    /// Open runs by connection: one lookup per row, however many rows and runs.
    open_runs: HashMap<String, OpenRun>,
    lease_seconds: i64,
}

impl Observation {
    pub fn liveness_for(&self, connection_id: &str) -> Liveness {
        let run = self.open_runs.get(connection_id);
        Liveness {
            runtime_up: self.runtime.up,
            run: RunLiveness::classify(run, self.now, self.lease_seconds),
        }
    }

    pub fn project(&self, evidence: Evidence) -> SummaryItem {
        let liveness = self.liveness_for(&evidence.connection_id);
        SummaryItem::project(evidence, self.now, &liveness)
    }
}

impl Console {
    /// A page's observation (its heartbeat taken out of it).
    pub(crate) fn observe(&self, page: &mut EvidencePage, now: Instant) -> Observation {
        self.observation(page.runtime_heartbeat.take(), &page.open_runs, now)
    }

    /// What a read observed besides its rows: the runtime's liveness from its latest
    /// heartbeat (label and time; `None` if it never beat) and the rows' open runs, both
    /// read by storage with the rows.
    fn observation(
        &self,
        heartbeat: Option<(String, Instant)>,
        open_runs: &[OpenRun],
        now: Instant,
    ) -> Observation {
        let (label, at) = match heartbeat {
            Some((label, at)) => (label, Some(at)),
            None => ("collection runtime".to_owned(), None),
        };
        let runtime = RuntimeLiveness::from_heartbeat(&label, at, now, self.settings.lease_seconds);
        Observation {
            now,
            runtime,
            open_runs: open_runs
                .iter()
                .map(|r| (r.connection_id.clone(), r.clone()))
                .collect(),
            lease_seconds: self.settings.lease_seconds,
        }
    }

    /// The unpaged `GET /_ref/connectors` as a stream: the same validation, storage query
    /// and per-connection projection as [`Console::list`], but items are projected one by
    /// one while storage streams the rows, so memory does not grow with the fleet. Paged
    /// requests (`limit` or `cursor`) go through [`Console::list`].
    pub async fn list_stream(&self, request: &ListRequest) -> ServiceResult<ListStream> {
        if request.limit.is_some() || request.cursor.is_some() {
            return Err(ServiceError::invalid(
                "paged_stream",
                "a streamed list has no limit or cursor",
                Some("limit"),
            ));
        }
        let now = self.now();
        let query = ListQuery {
            limit: None,
            after: None,
            status: request.status,
            order: if request.needs_you_first {
                ListOrder::NeedsYouFirst
            } else {
                ListOrder::Stable
            },
        };
        let mut stream = self.store.stream_evidence(&query, now).await?;
        let observation = self.observation(stream.runtime_heartbeat.take(), &stream.open_runs, now);
        let runtime = runtime_status(&observation.runtime);
        let health = request.health;
        let items = stream
            .rows
            .filter_map(move |row| {
                let item = match row {
                    Ok(evidence) => {
                        let item = observation.project(evidence);
                        health
                            .is_none_or(|h| item.connection_health.state == h)
                            .then_some(Ok(item))
                    }
                    Err(e) => Some(Err(ServiceError::from(e))),
                };
                std::future::ready(item)
            })
            .boxed();
        Ok(ListStream { runtime, items })
    }

    /// `GET /_ref/connectors` without a selector, and the console list.
    pub async fn list(&self, request: &ListRequest) -> ServiceResult<ListPage> {
        let now = self.now();
        let limit = match request.limit {
            Some(0) => return Err(limit_error(self.settings.max_page)),
            Some(n) if n > self.settings.max_page => {
                return Err(limit_error(self.settings.max_page))
            }
            other => other,
        };
        let after = match &request.cursor {
            Some(text) => Some(Cursor::decode(&self.cursor_key, text)?.into_position(request)?),
            None => None,
        };
        let query = ListQuery {
            limit,
            after,
            status: request.status,
            order: if request.needs_you_first {
                ListOrder::NeedsYouFirst
            } else {
                ListOrder::Stable
            },
        };
        let mut page = self.store.read_evidence_page(&query, now).await?;
        let observation = self.observe(&mut page, now);
        let data = page
            .rows
            .into_iter()
            .map(|e| observation.project(e))
            .filter(|item| {
                request
                    .health
                    .is_none_or(|h| item.connection_health.state == h)
            })
            .collect();
        let next_cursor = page
            .next
            .map(|position| Cursor::new(position, request).encode(&self.cursor_key));
        Ok(ListPage {
            data,
            runtime: runtime_status(&observation.runtime),
            has_more: next_cursor.is_some(),
            next_cursor,
        })
    }

    /// `GET /_ref/connectors?connection=SEL`: zero or one item, never a guess, never a write.
    pub async fn scoped(&self, selector_text: &str) -> ServiceResult<ListPage> {
        let now = self.now();
        let resolved =
            if selector_text.is_empty() || selector_text.len() > selector::MAX_SELECTOR_LEN {
                None
            } else {
                selector::resolve(self.store.selector_candidates(selector_text).await?)
            };
        // No connection: an empty page, still with the runtime's liveness.
        let ids: Vec<String> = resolved.into_iter().collect();
        let mut page = self.store.read_evidence(&ids, now).await?;
        let observation = self.observe(&mut page, now);
        Ok(ListPage {
            data: page
                .rows
                .into_iter()
                .map(|e| observation.project(e))
                .collect(),
            runtime: runtime_status(&observation.runtime),
            has_more: false,
            next_cursor: None,
        })
    }

    /// The summary item of one connection (detail header, console page, write responses).
    pub async fn summary(&self, connection_id: &str) -> ServiceResult<SummaryItem> {
        let now = self.now();
        let page = self
            .store
            .read_evidence(&[connection_id.to_owned()], now)
            .await?;
        self.project_one(page, connection_id, now)
    }

    /// The summary item of a page of one connection (not found when it is empty).
    pub(crate) fn project_one(
        &self,
        mut page: EvidencePage,
        connection_id: &str,
        now: Instant,
    ) -> ServiceResult<SummaryItem> {
        let observation = self.observe(&mut page, now);
        page.rows
            .into_iter()
            .next()
            .map(|e| observation.project(e))
            .ok_or_else(|| ServiceError::NotFound {
                entity: "connection",
                id: connection_id.to_owned(),
            })
    }
}

fn limit_error(max: u32) -> ServiceError {
    ServiceError::invalid(
        "invalid_limit",
        format!("limit must be between 1 and {max}"),
        Some("limit"),
    )
}

/// The envelope's runtime object: one banner for the whole list, not an alarm per row.
pub fn runtime_status(runtime: &RuntimeLiveness) -> RuntimeStatus {
    RuntimeStatus {
        ok: runtime.up,
        label: runtime.label.clone(),
        message: if runtime.up {
            "Collection runtime is running.".to_owned()
        } else {
            match runtime.last_heartbeat_at {
                Some(_) => "Collection runtime is not running: nothing is being collected. \
                            Verdicts show the last evidence; no alarms until it is back."
                    .to_owned(),
                None => {
                    "No collection runtime has reported yet: nothing is being collected.".to_owned()
                }
            }
        },
        last_heartbeat_at: runtime.last_heartbeat_at,
    }
}
