//! SPEC §4 rendered verdict: pill per row, annotations and the forward statement.

use super::fixture::*;
use crate::evidence::{Evidence, EvidenceState};
use crate::liveness::Liveness;
use crate::model::{AttentionKind, ConnectionStatus, FailureReason};
use crate::synthesis::{synthesize, Annotation, Tone};

fn pill_with(evidence: &Evidence, liveness: &Liveness) -> (Tone, String) {
    let pill = synthesize(evidence, now(), liveness).verdict.pill;
    (pill.tone, pill.label)
}

fn pill(evidence: &Evidence) -> (Tone, String) {
    pill_with(evidence, &idle())
}

fn expect(evidence: &Evidence, tone: Tone, label: &str) {
    assert_eq!(pill(evidence), (tone, label.to_owned()));
}

fn expect_syncing(evidence: &Evidence, tone: Tone, label: &str) {
    assert_eq!(pill_with(evidence, &syncing()), (tone, label.to_owned()));
}

fn notes_with(evidence: &Evidence, liveness: &Liveness) -> Vec<Annotation> {
    synthesize(evidence, now(), liveness).verdict.annotations
}

fn freshness_note(evidence: &Evidence) -> String {
    let notes = notes_with(evidence, &idle());
    assert_eq!(notes[0].kind, "freshness");
    notes[0].text.clone()
}

fn forward_with(evidence: &Evidence, liveness: &Liveness) -> String {
    synthesize(evidence, now(), liveness)
        .verdict
        .forward_statement
}

fn forward(evidence: &Evidence) -> String {
    forward_with(evidence, &idle())
}

#[test]
fn healthy_is_green_and_syncing_while_a_run_is_active() {
    let evidence = Fixture::healthy().build();
    expect(&evidence, Tone::Green, "Healthy");
    expect_syncing(&evidence, Tone::Green, "Syncing");
}

#[test]
fn refresh_due_is_amber_needs_refresh_or_syncing() {
    let evidence = Fixture::manual()
        .manifest_staleness(Some(HOUR))
        .succeeded_ago(DAY)
        .build();
    expect(&evidence, Tone::Amber, "Needs refresh");
    expect_syncing(&evidence, Tone::Amber, "Syncing");
}

#[test]
fn cooling_off_is_amber_needs_refresh_or_syncing() {
    let evidence = Fixture::healthy()
        .failed(FailureReason::RateLimited)
        .build();
    expect(&evidence, Tone::Amber, "Needs refresh");
    expect_syncing(&evidence, Tone::Amber, "Syncing");
}

#[test]
fn degraded_is_amber_and_keeps_its_label_while_syncing() {
    let stale = Fixture::healthy().succeeded_ago(3 * HOUR).build();
    expect(&stale, Tone::Amber, "Degraded");
    expect_syncing(&stale, Tone::Amber, "Degraded");

    let gaps = Fixture::healthy().gap("plays", true, true).build();
    expect(&gaps, Tone::Amber, "Degraded");

    let failed = Fixture::healthy()
        .failed(FailureReason::OwnerCancelled)
        .build();
    expect(&failed, Tone::Amber, "Degraded");

    assert_eq!(
        pill_with(&Fixture::healthy().build(), &stalled()),
        (Tone::Amber, "Degraded".to_owned())
    );
}

#[test]
fn needs_attention_with_current_data_is_amber_degraded() {
    let evidence = Fixture::healthy().attention(AttentionKind::Reauth).build();
    expect(&evidence, Tone::Amber, "Degraded");
}

#[test]
fn needs_attention_with_stale_or_never_or_unknown_data_is_red() {
    let stale = Fixture::healthy()
        .succeeded_ago(3 * HOUR)
        .failed(FailureReason::CredentialRejected)
        .build();
    expect(&stale, Tone::Red, "Can't collect");

    let never = Fixture::healthy()
        .never_succeeded()
        .attention(AttentionKind::AddInfo)
        .build();
    expect(&never, Tone::Red, "Can't collect");

    let unknown = Fixture::healthy()
        .no_schedule()
        .attention(AttentionKind::Reauth)
        .build();
    expect(&unknown, Tone::Red, "Can't collect");
}

