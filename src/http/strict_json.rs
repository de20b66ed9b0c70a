//! Typing a parsed JSON body so that a struct accepts only a JSON object.
//!
//! serde's derived structs also accept a sequence of their field values (`[]` reads as a
//! struct whose fields all have defaults, `["x"]` fills the first field), and serde_json
//! offers that to every struct, at any depth. The API documents its bodies as objects, so
//! an array in a struct's place must be refused like any other ill-typed body, not read
//! positionally. [`from_value`] walks a parsed document as serde_json would, except there;
//! [`ObjectOnly`] refuses the array form of one struct read straight from the text.

use serde::de::value::MapAccessDeserializer;
use serde::de::{
    DeserializeOwned, DeserializeSeed, Deserializer, Error as _, IntoDeserializer, MapAccess,
    SeqAccess, Unexpected, Visitor,
};
use serde::Deserialize;
use serde_json::{Map, Value};

/// `serde_json::from_value`, refusing anything but an object where a struct is expected.
pub fn from_value<T: DeserializeOwned>(value: Value) -> Result<T, serde_json::Error> {
    T::deserialize(Strict(value))
}

/// `T` read straight from a JSON text (no document in between, for large batches),
/// refusing the array form at the top: for structs without nested structs, such as a record.
pub struct ObjectOnly<T>(pub T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for ObjectOnly<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Fields<T>(std::marker::PhantomData<T>);

        impl<'de, T: Deserialize<'de>> Visitor<'de> for Fields<T> {
            type Value = ObjectOnly<T>;

            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object")
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                T::deserialize(MapAccessDeserializer::new(map)).map(ObjectOnly)
            }
        }

        deserializer.deserialize_map(Fields(std::marker::PhantomData))
    }
}

struct Strict(Value);

impl<'de> Deserializer<'de> for Strict {
    type Error = serde_json::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        match self.0 {
            Value::Array(items) => visitor.visit_seq(Elements(items.into_iter())),
            Value::Object(map) => visitor.visit_map(Entries {
                entries: map.into_iter(),
                value: None,
            }),
            scalar => scalar.deserialize_any(visitor),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        match self.0 {
            Value::Object(_) => self.deserialize_any(visitor),
            Value::Array(_) => Err(Self::Error::invalid_type(Unexpected::Seq, &visitor)),
            scalar => scalar.deserialize_any(visitor),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        match self.0 {
            Value::Null => visitor.visit_none(),
            value => visitor.visit_some(Strict(value)),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        // The API's enums are names (strings); serde_json reads them as it always does.
        self.0.deserialize_enum(name, variants, visitor)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        unit unit_struct seq tuple tuple_struct map identifier ignored_any
    }
}

struct Elements(std::vec::IntoIter<Value>);

impl<'de> SeqAccess<'de> for Elements {
    type Error = serde_json::Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Self::Error> {
        self.0
            .next()
            .map(|v| seed.deserialize(Strict(v)))
            .transpose()
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.0.len())
    }
}

struct Entries {
    entries: <Map<String, Value> as IntoIterator>::IntoIter,
    value: Option<Value>,
}

impl<'de> MapAccess<'de> for Entries {
    type Error = serde_json::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Self::Error> {
        match self.entries.next() {
            Some((key, value)) => {
                self.value = Some(value);
                seed.deserialize(key.into_deserializer()).map(Some)
            }
            None => Ok(None),
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, Self::Error> {
        match self.value.take() {
            Some(value) => seed.deserialize(Strict(value)),
            None => Err(Self::Error::custom("a value was read before its key")),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.entries.len())
    }
}

#[cfg(test)]
mod tests {
    use super::{from_value, ObjectOnly};
    use serde::Deserialize;
    use serde_json::json;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Inner {
        name: String,
        #[serde(default)]
        required: bool,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Outer {
        #[serde(default)]
        label: Option<String>,
        #[serde(default)]
        items: Vec<Inner>,
        #[serde(default)]
        limit: Option<u32>,
    }

    #[test]
    fn objects_read_as_serde_json_reads_them() {
        let body = json!({"label": "a", "items": [{"name": "x"}, {"name": "y", "required": true}],
                          "limit": 3});
        let strict: Outer = from_value(body.clone()).unwrap();
        let plain: Outer = serde_json::from_value(body).unwrap();
        assert_eq!(strict, plain);
        assert!(strict.items[1].required);
        let empty: Outer = from_value(json!({})).unwrap();
        assert_eq!(empty.items, []);
        let none: Outer = from_value(json!({"label": null})).unwrap();
        assert_eq!(none.label, None);
    }

    #[test]
    fn an_array_in_a_structs_place_is_refused_at_any_depth() {
        // serde_json itself reads these positionally.
        assert!(serde_json::from_value::<Outer>(json!([])).is_ok());
        let error = from_value::<Outer>(json!([])).unwrap_err().to_string();
        assert!(error.contains("invalid type: sequence"), "{error}");
        assert!(serde_json::from_value::<Outer>(json!({"items": [["x", true]]})).is_ok());
        assert!(from_value::<Outer>(json!({"items": [["x", true]]})).is_err());
        // Arrays where the type is a list stay fine.
        assert!(from_value::<Vec<Inner>>(json!([{"name": "x"}])).is_ok());
    }

    #[test]
    fn object_only_reads_objects_and_refuses_arrays() {
        let read: ObjectOnly<Inner> = serde_json::from_str(r#"{"name": "x"}"#).unwrap();
        assert_eq!(read.0.name, "x");
        assert!(serde_json::from_str::<Inner>(r#"["x", true]"#).is_ok());
        assert!(serde_json::from_str::<ObjectOnly<Inner>>(r#"["x", true]"#).is_err());
        assert!(serde_json::from_str::<ObjectOnly<Inner>>(r#"{"name": "x", "o": 1}"#).is_err());
    }

    #[test]
    fn types_and_unknown_fields_are_still_checked() {
        assert!(from_value::<Outer>(json!({"limit": -1})).is_err());
        assert!(from_value::<Outer>(json!({"limit": 1.5})).is_err());
        assert!(from_value::<Outer>(json!({"label": 3})).is_err());
        assert!(from_value::<Outer>(json!({"other": 3})).is_err());
        assert!(from_value::<Outer>(json!("text")).is_err());
    }
}
