//! SPEC §4 required actions and channel.

use super::fixture::*;
use crate::evidence::{Evidence, EvidenceState};
use crate::liveness::Liveness;
use crate::model::{AttentionKind, ConnectionStatus, FailureReason};
use crate::synthesis::{synthesize, ActionKind, Audience, Channel, RequiredAction, Urgency};

fn actions_with(evidence: &Evidence, liveness: &Liveness) -> Vec<RequiredAction> {
    synthesize(evidence, now(), liveness)
        .verdict
        .required_actions
}

fn kinds_with(evidence: &Evidence, liveness: &Liveness) -> Vec<ActionKind> {
    actions_with(evidence, liveness)
        .iter()
        .map(|a| a.kind)
        .collect()
}

fn kinds(evidence: &Evidence) -> Vec<ActionKind> {
    kinds_with(evidence, &idle())
}

fn only(evidence: &Evidence, liveness: &Liveness) -> RequiredAction {
    let actions = actions_with(evidence, liveness);
    assert_eq!(actions.len(), 1, "{actions:?}");
    actions.into_iter().next().unwrap()
}

fn channel_with(evidence: &Evidence, liveness: &Liveness) -> Channel {
    synthesize(evidence, now(), liveness).verdict.channel
}

fn assert_action(
    action: &RequiredAction,
    kind: ActionKind,
    audience: Audience,
    urgency: Urgency,
    cta: &str,
    satisfied_when: &str,
) {
    assert_eq!(
        (
            action.kind,
            action.audience,
            action.urgency,
            action.cta.as_str(),
            action.satisfied_when.as_str()
        ),
        (kind, audience, urgency, cta, satisfied_when)
    );
}

#[test]
fn reauth_from_attention_or_rejected_credential() {
    for evidence in [
        Fixture::healthy().attention(AttentionKind::Reauth).build(),
        Fixture::healthy()
            .failed(FailureReason::CredentialRejected)
            .build(),
    ] {
        assert_action(
            &only(&evidence, &idle()),
            ActionKind::Reauth,
            Audience::Owner,
            Urgency::Now,
            "Reconnect this account",
            "A later run succeeds.",
        );
    }
}

#[test]
fn add_info_from_attention_or_needed_input() {
    for evidence in [
        Fixture::healthy().attention(AttentionKind::AddInfo).build(),
        Fixture::healthy()
            .failed(FailureReason::NeedsOwnerInput)
            .build(),
    ] {
        assert_action(
            &only(&evidence, &idle()),
            ActionKind::AddInfo,
            Audience::Owner,
            Urgency::Now,
            "Complete the requested action",
            "The attention request is resolved.",
        );
    }
}

#[test]
fn reauth_comes_before_add_info() {
    let evidence = Fixture::healthy()
        .attention(AttentionKind::AddInfo)
        .attention(AttentionKind::Reauth)
        .build();
    assert_eq!(kinds(&evidence), [ActionKind::Reauth, ActionKind::AddInfo]);
}

#[test]
fn no_refresh_while_the_owner_must_act_first() {
    let evidence = Fixture::healthy()
        .never_succeeded()
        .attention(AttentionKind::Reauth)
        .build();
    assert_eq!(kinds(&evidence), [ActionKind::Reauth]);
}

#[test]
fn blocked_asks_the_maintainer_for_a_code_fix_and_offers_no_refresh() {
    let evidence = Fixture::healthy()
        .succeeded_ago(3 * HOUR)
        .failed(FailureReason::ConnectorError)
        .failures(2, 2)
        .build();
    assert_action(
        &only(&evidence, &idle()),
        ActionKind::CodeFix,
        Audience::Maintainer,
        Urgency::Soon,
        "Connector needs a fix",
        "A later run succeeds.",
    );
}

#[test]
fn paused_with_a_prior_success_resumes_the_schedule() {
    let evidence = Fixture::healthy().status(ConnectionStatus::Paused).build();
    assert_action(
        &only(&evidence, &idle()),
        ActionKind::ReattachSchedule,
        Audience::Owner,
        Urgency::Soon,
        "Resume schedule",
        "The connection is resumed.",
    );
}

#[test]
fn paused_without_a_success_still_resumes_rather_than_refreshing() {
    let evidence = Fixture::healthy()
        .never_succeeded()
        .status(ConnectionStatus::Paused)
        .build();
    assert_eq!(kinds(&evidence), [ActionKind::ReattachSchedule]);
}

