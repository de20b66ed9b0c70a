use crate::api::{
    load_connection, ChangeLifecycle, ConnectionView, ConsoleError, EventLine, RenameConnection,
    RunLine, SaveSchedule, StartRun,
};
use crate::api::{AttentionLine, ResolveAttention};
use crate::components::{
    duration_text, encode_path_segment, exact_time, pill_annotation, relative_time,
    run_status_text, ErrorNotice, Frame, NextAction, RunSparkline, VerdictPill,
};
use chrono::{DateTime, Utc};
use console_domain::model::ConnectionStatus;
use console_domain::summary::SummaryItem;
use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use crate::pages::NotFound;

/// A time as the page shows it: relative, with the exact time on hover.
fn when(now: DateTime<Utc>, at: DateTime<Utc>) -> impl IntoView {
    view! {
        <time datetime=at.to_rfc3339() title=exact_time(at)>
            {relative_time(now, at)}
        </time>
    }
}

/// `/connections/{id}`: a deep link to one connection: its verdict and next action, why
/// the verdict is what it is, its streams, and its recent runs with the failing run's
/// events. Unknown id: 404.
#[component]
pub fn ConnectionPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let start = ServerAction::<StartRun>::new();
    let lifecycle = ServerAction::<ChangeLifecycle>::new();
    let rename = ServerAction::<RenameConnection>::new();
    let schedule = ServerAction::<SaveSchedule>::new();
    let resolve = ServerAction::<ResolveAttention>::new();
    let view_data = Resource::new(
        move || {
            (
                id(),
                start.version().get()
                    + lifecycle.version().get()
                    + rename.version().get()
                    + schedule.version().get()
                    + resolve.version().get(),
            )
        },
        |(id, _)| load_connection(id),
    );
    let error = move || {
        start
            .value()
            .get()
            .and_then(Result::err)
            .or_else(|| lifecycle.value().get().and_then(Result::err))
            .or_else(|| rename.value().get().and_then(Result::err))
            .or_else(|| schedule.value().get().and_then(Result::err))
            .or_else(|| resolve.value().get().and_then(Result::err))
    };

    view! {
        <Frame signed_in=true>
            <p class="breadcrumb">
                <a href="/">"← All connections"</a>
            </p>
            {move || error().map(|error| view! { <ErrorNotice error /> })}
            <Transition fallback=|| view! { <p class="muted">"Loading connection…"</p> }>
                {move || Suspend::new(async move {
                    match view_data.await {
                        Ok(data) => {
                            view! { <ConnectionDetail data start lifecycle rename schedule resolve /> }.into_any()
                        }
                        Err(ConsoleError::NotFound { id, .. }) => {
                            view! { <NotFound what=format!("connection “{id}”") /> }.into_any()
                        }
                        Err(error) => view! { <ErrorNotice error /> }.into_any(),
                    }
                })}
            </Transition>
        </Frame>
    }
}

