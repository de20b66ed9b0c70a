//! Writes a struct as a JSON array of its field values, in declaration order, straight from
//! its `Serialize` impl: the shape set-based statements read by position (see
//! `Dialect::json_array_rows`). Going through `serde_json::Value` instead built a map of
//! every field per row (a key string and a tree insert each) only to take the values back
//! out; for a 500-row fold that was a quarter of the publish.

use serde::Serialize;
use serde_json::ser::{CharEscape, CompactFormatter, Formatter};
use std::io::{self, Write};

/// Appends `value` (a struct with at least one field, or a map with string keys) to `out`
/// as `[v1,v2,...]`. Only the outermost object becomes an array; values nested in it are
/// written as usual. (Integer map keys are written through the number methods, which this
/// formatter does not silence: they would leak into the array.)
pub(crate) fn write_values<T: Serialize>(out: &mut Vec<u8>, value: &T) {
    let mut serializer = serde_json::Serializer::with_formatter(&mut *out, ValuesOnly::default());
    // Plain data with string keys written to memory: serializing cannot fail.
    let _ = value.serialize(&mut serializer);
}

/// A compact formatter that drops the keys of the outermost object and brackets it as an
/// array.
#[derive(Default)]
struct ValuesOnly {
    /// Objects open around the current position.
    depth: usize,
    /// Inside a key of the outermost object: its bytes are dropped.
    in_key: bool,
}

impl ValuesOnly {
    fn outermost(&self) -> bool {
        self.depth == 1
    }
}

impl Formatter for ValuesOnly {
    fn begin_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.depth += 1;
        w.write_all(if self.outermost() { b"[" } else { b"{" })
    }

    fn end_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        let close: &[u8] = if self.outermost() { b"]" } else { b"}" };
        self.depth -= 1;
        w.write_all(close)
    }

    fn begin_object_key<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        if self.outermost() {
            self.in_key = true;
        }
        CompactFormatter.begin_object_key(w, first)
    }

    fn end_object_key<W: ?Sized + Write>(&mut self, _w: &mut W) -> io::Result<()> {
        self.in_key = false;
        Ok(())
    }

    fn begin_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        if self.outermost() {
            Ok(())
        } else {
            CompactFormatter.begin_object_value(w)
        }
    }

    fn begin_string<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        if self.in_key {
            return Ok(());
        }
        CompactFormatter.begin_string(w)
    }

    fn end_string<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        if self.in_key {
            return Ok(());
        }
        CompactFormatter.end_string(w)
    }

    fn write_string_fragment<W: ?Sized + Write>(
        &mut self,
        w: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        if self.in_key {
            return Ok(());
        }
        CompactFormatter.write_string_fragment(w, fragment)
    }

    fn write_char_escape<W: ?Sized + Write>(
        &mut self,
        w: &mut W,
        escape: CharEscape,
    ) -> io::Result<()> {
        if self.in_key {
            return Ok(());
        }
        CompactFormatter.write_char_escape(w, escape)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[derive(Serialize)]
    struct Row {
        id: String,
        count: i64,
        missing: Option<i64>,
        nested: BTreeMap<String, Vec<i64>>,
    }

    fn written<T: Serialize>(value: &T) -> String {
        let mut out = Vec::new();
        write_values(&mut out, value);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn the_outermost_struct_becomes_its_values_in_field_order() {
        let row = Row {
            id: "a\"b\\c\n".into(),
            count: -3,
            missing: None,
            nested: BTreeMap::from([("k\"ey".to_owned(), vec![1, 2])]),
        };
        let text = written(&row);
        assert_eq!(text, r#"["a\"b\\c\n",-3,null,{"k\"ey":[1,2]}]"#);
        // The same values serde_json gives, read back in the same order.
        let reference = serde_json::to_value(&row).unwrap();
        let parsed: Vec<serde_json::Value> = serde_json::from_str(&text).unwrap();
        assert_eq!(parsed[0], reference["id"]);
        assert_eq!(parsed[3], reference["nested"]);
    }

    #[test]
    fn rows_append_to_one_buffer() {
        let mut out = b"[".to_vec();
        write_values(&mut out, &BTreeMap::from([("x", 1)]));
        out.push(b',');
        write_values(&mut out, &BTreeMap::from([("y", "z")]));
        out.push(b']');
        assert_eq!(String::from_utf8(out).unwrap(), r#"[[1],["z"]]"#);
    }
}
