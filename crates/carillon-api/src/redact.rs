//! The one redactor of request and response bodies: every member whose target shape the model
//! marks `sensitive` reads `"***"` (docs/behaviour.md, "Control plane"). The walk follows the
//! operation's input or output shape through nested structures, lists and maps. What the model
//! cannot vouch for (a member it does not know, a body of no known operation) is hidden too: its
//! keys stay, every value reads `"***"`. A user's ARN embeds its AppInstanceUserId, which the model
//! marks sensitive: wherever one appears, its id reads `***`, as in the logged path.

use crate::ServedOperation;
use crate::model::{Model, ShapeKind};
use crate::pipeline::Wire;
use serde_json::Value;

/// What a hidden value reads.
pub const HIDDEN: &str = "***";

/// Which body of an operation a value is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// The request body: the operation's input shape.
    Input,
    /// The success answer's body: the operation's output shape.
    Output,
}

impl Wire {
    /// Hides, in `value` (a JSON body of `operation` in `direction`), every member the model marks
    /// sensitive. With no operation (the request reached none), or none of that direction in the
    /// model, every value is hidden.
    pub fn redact_sensitive(&self, operation: Option<ServedOperation>, direction: Direction, value: &mut Value) {
        let model = operation.map_or(self.identity_model(), |op| self.model_of(op));
        let shape = operation.and_then(|op| self.definition(op)).and_then(|def| match direction {
            Direction::Input => def.input.as_deref(),
            Direction::Output => def.output.as_deref(),
        });
        redact_sensitive(model, shape, value);
    }
}

/// Hides, in `value` read as the shape `shape_name` of `model`, every member the model marks
/// sensitive; with no shape, every value.
pub fn redact_sensitive(model: &Model, shape_name: Option<&str>, value: &mut Value) {
    match shape_name {
        Some(name) => walk(model, name, value),
        None => hide_all(value),
    }
}

/// `value` read as the shape `name`; a name the model does not know hides everything.
fn walk(model: &Model, name: &str, value: &mut Value) {
    let Some(shape) = model.shapes.get(name) else { return hide_all(value) };
    if value.is_null() {
        return;
    }
    if shape.sensitive {
        *value = Value::String(HIDDEN.into());
        return;
    }
    match (shape.kind, value) {
        (ShapeKind::Structure, Value::Object(members)) => {
            for (key, v) in members.iter_mut() {
                match shape.member(key) {
                    Some(m) => walk(model, &m.shape, v),
                    None => hide_all(v),
                }
            }
        }
        (ShapeKind::List, Value::Array(items)) => {
            for item in items {
                match &shape.list_member {
                    Some(element) => walk(model, element, item),
                    None => hide_all(item),
                }
            }
        }
        (ShapeKind::Map, value @ Value::Object(_)) => {
            let key_sensitive = shape.map_key.as_deref().and_then(|k| model.shapes.get(k)).is_none_or(|k| k.sensitive);
            match (&shape.map_value, value) {
                (Some(element), Value::Object(entries)) if !key_sensitive => {
                    for v in entries.values_mut() {
                        walk(model, element, v);
                    }
                }
                (_, value) => *value = Value::String(HIDDEN.into()),
            }
        }
        (ShapeKind::String, Value::String(text)) => hide_user_id(text),
        // A scalar as its shape says: nothing sensitive in it.
        (ShapeKind::String | ShapeKind::Integer | ShapeKind::Long | ShapeKind::Boolean | ShapeKind::Timestamp, v)
            if !v.is_object() && !v.is_array() => {}
        // A value of another JSON type than its shape's: the model cannot say what is in it.
        (_, v) => hide_all(v),
    }
}

/// In an AppInstanceUser's ARN (`arn:...:app-instance/{app}/user/{id}`), the id reads `***`.
fn hide_user_id(text: &mut String) {
    let Some(app) = text.find(":app-instance/") else { return };
    if let Some(user) = text[app..].find("/user/") {
        text.truncate(app + user + "/user/".len());
        text.push_str(HIDDEN);
    }
}

