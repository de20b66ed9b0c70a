use console_domain::synthesis::{RenderedVerdict, Tone};
use leptos::prelude::*;

fn tone_class(tone: &Tone) -> &'static str {
    match tone {
        Tone::Green => "pill pill-green",
        Tone::Amber => "pill pill-amber",
        Tone::Red => "pill pill-red",
        Tone::Grey => "pill pill-grey",
    }
}

/// The verdict pill: its text label always shows, so colour is never the only signal, and
/// the first annotation (freshness) sits beside it.
#[component]
pub fn VerdictPill(verdict: RenderedVerdict) -> impl IntoView {
    let annotation = verdict.annotations.first().map(|a| a.text.clone());
    view! {
        <span class="verdict">
            <span class=tone_class(&verdict.pill.tone) data-testid="pill">
                {verdict.pill.label}
            </span>
            {annotation.map(|text| view! { <span class="annotation">{text}</span> })}
        </span>
    }
}
