//! SPEC §4 health table, one test per row plus the first-match-wins precedences.

use super::fixture::*;
use crate::evidence::{Evidence, EvidenceState};
use crate::liveness::Liveness;
use crate::model::{AttentionKind, ConnectionStatus, FailureReason, RecommendedMode, RunStatus};
use crate::synthesis::{synthesize, HealthState};

/// (state, reason_code, table row) at the fixed `now`.
fn outcome_with(evidence: &Evidence, liveness: &Liveness) -> (HealthState, String, u8) {
    let p = synthesize(evidence, now(), liveness);
    (p.health.state, p.health.reason_code, p.trace.health_rule)
}

fn outcome(evidence: &Evidence) -> (HealthState, String, u8) {
    outcome_with(evidence, &idle())
}

fn expect(evidence: &Evidence, state: HealthState, reason: &str, rule: u8) {
    assert_eq!(outcome(evidence), (state, reason.to_owned(), rule));
}

#[test]
fn lifecycle_draft_skips_the_table() {
    let evidence = Fixture::healthy()
        .status(ConnectionStatus::Draft)
        .attention(AttentionKind::Reauth)
        .evidence_state(EvidenceState::Missing, None)
        .build();
    expect(&evidence, HealthState::Idle, "setup_incomplete", 0);
}

#[test]
fn lifecycle_revoked_skips_the_table() {
    let evidence = Fixture::healthy()
        .status(ConnectionStatus::Revoked)
        .failures(9, 3)
        .build();
    expect(&evidence, HealthState::Idle, "revoked", 0);
}

#[test]
fn row_1_failed_fold_is_unknown() {
    let evidence = Fixture::healthy()
        .evidence_state(EvidenceState::Failed, Some("source read failed"))
        .build();
    expect(&evidence, HealthState::Unknown, "evidence_unavailable", 1);
    assert!(project(&evidence)
        .trace
        .explanation
        .contains("source read failed"));
}

#[test]
fn row_1_missing_row_is_unknown_and_beats_every_later_row() {
    let evidence = Fixture::healthy()
        .attention(AttentionKind::Reauth)
        .status(ConnectionStatus::Paused)
        .evidence_state(EvidenceState::Missing, None)
        .build();
    expect(&evidence, HealthState::Unknown, "evidence_unavailable", 1);
}

#[test]
fn row_2_open_reauth_attention() {
    let evidence = Fixture::healthy().attention(AttentionKind::Reauth).build();
    expect(&evidence, HealthState::NeedsAttention, "reauth_required", 2);
}

#[test]
fn row_2_open_add_info_attention() {
    let evidence = Fixture::healthy().attention(AttentionKind::AddInfo).build();
    expect(
        &evidence,
        HealthState::NeedsAttention,
        "owner_input_required",
        2,
    );
}

#[test]
fn row_2_credential_rejected() {
    let evidence = Fixture::healthy()
        .failed(FailureReason::CredentialRejected)
        .build();
    expect(&evidence, HealthState::NeedsAttention, "reauth_required", 2);
}

#[test]
fn row_2_needs_owner_input() {
    let evidence = Fixture::healthy()
        .failed(FailureReason::NeedsOwnerInput)
        .build();
    expect(
        &evidence,
        HealthState::NeedsAttention,
        "owner_input_required",
        2,
    );
}

#[test]
fn row_2_reauth_is_named_before_add_info() {
    let evidence = Fixture::healthy()
        .attention(AttentionKind::AddInfo)
        .attention(AttentionKind::Reauth)
        .build();
    expect(&evidence, HealthState::NeedsAttention, "reauth_required", 2);
}

#[test]
fn row_2_a_credential_failure_followed_by_a_cancelled_run_no_longer_counts() {
    let evidence = Fixture::healthy()
        .last_run(
            RunStatus::Cancelled,
            Some(FailureReason::CredentialRejected),
        )
        .build();
    expect(&evidence, HealthState::Healthy, "fresh", 11);
}

#[test]
fn row_2_beats_paused_and_blocked() {
    let evidence = Fixture::healthy()
        .attention(AttentionKind::Reauth)
        .status(ConnectionStatus::Paused)
        .failures(8, 2)
        .build();
    expect(&evidence, HealthState::NeedsAttention, "reauth_required", 2);
}