#[test]
fn blocked_is_red() {
    expect(
        &Fixture::healthy().failures(7, 0).build(),
        Tone::Red,
        "Can't collect",
    );
    expect(
        &Fixture::healthy().failures(2, 2).build(),
        Tone::Red,
        "Can't collect",
    );
}

#[test]
fn never_run_is_grey_not_measured_or_syncing() {
    let evidence = Fixture::healthy().never_succeeded().build();
    expect(&evidence, Tone::Grey, "Not measured");
    expect_syncing(&evidence, Tone::Grey, "Syncing");
}

#[test]
fn paused_and_disabled_schedule_are_grey_paused() {
    let paused = Fixture::healthy().status(ConnectionStatus::Paused).build();
    expect(&paused, Tone::Grey, "Paused");
    expect_syncing(&paused, Tone::Grey, "Paused");
    expect(
        &Fixture::healthy().schedule(false, HOUR, None).build(),
        Tone::Grey,
        "Paused",
    );
}

#[test]
fn unknown_is_grey_checking() {
    expect(
        &Fixture::healthy()
            .evidence_state(EvidenceState::Failed, Some("boom"))
            .build(),
        Tone::Grey,
        "Checking",
    );
    expect(
        &Fixture::healthy().no_schedule().build(),
        Tone::Grey,
        "Checking",
    );
}

#[test]
fn draft_and_revoked_are_grey() {
    let draft = Fixture::healthy().status(ConnectionStatus::Draft).build();
    expect(&draft, Tone::Grey, "Setup in progress");
    let revoked = Fixture::healthy().status(ConnectionStatus::Revoked).build();
    expect(&revoked, Tone::Grey, "Revoked");
}

#[test]
fn freshness_annotation_texts() {
    assert_eq!(
        freshness_note(&Fixture::healthy().build()),
        "Fresh, last refreshed 10 minutes ago."
    );
    assert_eq!(
        freshness_note(&Fixture::healthy().succeeded_ago(20).build()),
        "Fresh, last refreshed just now."
    );
    assert_eq!(
        freshness_note(&Fixture::manual().succeeded_ago(3 * DAY + HOUR).build()),
        "Fresh, last refreshed 3 days ago."
    );
    assert_eq!(
        freshness_note(&Fixture::healthy().succeeded_ago(5 * HOUR).build()),
        "Stale for this connection's freshness policy: last refreshed 5 hours ago."
    );
    assert_eq!(
        freshness_note(&Fixture::healthy().never_succeeded().build()),
        "Freshness has not been measured yet."
    );
    assert_eq!(
        freshness_note(
            &Fixture::healthy()
                .no_schedule()
                .succeeded_ago(2 * DAY)
                .build()
        ),
        "Last refreshed 2 days ago; no freshness window applies."
    );
    assert_eq!(
        freshness_note(
            &Fixture::healthy()
                .evidence_state(EvidenceState::Missing, None)
                .build()
        ),
        "Freshness can't be checked right now."
    );
}

#[test]
fn a_running_refresh_adds_a_syncing_note_without_hiding_freshness() {
    let evidence = Fixture::healthy().succeeded_ago(3 * DAY).build();
    let notes = notes_with(&evidence, &syncing());
    assert_eq!(notes[0].kind, "freshness");
    assert!(notes[0].text.starts_with("Stale"));
    assert!(notes
        .iter()
        .any(|n| n.kind == "syncing" && n.text == "Refreshing now."));
    assert!(!notes_with(&evidence, &idle())
        .iter()
        .any(|n| n.kind == "syncing"));
}

#[test]
fn stalled_gaps_and_evidence_notes() {
    let notes = notes_with(&Fixture::healthy().build(), &stalled());
    assert!(notes.iter().any(|n| n.kind == "stalled"
        && n.text == "The run in progress stopped reporting 10 minutes ago."));

    let gaps = Fixture::healthy()
        .gap("plays", true, true)
        .gap("plays", true, false)
        .gap("podcasts", false, true)
        .build();
    let notes = notes_with(&gaps, &idle());
    assert!(notes
        .iter()
        .any(|n| n.kind == "gaps" && n.text == "2 streams have unrecovered gaps."));
    let one = Fixture::healthy().gap("plays", true, true).build();
    assert!(notes_with(&one, &idle())
        .iter()
        .any(|n| n.text == "1 stream has unrecovered gaps."));

    let failed = Fixture::healthy()
        .evidence_state(EvidenceState::Failed, Some("source read failed"))
        .build();
    assert!(notes_with(&failed, &idle())
        .iter()
        .any(|n| n.kind == "evidence"
            && n.text == "Summary evidence could not be read: source read failed."));
}

