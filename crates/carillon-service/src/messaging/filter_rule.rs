//! The FilterRule of a membership's push preferences: the supported subset of message filtering,
//! checked at Put (`docs/behaviour.md`, "Messaging"). A rule is a JSON object mapping attribute
//! names to non-empty arrays of conditions, plus at most one `"$or"` (top level only) of 2-5 such
//! objects; a condition is a string or `{"anything-but": [strings]}`. A key written twice in one
//! object is refused: a JSON reader keeps one of the two, and which one it is nobody can tell. At
//! send, [`matches`] tells whether a message's MessageAttributes pass a member's rule.

use carillon_api::ApiError;
use carillon_api::messaging::shapes::MessageAttributeValue;
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::fmt;

/// A message's MessageAttributes.
pub(crate) type Attributes = BTreeMap<String, MessageAttributeValue>;

const MAX_BYTES: usize = 2048;
const MAX_COMPLEXITY: usize = 20;
const OR_ALTERNATIVES: std::ops::RangeInclusive<usize> = 2..=5;

fn invalid(why: &str) -> ApiError {
    ApiError::bad_request(format!("The FilterRule is not valid: {why}."))
}

/// 400 unless `rule` is a FilterRule of the supported form and within its limits.
pub(crate) fn check(rule: &str) -> Result<(), ApiError> {
    if rule.len() > MAX_BYTES {
        return Err(invalid(&format!("it is longer than {MAX_BYTES} bytes")));
    }
    let value = match serde_json::from_str::<Unique>(rule) {
        Ok(Unique(value)) => value,
        // The only data error Unique makes: a repeated key, which the message names.
        Err(e) if e.is_data() => return Err(invalid(&e.to_string())),
        Err(_) => return Err(invalid("it is not JSON")),
    };
    let Value::Object(top) = value else { return Err(invalid("it is not a JSON object")) };
    let mut complexity = 0;
    for (key, value) in &top {
        if key == "$or" {
            let Value::Array(alternatives) = value else { return Err(invalid("\"$or\" takes an array of objects")) };
            if !OR_ALTERNATIVES.contains(&alternatives.len()) {
                return Err(invalid("\"$or\" takes 2 to 5 alternatives"));
            }
            for alternative in alternatives {
                let Value::Object(alternative) = alternative else { return Err(invalid("an \"$or\" alternative is not an object")) };
                complexity += attributes(alternative)?;
            }
        } else {
            complexity += attribute(key, value)?;
        }
    }
    if top.is_empty() {
        return Err(invalid("it names no attribute"));
    }
    if complexity > MAX_COMPLEXITY {
        return Err(invalid(&format!("its complexity (attribute names and values) is over {MAX_COMPLEXITY}")));
    }
    Ok(())
}

/// A JSON value read with every object's keys distinct: a repeated key is an error naming it.
struct Unique(Value);

impl<'de> Deserialize<'de> for Unique {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(UniqueVisitor)
    }
}

struct UniqueVisitor;

