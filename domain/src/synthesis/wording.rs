//! Humane durations for owner-facing sentences.

const MINUTE: i64 = 60;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;

/// "1 run", "3 runs".
pub(super) fn plural(count: i64, unit: &str) -> String {
    counted("", count, unit, "")
}

/// `before`, then `count` and its unit (plural unless 1), then `after`, built in one
/// allocation: every summary carries one or two of these, and through `format!` (nested
/// around [`plural`]) each took two allocations and a formatter pass per piece, 3% of a
/// served list's instructions.
fn counted(before: &str, count: i64, unit: &str, after: &str) -> String {
    let mut digits = itoa::Buffer::new();
    let digits = digits.format(count);
    let mut text =
        String::with_capacity(before.len() + digits.len() + 1 + unit.len() + 1 + after.len());
    text.push_str(before);
    text.push_str(digits);
    text.push(' ');
    text.push_str(unit);
    if count != 1 {
        text.push('s');
    }
    text.push_str(after);
    text
}

/// How long ago, rounded down so "3 days ago" never overstates freshness.
pub(super) fn ago(seconds: i64) -> String {
    match seconds {
        s if s < MINUTE => "just now".to_owned(),
        s if s < HOUR => counted("", s / MINUTE, "minute", " ago"),
        s if s < DAY => counted("", s / HOUR, "hour", " ago"),
        s => counted("", s / DAY, "day", " ago"),
    }
}

/// How long until, rounded to the nearest unit: a forecast is approximate by nature, and
/// "about 1 hour" reads better than "about 59 minutes".
pub(super) fn until(seconds: i64) -> String {
    if seconds < MINUTE {
        return "in under a minute".to_owned();
    }
    let minutes = rounded(seconds, MINUTE);
    if minutes < 60 {
        return counted("in about ", minutes, "minute", "");
    }
    let hours = rounded(seconds, HOUR);
    if hours < 24 {
        return counted("in about ", hours, "hour", "");
    }
    counted("in about ", rounded(seconds, DAY), "day", "")
}

fn rounded(seconds: i64, unit: i64) -> i64 {
    (seconds.saturating_add(unit / 2)) / unit
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ago_rounds_down_through_each_unit() {
        assert_eq!(ago(0), "just now");
        assert_eq!(ago(59), "just now");
        assert_eq!(ago(60), "1 minute ago");
        assert_eq!(ago(3599), "59 minutes ago");
        assert_eq!(ago(3600), "1 hour ago");
        assert_eq!(ago(2 * HOUR + 59 * MINUTE), "2 hours ago");
        assert_eq!(ago(DAY - 1), "23 hours ago");
        assert_eq!(ago(DAY), "1 day ago");
        assert_eq!(ago(3 * DAY + 23 * HOUR), "3 days ago");
    }

    #[test]
    fn until_rounds_to_nearest_and_promotes_units() {
        assert_eq!(until(-5), "in under a minute");
        assert_eq!(until(59), "in under a minute");
        assert_eq!(until(60), "in about 1 minute");
        assert_eq!(until(89), "in about 1 minute");
        assert_eq!(until(90), "in about 2 minutes");
        assert_eq!(until(59 * MINUTE + 30), "in about 1 hour");
        assert_eq!(until(90 * MINUTE), "in about 2 hours");
        assert_eq!(until(23 * HOUR + 31 * MINUTE), "in about 1 day");
        assert_eq!(until(3 * DAY), "in about 3 days");
        assert_eq!(until(i64::MAX), format!("in about {} days", i64::MAX / DAY));
    }

    #[test]
    fn plural_handles_one_and_many() {
        assert_eq!(plural(1, "run"), "1 run");
        assert_eq!(plural(0, "run"), "0 runs");
        assert_eq!(plural(7, "run"), "7 runs");
        assert_eq!(plural(-1, "run"), "-1 runs");
        assert_eq!(plural(i64::MIN, "day"), format!("{} days", i64::MIN));
    }
}