#[test]
fn row_3_paused_connection() {
    let evidence = Fixture::healthy().status(ConnectionStatus::Paused).build();
    expect(&evidence, HealthState::Idle, "paused", 3);
}

#[test]
fn row_3_disabled_schedule_on_a_scheduled_connector() {
    let evidence = Fixture::healthy().schedule(false, HOUR, None).build();
    expect(&evidence, HealthState::Idle, "schedule_disabled", 3);
}

#[test]
fn row_3_does_not_apply_to_a_disabled_schedule_on_a_manual_connector() {
    let evidence = Fixture::manual().schedule(false, HOUR, None).build();
    expect(&evidence, HealthState::Healthy, "fresh", 11);
}

#[test]
fn row_3_does_not_apply_to_a_scheduled_connector_with_no_schedule_row() {
    let evidence = Fixture::healthy()
        .no_schedule()
        .manifest_staleness(Some(DAY))
        .build();
    expect(&evidence, HealthState::Healthy, "fresh", 11);
}

#[test]
fn row_3_beats_blocked_and_stalled() {
    let evidence = Fixture::healthy()
        .status(ConnectionStatus::Paused)
        .failures(7, 2)
        .build();
    assert_eq!(
        outcome_with(&evidence, &stalled()),
        (HealthState::Idle, "paused".to_owned(), 3)
    );
}

#[test]
fn row_4_seven_consecutive_failures() {
    let evidence = Fixture::healthy()
        .failed(FailureReason::SourceUnavailable)
        .failures(7, 0)
        .build();
    expect(&evidence, HealthState::Blocked, "repeated_failures", 4);
}

#[test]
fn row_4_six_consecutive_failures_are_not_yet_blocked() {
    let evidence = Fixture::healthy()
        .failed(FailureReason::SourceUnavailable)
        .failures(6, 0)
        .build();
    assert_ne!(outcome(&evidence).0, HealthState::Blocked);
}

#[test]
fn row_4_connector_error_twice_in_a_row() {
    let evidence = Fixture::healthy()
        .failed(FailureReason::ConnectorError)
        .failures(2, 2)
        .build();
    expect(
        &evidence,
        HealthState::Blocked,
        "connector_error_repeated",
        4,
    );
}

#[test]
fn row_4_one_connector_error_is_not_blocked() {
    let evidence = Fixture::healthy()
        .failed(FailureReason::ConnectorError)
        .failures(1, 1)
        .build();
    assert_ne!(outcome(&evidence).0, HealthState::Blocked);
}

#[test]
fn row_4_names_the_connector_error_when_both_triggers_hold() {
    let evidence = Fixture::healthy()
        .failed(FailureReason::ConnectorError)
        .failures(9, 2)
        .build();
    expect(
        &evidence,
        HealthState::Blocked,
        "connector_error_repeated",
        4,
    );
}

#[test]
fn row_4_beats_stalled() {
    let evidence = Fixture::healthy().failures(7, 0).build();
    assert_eq!(outcome_with(&evidence, &stalled()).0, HealthState::Blocked);
}

#[test]
fn row_5_stalled_run() {
    let evidence = Fixture::healthy().build();
    assert_eq!(
        outcome_with(&evidence, &stalled()),
        (HealthState::Degraded, "run_stalled".to_owned(), 5)
    );
}

#[test]
fn row_5_an_active_run_is_not_stalled() {
    let evidence = Fixture::healthy().build();
    assert_eq!(
        outcome_with(&evidence, &syncing()),
        (HealthState::Healthy, "fresh".to_owned(), 11)
    );
}

#[test]
fn row_5_beats_cooling_off() {
    let evidence = Fixture::healthy()
        .failed(FailureReason::RateLimited)
        .build();
    assert_eq!(outcome_with(&evidence, &stalled()).1, "run_stalled");
}

#[test]
fn row_6_retryable_failure_current_data_and_a_retry_scheduled() {
    let evidence = Fixture::healthy()
        .failed(FailureReason::RateLimited)
        .build();
    expect(&evidence, HealthState::CoolingOff, "retry_scheduled", 6);
    let health = project(&evidence).health;
    assert_eq!(health.next_attempt_at, Some(at(50 * MINUTE)));
}

