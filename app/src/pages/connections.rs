use crate::api::{list_connections, ConnectionList, ListQuery, StartRun};
use crate::components::{ConnectionRow, EmptyState, ErrorNotice, Frame, RowView};
use console_domain::summary::SummaryItem;
use console_domain::synthesis::{Channel, FreshnessStatus, HealthState, Tone};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;
use leptos_router::params::ParamsMap;
use std::time::Duration;

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

/// How often the list asks the server what changed, while the page is visible.
const POLL_EVERY: Duration = Duration::from_secs(5);

/// The list URL of a query (empty parts left out), so every page and filter is a link.
fn list_href(query: &ListQuery) -> String {
    let mut parts = Vec::new();
    if let Some(h) = &query.health {
        parts.push(format!("health={}", encode_query_value(h)));
    }
    if query.needs_you_first {
        parts.push("order=needs_you_first".to_owned());
    }
    if let Some(limit) = query.limit {
        parts.push(format!("limit={limit}"));
    }
    if let Some(c) = &query.cursor {
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

/// The list query a URL asks for. A `limit` that is not a number is ignored (the default
/// page size shows) rather than refused: it is a convenience, not an API.
fn query_of(params: &ParamsMap) -> ListQuery {
    ListQuery {
        health: params.get("health").filter(|h| !h.is_empty()),
        needs_you_first: params.get("order").as_deref() == Some("needs_you_first"),
        cursor: params.get("cursor").filter(|c| !c.is_empty()),
        limit: params.get("limit").and_then(|l| l.parse().ok()),
    }
}

/// `/`: one row per connection, with a summary strip, filters, order and paging in the URL.
/// After hydration the list keeps itself current (see [`LiveList`]).
#[component]
pub fn ConnectionsPage() -> impl IntoView {
    let params = use_query_map();
    let list_query = Memo::new(move |_| query_of(&params.read()));
    let start = ServerAction::<StartRun>::new();
    let connections = Resource::new(
        move || list_query.get(),
        |query| async move {
            let list = list_connections(query.clone()).await;
            (query, list)
        },
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
                    match connections.await {
                        (query, Ok(list)) => view! { <LiveList list query start /> }.into_any(),
                        (_, Err(error)) => view! { <ErrorNotice error /> }.into_any(),
                    }
                })}
            </Transition>
        </Frame>
    }
}

/// Asks the server for the current page of `query` and shows it, unless a newer answer
/// already arrived (polls and post-action refreshes can overtake each other).
#[derive(Clone)]
struct Refresher {
    query: ListQuery,
    list: RwSignal<ConnectionList>,
    asked: StoredValue<u64>,
    shown: StoredValue<u64>,
}

impl Refresher {
    fn refresh(&self) {
        let this = self.clone();
        let ticket = this.asked.get_value() + 1;
        this.asked.set_value(ticket);
        leptos::task::spawn_local(async move {
            // A failed poll keeps the rows shown; the next one tries again.
            if let Ok(fresh) = list_connections(this.query.clone()).await {
                if ticket > this.shown.get_value() {
                    this.shown.set_value(ticket);
                    this.list.try_set(fresh);
                }
            }
        });
    }
}

