use crate::api::StartRun;
use crate::components::{pill_annotation, VerdictPill};
use chrono::{DateTime, Utc};
use console_domain::model::{RunStatus, Schedule};
use console_domain::summary::SummaryItem;
use console_domain::synthesis::{ActionKind, Audience, Pill, RequiredAction};
use leptos::form::ActionForm;
use leptos::prelude::*;

/// Everything one row of the list shows, as a value. The live list keys its rows by it, so
/// a row is rebuilt only when something it shows changed (and a control the owner is using
/// keeps its focus while the rest of the list refreshes).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RowView {
    pub connection_id: String,
    pub href: String,
    pub name: String,
    pub connector: String,
    pub pill: Pill,
    pub annotation: Option<String>,
    pub next_action: Option<RequiredAction>,
    pub counts: String,
    /// The last run's status and when it finished (or started), with that time relative
    /// to the server's clock.
    pub last_run: Option<(&'static str, DateTime<Utc>, String)>,
    pub schedule: String,
}

impl RowView {
    /// The row of `item`, with relative times against `now` (the server's clock).
    pub fn of(item: &SummaryItem, now: DateTime<Utc>) -> Self {
        RowView {
            connection_id: item.connection_id.clone(),
            href: format!("/connections/{}", encode_path_segment(&item.connection_id)),
            name: item.name().to_owned(),
            connector: item.connector_display_name.clone(),
            pill: item.rendered_verdict.pill.clone(),
            annotation: pill_annotation(&item.rendered_verdict),
            next_action: item.next_action.clone(),
            counts: counts_text(item.total_records, item.streams.len()),
            last_run: item.last_run.as_ref().map(|run| {
                let at = run.finished_at.unwrap_or(run.started_at);
                (run_status_text(run.status), at, relative_time(now, at))
            }),
            schedule: schedule_text(item.schedule.as_ref()),
        }
    }
}

/// One connection in the list: name and connector, verdict with its freshness annotation, the
/// next action, counts, the last run and the schedule.
#[component]
pub fn ConnectionRow(
    row: RowView,
    /// Starts a run (the "Refresh now" / "Retry now" buttons).
    start: ServerAction<StartRun>,
) -> impl IntoView {
    let RowView {
        connection_id,
        href,
        name,
        connector,
        pill,
        annotation,
        next_action,
        counts,
        last_run,
        schedule,
    } = row;
    view! {
        <li class="connection-row" data-connection-id=connection_id.clone()>
            <div class="connection-identity">
                <a class="connection-name" href=href.clone() data-testid="connection-name">
                    {name}
                </a>
                <span class="connector" data-testid="connector">
                    {connector}
                </span>
            </div>
            <div class="connection-verdict">
                <VerdictPill pill annotation />
            </div>
            <div class="connection-action">
                {next_action
                    .map(|action| {
                        view! { <NextAction action id=connection_id.clone() href start /> }
                    })}
            </div>
            <div class="connection-facts muted small">
                <span data-testid="counts">{counts}</span>
                <span data-testid="last-run">
                    {match last_run {
                        Some((status, at, relative)) => {
                            view! {
                                "Last run: " {status} " "
                                <time datetime=at.to_rfc3339() title=exact_time(at)>
                                    {relative}
                                </time>
                            }
                                .into_any()
                        }
                        None => view! { "No runs yet" }.into_any(),
                    }}
                </span>
                <span data-testid="schedule">{schedule}</span>
            </div>
        </li>
    }
    // Erased: the list nests this row inside `For` and `Show`, and the full type gets too
    // deep for the hydrate build.
    .into_any()
}