#[test]
fn no_runtime_note_per_connection() {
    let notes = notes_with(&Fixture::healthy().build(), &runtime_down(idle()));
    assert!(notes.iter().all(|n| n.kind != "runtime"));
}

#[test]
fn forward_statement_for_blocking_states() {
    let cases = [
        (
            Fixture::healthy().attention(AttentionKind::Reauth).build(),
            "Nothing will be collected until you reconnect this account.",
        ),
        (
            Fixture::healthy().attention(AttentionKind::AddInfo).build(),
            "Nothing will be collected until you complete the requested action.",
        ),
        (
            Fixture::healthy().status(ConnectionStatus::Paused).build(),
            "Nothing will be collected until you resume this connection.",
        ),
        (
            Fixture::healthy().schedule(false, HOUR, None).build(),
            "Nothing will be collected automatically until the schedule is enabled again.",
        ),
        (
            Fixture::healthy().failures(7, 0).build(),
            "Collection will keep failing until the connector is fixed.",
        ),
        (
            Fixture::healthy().status(ConnectionStatus::Draft).build(),
            "Nothing will be collected until setup is finished.",
        ),
        (
            Fixture::healthy().status(ConnectionStatus::Revoked).build(),
            "Nothing will be collected until you reactivate this connection.",
        ),
        (
            Fixture::healthy()
                .evidence_state(EvidenceState::Missing, None)
                .build(),
            "This summary will update once its evidence can be read again.",
        ),
    ];
    for (evidence, expected) in cases {
        assert_eq!(forward(&evidence), expected);
    }
}

#[test]
fn forward_statement_follows_the_schedule() {
    assert_eq!(
        forward(
            &Fixture::healthy()
                .schedule(true, HOUR, Some(2 * HOUR))
                .build()
        ),
        "Next refresh is scheduled in about 2 hours."
    );
    assert_eq!(
        forward(
            &Fixture::healthy()
                .schedule(true, HOUR, Some(-MINUTE))
                .build()
        ),
        "Next refresh is due now."
    );
    assert_eq!(
        forward(
            &Fixture::healthy()
                .failed(FailureReason::RateLimited)
                .build()
        ),
        "A retry is scheduled in about 50 minutes."
    );
    assert_eq!(
        forward(&Fixture::healthy().schedule(true, 6 * HOUR, None).build()),
        "Refreshes run automatically every 6 hours."
    );
    assert_eq!(
        forward(&Fixture::healthy().schedule(true, DAY, None).build()),
        "Refreshes run automatically every day."
    );
    assert_eq!(
        forward(&Fixture::healthy().schedule(true, 90 * MINUTE, None).build()),
        "Refreshes run automatically every 90 minutes."
    );
    assert_eq!(
        forward(&Fixture::manual().build()),
        "New data arrives only when you refresh this connection by hand."
    );
    assert_eq!(
        forward(&Fixture::healthy().no_schedule().build()),
        "Nothing will be collected until you refresh or set a schedule."
    );
}

#[test]
fn forward_statement_for_runs_and_runtime() {
    let evidence = Fixture::healthy().build();
    assert_eq!(
        forward_with(&evidence, &syncing()),
        "A refresh is running now; this summary updates when it finishes."
    );
    assert_eq!(
        forward_with(&evidence, &stalled()),
        "The run in progress stopped reporting and may need to be restarted."
    );
    assert_eq!(
        forward_with(&evidence, &runtime_down(idle())),
        "Scheduled refreshes will resume when the collection runtime is back."
    );
    assert_eq!(
        forward_with(&Fixture::manual().build(), &runtime_down(idle())),
        "New data arrives only when you refresh this connection by hand."
    );
}