impl<'de> Visitor<'de> for UniqueVisitor {
    type Value = Unique;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Unique, E> {
        Ok(Unique(Value::Bool(v)))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Unique, E> {
        Ok(Unique(Value::from(v)))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Unique, E> {
        Ok(Unique(Value::from(v)))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Unique, E> {
        Ok(Unique(Value::from(v)))
    }

    fn visit_str<E>(self, v: &str) -> Result<Unique, E> {
        Ok(Unique(Value::String(v.to_string())))
    }

    fn visit_string<E>(self, v: String) -> Result<Unique, E> {
        Ok(Unique(Value::String(v)))
    }

    fn visit_unit<E>(self) -> Result<Unique, E> {
        Ok(Unique(Value::Null))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Unique, A::Error> {
        let mut items = Vec::new();
        while let Some(Unique(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Unique(Value::Array(items)))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Unique, A::Error> {
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if object.contains_key(&key) {
                return Err(de::Error::custom(format!("the key {key:?} appears twice in one object")));
            }
            let Unique(value) = map.next_value()?;
            object.insert(key, value);
        }
        Ok(Unique(Value::Object(object)))
    }
}

/// The complexity of an object of attribute conditions (no `$or` inside).
fn attributes(object: &Map<String, Value>) -> Result<usize, ApiError> {
    if object.is_empty() {
        return Err(invalid("an \"$or\" alternative names no attribute"));
    }
    object.iter().map(|(key, value)| attribute(key, value)).sum()
}

/// The complexity of one attribute's conditions: 1 for its name, 1 per string value.
fn attribute(key: &str, value: &Value) -> Result<usize, ApiError> {
    if key == "$or" {
        return Err(invalid("\"$or\" is allowed at the top level only"));
    }
    let Value::Array(conditions) = value else { return Err(invalid(&format!("\"{key}\" takes an array of conditions"))) };
    if conditions.is_empty() {
        return Err(invalid(&format!("\"{key}\" has no condition")));
    }
    let mut complexity = 1;
    for condition in conditions {
        complexity += match condition {
            Value::String(_) => 1,
            Value::Object(o) => match (o.len(), o.get("anything-but")) {
                (1, Some(Value::Array(values))) if !values.is_empty() && values.iter().all(Value::is_string) => values.len(),
                _ => return Err(invalid("a condition object is {\"anything-but\": [strings]}")),
            },
            _ => return Err(invalid("a condition is a string or {\"anything-but\": [strings]}")),
        };
    }
    Ok(complexity)
}

/// Whether `attributes` pass `rule`: every attribute key of the rule matches and, when there is
/// a `"$or"`, one of its alternatives does. A rule that is not of the supported form (none is
/// stored: Put checks it) matches nothing.
pub(crate) fn matches(rule: &str, attributes: Option<&Attributes>) -> bool {
    if check(rule).is_err() {
        return false;
    }
    let Ok(Value::Object(top)) = serde_json::from_str::<Value>(rule) else { return false };
    let empty = Attributes::new();
    all_match(&top, attributes.unwrap_or(&empty))
}

/// Every key of `object` matches; `"$or"` when one of its alternatives does.
fn all_match(object: &Map<String, Value>, attributes: &Attributes) -> bool {
    object.iter().all(|(key, value)| match (key.as_str(), value) {
        ("$or", Value::Array(alternatives)) => {
            alternatives.iter().any(|a| matches!(a, Value::Object(alternative) if all_match(alternative, attributes)))
        }
        (_, Value::Array(conditions)) => {
            let values = attributes.get(key).and_then(|a| a.string_values.as_deref());
            conditions.iter().any(|c| condition_matches(c, values))
        }
        _ => false,
    })
}

/// A string matches when one of the attribute's values equals it; `{"anything-but": [..]}` when
/// the attribute is absent or none of its values is listed.
fn condition_matches(condition: &Value, values: Option<&[String]>) -> bool {
    match condition {
        Value::String(wanted) => values.is_some_and(|v| v.iter().any(|v| v == wanted)),
        Value::Object(o) => match o.get("anything-but") {
            Some(Value::Array(refused)) => values.is_none_or(|v| !v.iter().any(|v| refused.iter().any(|r| r.as_str() == Some(v)))),
            _ => false,
        },
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_supported_forms_pass() {
        for ok in [
            r#"{"type":["urgent"]}"#,
            r#"{"type":["urgent","normal"],"team":[{"anything-but":["ops"]}]}"#,
            r#"{"$or":[{"a":["1"]},{"b":["2"]}]}"#,
            r#"{"x":["1"],"$or":[{"a":["1"]},{"b":["2"]},{"c":["3"]}]}"#,
        ] {
            assert!(check(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn everything_else_is_400() {
        let many: String = format!("{{\"a\":[{}]}}", (0..20).map(|i| format!("\"{i}\"")).collect::<Vec<_>>().join(","));
        for bad in [
            "{}",
            "[]",
            "not json",
            r#"{"a":[]}"#,
            r#"{"a":"x"}"#,
            r#"{"a":[1]}"#,
            r#"{"a":[{"prefix":"x"}]}"#,
            r#"{"a":[{"anything-but":[]}]}"#,
            r#"{"$or":[{"a":["1"]}]}"#,
            r#"{"$or":[{"a":["1"]},{}]}"#,
            r#"{"$or":[{"a":["1"]},{"$or":[{"b":["1"]},{"c":["1"]}]}]}"#,
            r#"{"$or":[{"a":["1"]},{"a":["1"]},{"a":["1"]},{"a":["1"]},{"a":["1"]},{"a":["1"]}]}"#,
            &many,
        ] {
            assert_eq!(check(bad).map_err(|e| e.status()), Err(400), "{bad}");
        }
        assert!(check(&format!("{{\"a\":[\"{}\"]}}", "x".repeat(2100))).is_err());
    }

    #[test]
    fn a_key_written_twice_in_one_object_is_400_naming_it() {
        for (bad, key) in [
            (r#"{"$or":[{"a":["1"]},{"b":["2"]}],"a":["x"],"$or":[{"c":["3"]},{"d":["4"]}]}"#, "$or"),
            (r#"{"a":["x"],"a":["y"]}"#, "a"),
            (r#"{"$or":[{"a":["1"],"a":["2"]},{"b":["2"]}]}"#, "a"),
            (r#"{"a":[{"anything-but":["x"],"anything-but":["y"]}]}"#, "anything-but"),
        ] {
            let e = check(bad).err().unwrap_or_else(|| panic!("accepted {bad}"));
            assert_eq!(e.status(), 400, "{bad}");
            assert!(e.message.contains(&format!("the key {key:?} appears twice")), "{bad}: {}", e.message);
        }
        // The same key in two different objects is no repetition.
        assert!(check(r#"{"a":["1"],"$or":[{"a":["2"]},{"a":["3"]}]}"#).is_ok());
        assert!(!matches(r#"{"a":["x"],"a":["y"]}"#, Some(&attrs(&[("a", &["y"])]))), "a refused rule matches nothing");
    }

    #[test]
    fn complexity_counts_names_and_values_everywhere() {
        // 1 name + 19 values = 20: the limit.
        let at_limit = format!("{{\"a\":[{}]}}", (0..19).map(|i| format!("\"{i}\"")).collect::<Vec<_>>().join(","));
        assert!(check(&at_limit).is_ok());
        // Inside $or and anything-but: 3 names + 18 values = 21.
        let values = (0..16).map(|i| format!("\"{i}\"")).collect::<Vec<_>>().join(",");
        let over = format!(r#"{{"$or":[{{"a":["x"]}},{{"b":[{{"anything-but":[{values}]}}]}}],"c":["y"]}}"#);
        assert!(check(&over).is_err(), "{over}");
    }

    fn attrs(pairs: &[(&str, &[&str])]) -> Attributes {
        pairs
            .iter()
            .map(|(k, vs)| (k.to_string(), MessageAttributeValue { string_values: Some(vs.iter().map(|v| v.to_string()).collect()) }))
            .collect()
    }

    #[test]
    fn keys_are_anded_and_conditions_ored() {
        let rule = r#"{"type":["urgent","high"],"team":["ops"]}"#;
        assert!(matches(rule, Some(&attrs(&[("type", &["high"]), ("team", &["dev", "ops"])]))));
        assert!(!matches(rule, Some(&attrs(&[("type", &["high"])]))), "a key of the rule is missing");
        assert!(!matches(rule, Some(&attrs(&[("type", &["low"]), ("team", &["ops"])]))));
        assert!(!matches(rule, None));
    }

    #[test]
    fn anything_but_matches_an_absent_attribute_or_unlisted_values() {
        let rule = r#"{"team":[{"anything-but":["ops","qa"]}]}"#;
        assert!(matches(rule, None));
        assert!(matches(rule, Some(&attrs(&[("team", &["dev"])]))));
        assert!(!matches(rule, Some(&attrs(&[("team", &["dev", "qa"])]))));
        // ORed with a plain value of the same key.
        assert!(matches(r#"{"team":["qa",{"anything-but":["qa"]}]}"#, Some(&attrs(&[("team", &["qa"])]))));
    }

    #[test]
    fn one_alternative_of_or_suffices_beside_the_other_keys() {
        let rule = r#"{"kind":["chat"],"$or":[{"a":["1"]},{"b":["2"],"c":["3"]}]}"#;
        assert!(matches(rule, Some(&attrs(&[("kind", &["chat"]), ("a", &["1"])]))));
        assert!(matches(rule, Some(&attrs(&[("kind", &["chat"]), ("b", &["2"]), ("c", &["3"])]))));
        assert!(!matches(rule, Some(&attrs(&[("kind", &["chat"]), ("b", &["2"])]))), "an alternative's keys are ANDed");
        assert!(!matches(rule, Some(&attrs(&[("a", &["1"])]))), "the top-level key still counts");
    }

    #[test]
    fn an_unsupported_rule_matches_nothing() {
        assert!(!matches("{}", None));
        assert!(!matches(r#"{"a":[{"prefix":"x"}]}"#, Some(&attrs(&[("a", &["x"])]))));
    }
}
