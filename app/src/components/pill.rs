use console_domain::synthesis::{Pill, RenderedVerdict, Tone};
use leptos::prelude::*;

fn tone_class(tone: &Tone) -> &'static str {
    match tone {
        Tone::Green => "pill pill-green",
        Tone::Amber => "pill pill-amber",
        Tone::Red => "pill pill-red",
        Tone::Grey => "pill pill-grey",
    }
}

/// The part of a verdict the pill shows: the first annotation is the freshness one.
pub fn pill_annotation(verdict: &RenderedVerdict) -> Option<String> {
    verdict.annotations.first().map(|a| a.text.clone())
}

/// The verdict pill: its text label always shows, so colour is never the only signal, and
/// the freshness annotation sits beside it.
#[component]
pub fn VerdictPill(pill: Pill, annotation: Option<String>) -> impl IntoView {
    view! {
        <span class="verdict">
            <span class=tone_class(&pill.tone) data-testid="pill">
                {pill.label}
            </span>
            {annotation.map(|text| view! { <span class="annotation">{text}</span> })}
        </span>
    }
}
