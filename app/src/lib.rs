//! The Leptos console: pages, components and server functions.
//!
//! Rendered on the server (`ssr`) and hydrated in the browser (`hydrate`). Server functions
//! ([`api`]) call `console_service::Console`, the same projector the JSON routes use; the
//! server provides it as Leptos context.
//!
//! Layout: [`pages`] holds one module per route, [`components`] the pieces pages share,
//! [`api`] the server functions and the error type they report.

pub mod api;
pub mod components;
pub mod pages;
#[cfg(feature = "ssr")]
pub mod session;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, Title};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::{path, SsrMode};

use crate::pages::{ConnectionPage, ConnectionsPage, LoginPage, NotFoundPage};

/// The HTML document around the app. Rendered only on the server; the browser hydrates the
/// `<body>`'s children ([`App`]).
pub fn shell(options: LeptosOptions) -> impl IntoView {
    let stylesheet = format!(
        "{}{}.css",
        options.site_pkg_dir_route_base(),
        options.output_name
    );
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <meta name="color-scheme" content="light dark" />
                <link rel="icon" type="image/svg+xml" href="/favicon.svg" />
                <link rel="stylesheet" href=stylesheet />
                <AutoReload options=options.clone() />
                <HydrationScripts options />
                <leptos_meta::MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

/// The console's routes. Every page that reads data renders in `SsrMode::Async`, so the
/// server answers with the finished page (it works before hydration, and a missing
/// connection can still set the HTTP status to 404).
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    mark_hydrated();

    view! {
        <Title formatter=|page: String| {
            if page.is_empty() { "Owner console".to_owned() } else { format!("{page} · Owner console") }
        } />
        <Router>
            <Routes fallback=NotFoundPage>
                <Route path=path!("/") view=ConnectionsPage ssr=SsrMode::Async />
                <Route path=path!("/login") view=LoginPage />
                <Route path=path!("/connections/:id") view=ConnectionPage ssr=SsrMode::Async />
            </Routes>
        </Router>
    }
}

/// Sets `data-hydrated` on `<body>` once the browser has hydrated the page: tests (and
/// anything else) wait for it before using controls that need the client.
fn mark_hydrated() {
    Effect::new(move |_| {
        if let Some(body) = document().body() {
            // Best effort: a failure only means the marker is missing.
            let _ = body.set_attribute("data-hydrated", "true");
        }
    });
}
