//! Invariants over arbitrary evidence, instants and liveness, including evidence that
//! storage should never produce (inconsistent windows, odd counters): synthesis must stay
//! honest and total on all of it.

use super::fixture::*;
use crate::evidence::{CountState, Evidence, EvidenceState, GapEvidence, RunBrief};
use crate::evidence_json::{self, ReadJson};
use crate::liveness::{Liveness, RunLiveness};
use crate::model::{
    AttentionKind, ConnectionStatus, FailureReason, RecommendedMode, RunStatus, Schedule,
};
use crate::summary::SummaryItem;
use crate::summary_json::WriteJson;
use crate::synthesis::{
    synthesize, ActionKind, Audience, Channel, FreshnessStatus, HealthState, Tone, Urgency,
};
use crate::Instant;
use chrono::Timelike;
use proptest::prelude::*;
use proptest::sample::select;

fn offset() -> impl Strategy<Value = i64> {
    -400 * DAY..DAY
}

fn failure_reason() -> impl Strategy<Value = FailureReason> {
    prop_oneof![
        Just(FailureReason::CredentialRejected),
        Just(FailureReason::NeedsOwnerInput),
        Just(FailureReason::RateLimited),
        Just(FailureReason::SourceUnavailable),
        Just(FailureReason::ConnectorError),
        Just(FailureReason::OwnerCancelled),
        "[a-z_]{1,12}".prop_map(FailureReason::Other),
    ]
}

fn run_brief(
    id: &'static str,
    status: impl Strategy<Value = RunStatus>,
) -> impl Strategy<Value = RunBrief> {
    (
        status,
        proptest::option::of(failure_reason()),
        offset(),
        any::<bool>(),
    )
        .prop_map(
            move |(status, failure_reason, at_offset, finished)| RunBrief {
                run_id: id.to_owned(),
                status,
                started_at: at(at_offset),
                finished_at: finished.then(|| at(at_offset + 30)),
                failure_reason,
                records_written: 1,
                gap_count: 0,
            },
        )
}

fn schedule() -> impl Strategy<Value = Schedule> {
    (
        any::<bool>(),
        60..7 * DAY,
        0..HOUR,
        proptest::option::of(-DAY..7 * DAY),
    )
        .prop_map(
            |(enabled, interval_seconds, jitter_seconds, due)| Schedule {
                enabled,
                interval_seconds,
                jitter_seconds,
                next_due_at: due.map(at),
            },
        )
}

fn gap() -> impl Strategy<Value = GapEvidence> {
    (
        select(vec!["plays", "playlists", "podcasts"]),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(stream, required, retryable)| GapEvidence {
            run_id: "run-gap".to_owned(),
            stream: stream.to_owned(),
            reason: "timeout".to_owned(),
            retryable,
            required,
        })
}

prop_compose! {
    fn evidence()(
        lifecycle in (
            select(ConnectionStatus::ALL.to_vec()),
            select(RecommendedMode::ALL.to_vec()),
            select(vec![
                EvidenceState::Current,
                EvidenceState::Dirty,
                EvidenceState::Failed,
                EvidenceState::Missing,
            ]),
            proptest::option::of("[a-z ]{1,20}"),
        ),
        runs in (
            proptest::option::of(run_brief("run-last", select(RunStatus::ALL.to_vec()))),
            proptest::option::of(run_brief(
                "run-ok",
                select(vec![RunStatus::Succeeded, RunStatus::SucceededWithGaps]),
            )),
            0i64..12,
            0i64..4,
        ),
        work in (
            proptest::collection::vec(select(AttentionKind::ALL.to_vec()), 0..3),
            proptest::collection::vec(gap(), 0..4),
        ),
        freshness_inputs in (
            proptest::option::of(schedule()),
            proptest::option::of(1..30 * DAY),
            proptest::option::of(1..30 * DAY),
            // Storage resolves the window; occasionally hand synthesis one that disagrees.
            proptest::option::of(proptest::option::of(0..60 * DAY)),
        ),
    ) -> Evidence {
        let (status, mode, state, error) = lifecycle;
        let (last_run, last_successful_run, failures, connector_errors) = runs;
        let (open_attention, unrecovered_gaps) = work;
        let (schedule, override_seconds, manifest_seconds, forced_window) = freshness_inputs;

        let mut e = Fixture::healthy().build();
        e.status = status;
        e.recommended_mode = mode;
        e.meta.state = state;
        e.meta.error = error;
        e.last_run = last_run.or_else(|| last_successful_run.clone());
        e.last_successful_run = last_successful_run;
        e.consecutive_failures = failures;
        e.consecutive_connector_errors = connector_errors;
        e.open_attention = open_attention;
        e.unrecovered_gaps = unrecovered_gaps;
        e.maximum_staleness_override = override_seconds;
        e.manifest_staleness_seconds = manifest_seconds;
        let resolved =
            Evidence::effective_window(override_seconds, manifest_seconds, schedule.as_ref());
        e.window_seconds = forced_window.unwrap_or(resolved.map(|(seconds, _)| seconds));
        e.window_source = resolved.map(|(_, source)| source);
        e.schedule = schedule;
        e.stale_at = Evidence::compute_stale_at(e.last_successful_run.as_ref(), e.window_seconds);
        e
    }
}