#[test]
fn row_6_other_failure_text_and_missing_reason_are_retryable() {
    let other = Fixture::healthy()
        .failed(FailureReason::Other("socket closed".to_owned()))
        .build();
    expect(&other, HealthState::CoolingOff, "retry_scheduled", 6);
    let unexplained = Fixture::healthy().last_run(RunStatus::Failed, None).build();
    expect(&unexplained, HealthState::CoolingOff, "retry_scheduled", 6);
}

#[test]
fn row_6_needs_the_data_to_be_current() {
    let evidence = Fixture::healthy()
        .succeeded_ago(3 * HOUR)
        .failed(FailureReason::RateLimited)
        .build();
    expect(&evidence, HealthState::Degraded, "last_run_failed", 7);
}

#[test]
fn row_6_needs_a_retry_to_be_scheduled() {
    let no_due_time = Fixture::healthy()
        .schedule(true, HOUR, None)
        .failed(FailureReason::RateLimited)
        .build();
    expect(&no_due_time, HealthState::Degraded, "last_run_failed", 7);

    let no_schedule = Fixture::healthy()
        .no_schedule()
        .manifest_staleness(Some(DAY))
        .failed(FailureReason::RateLimited)
        .build();
    expect(&no_schedule, HealthState::Degraded, "last_run_failed", 7);
}

#[test]
fn row_6_needs_a_retryable_reason() {
    let evidence = Fixture::healthy()
        .failed(FailureReason::OwnerCancelled)
        .build();
    expect(&evidence, HealthState::Degraded, "last_run_failed", 7);
}

#[test]
fn row_7_last_run_failed() {
    let evidence = Fixture::healthy()
        .no_schedule()
        .manifest_staleness(Some(DAY))
        .failed(FailureReason::SourceUnavailable)
        .build();
    expect(&evidence, HealthState::Degraded, "last_run_failed", 7);
}

#[test]
fn row_7_a_cancelled_last_run_is_not_a_failure() {
    let evidence = Fixture::healthy()
        .last_run(RunStatus::Cancelled, Some(FailureReason::OwnerCancelled))
        .build();
    expect(&evidence, HealthState::Healthy, "fresh", 11);
}

#[test]
fn row_7_unrecovered_gaps_on_a_required_stream() {
    let evidence = Fixture::healthy().gap("plays", true, true).build();
    expect(&evidence, HealthState::Degraded, "gaps_unrecovered", 7);
}

#[test]
fn row_7_gaps_on_an_optional_stream_do_not_degrade() {
    let evidence = Fixture::healthy().gap("podcasts", false, true).build();
    expect(&evidence, HealthState::Healthy, "fresh", 11);
}

#[test]
fn row_7_stale_scheduled_connector() {
    let evidence = Fixture::healthy().succeeded_ago(3 * HOUR).build();
    expect(&evidence, HealthState::Degraded, "stale", 7);
}

#[test]
fn row_7_names_the_failure_before_gaps_and_staleness() {
    let evidence = Fixture::healthy()
        .succeeded_ago(3 * HOUR)
        .gap("plays", true, true)
        .failed(FailureReason::SourceUnavailable)
        .build();
    expect(&evidence, HealthState::Degraded, "last_run_failed", 7);

    let evidence = Fixture::healthy()
        .succeeded_ago(3 * HOUR)
        .gap("plays", true, true)
        .build();
    expect(&evidence, HealthState::Degraded, "gaps_unrecovered", 7);
}

#[test]
fn row_7_beats_never_run() {
    let evidence = Fixture::healthy()
        .never_succeeded()
        .failed(FailureReason::SourceUnavailable)
        .build();
    expect(&evidence, HealthState::Degraded, "last_run_failed", 7);
}

#[test]
fn row_8_never_succeeded() {
    let evidence = Fixture::healthy().never_succeeded().build();
    expect(&evidence, HealthState::Idle, "never_run", 8);
}

#[test]
fn row_8_applies_to_manual_connectors_too() {
    let evidence = Fixture::manual().never_succeeded().build();
    expect(&evidence, HealthState::Idle, "never_run", 8);
}

