use crate::api::ConsoleError;
use leptos::prelude::*;

/// A failed read, in plain words, with the way forward.
#[component]
pub fn ErrorNotice(error: ConsoleError) -> impl IntoView {
    let log_in_again = matches!(error, ConsoleError::OwnerSessionRequired);
    view! {
        <div class="notice notice-error" role="alert" data-testid="error-notice">
            <p>{error.to_string()}</p>
            <Show when=move || log_in_again>
                <p>
                    <a href="/login">"Log in"</a>
                </p>
            </Show>
        </div>
    }
}
