//! Backend-agnostic conversions: instants <-> epoch milliseconds, ids, canonical record JSON
//! and its content hash, and parsing of stored enum text.

use crate::error::{StoreError, StoreResult};
use console_domain::Instant;
use sha2::{Digest, Sha256};
use std::fmt::Write as _;

/// A value bound to a statement built at run time.
pub(crate) enum Bind {
    Text(String),
    Int(i64),
}

/// Epoch milliseconds, the storage form of every instant.
pub(crate) fn ms(at: Instant) -> i64 {
    at.timestamp_millis()
}

/// An instant from stored epoch milliseconds.
pub(crate) fn instant(millis: i64) -> Result<Instant, String> {
    chrono::DateTime::from_timestamp_millis(millis)
        .ok_or_else(|| format!("stored instant {millis} is out of range"))
}

pub(crate) fn opt_instant(millis: Option<i64>) -> Result<Option<Instant>, String> {
    millis.map(instant).transpose()
}

/// `conn_` / `run_` / `att_` + a time-ordered uuid.
pub(crate) fn new_id(prefix: &str) -> String {
    format!("{prefix}_{}", uuid::Uuid::now_v7().simple())
}

pub(crate) fn corrupt(message: impl Into<String>) -> StoreError {
    StoreError::Corrupt(message.into())
}

pub(crate) fn invalid(code: &'static str, message: impl Into<String>, param: &str) -> StoreError {
    StoreError::Invalid {
        code,
        message: message.into(),
        param: Some(param.to_owned()),
    }
}

/// Lifts a row-level decoding problem into a store error.
pub(crate) fn lift<T>(result: Result<T, String>) -> StoreResult<T> {
    result.map_err(StoreError::Corrupt)
}

/// Canonical JSON text: object keys sorted at every depth, no insignificant whitespace, so
/// equal data always has equal text (and hash) whatever order the keys arrived in.
pub(crate) fn canonical_json(value: &serde_json::Value) -> String {
    let mut out = String::new();
    write_canonical(value, &mut out);
    out
}

fn write_canonical(value: &serde_json::Value, out: &mut String) {
    use serde_json::Value;
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                write_canonical(&map[key], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

/// Hex SHA-256 of the canonical text.
pub(crate) fn content_hash(canonical: &str) -> String {
    let digest = Sha256::digest(canonical.as_bytes());
    let mut hex = String::with_capacity(64);
    for byte in digest {
        let _ = write!(hex, "{byte:02x}");
    }
    hex
}

/// Parses stored enum text with a sanitized error naming only the field.
pub(crate) fn parse_enum<T>(
    text: &str,
    field: &str,
    parse: fn(&str) -> Option<T>,
) -> Result<T, String> {
    parse(text).ok_or_else(|| format!("stored {field} is not a known value"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn canonical_json_sorts_keys_at_every_depth() {
        let a = json!({"b": 1, "a": {"y": [1, {"d": 2, "c": 3}], "x": null}});
        let b = json!({"a": {"x": null, "y": [1, {"c": 3, "d": 2}]}, "b": 1});
        assert_eq!(canonical_json(&a), canonical_json(&b));
        assert_eq!(
            canonical_json(&a),
            r#"{"a":{"x":null,"y":[1,{"c":3,"d":2}]},"b":1}"#
        );
        assert_eq!(content_hash(&canonical_json(&a)).len(), 64);
    }

    #[test]
    fn canonical_json_escapes_keys_and_strings() {
        let v = json!({"q\"k": "line\nbreak"});
        assert_eq!(canonical_json(&v), r#"{"q\"k":"line\nbreak"}"#);
    }

    #[test]
    fn instants_round_trip_through_millis() {
        let at = instant(1_700_000_000_123).unwrap();
        assert_eq!(ms(at), 1_700_000_000_123);
        assert!(instant(i64::MAX).is_err());
    }
}
