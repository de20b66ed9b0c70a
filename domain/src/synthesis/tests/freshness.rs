//! SPEC §4 freshness rules 1-4 and the window boundary.

use super::fixture::*;
use crate::evidence::{EvidenceState, WindowSource};
use crate::model::{FailureReason, RecommendedMode};
use crate::synthesis::{synthesize, FreshnessStatus, HealthState, Tone};

#[test]
fn rule_1_no_success_ever_is_never_even_with_a_window() {
    let evidence = Fixture::healthy().never_succeeded().build();
    let freshness = project(&evidence).freshness;
    assert_eq!(freshness.status, FreshnessStatus::Never);
    assert_eq!(freshness.last_success_at, None);
    assert_eq!(freshness.age_seconds, None);
    assert_eq!(freshness.window_seconds, Some(2 * HOUR));
    assert_eq!(freshness.stale_at, None);
}

#[test]
fn rule_1_a_failed_run_without_any_success_is_still_never() {
    let evidence = Fixture::healthy()
        .never_succeeded()
        .failed(FailureReason::SourceUnavailable)
        .build();
    assert_eq!(project(&evidence).freshness.status, FreshnessStatus::Never);
}

#[test]
fn rule_2_within_the_window_is_current_and_carries_its_numbers() {
    let evidence = Fixture::healthy().succeeded_ago(30 * MINUTE).build();
    let freshness = project(&evidence).freshness;
    assert_eq!(freshness.status, FreshnessStatus::Current);
    assert_eq!(freshness.last_success_at, Some(at(-30 * MINUTE)));
    assert_eq!(freshness.age_seconds, Some(30 * MINUTE));
    assert_eq!(freshness.window_seconds, Some(2 * HOUR));
    assert_eq!(freshness.stale_at, Some(at(-30 * MINUTE + 2 * HOUR)));
}

#[test]
fn rule_2_exactly_at_the_window_is_current_one_second_later_stale() {
    let evidence = Fixture::healthy().succeeded_ago(2 * HOUR).build();
    assert_eq!(
        project(&evidence).freshness.status,
        FreshnessStatus::Current
    );

    let evidence = Fixture::healthy().succeeded_ago(2 * HOUR + 1).build();
    let freshness = project(&evidence).freshness;
    assert_eq!(freshness.status, FreshnessStatus::Stale);
    assert_eq!(freshness.age_seconds, Some(2 * HOUR + 1));
    assert_eq!(freshness.stale_at, Some(at(-1)));
}

#[test]
fn rule_2_half_a_second_past_the_window_is_already_stale() {
    let evidence = Fixture::healthy().succeeded_ago(2 * HOUR).build();
    let later = now() + chrono::TimeDelta::milliseconds(500);
    let freshness = synthesize(&evidence, later, &idle()).freshness;
    assert_eq!(freshness.status, FreshnessStatus::Stale);
}

#[test]
fn rule_2_the_window_follows_override_then_manifest_then_schedule() {
    let by_schedule = Fixture::healthy().succeeded_ago(3 * HOUR).build();
    assert_eq!(by_schedule.window_source, Some(WindowSource::Schedule));
    assert_eq!(
        project(&by_schedule).freshness.status,
        FreshnessStatus::Stale
    );

    let by_manifest = Fixture::healthy()
        .succeeded_ago(3 * HOUR)
        .manifest_staleness(Some(DAY))
        .build();
    assert_eq!(project(&by_manifest).freshness.window_seconds, Some(DAY));
    assert_eq!(
        project(&by_manifest).freshness.status,
        FreshnessStatus::Current
    );

    let by_override = Fixture::healthy()
        .succeeded_ago(3 * HOUR)
        .manifest_staleness(Some(DAY))
        .staleness_override(Some(HOUR))
        .build();
    assert_eq!(project(&by_override).freshness.window_seconds, Some(HOUR));
    assert_eq!(
        project(&by_override).freshness.status,
        FreshnessStatus::Stale
    );
}

#[test]
fn rule_2_a_window_applies_to_manual_connectors_too() {
    let evidence = Fixture::manual()
        .manifest_staleness(Some(DAY))
        .succeeded_ago(DAY + 1)
        .build();
    assert_eq!(project(&evidence).freshness.status, FreshnessStatus::Stale);
}

