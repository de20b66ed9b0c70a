//! Framed text: how SQLite hands the streamed list over, many rows per result value.
//!
//! A chunk is the concatenation of every column value of its rows, each framed so it can be
//! read without escaping or unescaping anything:
//!
//! - NULL: `~`
//! - an integer: `#` decimal `;` (`#-42;`)
//! - a text: its length in bytes, `:`, then the text as stored (`5:a:b~c`)
//!
//! SQLite builds it with string concatenation only, and this side slices it: a JSON array
//! of the same rows (what the chunk was before) had SQLite escape every nested JSON text
//! and this process unescape it again, nearly a quarter of the fleet bench's reads
//! (docs/performance.md, fourteenth round).
//!
//! [`Framed`] reads it as a serde deserializer: a struct or tuple is its fields' values one
//! after the other, so a row's derived `Deserialize` reads it unchanged.

use crate::evidence_row::ColType;
use serde::de::value::Error;
use serde::de::{self, DeserializeSeed, Visitor};
use serde::Deserialize;

/// The arguments of SQLite's `concat` that frame `column` (a column of type `ty`) as above.
pub(crate) fn frame_sql(column: &str, ty: ColType) -> String {
    match ty {
        // The text is an argument of its own (`concat` reads NULL as empty), so SQLite
        // copies it once into the row. `octet_length`, not `length`: `length` counts
        // characters.
        ColType::Text => format!("coalesce(octet_length({column}) || ':', '~'), {column}"),
        // SQLite stores booleans as the integers 0 and 1.
        ColType::Int | ColType::Bool => format!("coalesce('#' || {column} || ';', '~')"),
    }
}

/// Every `T` framed one after the other in `text`, until it ends.
pub(crate) fn read_all<'de, T: Deserialize<'de>>(text: &'de str) -> Result<Vec<T>, Error> {
    let mut framed = Framed { rest: text };
    let mut out = Vec::new();
    while !framed.rest.is_empty() {
        out.push(T::deserialize(&mut framed)?);
    }
    Ok(out)
}

/// One framed value.
enum Value<'de> {
    Null,
    Int(i64),
    Text(&'de str),
}

/// A reader over framed values (see the module's documentation).
pub(crate) struct Framed<'de> {
    rest: &'de str,
}

impl<'de> Framed<'de> {
    fn next(&mut self) -> Result<Value<'de>, Error> {
        let bad = |what: &str| de::Error::custom(format_args!("framed text: {what}"));
        if let Some(rest) = self.rest.strip_prefix('~') {
            self.rest = rest;
            return Ok(Value::Null);
        }
        if let Some(rest) = self.rest.strip_prefix('#') {
            let (digits, rest) = rest.split_once(';').ok_or_else(|| bad("unended integer"))?;
            self.rest = rest;
            return digits
                .parse()
                .map(Value::Int)
                .map_err(|_| bad("not an integer"));
        }
        let (length, rest) = self
            .rest
            .split_once(':')
            .ok_or_else(|| bad("no value where one was expected"))?;
        let length: usize = length.parse().map_err(|_| bad("not a text length"))?;
        // `get`, not indexing: a length past the end or inside a character is an error.
        let text = rest.get(..length).ok_or_else(|| bad("text cut short"))?;
        self.rest = &rest[length..];
        Ok(Value::Text(text))
    }

    fn visit_next<V: Visitor<'de>>(&mut self, visitor: V) -> Result<V::Value, Error> {
        match self.next()? {
            Value::Null => visitor.visit_unit(),
            Value::Int(i) => visitor.visit_i64(i),
            Value::Text(t) => visitor.visit_borrowed_str(t),
        }
    }
}

/// The next `left` values as the elements of a sequence.
struct Elements<'a, 'de> {
    framed: &'a mut Framed<'de>,
    left: usize,
}

impl<'de> de::SeqAccess<'de> for Elements<'_, 'de> {
    type Error = Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Error> {
        if self.left == 0 {
            return Ok(None);
        }
        self.left -= 1;
        seed.deserialize(&mut *self.framed).map(Some)
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.left)
    }
}

impl<'de> de::Deserializer<'de> for &mut Framed<'de> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.visit_next(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.rest.strip_prefix('~') {
            Some(rest) => {
                self.rest = rest;
                visitor.visit_none()
            }
            None => visitor.visit_some(self),
        }
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_seq(Elements {
            framed: self,
            left: len,
        })
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_tuple(fields.len(), visitor)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct newtype_struct seq tuple_struct
        map enum identifier ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, Deserialize)]
    struct Row {
        id: String,
        label: Option<String>,
        count: i64,
        since: Option<i64>,
    }

    fn row(id: &str, label: Option<&str>, count: i64, since: Option<i64>) -> Row {
        Row {
            id: id.to_owned(),
            label: label.map(str::to_owned),
            count,
            since,
        }
    }

    #[test]
    fn rows_read_back_field_by_field_whatever_their_text_holds() {
        // Texts holding the framing's own marks, digits, multi-byte characters and NUL.
        let text = "3:a:b~#1;~0:11:#9;~:¥€\0#-42;#7;";
        let rows: Vec<Row> = read_all(text).unwrap();
        assert_eq!(
            rows,
            [
                row("a:b", None, 1, None),
                row("", Some("#9;~:¥€\0"), -42, Some(7)),
            ]
        );
        // A row is its fields one after the other, so a pair of rows reads as one row.
        let pairs: Vec<(Row, (i64, Option<String>))> = read_all("1:x~#0;~#5;1:y").unwrap();
        assert_eq!(
            pairs,
            [(row("x", None, 0, None), (5, Some("y".to_owned())))]
        );
        assert!(read_all::<Row>("").unwrap().is_empty());
    }

    #[test]
    fn damaged_text_is_an_error_never_a_panic_or_a_guess() {
        for damaged in [
            "9:abc~#1;~",  // the text runs past the end
            "1:é~#1;~",    // a length that ends inside a character ("é" is two bytes)
            "1:a~#1~",     // an integer without its end
            "1:a~#1x;~",   // not an integer
            "x:a~#1;~",    // not a length
            "1:a~#1;",     // a row cut short
            "1:a~#1;~1:b", // a second row cut short
            "1:a~1:b~",    // a text where an integer belongs
        ] {
            assert!(read_all::<Row>(damaged).is_err(), "{damaged:?}");
        }
    }

    #[test]
    fn a_stored_flag_reads_from_sqlites_integers() {
        let flags: Vec<(crate::evidence_row::StoredBool, i64)> = read_all("#1;#0;#0;#1;").unwrap();
        let flags: Vec<bool> = flags.iter().map(|(flag, _)| flag.0).collect();
        assert_eq!(flags, [true, false]);
    }
}