#[component]
fn ConnectionDetail(
    data: ConnectionView,
    start: ServerAction<StartRun>,
    lifecycle: ServerAction<ChangeLifecycle>,
    rename: ServerAction<RenameConnection>,
    schedule: ServerAction<SaveSchedule>,
    resolve: ServerAction<ResolveAttention>,
) -> impl IntoView {
    let ConnectionView {
        summary: item,
        now,
        runs,
        failing_run,
        why,
        attention,
    } = data;
    let name = item.name().to_owned();
    let href = format!("/connections/{}", encode_path_segment(&item.connection_id));
    let streams = item.streams.clone();
    let manage = view! { <Manage item=item.clone() lifecycle rename /> };
    let editor = view! { <ScheduleEditor item=item.clone() schedule /> };
    view! {
        <Title text=name.clone() />
        <article class="connection-detail card" data-connection-id=item.connection_id.clone()>
            <h1 data-testid="connection-title">{name}</h1>
            <p class="connector">{item.connector_display_name.clone()}</p>
            <VerdictPill
                pill=item.rendered_verdict.pill.clone()
                annotation=pill_annotation(&item.rendered_verdict)
            />
            <p data-testid="forward-statement">{item.rendered_verdict.forward_statement.clone()}</p>
            {item
                .next_action
                .clone()
                .map(|action| {
                    view! {
                        <div class="next-action">
                            <strong>"Next: "</strong>
                            <NextAction action id=item.connection_id.clone() href start />
                        </div>
                    }
                })}
        </article>

        <section class="card" aria-labelledby="why-heading">
            <h2 id="why-heading">"Why this verdict"</h2>
            <p data-testid="why">{why}</p>
        </section>

        <section class="card" aria-labelledby="streams-heading">
            <h2 id="streams-heading">"Streams"</h2>
            // Focusable, so keyboard users can scroll a table wider than a narrow screen.
            <div class="table-wrap" tabindex="0" role="region" aria-label="Streams table">
                <table data-testid="streams">
                    <thead>
                        <tr>
                            <th scope="col">"Stream"</th>
                            <th scope="col">"Records"</th>
                            <th scope="col">"Last updated"</th>
                        </tr>
                    </thead>
                    <tbody>
                        {streams
                            .into_iter()
                            .map(|s| {
                                view! {
                                    <tr>
                                        <th scope="row">
                                            {s.name}
                                            {(!s.required).then_some(" (optional)")}
                                        </th>
                                        <td>{s.record_count}</td>
                                        <td>
                                            {match s.last_updated_at {
                                                Some(at) => when(now, at).into_any(),
                                                None => "never".into_any(),
                                            }}
                                        </td>
                                    </tr>
                                }
                            })
                            .collect_view()}
                    </tbody>
                </table>
            </div>
        </section>

        {failing_run.map(|(run, events)| view! { <FailingRun run events now /> })}

        {(!attention.is_empty()).then(|| view! { <Attention items=attention now resolve /> })}
        {manage}
        {editor}

        <section class="card" aria-labelledby="runs-heading">
            <h2 id="runs-heading">"Recent runs"</h2>
            {if runs.is_empty() {
                view! { <p class="muted">"No runs yet."</p> }.into_any()
            } else {
                view! {
                    <RunSparkline runs=runs.clone() />
                    <RunTable runs now />
                }
                    .into_any()
            }}
        </section>
    }
}

fn duration(run: &RunLine) -> String {
    match run.finished_at {
        Some(end) => duration_text((end - run.started_at).num_seconds()),
        None => "running".to_owned(),
    }
}

#[component]
fn RunTable(runs: Vec<RunLine>, now: DateTime<Utc>) -> impl IntoView {
    view! {
        <div class="table-wrap" tabindex="0" role="region" aria-label="Runs table">
            <table data-testid="runs">
                <thead>
                    <tr>
                        <th scope="col">"Started"</th>
                        <th scope="col">"Status"</th>
                        <th scope="col">"Duration"</th>
                        <th scope="col">"Records"</th>
                        <th scope="col">"Gaps"</th>
                    </tr>
                </thead>
                <tbody>
                    {runs
                        .into_iter()
                        .map(|run| {
                            let status = match &run.failure_reason {
                                Some(reason) => {
                                    format!("{} ({reason})", run_status_text(run.status))
                                }
                                None => run_status_text(run.status).to_owned(),
                            };
                            let took = duration(&run);
                            view! {
                                <tr data-run-id=run.run_id.clone()>
                                    <td>{when(now, run.started_at)}</td>
                                    <td>{status}</td>
                                    <td>{took}</td>
                                    <td>{run.records_written}</td>
                                    <td>{run.gap_count}</td>
                                </tr>
                            }
                        })
                        .collect_view()}
                </tbody>
            </table>
        </div>
    }
}

