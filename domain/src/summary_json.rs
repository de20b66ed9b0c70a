//! The summary item written as JSON directly: byte for byte what serde writes for it, at a
//! fraction of the cost. The streamed list writes one item per listed connection, and
//! through serde each of an item's ~87 object keys passed the serializer's escape check and
//! its map-entry plumbing, about 120 instructions a key (docs/performance.md, thirty-first
//! round). Here a key is a literal, copied with the punctuation around it in one go.
//! Storage writes the evidence parts it keeps as JSON (streams, runs, attention, gaps,
//! schedule) with the same writers, for every folded row (thirty-third round);
//! `evidence_json` declares those parts' objects once for its reader and this writer.
//!
//! The serde derives stay the definition of the shape: the OpenAPI schema, the console's
//! deserialization and every other body use them. Two things hold this writer to them:
//! every struct is destructured without `..` (a new field does not compile until it is
//! written here), and the property test `writes_what_serde_writes` compares the bytes with
//! serde_json's for arbitrary items (field order, renames and escapes).

use crate::evidence::{CountState, EvidenceState};
use crate::model::{AttentionKind, ConnectionStatus, FailureReason, RunStatus};
use crate::summary::{EvidenceSummary, SummaryItem};
use crate::synthesis::{
    ActionKind, Annotation, Audience, Channel, ConnectionHealth, Freshness, FreshnessStatus,
    HealthBadges, HealthState, Pill, RenderedVerdict, RequiredAction, Tone, Urgency,
};
use crate::Instant;
use serde::Serialize;

/// A value that can append itself to a JSON document.
pub trait WriteJson {
    fn write_json(&self, out: &mut Vec<u8>);
}

/// Writes `value` through serde_json: the rare strings that need escaping, and instants
/// outside the fast path.
fn through_serde(value: &(impl Serialize + ?Sized), out: &mut Vec<u8>) {
    // Writing to a `Vec` cannot fail, and none of these values has a failing `Serialize`.
    let written = serde_json::to_writer(&mut *out, value);
    debug_assert!(written.is_ok(), "{written:?}");
}

impl WriteJson for str {
    fn write_json(&self, out: &mut Vec<u8>) {
        // One branch-free pass: these strings are short, and a check of eight bytes at a
        // time measured no faster (docs/performance.md, thirty-first round).
        let needs_escape = self.bytes().fold(false, |needs, b| {
            needs | (b < 0x20) | (b == b'"') | (b == b'\\')
        });
        if needs_escape {
            through_serde(self, out);
        } else {
            write_quoted(self.as_bytes(), out);
        }
    }
}

/// `text` between quotes, as it is: for text that needs no escaping.
fn write_quoted(text: &[u8], out: &mut Vec<u8>) {
    out.reserve(text.len() + 2);
    out.push(b'"');
    out.extend_from_slice(text);
    out.push(b'"');
}

impl WriteJson for String {
    fn write_json(&self, out: &mut Vec<u8>) {
        self.as_str().write_json(out);
    }
}

impl WriteJson for i64 {
    fn write_json(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(itoa::Buffer::new().format(*self).as_bytes());
    }
}

impl WriteJson for bool {
    fn write_json(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(if *self { b"true" } else { b"false" });
    }
}

impl WriteJson for Instant {
    fn write_json(&self, out: &mut Vec<u8>) {
        match crate::instant_json::format(self) {
            Some((text, len)) => write_quoted(&text[..len], out),
            None => through_serde(self, out),
        }
    }
}

impl<T: WriteJson> WriteJson for Option<T> {
    fn write_json(&self, out: &mut Vec<u8>) {
        match self {
            Some(value) => value.write_json(out),
            None => out.extend_from_slice(b"null"),
        }
    }
}

impl<T: WriteJson> WriteJson for Vec<T> {
    fn write_json(&self, out: &mut Vec<u8>) {
        out.push(b'[');
        for (i, value) in self.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            value.write_json(out);
        }
        out.push(b']');
    }
}

/// Closed enums, as their `as_str` spells them: serde's snake_case spelling (see
/// `string_enum!`), which never needs escaping.
macro_rules! as_str_written {
    ($($name:ty),+ $(,)?) => {$(
        impl WriteJson for $name {
            fn write_json(&self, out: &mut Vec<u8>) {
                write_quoted(self.as_str().as_bytes(), out);
            }
        }
    )+};
}

as_str_written!(
    AttentionKind,
    ConnectionStatus,
    RunStatus,
    CountState,
    EvidenceState,
    FreshnessStatus,
    HealthState,
    Tone,
    Channel,
    ActionKind,
    Audience,
    Urgency,
);