/// Every scalar in `value` reads `***`; the keys of objects stay.
fn hide_all(value: &mut Value) {
    match value {
        Value::Null => {}
        Value::Object(members) => members.values_mut().for_each(hide_all),
        Value::Array(items) => items.iter_mut().for_each(hide_all),
        other => *other = Value::String(HIDDEN.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Operation;
    use serde_json::json;

    fn wire() -> Wire {
        Wire::load().unwrap()
    }

    #[test]
    fn sensitive_members_of_an_input_are_hidden_nested_ones_too() {
        let mut body = json!({
            "Name": "phone",
            "Type": "APNS",
            "ResourceArn": "arn:aws:sns:us-east-1:111122223333:app/APNS/x",
            "EndpointAttributes": {"DeviceToken": "device-token-secret", "VoipDeviceToken": "voip-secret"},
            "ClientRequestToken": "tok-12345",
            "AllowMessages": "ALL",
            "Unmodeled": {"Deep": ["x", 1, true, null]}
        });
        wire().redact_sensitive(Some(Operation::RegisterAppInstanceUserEndpoint.into()), Direction::Input, &mut body);
        assert_eq!(
            body,
            json!({
                "Name": "***",
                "Type": "APNS",
                "ResourceArn": "arn:aws:sns:us-east-1:111122223333:app/APNS/x",
                "EndpointAttributes": {"DeviceToken": "***", "VoipDeviceToken": "***"},
                "ClientRequestToken": "tok-12345",
                "AllowMessages": "ALL",
                "Unmodeled": {"Deep": ["***", "***", "***", null]}
            })
        );
    }

    #[test]
    fn sensitive_members_of_an_output_are_hidden_in_lists_of_structures() {
        let mut body = json!({
            "AppInstanceUsers": [
                {"AppInstanceUserArn": "arn:aws:chime:us-east-1:111122223333:app-instance/a/user/alice@example.com",
                 "Name": "Alice", "Metadata": "secret metadata"},
                {"AppInstanceUserArn": "arn:aws:chime:us-east-1:111122223333:app-instance/a/user/bob", "Name": "Bob"}
            ],
            "NextToken": "opaque",
            "AppInstanceArn": "arn:aws:chime:us-east-1:111122223333:app-instance/a"
        });
        wire().redact_sensitive(Some(Operation::ListAppInstanceUsers.into()), Direction::Output, &mut body);
        let text = body.to_string();
        for secret in ["alice", "Alice", "secret metadata", "opaque", "bob", "Bob"] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
        assert_eq!(body["AppInstanceUsers"][0]["Name"], "***");
        assert_eq!(body["AppInstanceArn"], "arn:aws:chime:us-east-1:111122223333:app-instance/a");
        // A user's ARN is not marked sensitive, but the id it embeds is.
        assert_eq!(body["AppInstanceUsers"][1]["AppInstanceUserArn"], "arn:aws:chime:us-east-1:111122223333:app-instance/a/user/***");
        let mut bot = json!({"AppInstanceBotArn": "arn:aws:chime:us-east-1:111122223333:app-instance/a/bot/b1"});
        wire().redact_sensitive(Some(Operation::CreateAppInstanceBot.into()), Direction::Output, &mut bot);
        assert_eq!(bot["AppInstanceBotArn"], "arn:aws:chime:us-east-1:111122223333:app-instance/a/bot/b1");
    }

    #[test]
    fn tags_and_a_value_of_the_wrong_type_are_hidden() {
        let mut body = json!({"Name": "n", "ClientRequestToken": "t", "Tags": [{"Key": "team", "Value": "blue"}], "Metadata": {"x": "y"}});
        wire().redact_sensitive(Some(Operation::CreateAppInstance.into()), Direction::Input, &mut body);
        assert_eq!(body["Tags"], json!([{"Key": "***", "Value": "***"}]));
        assert_eq!(body["Metadata"], "***");
        let mut body = json!({"ClientRequestToken": {"nested": "secret"}, "Tags": "not a list"});
        wire().redact_sensitive(Some(Operation::CreateAppInstance.into()), Direction::Input, &mut body);
        assert_eq!(body, json!({"ClientRequestToken": {"nested": "***"}, "Tags": "***"}));
    }

    #[test]
    fn without_an_operation_every_value_is_hidden() {
        let mut body = json!({"DeviceToken": "secret", "List": [1, {"k": false}], "Gone": null});
        wire().redact_sensitive(None, Direction::Input, &mut body);
        assert_eq!(body, json!({"DeviceToken": "***", "List": ["***", {"k": "***"}], "Gone": null}));
        let mut body = json!("a bare string");
        wire().redact_sensitive(Some(Operation::DeleteAppInstance.into()), Direction::Output, &mut body);
        assert_eq!(body, json!("***"));
    }
}
