//! Instants in JSON, byte for byte as chrono writes them (RFC 3339 in UTC with `Z`; a
//! fraction only when there is one: 3, 6 or 9 digits), but written and read directly.
//! chrono formats through `fmt::Display`, which serde_json receives as dozens of small
//! pieces to escape one by one: on the streamed list that was a fifth of the server's CPU.
//! Anything outside the fast path's shape (years past 9999, leap seconds, offsets other than
//! `Z` on input) goes through chrono, so the accepted and produced forms do not change.
//!
//! Use with `#[serde(with = "crate::instant_json")]`, or `instant_json::option` for
//! `Option<Instant>`.

use crate::Instant;
use chrono::{Datelike, NaiveDate, TimeZone, Timelike, Utc};
use serde::{Deserialize, Deserializer, Serializer};

/// The longest fast-path text: `YYYY-MM-DDTHH:MM:SS.fffffffffZ`.
const MAX_LEN: usize = 30;

fn push_digits(out: &mut [u8; MAX_LEN], len: &mut usize, value: u32, digits: u32) {
    for i in (0..digits).rev() {
        out[*len] = b'0' + ((value / 10u32.pow(i)) % 10) as u8;
        *len += 1;
    }
}

/// The fast-path text, or `None` when chrono must write it.
pub(crate) fn format(at: &Instant) -> Option<([u8; MAX_LEN], usize)> {
    // Once: each accessor of a `DateTime` converts it to local time again (UTC here, but
    // still an offset addition per call; it was a third of this function's cost).
    let at = at.naive_utc();
    let year = at.year();
    let nanos = at.nanosecond();
    if !(0..=9999).contains(&year) || nanos >= 1_000_000_000 {
        return None;
    }
    let mut out = [0u8; MAX_LEN];
    let mut len = 0;
    let mut push = |value: u32, digits: u32, then: Option<u8>| {
        push_digits(&mut out, &mut len, value, digits);
        if let Some(separator) = then {
            out[len] = separator;
            len += 1;
        }
    };
    push(year as u32, 4, Some(b'-'));
    push(at.month(), 2, Some(b'-'));
    push(at.day(), 2, Some(b'T'));
    push(at.hour(), 2, Some(b':'));
    push(at.minute(), 2, Some(b':'));
    push(at.second(), 2, None);
    if nanos != 0 {
        out[len] = b'.';
        len += 1;
        if nanos.is_multiple_of(1_000_000) {
            push_digits(&mut out, &mut len, nanos / 1_000_000, 3);
        } else if nanos.is_multiple_of(1_000) {
            push_digits(&mut out, &mut len, nanos / 1_000, 6);
        } else {
            push_digits(&mut out, &mut len, nanos, 9);
        }
    }
    out[len] = b'Z';
    Some((out, len + 1))
}

pub fn serialize<S: Serializer>(at: &Instant, s: S) -> Result<S::Ok, S::Error> {
    match format(at) {
        // ASCII digits and separators only.
        Some((text, len)) => s.serialize_str(std::str::from_utf8(&text[..len]).unwrap_or("")),
        None => serde::Serialize::serialize(at, s),
    }
}

fn number(bytes: &[u8]) -> Option<u32> {
    bytes.iter().try_fold(0u32, |n, b| {
        b.is_ascii_digit().then(|| n * 10 + u32::from(b - b'0'))
    })
}

/// Reads the shape [`format`] writes; `None` for anything else.
fn parse_fast(text: &str) -> Option<Instant> {
    let b = text.as_bytes();
    if b.len() < 20 || b[b.len() - 1] != b'Z' {
        return None;
    }
    let separators = [(4, b'-'), (7, b'-'), (10, b'T'), (13, b':'), (16, b':')];
    if separators.iter().any(|&(i, c)| b[i] != c) {
        return None;
    }
    let nanos = match &b[19..b.len() - 1] {
        [] => 0,
        [b'.', digits @ ..] if matches!(digits.len(), 3 | 6 | 9) => {
            number(digits)? * 10u32.pow(9 - digits.len() as u32)
        }
        _ => return None,
    };
    let date = NaiveDate::from_ymd_opt(
        number(&b[0..4])? as i32,
        number(&b[5..7])?,
        number(&b[8..10])?,
    )?;
    let time = date.and_hms_nano_opt(
        number(&b[11..13])?,
        number(&b[14..16])?,
        number(&b[17..19])?,
        nanos,
    )?;
    // A leap second (second 60) is left to chrono.
    (time.second() < 60).then(|| Utc.from_utc_datetime(&time))
}

