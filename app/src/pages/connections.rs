use crate::api::{list_connections, ConnectionList};
use crate::components::{ConnectionRow, EmptyState, ErrorNotice, Frame};
use leptos::prelude::*;
use leptos_meta::Title;

/// `/`: every connection, by name, with its connector and verdict.
#[component]
pub fn ConnectionsPage() -> impl IntoView {
    let connections = Resource::new(|| (), |_| list_connections());

    view! {
        <Title text="Connections" />
        <Frame signed_in=true>
            <h1>"Connections"</h1>
            <Suspense fallback=|| view! { <p class="muted">"Loading connections…"</p> }>
                {move || Suspend::new(async move {
                    match connections.await {
                        Ok(list) => view! { <ConnectionListView list /> }.into_any(),
                        Err(error) => view! { <ErrorNotice error /> }.into_any(),
                    }
                })}
            </Suspense>
        </Frame>
    }
}

#[component]
fn ConnectionListView(list: ConnectionList) -> impl IntoView {
    if list.items.is_empty() {
        return view! { <EmptyState /> }.into_any();
    }
    let count = list.items.len();
    view! {
        <p class="muted" data-testid="connection-count">
            {if count == 1 { "1 connection".to_owned() } else { format!("{count} connections") }}
        </p>
        <ul class="connection-list" data-testid="connection-list">
            {list.items.into_iter().map(|item| view! { <ConnectionRow item /> }).collect_view()}
        </ul>
    }
    .into_any()
}
