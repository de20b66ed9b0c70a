use crate::api::{list_connections, ConnectionList, ListQuery, StartRun};
use crate::components::{ConnectionRow, EmptyState, ErrorNotice, Frame};
use console_domain::summary::SummaryItem;
use console_domain::synthesis::{Channel, FreshnessStatus, HealthState, Tone};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

/// The health filters, as the URL spells them and the page names them.
const HEALTH_FILTERS: &[(&str, &str)] = &[
    ("healthy", "Healthy"),
    ("needs_attention", "Needs attention"),
    ("degraded", "Degraded"),
    ("cooling_off", "Cooling off"),
    ("blocked", "Blocked"),
    ("idle", "Idle"),
    ("unknown", "Unknown"),
];

/// A list URL with the given query (empty parts left out).
fn list_href(health: Option<&str>, needs_you_first: bool, cursor: Option<&str>) -> String {
    let mut parts = Vec::new();
    if let Some(h) = health {
        parts.push(format!("health={h}"));
    }
    if needs_you_first {
        parts.push("order=needs_you_first".to_owned());
    }
    if let Some(c) = cursor {
        parts.push(format!("cursor={}", encode_query_value(c)));
    }
    if parts.is_empty() {
        "/".to_owned()
    } else {
        format!("/?{}", parts.join("&"))
    }
}

fn encode_query_value(value: &str) -> String {
    crate::components::encode_path_segment(value)
}

/// `/`: one row per connection, with a summary strip, filters, order and paging in the URL.
#[component]
pub fn ConnectionsPage() -> impl IntoView {
    let query = use_query_map();
    let list_query = move || {
        let q = query.read();
        ListQuery {
            health: q.get("health").filter(|h| !h.is_empty()),
            needs_you_first: q.get("order").as_deref() == Some("needs_you_first"),
            cursor: q.get("cursor").filter(|c| !c.is_empty()),
        }
    };
    let start = ServerAction::<StartRun>::new();
    let connections = Resource::new(
        move || (list_query(), start.version().get()),
        |(q, _)| list_connections(q),
    );

    view! {
        <Title text="Connections" />
        <Frame signed_in=true>
            <h1>"Connections"</h1>
            {move || {
                start
                    .value()
                    .get()
                    .and_then(Result::err)
                    .map(|error| view! { <ErrorNotice error /> })
            }}
            <Transition fallback=|| view! { <p class="muted">"Loading connections…"</p> }>
                {move || Suspend::new(async move {
                    let q = list_query();
                    match connections.await {
                        Ok(list) => view! { <ConnectionListView list query=q start /> }.into_any(),
                        Err(error) => view! { <ErrorNotice error /> }.into_any(),
                    }
                })}
            </Transition>
        </Frame>
    }
}

/// Counts for the summary strip, from the same items as the rows.
#[derive(Debug, Default, PartialEq, Eq)]
struct Strip {
    healthy: usize,
    need_you: usize,
    stale: usize,
    cant_collect: usize,
}

fn strip(items: &[SummaryItem]) -> Strip {
    let mut s = Strip::default();
    for item in items {
        if item.connection_health.state == HealthState::Healthy {
            s.healthy += 1;
        }
        if item.rendered_verdict.channel == Channel::Attention {
            s.need_you += 1;
        }
        if item.freshness.status == FreshnessStatus::Stale {
            s.stale += 1;
        }
        if item.rendered_verdict.pill.tone == Tone::Red {
            s.cant_collect += 1;
        }
    }
    s
}

#[component]
fn ConnectionListView(
    list: ConnectionList,
    query: ListQuery,
    start: ServerAction<StartRun>,
) -> impl IntoView {
    let filtered = query.health.is_some() || query.cursor.is_some();
    let banner = (!list.runtime.ok).then(|| {
        view! {
            <div class="notice notice-warning" role="status" data-testid="runtime-banner">
                <strong>{list.runtime.label.clone()}</strong>
                " "
                {list.runtime.message.clone()}
            </div>
        }
    });
    if list.items.is_empty() && !filtered {
        return view! { {banner} <EmptyState /> }.into_any();
    }
    let counts = strip(&list.items);
    let count = list.items.len();
    let health = query.health.clone();
    let nyf = query.needs_you_first;
    let filters = view! {
        <nav class="filters" aria-label="Filter and order">
            <ul class="filter-links">
                <li>
                    <a
                        href=list_href(None, nyf, None)
                        aria-current=health.is_none().then_some("page")
                    >
                        "All"
                    </a>
                </li>
                {HEALTH_FILTERS
                    .iter()
                    .map(|(value, label)| {
                        let current = health.as_deref() == Some(*value);
                        view! {
                            <li>
                                <a
                                    href=list_href(Some(value), nyf, None)
                                    aria-current=current.then_some("page")
                                    data-health=*value
                                >
                                    {*label}
                                </a>
                            </li>
                        }
                    })
                    .collect_view()}
            </ul>
            <p class="order-link">
                {if nyf {
                    view! {
                        <a href=list_href(health.as_deref(), false, None) data-testid="order">
                            "Order: needs you first (show in the usual order)"
                        </a>
                    }
                        .into_any()
                } else {
                    view! {
                        <a href=list_href(health.as_deref(), true, None) data-testid="order">
                            "Show what needs you first"
                        </a>
                    }
                        .into_any()
                }}
            </p>
        </nav>
    };
    let next_page = list.next_cursor.clone().filter(|_| list.has_more).map(|cursor| {
        view! {
            <a href=list_href(health.as_deref(), nyf, Some(&cursor)) rel="next" data-testid="next-page">
                "Next page →"
            </a>
        }
    });
    let first_page = query.cursor.is_some().then(|| {
        view! { <a href=list_href(health.as_deref(), nyf, None)>"← First page"</a> }
    });
    let now = list.now;
    view! {
        {banner}
        <ul class="summary-strip" data-testid="summary-strip" aria-label="Summary">
            <li data-testid="strip-healthy">
                <strong>{counts.healthy}</strong>
                " healthy"
            </li>
            <li data-testid="strip-need-you">
                <strong>{counts.need_you}</strong>
                " need you"
            </li>
            <li data-testid="strip-stale">
                <strong>{counts.stale}</strong>
                " stale"
            </li>
            <li data-testid="strip-cant-collect">
                <strong>{counts.cant_collect}</strong>
                " can't collect"
            </li>
        </ul>
        {filters}
        <p class="muted" data-testid="connection-count">
            {if count == 1 { "1 connection".to_owned() } else { format!("{count} connections") }}
            {list.has_more.then_some(" on this page")}
        </p>
        {if list.items.is_empty() {
            view! { <p data-testid="no-matches">"No connection matches this filter."</p> }
                .into_any()
        } else {
            view! {
                <ul class="connection-list" data-testid="connection-list">
                    {list
                        .items
                        .into_iter()
                        .map(|item| view! { <ConnectionRow item now start /> })
                        .collect_view()}
                </ul>
            }
                .into_any()
        }}
        <nav class="pager" aria-label="Pages">
            {first_page}
            {next_page}
        </nav>
    }
    .into_any()
}

#[cfg(test)]
mod tests {
    use super::list_href;

    #[test]
    fn list_links_keep_filter_and_order() {
        assert_eq!(list_href(None, false, None), "/");
        assert_eq!(
            list_href(Some("healthy"), true, Some("a b")),
            "/?health=healthy&order=needs_you_first&cursor=a%20b"
        );
    }
}
