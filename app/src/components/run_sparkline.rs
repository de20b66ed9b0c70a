//! A connection's recent runs at a glance: one bar per run, oldest on the left, its colour
//! the outcome and its height the records it wrote. Drawn as SVG on the server, so it shows
//! before (and without) the page's script.

use crate::api::RunLine;
use crate::components::{exact_time, run_status_text};
use console_domain::model::RunStatus;
use leptos::prelude::*;

const BAR_WIDTH: u32 = 10;
const BAR_GAP: u32 = 4;
const HEIGHT: u32 = 32;
/// Even a run that wrote nothing gets a visible bar, so failures are never invisible.
const MIN_BAR: u32 = 4;

/// One bar of the sparkline, in SVG user units.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Bar {
    x: u32,
    y: u32,
    height: u32,
    class: &'static str,
    title: String,
}

/// The CSS class of a run's outcome (the stylesheet colours them; the title names them).
fn outcome_class(status: RunStatus) -> &'static str {
    match status {
        RunStatus::Succeeded => "spark-ok",
        RunStatus::SucceededWithGaps => "spark-gaps",
        RunStatus::Failed => "spark-failed",
        RunStatus::Cancelled => "spark-cancelled",
        RunStatus::Queued | RunStatus::Running => "spark-running",
    }
}

/// The bars for `runs` (newest first, as the page lists them), oldest drawn first. Heights
/// scale with records written against the largest run shown.
fn bars(runs: &[RunLine]) -> Vec<Bar> {
    let most = runs
        .iter()
        .map(|r| r.records_written)
        .max()
        .unwrap_or(0)
        .max(1);
    runs.iter()
        .rev()
        .enumerate()
        .map(|(i, run)| {
            let share = run.records_written.clamp(0, most) as f64 / most as f64;
            let height = MIN_BAR.max((share * f64::from(HEIGHT)).round() as u32);
            let records = if run.records_written == 1 {
                "1 record".to_owned()
            } else {
                format!("{} records", run.records_written)
            };
            Bar {
                x: i as u32 * (BAR_WIDTH + BAR_GAP),
                y: HEIGHT - height,
                height,
                class: outcome_class(run.status),
                title: format!(
                    "{}: {}, {records}",
                    exact_time(run.started_at),
                    run_status_text(run.status)
                ),
            }
        })
        .collect()
}

/// What the sparkline says, for screen readers: the outcomes counted.
fn summary(runs: &[RunLine]) -> String {
    let count = |wanted: &[RunStatus]| runs.iter().filter(|r| wanted.contains(&r.status)).count();
    let mut parts = vec![format!(
        "{} succeeded",
        count(&[RunStatus::Succeeded, RunStatus::SucceededWithGaps])
    )];
    for (label, statuses) in [
        ("failed", &[RunStatus::Failed][..]),
        ("cancelled", &[RunStatus::Cancelled][..]),
        ("running", &[RunStatus::Queued, RunStatus::Running][..]),
    ] {
        let n = count(statuses);
        if n > 0 {
            parts.push(format!("{n} {label}"));
        }
    }
    format!("Last {} runs: {}", runs.len(), parts.join(", "))
}

#[component]
pub fn RunSparkline(runs: Vec<RunLine>) -> impl IntoView {
    let bars = bars(&runs);
    let width = (bars.len() as u32 * (BAR_WIDTH + BAR_GAP)).saturating_sub(BAR_GAP);
    view! {
        <svg
            class="sparkline"
            data-testid="run-sparkline"
            role="img"
            aria-label=summary(&runs)
            width=width
            height=HEIGHT
            viewBox=format!("0 0 {width} {HEIGHT}")
        >
            {bars
                .into_iter()
                .map(|bar| {
                    view! {
                        <rect
                            class=bar.class
                            x=bar.x
                            y=bar.y
                            width=BAR_WIDTH
                            height=bar.height
                            rx="2"
                        >
                            <title>{bar.title}</title>
                        </rect>
                    }
                })
                .collect_view()}
        </svg>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    fn run(status: RunStatus, records: i64, minute: u32) -> RunLine {
        let at = Utc.with_ymd_and_hms(2026, 3, 1, 12, minute, 0).unwrap();
        RunLine {
            run_id: format!("run-{minute}"),
            status,
            started_at: at,
            finished_at: Some(at),
            failure_reason: None,
            records_written: records,
            gap_count: 0,
        }
    }

    #[test]
    fn the_oldest_run_is_drawn_first_and_heights_follow_records() {
        // Newest first, as the page lists runs.
        let runs = [
            run(RunStatus::Failed, 0, 3),
            run(RunStatus::Succeeded, 50, 2),
            run(RunStatus::Succeeded, 100, 1),
        ];
        let bars = bars(&runs);
        assert_eq!(bars.len(), 3);
        assert_eq!(bars[0].x, 0);
        assert_eq!(bars[0].height, HEIGHT, "the biggest run fills the height");
        assert_eq!(bars[0].y, 0);
        assert_eq!(bars[1].x, BAR_WIDTH + BAR_GAP);
        assert_eq!(bars[1].height, HEIGHT / 2);
        assert_eq!(bars[2].class, "spark-failed");
        assert_eq!(
            bars[2].height, MIN_BAR,
            "a run without records is still visible"
        );
        assert_eq!(
            bars[2].y + bars[2].height,
            HEIGHT,
            "bars stand on the baseline"
        );
        assert_eq!(bars[2].title, "2026-03-01 12:03:00 UTC: failed, 0 records");
    }

    #[test]
    fn runs_without_records_do_not_divide_by_zero() {
        let bars = bars(&[
            run(RunStatus::Running, 0, 1),
            run(RunStatus::Cancelled, 0, 0),
        ]);
        assert!(bars.iter().all(|b| b.height == MIN_BAR));
        assert_eq!(bars[1].class, "spark-running");
    }

    #[test]
    fn the_summary_counts_outcomes_in_words() {
        let runs = [
            run(RunStatus::Failed, 0, 3),
            run(RunStatus::SucceededWithGaps, 5, 2),
            run(RunStatus::Succeeded, 9, 1),
        ];
        assert_eq!(summary(&runs), "Last 3 runs: 2 succeeded, 1 failed");
    }
}