#[test]
fn row_9_manual_connector_gone_stale() {
    let evidence = Fixture::manual()
        .manifest_staleness(Some(DAY))
        .succeeded_ago(2 * DAY)
        .build();
    expect(&evidence, HealthState::Idle, "refresh_due", 9);
}

#[test]
fn row_10_no_staleness_window() {
    let evidence = Fixture::healthy().no_schedule().build();
    expect(&evidence, HealthState::Unknown, "no_staleness_window", 10);
}

#[test]
fn row_11_otherwise_healthy() {
    let scheduled = Fixture::healthy().build();
    expect(&scheduled, HealthState::Healthy, "fresh", 11);
    let manual = Fixture::manual().mode(RecommendedMode::Manual).build();
    expect(&manual, HealthState::Healthy, "fresh", 11);
}

#[test]
fn next_attempt_is_the_scheduled_run_while_active_and_absent_when_nothing_runs() {
    assert_eq!(
        project(&Fixture::healthy().build()).health.next_attempt_at,
        Some(at(50 * MINUTE))
    );
    for evidence in [
        Fixture::healthy().status(ConnectionStatus::Paused).build(),
        Fixture::healthy().status(ConnectionStatus::Draft).build(),
        Fixture::healthy().status(ConnectionStatus::Revoked).build(),
        Fixture::healthy().schedule(false, HOUR, Some(HOUR)).build(),
        Fixture::healthy()
            .evidence_state(EvidenceState::Failed, None)
            .build(),
        Fixture::manual().build(),
    ] {
        assert_eq!(
            project(&evidence).health.next_attempt_at,
            None,
            "{evidence:?}"
        );
    }
}

#[test]
fn health_carries_last_success_and_badges() {
    let evidence = Fixture::healthy().succeeded_ago(3 * HOUR).build();
    let health = synthesize(&evidence, now(), &syncing()).health;
    assert_eq!(health.last_success_at, Some(at(-3 * HOUR)));
    assert!(health.badges.syncing);
    assert!(health.badges.stale);

    let health = project(&Fixture::healthy().build()).health;
    assert!(!health.badges.syncing);
    assert!(!health.badges.stale);
}

#[test]
fn every_explanation_is_a_plain_sentence() {
    let cases = [
        Fixture::healthy().status(ConnectionStatus::Draft).build(),
        Fixture::healthy().status(ConnectionStatus::Revoked).build(),
        Fixture::healthy()
            .evidence_state(EvidenceState::Missing, None)
            .build(),
        Fixture::healthy().attention(AttentionKind::Reauth).build(),
        Fixture::healthy()
            .failed(FailureReason::CredentialRejected)
            .build(),
        Fixture::healthy().attention(AttentionKind::AddInfo).build(),
        Fixture::healthy()
            .failed(FailureReason::NeedsOwnerInput)
            .build(),
        Fixture::healthy().status(ConnectionStatus::Paused).build(),
        Fixture::healthy().schedule(false, HOUR, None).build(),
        Fixture::healthy().failures(7, 0).build(),
        Fixture::healthy().failures(2, 2).build(),
        Fixture::healthy()
            .failed(FailureReason::RateLimited)
            .build(),
        Fixture::healthy()
            .failed(FailureReason::OwnerCancelled)
            .build(),
        Fixture::healthy().gap("plays", true, false).build(),
        Fixture::healthy().succeeded_ago(3 * HOUR).build(),
        Fixture::healthy().never_succeeded().build(),
        Fixture::manual()
            .manifest_staleness(Some(HOUR))
            .succeeded_ago(DAY)
            .build(),
        Fixture::healthy().no_schedule().build(),
        Fixture::healthy().build(),
        Fixture::manual().build(),
    ];
    for evidence in cases {
        let explanation = project(&evidence).trace.explanation;
        assert!(
            explanation.ends_with('.') && explanation.len() > 20,
            "{explanation:?}"
        );
    }
    let stalled = synthesize(&Fixture::healthy().build(), now(), &stalled());
    assert!(stalled.trace.explanation.contains("10 minutes ago"));
}