#[component]
fn FailingRun(run: RunLine, events: Vec<EventLine>, now: DateTime<Utc>) -> impl IntoView {
    let reason = run
        .failure_reason
        .clone()
        .unwrap_or_else(|| "no reason given".to_owned());
    view! {
        <section class="card" aria-labelledby="failing-heading" data-testid="failing-run">
            <h2 id="failing-heading">"The failing run"</h2>
            <p>
                "Started " {when(now, run.started_at)} ", failed: " <strong>{reason}</strong>
            </p>
            {if events.is_empty() {
                view! { <p class="muted">"This run recorded no events."</p> }.into_any()
            } else {
                view! {
                    <ol class="timeline" data-testid="failing-run-events">
                        {events
                            .into_iter()
                            .map(|e| {
                                view! {
                                    <li>
                                        <time datetime=e.at.to_rfc3339() title=exact_time(e.at)>
                                            {e.at.format("%H:%M:%S").to_string()}
                                        </time>
                                        " "
                                        <span class="event-kind">{e.kind}</span>
                                        {e.stream.map(|s| format!(" [{s}]"))}
                                        " "
                                        {e.message}
                                    </li>
                                }
                            })
                            .collect_view()}
                    </ol>
                }
                    .into_any()
            }}
        </section>
    }
}

/// A one-button form that changes the connection's lifecycle.
#[component]
fn LifecycleButton(
    lifecycle: ServerAction<ChangeLifecycle>,
    id: String,
    action: &'static str,
    label: &'static str,
) -> impl IntoView {
    view! {
        <ActionForm action=lifecycle attr:class="inline-form">
            <input type="hidden" name="id" value=id />
            <input type="hidden" name="action" value=action />
            <button type="submit" class="button" data-testid=format!("lifecycle-{action}")>
                {label}
            </button>
        </ActionForm>
    }
}

/// Rename, pause/resume, revoke (with a confirmation box), reactivate, schedule on.
#[component]
fn Manage(
    item: SummaryItem,
    lifecycle: ServerAction<ChangeLifecycle>,
    rename: ServerAction<RenameConnection>,
) -> impl IntoView {
    let id = item.connection_id.clone();
    let status = item.status;
    let schedule_off = item.schedule.as_ref().is_some_and(|s| !s.enabled);
    let label = item.display_name.clone().unwrap_or_default();
    let buttons = match status {
        ConnectionStatus::Draft => view! {
            <LifecycleButton lifecycle id=id.clone() action="activate" label="Activate" />
        }
        .into_any(),
        ConnectionStatus::Active => view! {
            <LifecycleButton lifecycle id=id.clone() action="pause" label="Pause" />
            {schedule_off
                .then(|| {
                    view! {
                        <LifecycleButton
                            lifecycle
                            id=id.clone()
                            action="enable_schedule"
                            label="Turn the schedule on"
                        />
                    }
                })}
        }
        .into_any(),
        ConnectionStatus::Paused => view! {
            <LifecycleButton lifecycle id=id.clone() action="resume" label="Resume" />
        }
        .into_any(),
        ConnectionStatus::Revoked => view! {
            <LifecycleButton lifecycle id=id.clone() action="reactivate" label="Reactivate" />
        }
        .into_any(),
    };
    let revocable = matches!(status, ConnectionStatus::Active | ConnectionStatus::Paused);
    let revoke_id = id.clone();
    view! {
        <section class="card stack" aria-labelledby="manage-heading" data-testid="manage">
            <h2 id="manage-heading">"Manage"</h2>
            <ActionForm action=rename attr:class="inline-form">
                <input type="hidden" name="id" value=id.clone() />
                <label for="display_name">"Name "</label>
                <input
                    id="display_name"
                    name="display_name"
                    type="text"
                    value=label
                    placeholder=item.connector_display_name.clone()
                    maxlength="200"
                />
                " "
                <button type="submit" class="button">"Rename"</button>
            </ActionForm>
            <div class="manage-buttons">{buttons}</div>
            {revocable
                .then(|| {
                    view! {
                        <ActionForm action=lifecycle attr:class="revoke-form">
                            <input type="hidden" name="id" value=revoke_id.clone() />
                            <input type="hidden" name="action" value="revoke" />
                            <input
                                type="checkbox"
                                id="confirm-revoke"
                                name="confirm"
                                value="yes"
                                required
                            />
                            <label for="confirm-revoke">
                                " Yes, stop collecting and revoke this connection "
                            </label>
                            <button type="submit" class="button" data-testid="lifecycle-revoke">
                                "Revoke"
                            </button>
                        </ActionForm>
                    }
                })}
        </section>
    }
}

