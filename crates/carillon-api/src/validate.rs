//! Validation of a bound input against the model: JSON types first, then every constraint
//! (`required`, length, range, pattern, enum), reported with AWS's wording:
//! `1 validation error detected: Value at 'name' failed to satisfy constraint: Member must ...`.
//! Lengths count Unicode scalar values; sensitive values are never echoed.

use crate::error::ApiError;
use crate::model::{Model, Shape, ShapeKind};
use serde_json::Value;

/// The name AWS uses for a member in messages: its model name with a lower-case first letter.
pub fn wire_path(member: &str) -> String {
    let mut cs = member.chars();
    match cs.next() {
        Some(first) => first.to_lowercase().chain(cs).collect(),
        None => String::new(),
    }
}

/// The most violations a message lists; the count still says how many there were
/// (docs/behaviour.md, "Wire protocol").
pub const MAX_LISTED_VIOLATIONS: usize = 10;
/// Past this many bytes of listed violations, no more are listed.
const MAX_LISTED_BYTES: usize = 4096;
/// An echoed value is cut to this many bytes (on a character boundary), then `...`: longer than
/// any length limit of the model, so a value one over its limit is still shown whole.
const MAX_ECHO_BYTES: usize = 4096;

/// Checks `value` against the structure shape `shape_name`.
pub fn validate(model: &Model, shape_name: &str, value: &Value) -> Result<(), ApiError> {
    let mut v = Validator { model, type_error: None, violations: Vec::new(), count: 0 };
    v.structure(model.shape(shape_name), value, &Path::ROOT);
    if let Some(e) = v.type_error {
        return Err(ApiError::bad_request(e));
    }
    let listed = v.violations.join("; ");
    match v.count {
        0 => Ok(()),
        1 => Err(ApiError::bad_request(format!("1 validation error detected: {listed}"))),
        n if n == v.violations.len() => Err(ApiError::bad_request(format!("{n} validation errors detected: {listed}"))),
        n => Err(ApiError::bad_request(format!("{n} validation errors detected: {listed}; and {} more", n - v.violations.len()))),
    }
}

struct Validator<'m> {
    model: &'m Model,
    type_error: Option<String>,
    /// The violations listed in the message (at most `MAX_LISTED_VIOLATIONS`)...
    violations: Vec<String>,
    /// ...and how many there were.
    count: usize,
}

/// `s`, or its first `MAX_ECHO_BYTES` bytes and `...`.
fn echo(s: &str) -> std::borrow::Cow<'_, str> {
    if s.len() <= MAX_ECHO_BYTES {
        return s.into();
    }
    let mut end = MAX_ECHO_BYTES;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &s[..end]).into()
}

/// Where a value is in the input, as a chain to the root: rendered (`a.b.1.member`) only for a
/// message, so that valid input, the common case, costs no string.
#[derive(Clone, Copy)]
struct Path<'a> {
    parent: Option<&'a Path<'a>>,
    step: Step<'a>,
}

#[derive(Clone, Copy)]
enum Step<'a> {
    Root,
    /// A member, by its model name.
    Member(&'a str),
    /// The n-th item of a list, from 1.
    Item(usize),
    /// The value of a map's entry, by its key.
    Key(&'a str),
}

impl<'a> Path<'a> {
    const ROOT: Path<'static> = Path { parent: None, step: Step::Root };

    fn member(&'a self, name: &'a str) -> Path<'a> {
        Path { parent: Some(self), step: Step::Member(name) }
    }

    fn item(&'a self, n: usize) -> Path<'a> {
        Path { parent: Some(self), step: Step::Item(n) }
    }

    fn key(&'a self, key: &'a str) -> Path<'a> {
        Path { parent: Some(self), step: Step::Key(key) }
    }

    /// AWS's form: members by their wire names joined with `.`, a list item as `N.member`.
    fn render(&self) -> String {
        let mut steps = Vec::new();
        let mut at = Some(self);
        while let Some(p) = at {
            steps.push(p.step);
            at = p.parent;
        }
        let mut out = String::new();
        for step in steps.iter().rev() {
            match step {
                Step::Root => {}
                Step::Member(name) => {
                    if !out.is_empty() {
                        out.push('.');
                    }
                    out.push_str(&wire_path(name));
                }
                Step::Item(n) => out.push_str(&format!(".{n}.member")),
                Step::Key(key) => {
                    out.push('.');
                    out.push_str(key);
                }
            }
        }
        out
    }
}

