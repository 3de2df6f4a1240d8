//! The generic tree render edits: a YAML/JSON value whose mappings keep their
//! keys in the order they were read, so that everything render does not touch
//! comes out as it came in.
//!
//! Not `serde_json::Value` with `preserve_order`: cargo unifies features
//! across the workspace's members, and that feature would change the
//! `serde_json` the in-pod binary is built with in a workspace build. Mapping
//! keys are strings, as in JSON; a YAML key that is a number or a boolean
//! becomes its text, as `kubectl` (sigs.k8s.io/yaml) makes it. A key given
//! twice is an error.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};

/// One value of the tree.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    UInt(u64),
    Float(f64),
    String(String),
    Seq(Vec<Value>),
    Map(Map),
}

/// A mapping, in the order of its keys as read (or inserted).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Map(Vec<(String, Value)>);

impl Map {
    pub fn new() -> Self {
        Self(Vec::new())
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Where `key` is.
    pub fn position(&self, key: &str) -> Option<usize> {
        self.0.iter().position(|(k, _)| k == key)
    }

    pub fn get(&self, key: &str) -> Option<&Value> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    pub fn get_mut(&mut self, key: &str) -> Option<&mut Value> {
        self.0.iter_mut().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// Sets `key`: in its place if it is there, else at the end.
    pub fn insert(&mut self, key: &str, value: Value) {
        match self.get_mut(key) {
            Some(slot) => *slot = value,
            None => self.0.push((key.to_owned(), value)),
        }
    }

    /// Sets `key` at `index` (at most the end), removing it from where it was.
    pub fn insert_at(&mut self, index: usize, key: &str, value: Value) {
        self.remove(key);
        let index = index.min(self.0.len());
        self.0.insert(index, (key.to_owned(), value));
    }

    /// Removes `key`, the others keeping their order.
    pub fn remove(&mut self, key: &str) -> Option<Value> {
        let index = self.position(key)?;
        Some(self.0.remove(index).1)
    }

    /// Removes `key` when it is an empty mapping or sequence.
    pub fn remove_if_empty(&mut self, key: &str) {
        if self.get(key).is_some_and(Value::is_empty_collection) {
            self.remove(key);
        }
    }

    /// The items of the sequence at `key` (none when there is none).
    pub fn items_at(&self, key: &str) -> impl Iterator<Item = &Value> {
        self.get(key).and_then(Value::as_seq).into_iter().flatten()
    }

    /// The mappings among the items of the sequence at `key`.
    pub fn maps_at_mut(&mut self, key: &str) -> impl Iterator<Item = &mut Map> {
        self.get_mut(key)
            .and_then(Value::as_seq_mut)
            .into_iter()
            .flatten()
            .filter_map(Value::as_map_mut)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v))
    }

    pub fn iter_mut(&mut self) -> impl Iterator<Item = (&str, &mut Value)> {
        self.0.iter_mut().map(|(k, v)| (k.as_str(), v))
    }

    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|(k, _)| k.as_str())
    }
}

impl FromIterator<(String, Value)> for Map {
    fn from_iter<I: IntoIterator<Item = (String, Value)>>(iter: I) -> Self {
        let mut map = Self::new();
        for (k, v) in iter {
            map.insert(&k, v);
        }
        map
    }
}

impl Value {
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Self::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_map(&self) -> Option<&Map> {
        match self {
            Self::Map(m) => Some(m),
            _ => None,
        }
    }

    pub fn as_map_mut(&mut self) -> Option<&mut Map> {
        match self {
            Self::Map(m) => Some(m),
            _ => None,
        }
    }

    pub fn as_seq(&self) -> Option<&Vec<Value>> {
        match self {
            Self::Seq(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_seq_mut(&mut self) -> Option<&mut Vec<Value>> {
        match self {
            Self::Seq(s) => Some(s),
            _ => None,
        }
    }

    /// The value at `key`, when this is a mapping that has it.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.as_map()?.get(key)
    }

    pub fn get_mut(&mut self, key: &str) -> Option<&mut Value> {
        self.as_map_mut()?.get_mut(key)
    }

    /// The string at `key`, when there is one.
    pub fn str_at(&self, key: &str) -> Option<&str> {
        self.get(key)?.as_str()
    }

    /// The items of the sequence at `key`, when this is a mapping that has
    /// one (none otherwise).
    pub fn items_at(&self, key: &str) -> impl Iterator<Item = &Value> {
        self.get(key).and_then(Value::as_seq).into_iter().flatten()
    }

    /// An empty mapping or sequence: what render treats as absent when it
    /// adds to it (so that the field it makes is always in the same place).
    pub fn is_empty_collection(&self) -> bool {
        match self {
            Self::Map(m) => m.is_empty(),
            Self::Seq(s) => s.is_empty(),
            _ => false,
        }
    }

    pub fn string(text: &str) -> Self {
        Self::String(text.to_owned())
    }

    /// A sequence of strings.
    pub fn strings<S: AsRef<str>>(items: &[S]) -> Self {
        Self::Seq(items.iter().map(|s| Self::string(s.as_ref())).collect())
    }

    /// A mapping of the given entries, in that order.
    pub fn map<const N: usize>(entries: [(&str, Value); N]) -> Self {
        Self::Map(
            entries
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v))
                .collect(),
        )
    }
}