#[test]
fn rule_3_manual_with_no_window_is_current_however_old() {
    let evidence = Fixture::manual().succeeded_ago(400 * DAY).build();
    let freshness = project(&evidence).freshness;
    assert_eq!(freshness.status, FreshnessStatus::Current);
    assert_eq!(freshness.window_seconds, None);
    assert_eq!(freshness.stale_at, None);
    assert_eq!(freshness.age_seconds, Some(400 * DAY));
}

#[test]
fn rule_3_a_disabled_schedule_gives_no_window() {
    let evidence = Fixture::manual()
        .schedule(false, HOUR, None)
        .succeeded_ago(5 * DAY)
        .build();
    assert_eq!(project(&evidence).freshness.window_seconds, None);
    assert_eq!(
        project(&evidence).freshness.status,
        FreshnessStatus::Current
    );
}

#[test]
fn rule_4_scheduled_connector_without_any_window_is_unknown() {
    let evidence = Fixture::healthy().no_schedule().build();
    let freshness = project(&evidence).freshness;
    assert_eq!(freshness.status, FreshnessStatus::Unknown);
    assert_eq!(freshness.last_success_at, Some(at(-10 * MINUTE)));
    assert_eq!(freshness.window_seconds, None);
}

#[test]
fn unreadable_evidence_makes_freshness_unknown_but_keeps_the_facts() {
    for state in [EvidenceState::Failed, EvidenceState::Missing] {
        let evidence = Fixture::healthy().evidence_state(state, None).build();
        let freshness = project(&evidence).freshness;
        assert_eq!(freshness.status, FreshnessStatus::Unknown, "{state:?}");
        assert_eq!(freshness.last_success_at, Some(at(-10 * MINUTE)));
        assert_eq!(freshness.window_seconds, Some(2 * HOUR));
    }
}

#[test]
fn dirty_evidence_is_still_judged() {
    let evidence = Fixture::healthy()
        .evidence_state(EvidenceState::Dirty, None)
        .build();
    assert_eq!(
        project(&evidence).freshness.status,
        FreshnessStatus::Current
    );
}

#[test]
fn a_success_stamped_in_the_future_reads_as_age_zero_and_current() {
    let evidence = Fixture::healthy().succeeded_ago(-90).build();
    let freshness = project(&evidence).freshness;
    assert_eq!(freshness.age_seconds, Some(0));
    assert_eq!(freshness.status, FreshnessStatus::Current);
}

#[test]
fn a_success_without_finish_time_counts_from_its_start() {
    let mut evidence = Fixture::healthy().build();
    let success = evidence.last_successful_run.as_mut().unwrap();
    success.finished_at = None;
    let started = success.started_at;
    assert_eq!(project(&evidence).freshness.last_success_at, Some(started));
}

#[test]
fn an_absurd_stored_window_does_not_panic() {
    let mut evidence = Fixture::healthy().build();
    evidence.window_seconds = Some(i64::MAX);
    let freshness = project(&evidence).freshness;
    assert_eq!(freshness.status, FreshnessStatus::Current);
    assert_eq!(freshness.stale_at, None);
}

/// The seed's scenario: evidence unchanged, time crosses the threshold, verdict changes.
#[test]
fn crossing_the_threshold_changes_the_verdict_with_no_write() {
    let evidence = Fixture::healthy().build();
    let stale_at = evidence.stale_at.unwrap();

    let before = synthesize(&evidence, stale_at, &idle());
    assert_eq!(before.freshness.status, FreshnessStatus::Current);
    assert_eq!(before.health.state, HealthState::Healthy);
    assert_eq!(before.verdict.pill.tone, Tone::Green);

    let after = synthesize(&evidence, stale_at + chrono::TimeDelta::seconds(1), &idle());
    assert_eq!(after.freshness.status, FreshnessStatus::Stale);
    assert_eq!(after.health.state, HealthState::Degraded);
    assert_eq!(after.health.reason_code, "stale");
    assert_ne!(after.verdict.pill.tone, Tone::Green);
    assert!(after.health.badges.stale);
}

#[test]
fn crossing_the_threshold_on_a_manual_connector_makes_it_due() {
    let evidence = Fixture::manual()
        .mode(RecommendedMode::Manual)
        .manifest_staleness(Some(DAY))
        .build();
    let stale_at = evidence.stale_at.unwrap();
    assert_eq!(
        synthesize(&evidence, stale_at, &idle()).health.reason_code,
        "fresh"
    );
    let after = synthesize(&evidence, stale_at + chrono::TimeDelta::seconds(1), &idle());
    assert_eq!(after.health.reason_code, "refresh_due");
    assert_eq!(after.verdict.pill.label, "Needs refresh");
}
