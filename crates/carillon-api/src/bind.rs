//! Binding: path labels, query parameters, header members and the JSON body become one JSON object of the
//! input shape, which is then type-checked and validated against the model.

use crate::error::ApiError;
use crate::model::{Location, Model, OperationDef, Segment, ShapeKind};
use crate::route::printable;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

/// Largest request body accepted (docs/behaviour.md, "Limits").
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// Binds and validates the input of `op` from the parts of its request: the decoded path labels
/// in template order, the decoded query, the headers and the raw body.
pub fn bind(
    model: &Model,
    op: &OperationDef,
    labels: &[String],
    query: &[(String, String)],
    headers: &[(&str, &[u8])],
    body: &[u8],
) -> Result<Value, ApiError> {
    let body = parse_body(body)?;
    let Some(input_name) = &op.input else { return Ok(Value::Object(Map::new())) };
    let shape = model.shape(input_name);
    let mut input = Map::new();
    for member in &shape.members {
        let target = model.shape(&member.shape);
        let value = match member.location {
            Location::Uri => label_value(op, labels, &member.location_name).map(|v| Value::String(v.to_string())),
            Location::Query => query_value(query, &member.location_name, target.kind, &member.name)?,
            Location::Header => header_value(headers, &member.location_name)?,
            Location::Body => body.get(&member.name).filter(|v| !v.is_null()).cloned(),
        };
        if let Some(value) = value {
            input.insert(member.name.clone(), value);
        }
    }
    let input = Value::Object(input);
    crate::validate::validate(model, input_name, &input)?;
    Ok(input)
}

/// The value of the label `name`: labels come in the order of the template's label segments.
fn label_value<'l>(op: &OperationDef, labels: &'l [String], name: &str) -> Option<&'l str> {
    let position = op.segments.iter().filter_map(|s| if let Segment::Label(l) = s { Some(l) } else { None }).position(|l| l == name)?;
    labels.get(position).map(String::as_str)
}

/// A header member (Messaging's `x-amz-chime-bearer`): header names match case-insensitively.
fn header_value(headers: &[(&str, &[u8])], name: &str) -> Result<Option<Value>, ApiError> {
    let Some((_, raw)) = headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)) else { return Ok(None) };
    match std::str::from_utf8(raw) {
        Ok(v) => Ok(Some(Value::String(v.to_string()))),
        Err(_) => Err(ApiError::bad_request(format!("Invalid header '{name}': not UTF-8"))),
    }
}

fn parse_body(body: &[u8]) -> Result<Map<String, Value>, ApiError> {
    if body.len() > MAX_BODY_BYTES {
        return Err(ApiError::bad_request(format!("Request body is larger than {MAX_BODY_BYTES} bytes")));
    }
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(ApiError::bad_request("Could not parse request body into json: the body must be a JSON object")),
        Err(e) => Err(ApiError::bad_request(format!("Could not parse request body into json: {e}"))),
    }
}

fn query_value(query: &[(String, String)], name: &str, kind: ShapeKind, member: &str) -> Result<Option<Value>, ApiError> {
    let Some((_, raw)) = query.iter().find(|(k, _)| k == name) else { return Ok(None) };
    match kind {
        ShapeKind::Integer | ShapeKind::Long => raw.parse::<i64>().map(|n| Some(Value::from(n))).map_err(|_| {
            ApiError::bad_request(format!(
                "Invalid value '{}' for '{}': must be an integer",
                printable(raw),
                crate::validate::wire_path(member)
            ))
        }),
        _ => Ok(Some(Value::String(raw.clone()))),
    }
}

/// Turns a bound and validated input into its typed shape.
pub fn typed<T: DeserializeOwned>(input: Value) -> Result<T, ApiError> {
    serde_json::from_value(input).map_err(|e| ApiError::bad_request(format!("Invalid request: {e}")))
}

/// Serializes a typed output shape as the response body.
pub fn body<T: Serialize>(output: &T) -> Result<Vec<u8>, ApiError> {
    serde_json::to_vec(output).map_err(|_| ApiError::internal("The response could not be serialized"))
}