#[test]
fn disabled_schedule_resumes_the_schedule_and_refreshes_when_stale() {
    let current = Fixture::healthy().schedule(false, HOUR, None).build();
    assert_action(
        &only(&current, &idle()),
        ActionKind::ReattachSchedule,
        Audience::Owner,
        Urgency::Soon,
        "Resume schedule",
        "A schedule is enabled.",
    );
    let stale = Fixture::healthy()
        .manifest_staleness(Some(HOUR))
        .schedule(false, HOUR, None)
        .succeeded_ago(DAY)
        .build();
    assert_eq!(
        kinds(&stale),
        [ActionKind::ReattachSchedule, ActionKind::RefreshNow]
    );
}

#[test]
fn no_staleness_window_asks_for_a_schedule() {
    let evidence = Fixture::healthy().no_schedule().build();
    assert_eq!(kinds(&evidence), [ActionKind::ReattachSchedule]);
}

#[test]
fn refresh_now_when_stale_scheduled() {
    let evidence = Fixture::healthy().succeeded_ago(3 * HOUR).build();
    assert_action(
        &only(&evidence, &idle()),
        ActionKind::RefreshNow,
        Audience::Owner,
        Urgency::Soon,
        "Refresh now",
        "A later run succeeds.",
    );
}

#[test]
fn refresh_now_when_stale_manual() {
    let evidence = Fixture::manual()
        .manifest_staleness(Some(HOUR))
        .succeeded_ago(DAY)
        .build();
    assert_eq!(kinds(&evidence), [ActionKind::RefreshNow]);
}

#[test]
fn refresh_now_when_never_run() {
    let evidence = Fixture::healthy().never_succeeded().build();
    assert_eq!(kinds(&evidence), [ActionKind::RefreshNow]);
}

#[test]
fn refresh_now_when_the_last_run_failed_with_no_retry_scheduled() {
    let evidence = Fixture::healthy()
        .schedule(true, HOUR, None)
        .failed(FailureReason::SourceUnavailable)
        .build();
    assert_eq!(kinds(&evidence), [ActionKind::RefreshNow]);
}

#[test]
fn refresh_now_for_degraded_rows_nothing_else_clears() {
    let cancelled_by_owner = Fixture::healthy()
        .failed(FailureReason::OwnerCancelled)
        .build();
    assert_eq!(kinds(&cancelled_by_owner), [ActionKind::RefreshNow]);

    let unretryable_gap = Fixture::healthy().gap("plays", true, false).build();
    assert_eq!(kinds(&unretryable_gap), [ActionKind::RefreshNow]);

    let evidence = Fixture::healthy().build();
    assert_eq!(kinds_with(&evidence, &stalled()), [ActionKind::RefreshNow]);
}

#[test]
fn retryable_gaps_offer_retry_now() {
    let evidence = Fixture::healthy().gap("plays", true, true).build();
    assert_action(
        &only(&evidence, &idle()),
        ActionKind::RetryGap,
        Audience::Owner,
        Urgency::Verifying,
        "Retry now",
        "The gaps are recovered.",
    );
    let optional = Fixture::healthy().gap("podcasts", false, true).build();
    assert_eq!(kinds(&optional), [ActionKind::RetryGap]);
}

#[test]
fn stale_with_retryable_gaps_offers_both_in_table_order() {
    let evidence = Fixture::healthy()
        .succeeded_ago(3 * HOUR)
        .gap("plays", true, true)
        .build();
    assert_eq!(
        kinds(&evidence),
        [ActionKind::RefreshNow, ActionKind::RetryGap]
    );
}

#[test]
fn cooling_off_waits() {
    let evidence = Fixture::healthy()
        .failed(FailureReason::RateLimited)
        .build();
    assert_action(
        &only(&evidence, &idle()),
        ActionKind::Wait,
        Audience::None,
        Urgency::Verifying,
        "Collecting, no action needed",
        "The scheduled retry has run.",
    );
}

#[test]
fn an_active_run_waits_instead_of_refreshing() {
    let stale = Fixture::healthy()
        .succeeded_ago(3 * HOUR)
        .gap("plays", true, true)
        .build();
    assert_action(
        &only(&stale, &syncing()),
        ActionKind::Wait,
        Audience::None,
        Urgency::Verifying,
        "Collecting, no action needed",
        "The run in progress finishes.",
    );
    let healthy = Fixture::healthy().build();
    assert_eq!(kinds_with(&healthy, &syncing()), [ActionKind::Wait]);
    let never = Fixture::healthy().never_succeeded().build();
    assert_eq!(kinds_with(&never, &syncing()), [ActionKind::Wait]);
}