/// The list as rendered on the server, kept current in the browser: it polls while the tab
/// is visible and right after the owner starts a run, and rebuilds only the rows whose
/// content changed ([`RowView`] is the key).
#[component]
fn LiveList(
    list: ConnectionList,
    query: ListQuery,
    start: ServerAction<StartRun>,
) -> impl IntoView {
    let list = RwSignal::new(list);
    let refresher = Refresher {
        query: query.clone(),
        list,
        asked: StoredValue::new(0),
        shown: StoredValue::new(0),
    };
    Effect::new({
        let refresher = refresher.clone();
        move |seen: Option<usize>| {
            let version = start.version().get();
            if seen.is_some_and(|seen| seen != version) {
                refresher.refresh();
            }
            version
        }
    });
    Effect::new(move |_| {
        let refresher = refresher.clone();
        let poll = move || {
            if !document().hidden() {
                refresher.refresh();
            }
        };
        if let Ok(handle) = set_interval_with_handle(poll, POLL_EVERY) {
            on_cleanup(move || handle.clear());
        }
    });

    let filtered = query.health.is_some() || query.cursor.is_some();
    let empty = move || list.with(|l| l.items.is_empty());
    let banner = move || {
        list.with(|l| {
            (!l.runtime.ok).then(|| {
                view! {
                    <div class="notice notice-warning" role="status" data-testid="runtime-banner">
                        <strong>{l.runtime.label.clone()}</strong>
                        " "
                        {l.runtime.message.clone()}
                    </div>
                }
            })
        })
    };
    if !filtered && list.with_untracked(|l| l.items.is_empty()) {
        return view! { {banner} <EmptyState /> }.into_any();
    }
    let counts = Memo::new(move |_| list.with(|l| strip(&l.items)));
    let rows = move || {
        list.with(|l| {
            l.items
                .iter()
                .map(|item| RowView::of(item, l.now))
                .collect::<Vec<_>>()
        })
    };
    let next_page = {
        let query = query.clone();
        move || {
            list.with(|l| {
                l.next_cursor.clone().filter(|_| l.has_more).map(|cursor| {
                    let href = list_href(&ListQuery {
                        cursor: Some(cursor),
                        ..query.clone()
                    });
                    view! {
                        <a href=href rel="next" data-testid="next-page">
                            "Next page →"
                        </a>
                    }
                })
            })
        }
    };
    let first_page = query.cursor.is_some().then(|| {
        let href = list_href(&ListQuery {
            cursor: None,
            ..query.clone()
        });
        view! { <a href=href>"← First page"</a> }
    });
    // Each part is erased to `AnyView`: one nested view type for the whole list is too deep
    // for the compiler's layout queries in the hydrate build.
    let strip = view! {
        <ul class="summary-strip" data-testid="summary-strip" aria-label="Summary">
            <li data-testid="strip-healthy">
                <strong>{move || counts.get().healthy}</strong>
                " healthy"
            </li>
            <li data-testid="strip-need-you">
                <strong>{move || counts.get().need_you}</strong>
                " need you"
            </li>
            <li data-testid="strip-stale">
                <strong>{move || counts.get().stale}</strong>
                " stale"
            </li>
            <li data-testid="strip-cant-collect">
                <strong>{move || counts.get().cant_collect}</strong>
                " can't collect"
            </li>
        </ul>
    }
    .into_any();
    let count_line = view! {
        <p class="muted" data-testid="connection-count">
            {move || {
                list.with(|l| {
                    let count = l.items.len();
                    let mut text = if count == 1 {
                        "1 connection".to_owned()
                    } else {
                        format!("{count} connections")
                    };
                    if l.has_more {
                        text.push_str(" on this page");
                    }
                    text
                })
            }}
        </p>
    }
    .into_any();
    let table = view! {
        <Show
            when=move || !empty()
            fallback=|| view! { <p data-testid="no-matches">"No connection matches this filter."</p> }
        >
            <ul class="connection-list" data-testid="connection-list">
                <For each=rows key=|row| row.clone() let:row>
                    <ConnectionRow row start />
                </For>
            </ul>
        </Show>
    }
    .into_any();
    let pager = view! {
        <nav class="pager" aria-label="Pages">
            {first_page}
            {next_page}
        </nav>
    }
    .into_any();
    view! {
        {banner}
        {strip}
        <Filters query=query.clone() />
        {count_line}
        {table}
        {pager}
    }
    .into_any()
}

/// The health filters and the order switch, as links that keep the rest of the query.
#[component]
fn Filters(query: ListQuery) -> impl IntoView {
    let health = query.health.clone();
    let nyf = query.needs_you_first;
    let link = |health: Option<String>, needs_you_first: bool| {
        list_href(&ListQuery {
            health,
            needs_you_first,
            cursor: None,
            limit: query.limit,
        })
    };
    view! {
        <nav class="filters" aria-label="Filter and order">
            <ul class="filter-links">
                <li>
                    <a href=link(None, nyf) aria-current=health.is_none().then_some("page")>
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
                                    href=link(Some((*value).to_owned()), nyf)
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
                        <a href=link(health.clone(), false) data-testid="order">
                            "Order: needs you first (show in the usual order)"
                        </a>
                    }
                        .into_any()
                } else {
                    view! {
                        <a href=link(health.clone(), true) data-testid="order">
                            "Show what needs you first"
                        </a>
                    }
                        .into_any()
                }}
            </p>
        </nav>
    }
}

/// Counts for the summary strip, from the same items as the rows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
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

#[cfg(test)]
mod tests {
    use super::{list_href, query_of};
    use crate::api::ListQuery;
    use leptos_router::params::ParamsMap;

    #[test]
    fn list_links_keep_filter_order_and_page_size() {
        assert_eq!(list_href(&ListQuery::default()), "/");
        let query = ListQuery {
            health: Some("healthy".into()),
            needs_you_first: true,
            cursor: Some("a b".into()),
            limit: Some(5),
        };
        assert_eq!(
            list_href(&query),
            "/?health=healthy&order=needs_you_first&limit=5&cursor=a%20b"
        );
    }

    #[test]
    #[cfg_attr(
        not(feature = "ssr"),
        ignore = "off wasm, ParamsMap decodes values through js-sys unless `ssr` is on"
    )]
    fn a_list_url_round_trips_through_its_query() {
        let query = ListQuery {
            health: Some("needs_attention".into()),
            needs_you_first: true,
            cursor: Some("c/1".into()),
            limit: Some(20),
        };
        let href = list_href(&query);
        let params = ParamsMap::from_iter(
            href.trim_start_matches("/?")
                .split('&')
                .map(|pair| pair.split_once('=').unwrap())
                .map(|(k, v)| (k.to_owned(), v.replace("%2F", "/"))),
        );
        assert_eq!(query_of(&params), query);
    }

    #[test]
    #[cfg_attr(
        not(feature = "ssr"),
        ignore = "off wasm, ParamsMap decodes values through js-sys unless `ssr` is on"
    )]
    fn a_limit_that_is_not_a_number_falls_back_to_the_default_page() {
        let params = ParamsMap::from_iter([("limit".to_owned(), "lots".to_owned())]);
        assert_eq!(query_of(&params).limit, None);
        assert_eq!(query_of(&params).page_size(), crate::api::PAGE_SIZE);
        let huge = ListQuery {
            limit: Some(1_000_000),
            ..ListQuery::default()
        };
        assert_eq!(huge.page_size(), crate::api::MAX_PAGE_SIZE);
    }
}
