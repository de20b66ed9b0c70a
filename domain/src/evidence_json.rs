//! The evidence parts a summary row keeps as JSON text (streams, runs, open attention, gaps,
//! schedule), read back directly. Every read turns each row it returns into evidence, and
//! through serde_json these five or so small documents were a third of a served full list's
//! instructions (docs/performance.md, thirty-second round): each key went through the string
//! scanner and the derived field matcher, each optional instant through a visitor.
//!
//! Storage writes these parts as serde_json would (with `summary_json`'s writers, generated
//! for the objects from the same field lists as the readers below), compact and in
//! declaration order, so that is the one shape read here: keys as literals with their
//! punctuation, strings without escapes, integers without leading zeros. Anything else (an
//! escape, a space, another key order, an unknown key, a number that does not fit) makes the
//! direct reading give up, and serde_json reads the text instead, so what is accepted and
//! what it means do not change. The property test
//! `stored_parts_are_written_and_read_as_serde_does` holds the readers and writers together.

use crate::evidence::{CountState, GapEvidence, RunBrief, StreamEvidence};
use crate::model::{AttentionKind, FailureReason, RunStatus, Schedule};
use crate::Instant;
use serde::de::DeserializeOwned;

/// Reads a stored part: directly when it has the shape storage writes, else through serde.
pub fn read<T: ReadJson + DeserializeOwned>(text: &str) -> Result<T, serde_json::Error> {
    read_direct(text).map_or_else(|| serde_json::from_str(text), Ok)
}

/// What the direct reading alone makes of all of `text`; `None` when it gives up.
pub(crate) fn read_direct<T: ReadJson>(text: &str) -> Option<T> {
    let mut input = Input { rest: text };
    T::read_json(&mut input).filter(|_| input.rest.is_empty())
}

/// A value that can read itself from the front of compact JSON; `None` when the text there
/// is not in the shape serde_json writes it (the caller then lets serde_json read it all).
pub trait ReadJson: Sized {
    fn read_json(input: &mut Input<'_>) -> Option<Self>;
}

/// What is left of the text being read.
pub struct Input<'a> {
    rest: &'a str,
}

impl<'a> Input<'a> {
    /// Consumes `literal` if the text starts with it.
    fn literal(&mut self, literal: &str) -> Option<()> {
        self.rest = self.rest.strip_prefix(literal)?;
        Some(())
    }

    /// A string with nothing escaped, borrowed from the text.
    fn text(&mut self) -> Option<&'a str> {
        let inner = self.rest.strip_prefix('"')?;
        let end = inner
            .bytes()
            .position(|b| b == b'"' || b == b'\\' || b < 0x20)?;
        if inner.as_bytes()[end] != b'"' {
            return None;
        }
        // Cut at an ASCII quote: both halves are whole characters.
        let (text, after) = inner.split_at(end);
        self.rest = &after[1..];
        Some(text)
    }
}

impl ReadJson for String {
    fn read_json(input: &mut Input<'_>) -> Option<Self> {
        input.text().map(str::to_owned)
    }
}

impl ReadJson for bool {
    fn read_json(input: &mut Input<'_>) -> Option<Self> {
        if input.literal("true").is_some() {
            Some(true)
        } else {
            input.literal("false").map(|()| false)
        }
    }
}

impl ReadJson for i64 {
    fn read_json(input: &mut Input<'_>) -> Option<Self> {
        let bytes = input.rest.as_bytes();
        let negative = bytes.first() == Some(&b'-');
        let digits = &bytes[usize::from(negative)..];
        let len = digits.iter().take_while(|b| b.is_ascii_digit()).count();
        // A leading zero, a fraction or an exponent is serde_json's to judge.
        if len == 0 || (digits[0] == b'0' && len > 1) {
            return None;
        }
        if matches!(digits.get(len), Some(b'.' | b'e' | b'E')) {
            return None;
        }
        // Accumulated negatively: i64::MIN has no positive counterpart.
        let magnitude = digits[..len].iter().try_fold(0i64, |n, &b| {
            n.checked_mul(10)?.checked_sub(i64::from(b - b'0'))
        })?;
        let value = if negative {
            // serde_json reads "-0" as a float, which is no i64.
            (magnitude != 0).then_some(magnitude)?
        } else {
            magnitude.checked_neg()?
        };
        input.rest = &input.rest[usize::from(negative) + len..];
        Some(value)
    }
}

impl ReadJson for Instant {
    fn read_json(input: &mut Input<'_>) -> Option<Self> {
        crate::instant_json::parse_fast(input.text()?)
    }
}

impl<T: ReadJson> ReadJson for Option<T> {
    fn read_json(input: &mut Input<'_>) -> Option<Self> {
        if input.literal("null").is_some() {
            Some(None)
        } else {
            T::read_json(input).map(Some)
        }
    }
}

impl<T: ReadJson> ReadJson for Vec<T> {
    fn read_json(input: &mut Input<'_>) -> Option<Self> {
        input.literal("[")?;
        let mut values = Vec::new();
        if input.literal("]").is_some() {
            return Some(values);
        }
        loop {
            values.push(T::read_json(input)?);
            if input.literal(",").is_none() {
                input.literal("]")?;
                return Some(values);
            }
        }
    }
}

/// Closed enums, by the spelling their `parse` knows (serde's, see `string_enum!`).
macro_rules! parsed_read {
    ($($name:ty),+ $(,)?) => {$(
        impl ReadJson for $name {
            fn read_json(input: &mut Input<'_>) -> Option<Self> {
                <$name>::parse(input.text()?)
            }
        }
    )+};
}

