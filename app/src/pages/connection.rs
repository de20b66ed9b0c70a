use crate::api::{connection_summary, ConsoleError};
use crate::components::{ErrorNotice, Frame, VerdictPill};
use crate::pages::NotFound;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

/// `/connections/{id}`: a deep link to one connection. For now its header (name, connector,
/// verdict and next action); the full detail comes with the console. Unknown id: 404.
#[component]
pub fn ConnectionPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let summary = Resource::new(id, connection_summary);

    view! {
        <Frame signed_in=true>
            <p class="breadcrumb">
                <a href="/">"← All connections"</a>
            </p>
            <Suspense fallback=|| view! { <p class="muted">"Loading connection…"</p> }>
                {move || Suspend::new(async move {
                    match summary.await {
                        Ok(item) => {
                            let name = item.name().to_owned();
                            let next_action = item.next_action.as_ref().map(|a| a.cta.clone());
                            view! {
                                <Title text=name.clone() />
                                <article class="connection-detail card">
                                    <h1>{name}</h1>
                                    <p class="connector">{item.connector_display_name.clone()}</p>
                                    <VerdictPill verdict=item.rendered_verdict.clone() />
                                    <p>{item.rendered_verdict.forward_statement.clone()}</p>
                                    {next_action
                                        .map(|cta| {
                                            view! {
                                                <p>
                                                    <strong>"Next: "</strong>
                                                    {cta}
                                                </p>
                                            }
                                        })}
                                </article>
                            }
                                .into_any()
                        }
                        Err(ConsoleError::NotFound { id, .. }) => {
                            view! { <NotFound what=format!("connection “{id}”") /> }.into_any()
                        }
                        Err(error) => view! { <ErrorNotice error /> }.into_any(),
                    }
                })}
            </Suspense>
        </Frame>
    }
}