/// The next action: a button for the owner's "start a run" actions, a link to the
/// connection page for other owner actions, plain text for everyone else's.
#[component]
pub fn NextAction(
    action: RequiredAction,
    id: String,
    href: String,
    start: ServerAction<StartRun>,
) -> impl IntoView {
    let kind = kind_name(action.kind);
    match (action.audience, action.kind) {
        (Audience::Owner, ActionKind::RefreshNow | ActionKind::RetryGap) => view! {
            <ActionForm action=start attr:class="inline-form">
                <input type="hidden" name="id" value=id />
                <button
                    type="submit"
                    class="button button-primary"
                    data-testid="next-action"
                    data-action-kind=kind
                >
                    {action.cta}
                </button>
            </ActionForm>
        }
        .into_any(),
        (Audience::Owner, _) => view! {
            <a href=href data-testid="next-action" data-action-kind=kind>
                {format!("{} →", action.cta)}
            </a>
        }
        .into_any(),
        _ => view! {
            <span class="muted" data-testid="next-action" data-action-kind=kind>
                {action.cta}
            </span>
        }
        .into_any(),
    }
}

/// The action kind as the JSON routes spell it.
fn kind_name(kind: ActionKind) -> String {
    serde_json::to_value(kind)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

fn counts_text(records: i64, streams: usize) -> String {
    let records = if records == 1 {
        "1 record".to_owned()
    } else {
        format!("{records} records")
    };
    let streams = if streams == 1 {
        "1 stream".to_owned()
    } else {
        format!("{streams} streams")
    };
    format!("{records} · {streams}")
}

pub(crate) fn run_status_text(status: RunStatus) -> &'static str {
    match status {
        RunStatus::Queued => "queued",
        RunStatus::Running => "running",
        RunStatus::Succeeded => "succeeded",
        RunStatus::SucceededWithGaps => "succeeded with gaps",
        RunStatus::Failed => "failed",
        RunStatus::Cancelled => "cancelled",
    }
}

/// "Manual", "Schedule paused", or "Every 6 h".
pub(crate) fn schedule_text(schedule: Option<&Schedule>) -> String {
    match schedule {
        None => "Manual refresh".to_owned(),
        Some(s) if !s.enabled => "Schedule paused".to_owned(),
        Some(s) => format!("Every {}", duration_text(s.interval_seconds)),
    }
}

/// A duration in its largest whole unit ("90 s" reads as "1 min").
pub(crate) fn duration_text(seconds: i64) -> String {
    let s = seconds.max(0);
    if s < 60 {
        format!("{s} s")
    } else if s < 3600 {
        format!("{} min", s / 60)
    } else if s < 86_400 {
        format!("{} h", s / 3600)
    } else if s / 86_400 == 1 {
        "1 day".to_owned()
    } else {
        format!("{} days", s / 86_400)
    }
}

/// "just now", "5 min ago", "in 2 h".
pub(crate) fn relative_time(now: DateTime<Utc>, at: DateTime<Utc>) -> String {
    let delta = (now - at).num_seconds();
    if delta.abs() < 60 {
        "just now".to_owned()
    } else if delta > 0 {
        format!("{} ago", duration_text(delta))
    } else {
        format!("in {}", duration_text(-delta))
    }
}

/// The exact time, for a `title`.
pub(crate) fn exact_time(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// Percent-encodes everything but unreserved characters, so any id makes a safe link.
pub(crate) fn encode_path_segment(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for byte in segment.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn ids_become_single_safe_path_segments() {
        assert_eq!(encode_path_segment("conn_01-a.b~c"), "conn_01-a.b~c");
        assert_eq!(encode_path_segment("a/b c"), "a%2Fb%20c");
        assert_eq!(encode_path_segment("é"), "%C3%A9");
    }

    #[test]
    fn times_and_counts_read_as_words() {
        let now = Utc.with_ymd_and_hms(2026, 1, 10, 12, 0, 0).unwrap();
        assert_eq!(relative_time(now, now), "just now");
        assert_eq!(
            relative_time(now, now - chrono::Duration::minutes(5)),
            "5 min ago"
        );
        assert_eq!(
            relative_time(now, now - chrono::Duration::days(3)),
            "3 days ago"
        );
        assert_eq!(
            relative_time(now, now + chrono::Duration::hours(2)),
            "in 2 h"
        );
        assert_eq!(counts_text(1, 1), "1 record · 1 stream");
        assert_eq!(counts_text(1200, 3), "1200 records · 3 streams");
        assert_eq!(schedule_text(None), "Manual refresh");
        assert_eq!(kind_name(ActionKind::RefreshNow), "refresh_now");
    }
}
