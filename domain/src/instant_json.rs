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
use serde::de::Visitor;
use serde::{Deserializer, Serializer};

/// The longest fast-path text: `YYYY-MM-DDTHH:MM:SS.fffffffffZ`.
const MAX_LEN: usize = 30;

/// "00" to "99": a two-digit field is one copy from here, not two divisions and two adds.
const PAIRS: &[u8; 200] = b"\
0001020304050607080910111213141516171819202122232425262728293031323334353637383940414243444546474849\
5051525354555657585960616263646566676869707172737475767778798081828384858687888990919293949596979899";

/// Writes `value`'s last `out.len()` decimal digits into `out`, two at a time from the
/// right. Every call site passes a fixed-size slice, so the loop unrolls.
fn put_digits(out: &mut [u8], mut value: u32) {
    let mut end = out.len();
    while end >= 2 {
        let pair = (value % 100) as usize * 2;
        out[end - 2..end].copy_from_slice(&PAIRS[pair..pair + 2]);
        value /= 100;
        end -= 2;
    }
    if end == 1 {
        out[0] = b'0' + (value % 10) as u8;
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
    let seconds = at.num_seconds_from_midnight();
    let mut out = *b"0000-00-00T00:00:00.000000000Z";
    put_digits(&mut out[0..4], year as u32);
    put_digits(&mut out[5..7], at.month());
    put_digits(&mut out[8..10], at.day());
    put_digits(&mut out[11..13], seconds / 3600);
    put_digits(&mut out[14..16], seconds / 60 % 60);
    put_digits(&mut out[17..19], seconds % 60);
    let len = if nanos == 0 {
        19
    } else if nanos.is_multiple_of(1_000_000) {
        put_digits(&mut out[20..23], nanos / 1_000_000);
        23
    } else if nanos.is_multiple_of(1_000) {
        put_digits(&mut out[20..26], nanos / 1_000);
        26
    } else {
        put_digits(&mut out[20..29], nanos);
        29
    };
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
pub(crate) fn parse_fast(text: &str) -> Option<Instant> {
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

/// Reads an instant from the text the deserializer holds, borrowed from its input or its
/// scratch buffer. (Through `Cow<str>` serde copies every text into a `String` of its own:
/// an allocation per instant, three or more per stored row.)
struct Text;

impl Visitor<'_> for Text {
    type Value = Instant;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an RFC 3339 instant")
    }

    fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Instant, E> {
        parse(text)
    }
}

pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Instant, D::Error> {
    d.deserialize_str(Text)
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

    struct MaybeText;

    impl<'de> Visitor<'de> for MaybeText {
        type Value = Option<Instant>;

        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("an RFC 3339 instant or null")
        }

        fn visit_none<E: serde::de::Error>(self) -> Result<Option<Instant>, E> {
            Ok(None)
        }

        fn visit_unit<E: serde::de::Error>(self) -> Result<Option<Instant>, E> {
            Ok(None)
        }

        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Option<Instant>, D::Error> {
            super::deserialize(d).map(Some)
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Instant>, D::Error> {
        d.deserialize_option(MaybeText)
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

    /// The reader takes the text however the deserializer holds it: borrowed from the input,
    /// unescaped into its scratch buffer, or owned (a `Value`'s); `null` and a missing
    /// optional instant are `None`, and anything but text is refused.
    #[test]
    fn instants_are_read_from_borrowed_escaped_and_owned_text() {
        let expected = Fast {
            at: instant(1_795_786_627, 450_000_000),
            maybe: None,
        };
        for json in [
            r#"{"at":"2026-11-27T13:37:07.450Z","maybe":null}"#,
            r#"{"at":"2026-11-27T13:37:07.450\u005A"}"#,
        ] {
            let read: Fast = serde_json::from_str(json).unwrap();
            assert_eq!(read, expected, "{json}");
            let value: serde_json::Value = serde_json::from_str(json).unwrap();
            assert_eq!(serde_json::from_value::<Fast>(value).unwrap(), expected);
        }
        let both = r#"{"at":"2026-11-27T13:37:07.450Z","maybe":"1970-01-01T00:00:00Z"}"#;
        let read: Fast = serde_json::from_str(both).unwrap();
        assert_eq!(read.maybe, Some(instant(0, 0)));
        for refused in [
            r#"{"at":1795786627}"#,
            r#"{"at":null}"#,
            r#"{"at":"2026-11-27T13:37:07Z","maybe":0}"#,
        ] {
            assert!(serde_json::from_str::<Fast>(refused).is_err(), "{refused}");
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
