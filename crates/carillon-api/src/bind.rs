//! Binding: path labels, query parameters and the JSON body become one JSON object of the operation's
//! input shape, which is then type-checked and validated against the model.

use crate::error::ApiError;
use crate::model::{Location, Model, OperationDef, ShapeKind};
use crate::route::printable;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

/// Largest request body accepted (SPEC §2).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// Binds and validates the input of `op`.
pub fn bind(
    model: &Model,
    op: &OperationDef,
    labels: &[(String, String)],
    query: &[(String, String)],
    body: &[u8],
) -> Result<Value, ApiError> {
    let body = parse_body(body)?;
    let Some(input_name) = &op.input else { return Ok(Value::Object(Map::new())) };
    let shape = model.shape(input_name);
    let mut input = Map::new();
    for member in &shape.members {
        let target = model.shape(&member.shape);
        let value = match member.location {
            Location::Uri => labels.iter().find(|(k, _)| *k == member.location_name).map(|(_, v)| Value::String(v.clone())),
            Location::Query => query_value(query, &member.location_name, target.kind, &member.name)?,
            Location::Header => None,
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
