//! The FilterRule of a membership's push preferences: the supported subset of message filtering,
//! checked at Put (`docs/behaviour.md`, "Messaging"). A rule is a JSON object mapping attribute
//! names to non-empty arrays of conditions, plus at most one `"$or"` (top level only) of 2-5 such
//! objects; a condition is a string or `{"anything-but": [strings]}`.

use carillon_api::ApiError;
use serde_json::{Map, Value};

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
    let value: Value = serde_json::from_str(rule).map_err(|_| invalid("it is not JSON"))?;
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
    fn complexity_counts_names_and_values_everywhere() {
        // 1 name + 19 values = 20: the limit.
        let at_limit = format!("{{\"a\":[{}]}}", (0..19).map(|i| format!("\"{i}\"")).collect::<Vec<_>>().join(","));
        assert!(check(&at_limit).is_ok());
        // Inside $or and anything-but: 3 names + 18 values = 21.
        let values = (0..16).map(|i| format!("\"{i}\"")).collect::<Vec<_>>().join(",");
        let over = format!(r#"{{"$or":[{{"a":["x"]}},{{"b":[{{"anything-but":[{values}]}}]}}],"c":["y"]}}"#);
        assert!(check(&over).is_err(), "{over}");
    }
}