impl Validator<'_> {
    fn type_mismatch(&mut self, path: &Path<'_>, expected: &str) {
        if self.type_error.is_none() {
            let shown = path.render();
            let shown = if shown.is_empty() { "body".to_string() } else { shown };
            self.type_error = Some(format!("Invalid type for '{shown}': expected {expected}"));
        }
    }

    fn violation(&mut self, shape: &Shape, value: &Value, path: &Path<'_>, constraint: String) {
        self.count += 1;
        let listed_bytes: usize = self.violations.iter().map(String::len).sum();
        if self.violations.len() >= MAX_LISTED_VIOLATIONS || listed_bytes >= MAX_LISTED_BYTES {
            return;
        }
        let shown = match value {
            Value::Null => "Value null".to_string(),
            _ if shape.sensitive => "Value".to_string(),
            Value::String(s) => format!("Value '{}'", echo(s)),
            Value::Number(n) => format!("Value '{n}'"),
            _ => "Value".to_string(),
        };
        self.violations.push(format!("{shown} at '{}' failed to satisfy constraint: {constraint}", path.render()));
    }

    fn structure(&mut self, shape: &Shape, value: &Value, path: &Path<'_>) {
        let Some(obj) = value.as_object() else {
            return self.type_mismatch(path, "a structure (JSON object)");
        };
        for member in &shape.members {
            let target = self.model.shape(&member.shape);
            let mpath = path.member(&member.name);
            match obj.get(&member.name) {
                None | Some(Value::Null) => {
                    if shape.required.contains(&member.name) {
                        self.violation(target, &Value::Null, &mpath, "Member must not be null".into());
                    }
                }
                Some(v) => self.value(target, v, &mpath),
            }
        }
    }

    fn value(&mut self, shape: &Shape, value: &Value, path: &Path<'_>) {
        match shape.kind {
            ShapeKind::Structure => self.structure(shape, value, path),
            ShapeKind::String => {
                let Some(s) = value.as_str() else { return self.type_mismatch(path, "a string") };
                for constraint in string_violations(shape, s) {
                    self.violation(shape, value, path, constraint);
                }
            }
            ShapeKind::Integer | ShapeKind::Long => {
                let n = match value {
                    Value::Number(n) if n.is_i64() || n.is_u64() => n.as_i64().map(i128::from).unwrap_or(i128::MAX),
                    _ => return self.type_mismatch(path, "an integer"),
                };
                let max = shape.max.map(i128::from);
                let min = shape.min.map(i128::from);
                if let Some(max) = max.filter(|m| n > *m) {
                    self.violation(shape, value, path, format!("Member must have value less than or equal to {max}"));
                } else if let Some(min) = min.filter(|m| n < *m) {
                    self.violation(shape, value, path, format!("Member must have value greater than or equal to {min}"));
                } else {
                    let (lo, hi) = if shape.kind == ShapeKind::Integer {
                        (i32::MIN as i128, i32::MAX as i128)
                    } else {
                        (i64::MIN as i128, i64::MAX as i128)
                    };
                    if n < lo || n > hi {
                        self.type_mismatch(path, "an integer in range");
                    }
                }
            }
            ShapeKind::Boolean => {
                if !value.is_boolean() {
                    self.type_mismatch(path, "a boolean");
                }
            }
            ShapeKind::Timestamp => {
                if !value.is_number() {
                    self.type_mismatch(path, "a timestamp (epoch seconds)");
                }
            }
            ShapeKind::List => {
                let Some(items) = value.as_array() else { return self.type_mismatch(path, "a list (JSON array)") };
                let len = items.len() as i64;
                if let Some(max) = shape.max.filter(|m| len > *m) {
                    // One violation; the members of an over-long list are not checked, so that
                    // a huge list costs one line, not one per member.
                    return self.violation(shape, value, path, format!("Member must have length less than or equal to {max}"));
                }
                if let Some(min) = shape.min.filter(|m| len < *m) {
                    self.violation(shape, value, path, format!("Member must have length greater than or equal to {min}"));
                }
                if let Some(member) = &shape.list_member {
                    let member = self.model.shape(member);
                    for (i, item) in items.iter().enumerate() {
                        let ipath = path.item(i + 1);
                        if item.is_null() {
                            self.type_mismatch(&ipath, "a value, not null");
                        } else {
                            self.value(member, item, &ipath);
                        }
                    }
                }
            }
            ShapeKind::Map => {
                let Some(entries) = value.as_object() else { return self.type_mismatch(path, "a map (JSON object)") };
                let len = entries.len() as i64;
                if let Some(max) = shape.max.filter(|m| len > *m) {
                    // As for lists: one violation, the entries not checked.
                    return self.violation(shape, value, path, format!("Member must have length less than or equal to {max}"));
                }
                if let Some(min) = shape.min.filter(|m| len < *m) {
                    self.violation(shape, value, path, format!("Member must have length greater than or equal to {min}"));
                }
                let key_shape = shape.map_key.as_deref().map(|k| self.model.shape(k));
                let value_shape = shape.map_value.as_deref().map(|v| self.model.shape(v));
                for (key, entry) in entries {
                    // A key breaking its shape is one violation of the map, AWS's
                    // `Map keys must satisfy constraint: [...]`.
                    if let Some(ks) = key_shape {
                        let broken = string_violations(ks, key);
                        if !broken.is_empty() {
                            let constraint = format!("Map keys must satisfy constraint: [{}]", broken.join(", "));
                            self.violation(ks, &Value::String(key.clone()), path, constraint);
                        }
                    }
                    if let Some(vs) = value_shape {
                        let kpath = path.key(key);
                        if entry.is_null() {
                            self.type_mismatch(&kpath, "a value, not null");
                        } else {
                            self.value(vs, entry, &kpath);
                        }
                    }
                }
            }
        }
    }
}

