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
        // restJson1 sends a timestamp in the query as an RFC 3339 date-time
        // (`2026-11-30T10:15:00.123Z`); it is bound as the epoch seconds a body would carry.
        ShapeKind::Timestamp => query_timestamp(raw).map(|secs| Some(Value::from(secs))).ok_or_else(|| {
            ApiError::bad_request(format!(
                "Invalid value '{}' for '{}': must be an ISO 8601 date-time such as 2026-11-30T10:15:00.123Z",
                printable(raw),
                crate::validate::wire_path(member)
            ))
        }),
        _ => Ok(Some(Value::String(raw.clone()))),
    }
}

/// A query-string timestamp in epoch seconds (millisecond precision): an RFC 3339 date-time, or
/// plain epoch seconds.
fn query_timestamp(raw: &str) -> Option<f64> {
    if let Ok(secs) = raw.parse::<f64>() {
        return secs.is_finite().then_some(secs);
    }
    let t = time::OffsetDateTime::parse(raw, &time::format_description::well_known::Rfc3339).ok()?;
    let millis = i64::try_from(t.unix_timestamp_nanos() / 1_000_000).ok()?;
    Some(millis as f64 / 1000.0)
}

/// An operation's input, bound from a request: the generated `dispatch` turns it into the
/// operation's typed input shape, or into the request's 400.
pub trait Bound {
    fn typed<T: DeserializeOwned>(self) -> Result<T, ApiError>;
}

/// An input already bound and validated as a JSON value.
impl Bound for Value {
    fn typed<T: DeserializeOwned>(self) -> Result<T, ApiError> {
        typed(self)
    }
}

/// A request's parts: bound straight into the typed input when they are valid; otherwise bound and
/// validated as a JSON value, which words the error.
impl Bound for crate::direct::Parts<'_> {
    fn typed<T: DeserializeOwned>(self) -> Result<T, ApiError> {
        if let Some(input) = crate::direct::typed(self) {
            return Ok(input);
        }
        typed(bind(self.model, self.op, self.labels, self.query, self.headers, self.body)?)
    }
}

/// Turns a bound and validated input into its typed shape.
pub fn typed<T: DeserializeOwned>(input: Value) -> Result<T, ApiError> {
    serde_json::from_value(input).map_err(|e| ApiError::bad_request(format!("Invalid request: {e}")))
}

/// What a response body's buffer starts with: most answers (a record, an ARN and an id) fit, so
/// serializing one grows it at most once, where `serde_json::to_vec`'s 128 bytes took three
/// reallocations and copies for a described endpoint.
const BODY_CAPACITY: usize = 1024;

/// Serializes a typed output shape as the response body.
pub fn body<T: Serialize>(output: &T) -> Result<Vec<u8>, ApiError> {
    let mut out = Vec::with_capacity(BODY_CAPACITY);
    serde_json::to_writer(&mut out, output).map_err(|_| ApiError::internal("The response could not be serialized"))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::query_timestamp;

    #[test]
    fn query_timestamps_are_rfc3339_or_epoch_seconds() {
        // As botocore, aws-sdk-js-v3 and aws-sdk-rust write them.
        assert_eq!(query_timestamp("2026-11-30T10:15:00Z"), Some(1_796_033_700.0));
        assert_eq!(query_timestamp("2026-11-30T10:15:00.123Z"), Some(1_796_033_700.123));
        assert_eq!(query_timestamp("2026-11-30T10:15:00.123456Z"), Some(1_796_033_700.123));
        assert_eq!(query_timestamp("2026-11-30T11:15:00.5+01:00"), Some(1_796_033_700.5));
        assert_eq!(query_timestamp("1796033700.25"), Some(1_796_033_700.25));
        for bad in ["", "yesterday", "2026-11-30", "2026-13-01T00:00:00Z", "inf", "NaN"] {
            assert_eq!(query_timestamp(bad), None, "{bad:?}");
        }
    }
}
