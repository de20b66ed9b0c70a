use crate::components::Frame;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

/// The error codes `POST /login` redirects back with, in plain words.
fn error_message(code: &str) -> &'static str {
    match code {
        "password" | "1" => "That password is not right. Try again.",
        "wait" => "Too many wrong passwords. Wait a minute, then try again.",
        "origin" => "The form was sent from another site. Log in from this page.",
        "session" => "Could not start your session. Try again.",
        _ => "Could not log you in. Try again.",
    }
}

/// Only local paths go back into the form; the server checks again when it redirects.
fn local_path(candidate: Option<String>) -> String {
    match candidate {
        Some(path) if path.starts_with('/') && !path.starts_with("//") && !path.contains('\\') => {
            path
        }
        _ => "/".to_owned(),
    }
}

/// `GET /login`: a plain form that posts to the server's login handler, which redirects to
/// `return_to` on success or back here with `?error=...`. Works without JavaScript.
#[component]
pub fn LoginPage() -> impl IntoView {
    let query = use_query_map();
    let return_to = move || local_path(query.read().get("return_to"));
    let error = move || query.read().get("error").map(|code| error_message(&code));

    view! {
        <Title text="Log in" />
        <Frame>
            <section class="login card">
                <h1>"Log in"</h1>
                <p class="muted">"This console belongs to one owner. Enter the owner password."</p>
                {move || {
                    error()
                        .map(|message| {
                            view! {
                                <p class="notice notice-error" role="alert" id="login-error">
                                    {message}
                                </p>
                            }
                        })
                }}
                <form method="post" action="/login" class="stack">
                    <input type="hidden" name="return_to" value=return_to />
                    // One owner, so no user name to type; this tells password managers whose
                    // password it is.
                    <input
                        type="text"
                        name="username"
                        value="owner"
                        autocomplete="username"
                        readonly
                        hidden
                    />
                    <label for="password">"Password"</label>
                    <input
                        id="password"
                        name="password"
                        type="password"
                        autocomplete="current-password"
                        required
                        autofocus
                    />
                    <button type="submit" class="button button-primary">
                        "Log in"
                    </button>
                </form>
                <p class="muted small">
                    "Forgot it? The server prints a generated password on its first start, or "
                    "uses " <code>"OWNER_PASSWORD"</code> " when that is set."
                </p>
            </section>
        </Frame>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_kept() {
        assert_eq!(
            local_path(Some("/connections/a?x=1".into())),
            "/connections/a?x=1"
        );
        assert_eq!(local_path(Some("//evil.example/".into())), "/");
        assert_eq!(local_path(Some("https://evil.example/".into())), "/");
        assert_eq!(local_path(Some("/\\evil".into())), "/");
        assert_eq!(local_path(None), "/");
    }

    #[test]
    fn every_error_code_reads_as_a_sentence() {
        for code in ["password", "1", "wait", "origin", "session", "other"] {
            assert!(error_message(code).ends_with('.'));
        }
    }
}