parsed_read!(AttentionKind, RunStatus, CountState);

/// Every text is a reason: the known ones by name, any other as the runtime's own text.
impl ReadJson for FailureReason {
    fn read_json(input: &mut Input<'_>) -> Option<Self> {
        input.text().map(FailureReason::parse)
    }
}

/// A struct from a JSON object with exactly its fields, in declaration order (serde's),
/// each key a literal with its punctuation. The struct is built without `..`, so the list
/// cannot miss a field.
macro_rules! object_read {
    ($name:ident { $first:ident $(, $field:ident)* $(,)? }) => {
        impl ReadJson for $name {
            fn read_json(input: &mut Input<'_>) -> Option<Self> {
                input.literal(concat!("{\"", stringify!($first), "\":"))?;
                let $first = ReadJson::read_json(input)?;
                $(
                    input.literal(concat!(",\"", stringify!($field), "\":"))?;
                    let $field = ReadJson::read_json(input)?;
                )*
                input.literal("}")?;
                Some($name { $first $(, $field)* })
            }
        }
    };
}

/// A part storage keeps as a JSON object, declared once: its reader here and its writer
/// (`summary_json::object_written!`) from the one field list, so the two cannot disagree
/// on a key or its place.
macro_rules! stored_part {
    ($name:ident { $($field:ident),+ $(,)? }) => {
        object_read!($name { $($field),+ });
        crate::summary_json::object_written!($name { $($field),+ });
    };
}

stored_part!(StreamEvidence {
    name,
    required,
    record_count,
    count_state,
    last_updated_at,
});

stored_part!(RunBrief {
    run_id,
    status,
    started_at,
    finished_at,
    failure_reason,
    records_written,
    gap_count,
});

stored_part!(GapEvidence {
    run_id,
    stream,
    reason,
    retryable,
    required,
});

stored_part!(Schedule {
    enabled,
    interval_seconds,
    jitter_seconds,
    next_due_at,
});

#[cfg(test)]
mod tests {
    use super::*;
    use std::fmt::Debug;

    /// `read` agrees with serde_json on `text`: the same value, or both refuse it.
    fn agrees<T: ReadJson + DeserializeOwned + PartialEq + Debug>(text: &str) {
        let ours = read::<T>(text).map_err(|_| ());
        let serde = serde_json::from_str::<T>(text).map_err(|_| ());
        assert_eq!(ours, serde, "{text}");
    }

    #[test]
    fn numbers_are_read_directly_only_in_serde_json_form() {
        for (text, value) in [
            ("0", 0),
            ("7", 7),
            ("-42", -42),
            ("9223372036854775807", i64::MAX),
            ("-9223372036854775808", i64::MIN),
        ] {
            assert_eq!(read_direct::<i64>(text), Some(value), "{text}");
            agrees::<i64>(text);
        }
        for text in [
            "",
            "-",
            "01",
            "-01",
            "-0",
            "1.0",
            "1e3",
            "9223372036854775808",
            "-9223372036854775809",
            "+1",
            " 1",
            "1 ",
            "\"1\"",
        ] {
            assert_eq!(read_direct::<i64>(text), None, "{text}");
            agrees::<i64>(text);
        }
    }

    #[test]
    fn strings_with_escapes_or_controls_are_left_to_serde() {
        assert_eq!(
            read_direct::<String>(r#""plain é 🦀""#).as_deref(),
            Some("plain é 🦀")
        );
        assert_eq!(read_direct::<String>(r#""""#).as_deref(), Some(""));
        for text in [
            r#""a\"b""#,
            r#""a\\b""#,
            r#""\u00e9""#,
            "\"tab\there\"",
            r#""open"#,
        ] {
            assert_eq!(read_direct::<String>(text), None, "{text}");
            agrees::<String>(text);
        }
    }

    #[test]
    fn objects_in_another_shape_are_read_by_serde_or_refused_alike() {
        let stored = r#"{"enabled":true,"interval_seconds":3600,"jitter_seconds":0,"next_due_at":"2026-11-27T13:00:00Z"}"#;
        assert!(read_direct::<Schedule>(stored).is_some());
        for text in [
            stored,
            // Spaced, reordered, a key missing (serde's default), an unknown key, a key
            // twice, trailing text: serde's to judge.
            &stored.replace(':', ": "),
            r#"{"interval_seconds":3600,"enabled":true,"jitter_seconds":0,"next_due_at":null}"#,
            r#"{"enabled":true,"interval_seconds":3600,"jitter_seconds":0}"#,
            r#"{"enabled":true,"interval_seconds":3600,"jitter_seconds":0,"next_due_at":null,"extra":1}"#,
            r#"{"enabled":true,"enabled":true,"interval_seconds":3600,"jitter_seconds":0,"next_due_at":null}"#,
            &format!("{stored} "),
            &format!("{stored}x"),
            r#"{"enabled":true,"interval_seconds":3600,"jitter_seconds":0,"next_due_at":"2026-11-27T15:00:00+02:00"}"#,
            r#"{"enabled":1,"interval_seconds":3600,"jitter_seconds":0,"next_due_at":null}"#,
        ] {
            agrees::<Schedule>(text);
        }
        for text in [
            r#"["reauth","add_info"]"#,
            r#"[ "reauth" ]"#,
            r#"["reauth",]"#,
            r#"["someday"]"#,
            "[]",
            "[",
        ] {
            agrees::<Vec<AttentionKind>>(text);
        }
    }
}