/// The constraints of a string shape that `s` breaks, in AWS's words: length (in Unicode scalar
/// values), pattern, enum.
pub(crate) fn string_violations(shape: &Shape, s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let len = s.chars().count() as i64;
    if let Some(max) = shape.max.filter(|m| len > *m) {
        out.push(format!("Member must have length less than or equal to {max}"));
    }
    if let Some(min) = shape.min.filter(|m| len < *m) {
        out.push(format!("Member must have length greater than or equal to {min}"));
    }
    if let Some(p) = &shape.pattern
        && !shape.matches_pattern(s)
    {
        out.push(format!("Member must satisfy regular expression pattern: {p}"));
    }
    if let Some(values) = &shape.enum_values
        && !values.iter().any(|v| v == s)
    {
        out.push(format!("Member must satisfy enum value set: [{}]", values.join(", ")));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::MODEL_JSON;
    use serde_json::json;
    use std::sync::LazyLock;

    fn model() -> &'static Model {
        static MODEL: LazyLock<Model> = LazyLock::new(|| Model::parse(MODEL_JSON).unwrap());
        &MODEL
    }

    fn check(shape: &str, v: Value) -> Result<(), String> {
        validate(model(), shape, &v).map_err(|e| e.message)
    }

    #[test]
    fn map_keys_and_values_are_checked_against_their_shapes() {
        let messaging = Model::parse(crate::model::MESSAGING_JSON).unwrap();
        let bearer = "arn:aws:chime:us-east-1:111122223333:app-instance/a/user/u";
        let channel = "arn:aws:chime:us-east-1:111122223333:app-instance/a/channel/c";
        let send = |attributes: Value| {
            let input = json!({"ChannelArn": channel, "Content": "hi", "Type": "STANDARD", "Persistence": "PERSISTENT",
                               "ClientRequestToken": "tok-1", "ChimeBearer": bearer, "MessageAttributes": attributes});
            validate(&messaging, "SendChannelMessageRequest", &input).map_err(|e| e.message)
        };
        assert_eq!(send(json!({"mention": {"StringValues": ["ana"]}})), Ok(()));
        // The model marks attribute names and values sensitive: they are not echoed.
        assert_eq!(
            send(json!({"k".repeat(65): {"StringValues": ["ana"]}})).unwrap_err(),
            "1 validation error detected: Value at 'messageAttributes' failed to satisfy constraint: \
             Map keys must satisfy constraint: [Member must have length less than or equal to 64]"
        );
        assert_eq!(
            send(json!({"mention": {"StringValues": [""]}})).unwrap_err(),
            "1 validation error detected: Value at 'messageAttributes.mention.stringValues.1.member' failed to satisfy \
             constraint: Member must have length greater than or equal to 1"
        );
        assert_eq!(send(json!({"mention": null})).unwrap_err(), "Invalid type for 'messageAttributes.mention': expected a value, not null");
    }

    #[test]
    fn missing_required_members_are_not_null_violations() {
        let e = check("CreateAppInstanceRequest", json!({})).unwrap_err();
        assert_eq!(
            e,
            "2 validation errors detected: Value null at 'name' failed to satisfy constraint: Member must not be null; \
             Value null at 'clientRequestToken' failed to satisfy constraint: Member must not be null"
        );
    }

    #[test]
    fn length_counts_scalar_values_and_hides_sensitive_values() {
        let ok = "é".repeat(256);
        assert!(check("CreateAppInstanceRequest", json!({"Name": ok, "ClientRequestToken": "tok-1"})).is_ok());
        let e = check("CreateAppInstanceRequest", json!({"Name": "é".repeat(257), "ClientRequestToken": "tok-1"})).unwrap_err();
        assert_eq!(
            e,
            "1 validation error detected: Value at 'name' failed to satisfy constraint: Member must have length less than or equal to 256"
        );
    }

    #[test]
    fn non_sensitive_values_are_echoed_and_enums_listed() {
        let e = check(
            "UpdateAppInstanceUserEndpointRequest",
            json!({"AppInstanceUserArn": "arn:aws:chime:us-east-1:111122223333:app-instance/a/user/b", "EndpointId": "e", "AllowMessages": "SOME"}),
        )
        .unwrap_err();
        assert_eq!(
            e,
            "1 validation error detected: Value 'SOME' at 'allowMessages' failed to satisfy constraint: Member must satisfy enum value set: [ALL, NONE]"
        );
    }

    #[test]
    fn wrong_json_types_are_reported_before_constraints() {
        let e = check("CreateAppInstanceRequest", json!({"Name": 5})).unwrap_err();
        assert_eq!(e, "Invalid type for 'name': expected a string");
        let e = check("ListAppInstancesRequest", json!({"MaxResults": 1.5})).unwrap_err();
        assert_eq!(e, "Invalid type for 'maxResults': expected an integer");
    }

    #[test]
    fn nested_paths_name_the_list_position() {
        let e = check("TagResourceRequest", json!({"ResourceARN": "arn:aws:chime:us-east-1:1:app-instance/x", "Tags": [{"Key": "k"}]}))
            .unwrap_err();
        assert_eq!(
            e,
            "1 validation error detected: Value null at 'tags.1.member.value' failed to satisfy constraint: Member must not be null"
        );
    }

    #[test]
    fn an_over_long_list_is_one_violation_and_its_members_are_not_checked() {
        let tags: Vec<Value> = (0..51).map(|_| json!({})).collect();
        let e = check("TagResourceRequest", json!({"ResourceARN": "arn:aws:chime:us-east-1:1:app-instance/x", "Tags": tags})).unwrap_err();
        assert_eq!(
            e,
            "1 validation error detected: Value at 'tags' failed to satisfy constraint: Member must have length less than or equal to 50"
        );
    }

    #[test]
    fn at_most_ten_violations_are_listed_and_the_count_says_how_many() {
        let tags: Vec<Value> = (0..14).map(|_| json!({})).collect();
        let e = check("TagResourceRequest", json!({"ResourceARN": "arn:aws:chime:us-east-1:1:app-instance/x", "Tags": tags})).unwrap_err();
        assert!(e.starts_with("28 validation errors detected: Value null at 'tags.1.member.key' failed"), "{e}");
        assert_eq!(e.matches("failed to satisfy constraint").count(), 10, "{e}");
        assert!(e.ends_with("; and 18 more"), "{e}");
        // Ten are listed in full, as before.
        let tags: Vec<Value> = (0..5).map(|_| json!({})).collect();
        let e = check("TagResourceRequest", json!({"ResourceARN": "arn:aws:chime:us-east-1:1:app-instance/x", "Tags": tags})).unwrap_err();
        assert!(e.starts_with("10 validation errors detected: ") && !e.contains("more"), "{e}");
        assert_eq!(e.matches("failed to satisfy constraint").count(), 10, "{e}");
    }

    #[test]
    fn an_echoed_value_is_shortened() {
        let long = "x".repeat(1 << 20);
        let e = check(
            "UpdateAppInstanceUserEndpointRequest",
            json!({"AppInstanceUserArn": "arn:aws:chime:us-east-1:111122223333:app-instance/a/user/b", "EndpointId": "e", "AllowMessages": long}),
        )
        .unwrap_err();
        assert!(e.len() < 5000, "{} bytes", e.len());
        assert!(e.contains(&format!("Value '{}...' at 'allowMessages'", "x".repeat(4096))), "{}", &e[..200]);
    }

    #[test]
    fn ranges_are_checked() {
        let e = check("ListAppInstancesRequest", json!({"MaxResults": 51})).unwrap_err();
        assert_eq!(
            e,
            "1 validation error detected: Value '51' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 50"
        );
        let e = check("ListAppInstancesRequest", json!({"MaxResults": 99999999999i64})).unwrap_err();
        assert!(e.contains("less than or equal to 50"), "{e}");
    }
}