fn liveness() -> impl Strategy<Value = Liveness> {
    (any::<bool>(), 0u8..3, 0..DAY).prop_map(|(runtime_up, run, beat_age)| Liveness {
        runtime_up,
        run: match run {
            0 => RunLiveness::Idle,
            1 => RunLiveness::Active {
                run_id: "run-live".to_owned(),
            },
            _ => RunLiveness::Stalled {
                run_id: "run-live".to_owned(),
                heartbeat_at: at(-beat_age),
            },
        },
    })
}

fn observed_at() -> impl Strategy<Value = Instant> {
    (-DAY..60 * DAY).prop_map(at)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn never_green_unless_current(e in evidence(), now in observed_at(), l in liveness()) {
        let p = synthesize(&e, now, &l);
        if p.freshness.status != FreshnessStatus::Current {
            prop_assert_ne!(p.verdict.pill.tone, Tone::Green);
        }
        prop_assert_eq!(
            p.verdict.pill.tone == Tone::Green,
            p.health.state == HealthState::Healthy
        );
    }

    #[test]
    fn label_and_freshness_note_always_present(
        e in evidence(), now in observed_at(), l in liveness()
    ) {
        let p = synthesize(&e, now, &l);
        prop_assert!(!p.verdict.pill.label.trim().is_empty());
        prop_assert_eq!(p.verdict.annotations[0].kind.as_str(), "freshness");
        prop_assert!(p.verdict.annotations.iter().all(|a| !a.text.trim().is_empty()));
        prop_assert!(p.verdict.forward_statement.ends_with('.'));
        prop_assert!(!p.trace.explanation.is_empty());
    }

    #[test]
    fn no_dead_ends(e in evidence(), now in observed_at(), l in liveness()) {
        let p = synthesize(&e, now, &l);
        let actions = &p.verdict.required_actions;
        if p.verdict.pill.tone != Tone::Green {
            prop_assert!(!actions.is_empty(), "{:?}", p);
        }
        let item = SummaryItem::project(e, now, &l);
        prop_assert_eq!(item.next_action.as_ref(), actions.first());
    }

    #[test]
    fn actions_are_unique_ordered_and_never_start_a_second_run(
        e in evidence(), now in observed_at(), l in liveness()
    ) {
        let actions = synthesize(&e, now, &l).verdict.required_actions;
        for (i, a) in actions.iter().enumerate() {
            prop_assert!(actions[..i].iter().all(|b| b.kind != a.kind), "{:?}", actions);
            prop_assert!(!a.cta.is_empty() && !a.satisfied_when.is_empty());
            prop_assert_eq!(a.audience == Audience::None, a.kind == ActionKind::Wait);
        }
        prop_assert!(actions.windows(2).all(|w| w[0].urgency <= w[1].urgency));
        let starts_a_run = actions
            .iter()
            .any(|a| matches!(a.kind, ActionKind::RefreshNow | ActionKind::RetryGap));
        if l.run.is_active() {
            prop_assert!(!starts_a_run, "{:?}", actions);
            prop_assert!(actions.iter().any(|a| a.kind == ActionKind::Wait)
                || matches!(e.status, ConnectionStatus::Draft | ConnectionStatus::Revoked));
        }
        if e.status != ConnectionStatus::Active {
            prop_assert!(!starts_a_run, "{:?}", actions);
        }
    }

    #[test]
    fn channel_follows_actions_and_runtime_down_is_calm(
        e in evidence(), now in observed_at(), l in liveness()
    ) {
        let verdict = synthesize(&e, now, &l).verdict;
        let owner_now = verdict
            .required_actions
            .iter()
            .any(|a| a.audience == Audience::Owner && a.urgency == Urgency::Now);
        let expected = if !l.runtime_up {
            Channel::Calm
        } else if owner_now {
            Channel::Attention
        } else if verdict.required_actions.iter().any(|a| a.audience != Audience::None) {
            Channel::Advisory
        } else {
            Channel::Calm
        };
        prop_assert_eq!(verdict.channel, expected);
        if !l.runtime_up {
            prop_assert_eq!(verdict.channel, Channel::Calm);
        }
    }

    /// The summary item's direct JSON writer writes what serde writes, for any item, with
    /// owner-typed text that needs escaping and instants with and without fractions.
    #[test]
    fn writes_what_serde_writes(
        e in evidence(),
        now in observed_at(),
        l in liveness(),
        texts in proptest::collection::vec(
            proptest::collection::vec(any::<char>(), 0..24).prop_map(String::from_iter),
            4,
        ),
        count_state in select(vec![CountState::Known, CountState::Stale, CountState::Unknown]),
        nanos in select(vec![0u32, 5_000_000, 123_456_000, 123_456_789]),
    ) {
        let mut e = e;
        e.display_name = e.display_name.map(|_| texts[0].clone());
        e.connector_display_name = texts[1].clone();
        e.meta.error = e.meta.error.map(|_| texts[3].clone());
        if let Some(stream) = e.streams.first_mut() {
            stream.name = texts[2].clone();
            stream.count_state = count_state;
            stream.last_updated_at = stream.last_updated_at.and_then(|t| t.with_nanosecond(nanos));
        }
        let item = SummaryItem::project(e, now, &l);
        let mut written = Vec::new();
        item.write_json(&mut written);
        prop_assert_eq!(String::from_utf8(written).unwrap(), serde_json::to_string(&item).unwrap());
    }

    /// Storage's stored parts are written directly as serde writes them, and read directly
    /// as serde reads them, for any evidence; text that needs escaping is left to serde
    /// (and read the same).
    #[test]
    fn stored_parts_are_written_and_read_as_serde_does(
        e in evidence(),
        text in proptest::collection::vec(any::<char>(), 0..24).prop_map(String::from_iter),
        nanos in select(vec![0u32, 5_000_000, 123_456_000, 123_456_789]),
    ) {
        let mut e = e;
        if let Some(stream) = e.streams.first_mut() {
            stream.name = text.clone();
            stream.last_updated_at = stream.last_updated_at.and_then(|t| t.with_nanosecond(nanos));
        }
        if let Some(gap) = e.unrecovered_gaps.first_mut() {
            gap.reason = text;
        }
        fn same<T>(value: &T) -> Result<(), TestCaseError>
        where
            T: ReadJson + WriteJson + serde::Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
        {
            let stored = serde_json::to_string(value).unwrap();
            let mut written = Vec::new();
            value.write_json(&mut written);
            prop_assert_eq!(String::from_utf8(written).unwrap(), stored.as_str());
            prop_assert_eq!(&evidence_json::read::<T>(&stored).unwrap(), value);
            if !stored.contains('\\') {
                let direct = evidence_json::read_direct::<T>(&stored);
                prop_assert_eq!(direct.as_ref(), Some(value));
            }
            Ok(())
        }
        same(&e.streams)?;
        for run in e.last_run.iter().chain(&e.last_successful_run) {
            same(run)?;
        }
        same(&e.open_attention)?;
        same(&e.unrecovered_gaps)?;
        if let Some(schedule) = &e.schedule {
            same(schedule)?;
        }
    }

    #[test]
    fn deterministic(e in evidence(), now in observed_at(), l in liveness()) {
        prop_assert_eq!(synthesize(&e, now, &l), synthesize(&e, now, &l));
    }

    #[test]
    fn health_fields_agree_with_their_inputs(
        e in evidence(), now in observed_at(), l in liveness()
    ) {
        let p = synthesize(&e, now, &l);
        prop_assert!(p.trace.health_rule <= 11);
        prop_assert_eq!(
            p.trace.health_rule == 0,
            matches!(e.status, ConnectionStatus::Draft | ConnectionStatus::Revoked)
        );
        prop_assert_eq!(p.health.badges.syncing, l.run.is_active());
        prop_assert_eq!(p.health.badges.stale, p.freshness.status == FreshnessStatus::Stale);
        prop_assert_eq!(p.health.last_success_at, e.last_success_at());
        prop_assert_eq!(p.freshness.last_success_at, e.last_success_at());
        if p.health.state == HealthState::CoolingOff {
            prop_assert!(p.health.next_attempt_at.is_some());
        }
    }

    /// Time only moves a connection towards staleness: once stale, staying stale.
    #[test]
    fn staleness_is_monotonic_in_time(
        e in evidence(), now in observed_at(), later in 0..30 * DAY
    ) {
        let l = Liveness { runtime_up: true, run: RunLiveness::Idle };
        let before = synthesize(&e, now, &l).freshness.status;
        let after = synthesize(&e, now + chrono::TimeDelta::seconds(later), &l).freshness.status;
        if before == FreshnessStatus::Stale {
            prop_assert_eq!(after, FreshnessStatus::Stale);
        }
        if after == FreshnessStatus::Current {
            prop_assert_eq!(before, FreshnessStatus::Current);
        }
    }
}
