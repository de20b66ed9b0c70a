use crate::components::Frame;
use leptos::prelude::*;
use leptos_meta::Title;

/// Sets the HTTP status of the response being rendered (server only).
pub(crate) fn set_status_not_found() {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(axum::http::StatusCode::NOT_FOUND);
    }
}

/// The "not found" content, inside a page that already has its frame. Sets status 404.
#[component]
pub fn NotFound(
    /// What was looked for, in words ("page", "connection ...").
    #[prop(into)]
    what: String,
) -> impl IntoView {
    set_status_not_found();
    view! {
        <Title text="Not found" />
        <section class="not-found" data-testid="not-found">
            <h1>"Not found"</h1>
            <p>{format!("There is no {what} here. It may have been deleted, or the link is wrong.")}</p>
        </section>
    }
}

/// The router's fallback: any path no route matches. HTTP status 404.
#[component]
pub fn NotFoundPage() -> impl IntoView {
    view! {
        <Frame signed_in=true>
            <p class="breadcrumb">
                <a href="/">"← All connections"</a>
            </p>
            <NotFound what="page" />
        </Frame>
    }
}