impl Serialize for Value {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Null => serializer.serialize_unit(),
            Self::Bool(b) => serializer.serialize_bool(*b),
            Self::Int(i) => serializer.serialize_i64(*i),
            Self::UInt(u) => serializer.serialize_u64(*u),
            Self::Float(f) => serializer.serialize_f64(*f),
            Self::String(s) => serializer.serialize_str(s),
            Self::Seq(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            Self::Map(map) => map.serialize(serializer),
        }
    }
}

impl Serialize for Map {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut out = serializer.serialize_map(Some(self.len()))?;
        for (k, v) in self.iter() {
            out.serialize_entry(k, v)?;
        }
        out.end()
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ValueVisitor)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a YAML or JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Int(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(i64::try_from(v).map_or(Value::UInt(v), Value::Int))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::Float(v))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::string(v))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        Value::deserialize(deserializer)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Seq(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        let mut map = Map::new();
        while let Some(Key(key)) = access.next_key()? {
            if map.position(&key).is_some() {
                return Err(de::Error::custom(format!("duplicate key {key:?}")));
            }
            let value = access.next_value()?;
            map.0.push((key, value));
        }
        Ok(Value::Map(map))
    }
}

/// A mapping key, as text.
struct Key(String);

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(KeyVisitor)
    }
}

struct KeyVisitor;

impl Visitor<'_> for KeyVisitor {
    type Value = Key;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string, number or boolean key")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Key, E> {
        Ok(Key(v.to_string()))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Key, E> {
        Ok(Key(v.to_string()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Key, E> {
        Ok(Key(v.to_string()))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Key, E> {
        Ok(Key(v.to_string()))
    }

    fn visit_str<E>(self, v: &str) -> Result<Key, E> {
        Ok(Key(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Key, E> {
        Ok(Key(v))
    }

    fn visit_unit<E>(self) -> Result<Key, E> {
        Ok(Key("null".to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::{Map, Value};

    #[test]
    fn order_is_kept_through_yaml_and_json() {
        let text = "b: 1\na: [x, 2.5, null, true]\nc: {z: 1, x: 2}\n";
        let value: Value = serde_saphyr::from_str(text).unwrap();
        let map = value.as_map().unwrap();
        assert_eq!(map.keys().collect::<Vec<_>>(), ["b", "a", "c"]);
        let json = serde_json::to_string(&value).unwrap();
        assert_eq!(json, r#"{"b":1,"a":["x",2.5,null,true],"c":{"z":1,"x":2}}"#);
        let back: Value = serde_json::from_str(&json).unwrap();
        assert_eq!(back, value);
    }

    #[test]
    fn keys_that_are_not_strings_become_text_and_duplicates_fail() {
        let value: Value = serde_saphyr::from_str("1: a\ntrue: b\n").unwrap();
        let keys: Vec<_> = value.as_map().unwrap().keys().collect();
        assert_eq!(keys, ["1", "true"]);
        let err = serde_json::from_str::<Value>(r#"{"a":1,"a":2}"#).unwrap_err();
        assert!(err.to_string().contains("duplicate key"), "{err}");
    }

    #[test]
    fn insert_and_remove_keep_the_others_in_place() {
        let mut map: Map = [("a", 1), ("b", 2), ("c", 3)]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), Value::Int(v)))
            .collect();
        map.remove("a");
        map.insert("d", Value::Int(4));
        map.insert("b", Value::Int(5));
        map.insert_at(0, "e", Value::Int(6));
        let keys: Vec<_> = map.keys().collect();
        assert_eq!(keys, ["e", "b", "c", "d"]);
        assert_eq!(map.get("b"), Some(&Value::Int(5)));
    }
}