fn parse<E: serde::de::Error>(text: &str) -> Result<Instant, E> {
    match parse_fast(text) {
        Some(at) => Ok(at),
        None => text
            .parse::<chrono::DateTime<chrono::FixedOffset>>()
            .map(|at| at.with_timezone(&Utc))
            .map_err(E::custom),
    }
}

pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Instant, D::Error> {
    let text = std::borrow::Cow::<str>::deserialize(d)?;
    parse(&text)
}

/// The same for `Option<Instant>` (`null` is `None`).
pub mod option {
    use super::*;

    pub fn serialize<S: Serializer>(at: &Option<Instant>, s: S) -> Result<S::Ok, S::Error> {
        match at {
            Some(at) => super::serialize(at, s),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Instant>, D::Error> {
        Option::<std::borrow::Cow<str>>::deserialize(d)?
            .map(|text| parse(&text))
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
    struct Fast {
        #[serde(with = "crate::instant_json")]
        at: Instant,
        #[serde(default, with = "crate::instant_json::option")]
        maybe: Option<Instant>,
    }

    #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
    struct Chrono {
        at: Instant,
        maybe: Option<Instant>,
    }

    fn instant(seconds: i64, nanos: u32) -> Instant {
        Utc.timestamp_opt(seconds, nanos).single().unwrap()
    }

    fn assert_same_as_chrono(at: Instant, maybe: Option<Instant>) {
        let fast = serde_json::to_string(&Fast { at, maybe }).unwrap();
        let chrono = serde_json::to_string(&Chrono { at, maybe }).unwrap();
        assert_eq!(fast, chrono);
        let back: Fast = serde_json::from_str(&chrono).unwrap();
        assert_eq!(back, Fast { at, maybe });
    }

    #[test]
    fn edges_match_chrono() {
        for (seconds, nanos) in [
            (0, 0),
            (1_795_786_627, 0),
            (1_795_786_627, 450_000_000),
            (1_795_786_627, 1_000),
            (1_795_786_627, 1),
            (1_795_786_627, 999_999_999),
            (253_402_300_799, 999_000_000), // 9999-12-31T23:59:59.999
            (253_402_300_800, 0),           // year 10000: chrono's own path
            (-62_167_219_200, 0),           // 0000-01-01
            (-62_167_219_201, 0),           // year -1: chrono's own path
            (951_782_400, 0),               // 2000-02-29
        ] {
            assert_same_as_chrono(instant(seconds, nanos), None);
            assert_same_as_chrono(instant(0, 0), Some(instant(seconds, nanos)));
        }
    }

    #[test]
    fn other_forms_are_read_as_chrono_reads_them_and_malformed_ones_refused() {
        for (text, readable) in [
            ("2026-11-27T15:00:00+02:00", true),
            ("2026-11-27T13:00:00.5Z", true),
            ("2026-11-27 13:00:00Z", true),
            ("2016-12-31T23:59:60Z", true),
            ("", false),
            ("2026-13-01T00:00:00Z", false),
            ("2026-11-27T24:00:00Z", false),
            ("yesterday", false),
        ] {
            let json = format!(r#"{{"at":"{text}","maybe":null}}"#);
            let fast: Result<Fast, _> = serde_json::from_str(&json);
            let chrono: Result<Chrono, _> = serde_json::from_str(&json);
            assert_eq!(fast.is_ok(), readable, "{text}");
            match (fast, chrono) {
                (Ok(f), Ok(c)) => assert_eq!(f.at, c.at, "{text}"),
                (Err(_), Err(_)) => {}
                (f, c) => panic!("{text}: fast {f:?}, chrono {c:?}"),
            }
        }
    }

    proptest! {
        #[test]
        fn any_instant_matches_chrono(
            seconds in -62_167_219_200i64..253_402_300_800,
            nanos in prop_oneof![Just(0u32), (0u32..1_000).prop_map(|m| m * 1_000_000), 0u32..1_000_000_000],
        ) {
            assert_same_as_chrono(instant(seconds, nanos), Some(instant(seconds / 2, nanos)));
        }
    }
}