/// The schedule editor: interval and jitter in minutes, and whether it runs.
#[component]
fn ScheduleEditor(item: SummaryItem, schedule: ServerAction<SaveSchedule>) -> impl IntoView {
    let current = item.schedule.clone();
    let interval = current.as_ref().map_or(360, |s| s.interval_seconds / 60);
    let jitter = current.as_ref().map_or(0, |s| s.jitter_seconds / 60);
    let enabled = current.as_ref().is_none_or(|s| s.enabled);
    let summary = crate::components::schedule_text(current.as_ref());
    view! {
        <section class="card" aria-labelledby="schedule-heading" data-testid="schedule-editor">
            <h2 id="schedule-heading">"Schedule"</h2>
            <p data-testid="schedule-summary">{summary}</p>
            <ActionForm action=schedule attr:class="schedule-form">
                <input type="hidden" name="id" value=item.connection_id.clone() />
                <label for="interval_minutes">"Every (minutes)"</label>
                <input
                    id="interval_minutes"
                    name="interval_minutes"
                    type="number"
                    min="1"
                    required
                    value=interval.to_string()
                />
                <label for="jitter_minutes">"Jitter (minutes)"</label>
                <input
                    id="jitter_minutes"
                    name="jitter_minutes"
                    type="number"
                    min="0"
                    required
                    value=jitter.to_string()
                />
                <span>
                    <input
                        id="schedule_enabled"
                        name="enabled"
                        type="checkbox"
                        value="on"
                        checked=enabled
                    />
                    <label for="schedule_enabled">" Enabled"</label>
                </span>
                <button type="submit" class="button">"Save schedule"</button>
            </ActionForm>
        </section>
    }
}

/// What the connector asked the owner to do, newest first as the server lists them.
#[component]
fn Attention(
    items: Vec<AttentionLine>,
    now: DateTime<Utc>,
    resolve: ServerAction<ResolveAttention>,
) -> impl IntoView {
    view! {
        <section class="card" id="attention" aria-labelledby="attention-heading" data-testid="attention">
            <h2 id="attention-heading">"Attention"</h2>
            <ul class="attention-list">
                {items
                    .into_iter()
                    .map(|a| {
                        let what = match a.kind.as_str() {
                            "reauth" => "Reconnect this account",
                            "add_info" => "Complete the requested action",
                            _ => "Needs you",
                        };
                        let attention_id = a.attention_id.clone();
                        view! {
                            <li data-attention-id=a.attention_id.clone()>
                                <strong>{what}</strong>
                                {a.message.map(|m| format!(": {m}"))}
                                " · opened "
                                {when(now, a.opened_at)}
                                {match a.resolved_at {
                                    Some(at) => view! { " · resolved " {when(now, at)} }.into_any(),
                                    None => view! {
                                        <ActionForm action=resolve attr:class="inline-form">
                                            <input type="hidden" name="attention_id" value=attention_id.clone() />
                                            " "
                                            <button type="submit" class="button">"Mark as done"</button>
                                        </ActionForm>
                                    }
                                        .into_any(),
                                }}
                            </li>
                        }
                    })
                    .collect_view()}
            </ul>
        </section>
    }
}
