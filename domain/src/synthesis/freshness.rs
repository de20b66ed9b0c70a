//! SPEC §4 freshness: rules 1-4, in order, over the window storage already resolved.

use super::signals::Signals;
use super::{Freshness, FreshnessStatus};
use chrono::TimeDelta;

/// Freshness at `signals.now`.
///
/// Beyond SPEC rules 1-4 there is one guard in front of them: when the evidence row is
/// missing or could not be folded, the status is `unknown` rather than a verdict computed
/// from a row that may be out of date or empty ("never a guess"). The facts that row does
/// carry (last success, window) are still reported.
///
/// `age_seconds` is clamped at zero: a success stamped slightly in the future (clock skew
/// between the runtime and this server) reads as "just now", not as a negative age.
pub(super) fn assess(signals: &Signals<'_>) -> Freshness {
    let evidence = signals.evidence;
    let last_success_at = evidence.last_success_at();
    let window_seconds = evidence.window_seconds;
    let elapsed = last_success_at.map(|at| signals.now - at);

    let status = if signals.evidence_unavailable() {
        FreshnessStatus::Unknown
    } else {
        match (elapsed, window_seconds) {
            (None, _) => FreshnessStatus::Never,
            (Some(elapsed), Some(window)) => {
                // Milliseconds, so a success half a second past the window is already stale,
                // and saturating, so an absurd stored window cannot overflow.
                if elapsed.num_milliseconds() <= window.saturating_mul(1000) {
                    FreshnessStatus::Current
                } else {
                    FreshnessStatus::Stale
                }
            }
            (Some(_), None) if signals.is_manual() => FreshnessStatus::Current,
            (Some(_), None) => FreshnessStatus::Unknown,
        }
    };

    Freshness {
        status,
        last_success_at,
        age_seconds: elapsed.map(|e| e.num_seconds().max(0)),
        window_seconds,
        stale_at: last_success_at
            .zip(window_seconds)
            .and_then(|(at, window)| {
                TimeDelta::try_seconds(window).and_then(|w| at.checked_add_signed(w))
            }),
    }
}
