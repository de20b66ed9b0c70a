use leptos::prelude::*;

/// What a new owner sees before any connection exists: what a connection is and how to add
/// the first one.
#[component]
pub fn EmptyState() -> impl IntoView {
    view! {
        <section class="empty-state" data-testid="empty-state">
            <h2>"No connections yet"</h2>
            <p>
                "A connection is one account or export that a connector collects from, such as "
                "your music history or a bank's CSV files. Once you add one, it shows up here "
                "with a verdict on whether its data is fresh."
            </p>
            <p>"To add your first connection:"</p>
            <ol>
                <li>
                    "Pick a connector. The built-in ones are listed at "
                    <a href="/_ref/manifests">"/_ref/manifests"</a>
                    "; more can be loaded from a folder of manifest files with "
                    <code>"owner-console serve --manifests DIR"</code>"."
                </li>
                <li>
                    "Create a connection for it with "
                    <code>"POST /_ref/connections"</code>
                    " (see the API description at "
                    <a href="/_ref/openapi.json">"/_ref/openapi.json"</a>")."
                </li>
                <li>
                    "To look around first, load the demo fleet: "
                    <code>"owner-console seed-demo"</code>"."
                </li>
            </ol>
        </section>
    }
}
