//! Property order of JSON Schema objects, kept across the conversion and the code generation.
//!
//! `serde_json::Value` (without the `preserve_order` feature, which would change every crate of
//! the workspace) sorts object keys, and typify sorts struct fields by name. The official SDKs send
//! a request body's properties in the order the published document lists them (`{"scopes":[..],
//! "expiresInMinutes":60}`, `{"token":..,"appId":..,"userId":..}`), so that order is read from the
//! document text here:
//!
//! - [`property_orders`] reads a JSON text and returns, for every `properties` map of a schema,
//!   its JSON pointer and its keys in text order;
//! - [`to_pretty_text`] writes a `Value` as pretty JSON with sorted keys, except the maps named
//!   in such a table, which keep the given order.

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;
use serde::de::{Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_json::Value;

use crate::Result;

/// JSON pointer of a `properties` map -> its keys in document order.
pub type PropertyOrders = BTreeMap<String, Vec<String>>;

/// The shape of a JSON text with object keys in text order (scalar values are not kept).
#[derive(Deserialize)]
#[serde(untagged)]
enum Tree {
    Object(#[serde(deserialize_with = "entries")] Vec<(String, Tree)>),
    Array(Vec<Tree>),
    Scalar(IgnoredAny),
}

/// The entries of a JSON object, in text order (a map type would sort or hash them).
fn entries<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> std::result::Result<Vec<(String, Tree)>, D::Error> {
    struct Entries;
    impl<'de> Visitor<'de> for Entries {
        type Value = Vec<(String, Tree)>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a JSON object")
        }
        fn visit_map<A: MapAccess<'de>>(
            self,
            mut map: A,
        ) -> std::result::Result<Self::Value, A::Error> {
            let mut entries = Vec::new();
            while let Some(entry) = map.next_entry()? {
                entries.push(entry);
            }
            Ok(entries)
        }
    }
    deserializer.deserialize_map(Entries)
}

/// Escapes one JSON pointer segment (`~` -> `~0`, `/` -> `~1`).
pub fn escape(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

/// The key order of every `properties` map of a schema in the JSON `text`, by JSON pointer
/// (e.g. `/definitions/Foo/properties` -> `["b", "a"]`). A property that happens to be named
/// `properties` is not mistaken for a `properties` keyword.
pub fn property_orders(text: &str, label: &str) -> Result<PropertyOrders> {
    let tree: Tree = crate::parse_json(text, label)?;
    let mut out = PropertyOrders::new();
    walk(&tree, "", false, &mut out);
    Ok(out)
}

/// `in_properties`: the object is a `properties` map (its keys are property names).
fn walk(tree: &Tree, pointer: &str, in_properties: bool, out: &mut PropertyOrders) {
    match tree {
        Tree::Scalar(_) => {}
        Tree::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                walk(item, &format!("{pointer}/{i}"), false, out);
            }
        }
        Tree::Object(entries) => {
            for (key, value) in entries {
                let at = format!("{pointer}/{}", escape(key));
                let is_keyword = !in_properties && key == "properties";
                if is_keyword && let Tree::Object(props) = value {
                    out.insert(at.clone(), props.iter().map(|(k, _)| k.clone()).collect());
                }
                walk(value, &at, is_keyword, out);
            }
        }
    }
}

/// Pretty JSON (serde_json's layout) with a final newline. Object keys are sorted, except in the
/// maps whose pointer is in `orders`: those list the given keys first, in that order, then any
/// others sorted.
pub fn to_pretty_text(document: &Value, orders: &PropertyOrders) -> String {
    let ordered = Ordered {
        value: document,
        pointer: String::new(),
        orders,
    };
    let mut text = serde_json::to_string_pretty(&ordered).unwrap_or_default();
    text.push('\n');
    text
}

struct Ordered<'a> {
    value: &'a Value,
    pointer: String,
    orders: &'a PropertyOrders,
}

