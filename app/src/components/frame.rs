use leptos::prelude::*;

/// The page frame: a header with the console's name (and, for the owner, a logout button)
/// around the page's main content.
#[component]
pub fn Frame(
    /// Show the logout button (every page but the login form).
    #[prop(optional)]
    signed_in: bool,
    children: Children,
) -> impl IntoView {
    view! {
        <a class="skip-link" href="#main">"Skip to content"</a>
        <header class="site-header">
            <a class="brand" href="/">
                <img src="/favicon.svg" alt="" width="24" height="24" />
                <span>"Owner console"</span>
            </a>
            <Show when=move || signed_in>
                <form class="logout" method="post" action="/logout">
                    <button type="submit" class="button button-quiet">"Log out"</button>
                </form>
            </Show>
        </header>
        <main id="main" class="page">{children()}</main>
    }
}