#[test]
fn an_active_run_waits_after_owner_actions() {
    let evidence = Fixture::healthy().attention(AttentionKind::Reauth).build();
    assert_eq!(
        kinds_with(&evidence, &syncing()),
        [ActionKind::Reauth, ActionKind::Wait]
    );
}

#[test]
fn unreadable_evidence_waits_for_the_next_fold() {
    let evidence = Fixture::healthy()
        .attention(AttentionKind::Reauth)
        .evidence_state(EvidenceState::Failed, Some("boom"))
        .build();
    let action = only(&evidence, &idle());
    assert_eq!(action.kind, ActionKind::Wait);
    assert_eq!(
        action.satisfied_when,
        "The summary evidence can be read again."
    );
}

#[test]
fn healthy_and_idle_has_no_actions() {
    assert!(kinds(&Fixture::healthy().build()).is_empty());
    assert!(kinds(&Fixture::manual().build()).is_empty());
}

#[test]
fn draft_continues_setup_and_revoked_reactivates() {
    let draft = Fixture::healthy()
        .status(ConnectionStatus::Draft)
        .attention(AttentionKind::Reauth)
        .build();
    assert_action(
        &only(&draft, &syncing()),
        ActionKind::ContinueSetup,
        Audience::Owner,
        Urgency::Soon,
        "Continue setup",
        "The connection is activated.",
    );
    let revoked = Fixture::healthy()
        .status(ConnectionStatus::Revoked)
        .succeeded_ago(9 * DAY)
        .build();
    assert_action(
        &only(&revoked, &idle()),
        ActionKind::Reactivate,
        Audience::Owner,
        Urgency::Soon,
        "Reactivate",
        "The connection is reactivated.",
    );
}

#[test]
fn next_action_in_the_summary_is_the_first_required_action() {
    let evidence = Fixture::healthy()
        .attention(AttentionKind::AddInfo)
        .attention(AttentionKind::Reauth)
        .build();
    let item = crate::summary::SummaryItem::project(evidence, now(), &idle());
    assert_eq!(item.next_action.map(|a| a.kind), Some(ActionKind::Reauth));
    let item = crate::summary::SummaryItem::project(Fixture::healthy().build(), now(), &idle());
    assert_eq!(item.next_action, None);
}

#[test]
fn channel_is_attention_for_an_owner_action_due_now() {
    let evidence = Fixture::healthy().attention(AttentionKind::Reauth).build();
    assert_eq!(channel_with(&evidence, &idle()), Channel::Attention);
}

#[test]
fn channel_is_advisory_for_other_addressed_actions() {
    for evidence in [
        Fixture::healthy().succeeded_ago(3 * HOUR).build(),
        Fixture::healthy().failures(7, 0).build(),
        Fixture::healthy().gap("podcasts", false, true).build(),
        Fixture::healthy().status(ConnectionStatus::Paused).build(),
        Fixture::healthy().status(ConnectionStatus::Draft).build(),
    ] {
        assert_eq!(
            channel_with(&evidence, &idle()),
            Channel::Advisory,
            "{evidence:?}"
        );
    }
}

#[test]
fn channel_is_calm_with_no_action_or_only_a_wait() {
    assert_eq!(
        channel_with(&Fixture::healthy().build(), &idle()),
        Channel::Calm
    );
    assert_eq!(
        channel_with(&Fixture::healthy().build(), &syncing()),
        Channel::Calm
    );
    let cooling = Fixture::healthy()
        .failed(FailureReason::RateLimited)
        .build();
    assert_eq!(channel_with(&cooling, &idle()), Channel::Calm);
}

#[test]
fn runtime_down_caps_every_channel_at_calm() {
    let attention = Fixture::healthy().attention(AttentionKind::Reauth).build();
    let advisory = Fixture::healthy().succeeded_ago(3 * HOUR).build();
    assert_eq!(
        channel_with(&attention, &runtime_down(idle())),
        Channel::Calm
    );
    assert_eq!(
        channel_with(&advisory, &runtime_down(idle())),
        Channel::Calm
    );
    // The actions themselves stay: the owner can still see what to do.
    assert_eq!(
        kinds_with(&attention, &runtime_down(idle())),
        [ActionKind::Reauth]
    );
}