impl Serialize for Ordered<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        match self.value {
            Value::Object(map) => {
                let listed: Vec<&String> = self
                    .orders
                    .get(&self.pointer)
                    .map(|order| {
                        order
                            .iter()
                            .filter(|k| map.contains_key(k.as_str()))
                            .collect()
                    })
                    .unwrap_or_default();
                let rest = map.keys().filter(|k| !listed.contains(k));
                let keys: Vec<&String> = listed.iter().copied().chain(rest).collect();
                let mut out = serializer.serialize_map(Some(keys.len()))?;
                for key in keys {
                    let child = Ordered {
                        value: &map[key.as_str()],
                        pointer: format!("{}/{}", self.pointer, escape(key)),
                        orders: self.orders,
                    };
                    out.serialize_entry(key, &child)?;
                }
                out.end()
            }
            Value::Array(items) => {
                let mut out = serializer.serialize_seq(Some(items.len()))?;
                for (i, item) in items.iter().enumerate() {
                    out.serialize_element(&Ordered {
                        value: item,
                        pointer: format!("{}/{i}", self.pointer),
                        orders: self.orders,
                    })?;
                }
                out.end()
            }
            other => other.serialize(serializer),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn orders_of_properties_maps_in_text_order() {
        let text = r#"{"definitions": {"R": {"type": "object", "properties": {
            "zeta": {"type": "string"},
            "properties": {"type": "object", "properties": {"y": {}, "x": {}}},
            "alpha": {"type": "array", "items": {"properties": {"q": {}, "p": {}}}}
        }}}, "paths": {"/a/b": {"x": {"properties": {"n": {}, "m": {}}}}}}"#;
        let orders = property_orders(text, "test").unwrap();
        assert_eq!(
            orders["/definitions/R/properties"],
            ["zeta", "properties", "alpha"]
        );
        // A property named `properties` is a property, its own `properties` keyword is a map.
        assert!(!orders.contains_key("/definitions/R/properties/properties"));
        assert_eq!(
            orders["/definitions/R/properties/properties/properties"],
            ["y", "x"]
        );
        assert_eq!(
            orders["/definitions/R/properties/alpha/items/properties"],
            ["q", "p"]
        );
        assert_eq!(orders["/paths/~1a~1b/x/properties"], ["n", "m"]);
        assert_eq!(orders.len(), 4);
    }

    #[test]
    fn pretty_text_keeps_listed_orders_and_sorts_the_rest() {
        let doc = json!({"b": 1, "a": {"properties": {"z": [], "y": {"d": 1, "c": 2}}}});
        let mut orders = PropertyOrders::new();
        orders.insert("/a/properties".into(), vec!["z".into(), "y".into()]);
        let text = to_pretty_text(&doc, &orders);
        let expected = "{\n  \"a\": {\n    \"properties\": {\n      \"z\": [],\n      \"y\": {\n        \"c\": 2,\n        \"d\": 1\n      }\n    }\n  },\n  \"b\": 1\n}\n";
        assert_eq!(text, expected);
        // Without orders, it is serde_json's own pretty text.
        let plain = to_pretty_text(&doc, &PropertyOrders::new());
        assert_eq!(
            plain,
            format!("{}\n", serde_json::to_string_pretty(&doc).unwrap())
        );
    }

    #[test]
    fn listed_keys_missing_from_the_map_are_skipped_and_unlisted_ones_follow() {
        let doc = json!({"p": {"c": 1, "a": 2, "b": 3}});
        let mut orders = PropertyOrders::new();
        orders.insert("/p".into(), vec!["gone".into(), "b".into()]);
        let text = to_pretty_text(&doc, &orders);
        let value: Vec<&str> = text.lines().map(str::trim).collect();
        assert_eq!(
            value,
            [
                "{",
                "\"p\": {",
                "\"b\": 3,",
                "\"a\": 2,",
                "\"c\": 1",
                "}",
                "}"
            ]
        );
    }
}