/// A known reason is a snake_case word; any other is the runtime's own text, escaped.
impl WriteJson for FailureReason {
    fn write_json(&self, out: &mut Vec<u8>) {
        self.as_str().write_json(out);
    }
}

/// A struct as a JSON object: its fields in declaration order (serde's), each key a literal
/// with its punctuation. The struct is destructured in full, so the list cannot miss one.
/// Paths are spelled in full: `evidence_json` expands it too, for the stored parts.
macro_rules! object_written {
    ($name:ident { $first:ident $(, $field:ident)* $(,)? }) => {
        impl $crate::summary_json::WriteJson for $name {
            fn write_json(&self, out: &mut Vec<u8>) {
                let $name { $first $(, $field)* } = self;
                out.extend_from_slice(concat!("{\"", stringify!($first), "\":").as_bytes());
                $crate::summary_json::WriteJson::write_json($first, out);
                $(
                    out.extend_from_slice(concat!(",\"", stringify!($field), "\":").as_bytes());
                    $crate::summary_json::WriteJson::write_json($field, out);
                )*
                out.push(b'}');
            }
        }
    };
}
pub(crate) use object_written;

object_written!(Freshness {
    status,
    last_success_at,
    age_seconds,
    window_seconds,
    stale_at,
});

object_written!(HealthBadges { syncing, stale });

object_written!(ConnectionHealth {
    state,
    reason_code,
    last_success_at,
    next_attempt_at,
    badges,
});

object_written!(Pill { tone, label });

object_written!(Annotation { kind, text });

object_written!(RequiredAction {
    kind,
    audience,
    urgency,
    cta,
    satisfied_when,
});

object_written!(RenderedVerdict {
    pill,
    channel,
    annotations,
    forward_statement,
    required_actions,
});

object_written!(EvidenceSummary {
    state,
    computed_at,
    folded_seq,
    error,
});

object_written!(SummaryItem {
    connection_id,
    connector_instance_id,
    connector_id,
    connector_display_name,
    display_name,
    status,
    source_kind,
    created_at,
    updated_at,
    revoked_at,
    streams,
    total_records,
    total_records_state,
    last_run,
    last_successful_run,
    schedule,
    freshness,
    connection_health,
    rendered_verdict,
    next_action,
    evidence,
});

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    fn written(value: &impl WriteJson) -> String {
        let mut out = Vec::new();
        value.write_json(&mut out);
        String::from_utf8(out).expect("UTF-8")
    }

    #[test]
    fn strings_are_escaped_as_serde_json_escapes_them() {
        for text in [
            "",
            "plain",
            "quote \" and backslash \\",
            "controls \u{0} \u{8} \u{9} \n \u{c} \r \u{1f}",
            "not escaped: / \u{7f} é 🦀",
        ] {
            assert_eq!(
                written(&text.to_owned()),
                serde_json::to_string(text).unwrap()
            );
        }
    }

    #[test]
    fn numbers_and_flags_are_written_as_serde_json_writes_them() {
        for n in [0, -1, 42, i64::MIN, i64::MAX] {
            assert_eq!(written(&n), serde_json::to_string(&n).unwrap());
        }
        assert_eq!(written(&true), "true");
        assert_eq!(written(&Some(false)), "false");
        assert_eq!(written(&None::<i64>), "null");
        assert_eq!(written(&Vec::<i64>::new()), "[]");
        assert_eq!(written(&vec![1_i64, 2]), "[1,2]");
    }

    /// Instants the fast path writes, and ones it leaves to chrono (through serde), are
    /// written as the summary's `instant_json` fields serialize them.
    #[test]
    fn instants_are_written_as_their_fields_serialize_them() {
        #[derive(Serialize)]
        struct Field(#[serde(with = "crate::instant_json")] Instant);
        let instants = [
            Utc.timestamp_opt(0, 0).unwrap(),
            Utc.timestamp_millis_opt(1_767_225_600_123).unwrap(),
            Utc.timestamp_opt(1_767_225_600, 123_456_000).unwrap(),
            Utc.timestamp_opt(1_767_225_600, 123_456_789).unwrap(),
            Utc.with_ymd_and_hms(12_000, 1, 1, 0, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(-5, 6, 7, 8, 9, 10).unwrap(),
        ];
        for at in instants {
            assert_eq!(written(&at), serde_json::to_string(&Field(at)).unwrap());
        }
    }

    #[test]
    fn enums_are_spelled_as_serde_spells_them() {
        assert_eq!(
            written(&RunStatus::SucceededWithGaps),
            "\"succeeded_with_gaps\""
        );
        assert_eq!(written(&HealthState::NeedsAttention), "\"needs_attention\"");
        let other = FailureReason::Other("odd \"reason\"".to_owned());
        assert_eq!(written(&other), serde_json::to_string(&other).unwrap());
    }
}
