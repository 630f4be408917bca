//! The one reader of Carillon's committed service models (botocore's JSON form of a Smithy model).
//!
//! The generator and the running server read a model through [`Model::parse`], which checks it as it
//! reads: every shape reference resolves, every error shape is an exception with an HTTP status,
//! every URI label has exactly one required `uri` member and every `uri` member names a label, query
//! and header members say their wire name, an input has at most one idempotency token, and no shape
//! has a type this reader does not know. A model that passes needs no further checks on the serving
//! path, so a broken model fails the build (the generator) and the start-up (the server), never a request.

use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::fmt;

/// Why a model was refused. The message names the shape or operation at fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelError(pub String);

impl fmt::Display for ModelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ModelError {}

fn err<T>(message: impl Into<String>) -> Result<T, ModelError> {
    Err(ModelError(message.into()))
}

/// The service's identity, from the model's `metadata`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metadata {
    pub api_version: String,
    pub endpoint_prefix: String,
    pub protocol: String,
    pub service_full_name: String,
    pub service_id: String,
    /// The SigV4 service name (`chime` for both Chime SDK services).
    pub signing_name: String,
    pub uid: Option<String>,
}

/// Where a member of an input structure travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Location {
    Body,
    Uri,
    Query,
    Header,
}

/// A member of a structure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// The member's name in the model (and in a JSON body).
    pub name: String,
    /// The name of the member's target shape.
    pub shape: String,
    pub location: Location,
    /// The label, query parameter or header name, for members outside the body (the member's
    /// name for body members).
    pub location_name: String,
    pub idempotency_token: bool,
}

/// The type of a shape. Any other type in a model is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShapeKind {
    String,
    Integer,
    Long,
    Boolean,
    Timestamp,
    List,
    Map,
    Structure,
}

/// A shape with its constraints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shape {
    pub name: String,
    pub kind: ShapeKind,
    pub min: Option<i64>,
    pub max: Option<i64>,
    /// The pattern as the model writes it; the runtime compiles it (see [`translate_escapes`]).
    pub pattern: Option<String>,
    pub enum_values: Option<Vec<String>>,
    pub sensitive: bool,
    /// A structure's members, in the model's order.
    pub members: Vec<Member>,
    pub required: Vec<String>,
    /// The element shape of a list.
    pub list_member: Option<String>,
    /// The key and value shapes of a map.
    pub map_key: Option<String>,
    pub map_value: Option<String>,
    /// An exception (error) structure.
    pub is_error: bool,
    /// The HTTP status of an error structure; always set when `is_error` is.
    pub error_status: Option<u16>,
}

impl Shape {
    pub fn member(&self, name: &str) -> Option<&Member> {
        self.members.iter().find(|m| m.name == name)
    }

    pub fn is_required(&self, member: &str) -> bool {
        self.required.iter().any(|r| r == member)
    }
}

/// One segment of a URI template's path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    Literal(String),
    Label(String),
}

/// An operation with its HTTP binding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperationDef {
    pub name: String,
    pub method: String,
    /// The request URI as the model writes it.
    pub request_uri: String,
    pub segments: Vec<Segment>,
    /// `key=value` pairs fixed by the URI template (`/tags?operation=tag-resource`).
    pub query_literals: QueryLiterals,
    pub success_status: u16,
    pub input: Option<String>,
    pub output: Option<String>,
    pub errors: Vec<String>,
    /// The input member that carries the idempotency token, if the input has one.
    pub idempotency_token: Option<String>,
}

/// A parsed and checked service model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Model {
    pub metadata: Metadata,
    /// Operations in the model's order.
    pub operations: Vec<OperationDef>,
    /// Shapes by name (the committed models list them in this order too).
    pub shapes: BTreeMap<String, Shape>,
}

impl Model {
    /// Parses a model in botocore's JSON form and checks it (see the crate documentation).
    pub fn parse(text: &str) -> Result<Model, ModelError> {
        let raw: Value = serde_json::from_str(text).map_err(|e| ModelError(format!("the model is not JSON: {e}")))?;
        let metadata = parse_metadata(&raw["metadata"])?;
        let mut shapes = BTreeMap::new();
        for (name, s) in raw["shapes"].as_object().ok_or_else(|| ModelError("the model has no shapes".into()))? {
            shapes.insert(name.clone(), parse_shape(name, s)?);
        }
        for shape in shapes.values() {
            check_references(shape, &shapes)?;
        }
        let mut operations = Vec::new();
        for (name, o) in raw["operations"].as_object().ok_or_else(|| ModelError("the model has no operations".into()))? {
            operations.push(parse_operation(name, o, &shapes)?);
        }
        Ok(Model { metadata, operations, shapes })
    }

    /// The shape of that name.
    pub fn shape(&self, name: &str) -> Option<&Shape> {
        self.shapes.get(name)
    }

    /// The operation of that name.
    pub fn operation(&self, name: &str) -> Option<&OperationDef> {
        self.operations.iter().find(|o| o.name == name)
    }

    /// The error shapes, by name.
    pub fn error_shapes(&self) -> impl Iterator<Item = &Shape> {
        self.shapes.values().filter(|s| s.is_error)
    }
}

fn string_field(node: &Value, key: &str, what: &str) -> Result<String, ModelError> {
    match node.get(key) {
        Some(Value::String(s)) => Ok(s.clone()),
        Some(_) => err(format!("{what}: `{key}` is not a string")),
        None => err(format!("{what}: no `{key}`")),
    }
}

fn parse_metadata(m: &Value) -> Result<Metadata, ModelError> {
    let text = |key: &str| m[key].as_str().unwrap_or_default().to_string();
    let protocol = text("protocol");
    if !protocol.is_empty() && protocol != "rest-json" {
        return err(format!("metadata: protocol `{protocol}` is not rest-json, the only protocol Carillon speaks"));
    }
    let signing_name = match m["signingName"].as_str() {
        Some(name) => name.to_string(),
        // botocore signs with the endpoint prefix when the model names no signing name.
        None => text("endpointPrefix"),
    };
    if signing_name.is_empty() {
        return err("metadata: no signingName or endpointPrefix");
    }
    Ok(Metadata {
        api_version: text("apiVersion"),
        endpoint_prefix: text("endpointPrefix"),
        protocol,
        service_full_name: text("serviceFullName"),
        service_id: text("serviceId"),
        signing_name,
        uid: m["uid"].as_str().map(str::to_string),
    })
}

fn target(node: &Value, what: &str) -> Result<String, ModelError> {
    node["shape"].as_str().map(str::to_string).ok_or_else(|| ModelError(format!("{what}: no target shape")))
}

fn strings(node: &Value, what: &str) -> Result<Option<Vec<String>>, ModelError> {
    match node {
        Value::Null => Ok(None),
        Value::Array(items) => items
            .iter()
            .map(|v| v.as_str().map(str::to_string).ok_or_else(|| ModelError(format!("{what}: a value is not a string"))))
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        _ => err(format!("{what}: not a list of strings")),
    }
}

fn parse_shape(name: &str, s: &Value) -> Result<Shape, ModelError> {
    let kind = match s["type"].as_str() {
        Some("string") => ShapeKind::String,
        Some("integer") => ShapeKind::Integer,
        Some("long") => ShapeKind::Long,
        Some("boolean") => ShapeKind::Boolean,
        Some("timestamp") => ShapeKind::Timestamp,
        Some("list") => ShapeKind::List,
        Some("map") => ShapeKind::Map,
        Some("structure") => ShapeKind::Structure,
        Some(other) => return err(format!("shape {name}: type `{other}` is not one this reader knows")),
        None => return err(format!("shape {name}: no type")),
    };
    let enum_values = strings(&s["enum"], &format!("shape {name}: enum"))?;
    if enum_values.is_some() && kind != ShapeKind::String {
        return err(format!("shape {name}: only a string shape may have enum values"));
    }
    let members = match s.get("members") {
        None => Vec::new(),
        Some(Value::Object(m)) if kind == ShapeKind::Structure => parse_members(name, m)?,
        Some(_) => return err(format!("shape {name}: members on a shape that is not a structure")),
    };
    let required = strings(&s["required"], &format!("shape {name}: required"))?.unwrap_or_default();
    if let Some(missing) = required.iter().find(|r| !members.iter().any(|m| &m.name == *r)) {
        return err(format!("shape {name}: required member {missing} is not a member"));
    }
    let list_member = match kind {
        ShapeKind::List => Some(target(&s["member"], &format!("list {name}: member"))?),
        _ => None,
    };
    let (map_key, map_value) = match kind {
        ShapeKind::Map => {
            (Some(target(&s["key"], &format!("map {name}: key"))?), Some(target(&s["value"], &format!("map {name}: value"))?))
        }
        _ => (None, None),
    };
    let is_error = s["exception"].as_bool().unwrap_or(false);
    let error_status = match s["error"]["httpStatusCode"].as_u64() {
        Some(code) => {
            Some(http_status(code).ok_or_else(|| ModelError(format!("error shape {name}: httpStatusCode {code} is not an HTTP status")))?)
        }
        None => None,
    };
    if is_error && kind != ShapeKind::Structure {
        return err(format!("shape {name}: an exception must be a structure"));
    }
    if is_error && error_status.is_none() {
        return err(format!("error shape {name}: no error.httpStatusCode"));
    }
    Ok(Shape {
        name: name.to_string(),
        kind,
        min: s["min"].as_i64(),
        max: s["max"].as_i64(),
        pattern: s["pattern"].as_str().map(str::to_string),
        enum_values,
        sensitive: s["sensitive"].as_bool().unwrap_or(false),
        members,
        required,
        list_member,
        map_key,
        map_value,
        is_error,
        error_status,
    })
}

fn http_status(code: u64) -> Option<u16> {
    u16::try_from(code).ok().filter(|c| (100..=599).contains(c))
}

fn parse_members(shape: &str, members: &Map<String, Value>) -> Result<Vec<Member>, ModelError> {
    let mut out = Vec::with_capacity(members.len());
    for (name, m) in members {
        let what = format!("member {shape}.{name}");
        let location = match m["location"].as_str() {
            None => Location::Body,
            Some("uri") => Location::Uri,
            Some("querystring") => Location::Query,
            Some("header") => Location::Header,
            Some(other) => return err(format!("{what}: location `{other}` is not one this reader knows")),
        };
        let location_name = match (location, m["locationName"].as_str()) {
            (_, Some(n)) if !n.is_empty() => n.to_string(),
            (Location::Query | Location::Header, _) => return err(format!("{what}: a query or header member needs a locationName")),
            _ => name.clone(),
        };
        out.push(Member {
            name: name.clone(),
            shape: target(m, &what)?,
            location,
            location_name,
            idempotency_token: m["idempotencyToken"].as_bool().unwrap_or(false),
        });
    }
    Ok(out)
}

fn check_references(shape: &Shape, shapes: &BTreeMap<String, Shape>) -> Result<(), ModelError> {
    let refs = shape
        .members
        .iter()
        .map(|m| (format!("member {}.{}", shape.name, m.name), &m.shape))
        .chain(shape.list_member.iter().map(|t| (format!("list {} member", shape.name), t)))
        .chain(shape.map_key.iter().map(|t| (format!("map {} key", shape.name), t)))
        .chain(shape.map_value.iter().map(|t| (format!("map {} value", shape.name), t)));
    for (what, target) in refs {
        if !shapes.contains_key(target) {
            return err(format!("{what}: shape {target} is not in the model"));
        }
    }
    Ok(())
}

fn structure<'a>(shapes: &'a BTreeMap<String, Shape>, name: &str, what: &str) -> Result<&'a Shape, ModelError> {
    match shapes.get(name) {
        Some(s) if s.kind == ShapeKind::Structure => Ok(s),
        Some(_) => err(format!("{what}: shape {name} is not a structure")),
        None => err(format!("{what}: shape {name} is not in the model")),
    }
}

/// `key=value` pairs of a URI template's query.
type QueryLiterals = Vec<(String, String)>;

/// Splits a request URI into path segments and fixed query pairs.
fn parse_request_uri(op: &str, uri: &str) -> Result<(Vec<Segment>, QueryLiterals), ModelError> {
    if !uri.starts_with('/') {
        return err(format!("operation {op}: requestUri `{uri}` does not start with /"));
    }
    let (path, query) = match uri.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (uri, None),
    };
    let mut segments = Vec::new();
    for s in path.split('/').filter(|s| !s.is_empty()) {
        match s.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            Some(label) if label.is_empty() || label.contains(['{', '}', '+']) => {
                return err(format!(
                    "operation {op}: label `{{{label}}}` in `{uri}` is not a plain label (greedy labels are not supported)"
                ));
            }
            Some(label) => {
                if segments.contains(&Segment::Label(label.to_string())) {
                    return err(format!("operation {op}: label {label} appears twice in `{uri}`"));
                }
                segments.push(Segment::Label(label.to_string()));
            }
            None if s.contains(['{', '}']) => return err(format!("operation {op}: segment `{s}` of `{uri}` mixes a label and text")),
            None => segments.push(Segment::Literal(s.to_string())),
        }
    }
    let query_literals = query
        .map(|q| {
            q.split('&')
                .filter(|p| !p.is_empty())
                .map(|p| match p.split_once('=') {
                    Some((k, v)) => (k.to_string(), v.to_string()),
                    None => (p.to_string(), String::new()),
                })
                .collect()
        })
        .unwrap_or_default();
    Ok((segments, query_literals))
}

fn parse_operation(name: &str, o: &Value, shapes: &BTreeMap<String, Shape>) -> Result<OperationDef, ModelError> {
    let what = format!("operation {name}");
    if let Some(declared) = o["name"].as_str()
        && declared != name
    {
        return err(format!("{what}: declares the name {declared}"));
    }
    let http = &o["http"];
    let method = string_field(http, "method", &what)?;
    if !matches!(method.as_str(), "GET" | "POST" | "PUT" | "DELETE" | "PATCH" | "HEAD") {
        return err(format!("{what}: method `{method}` is not an HTTP method"));
    }
    let request_uri = string_field(http, "requestUri", &what)?;
    let (segments, query_literals) = parse_request_uri(name, &request_uri)?;
    let success_status = match http.get("responseCode") {
        None => 200,
        Some(code) => {
            code.as_u64().and_then(http_status).ok_or_else(|| ModelError(format!("{what}: responseCode {code} is not an HTTP status")))?
        }
    };
    let input = match o.get("input") {
        Some(i) => Some(target(i, &format!("{what}: input"))?),
        None => None,
    };
    let output = match o.get("output") {
        Some(i) => Some(target(i, &format!("{what}: output"))?),
        None => None,
    };
    if let Some(output) = &output {
        structure(shapes, output, &format!("{what}: output"))?;
    }
    let mut errors = Vec::new();
    for e in o["errors"].as_array().map(Vec::as_slice).unwrap_or_default() {
        let e = target(e, &format!("{what}: an error"))?;
        let shape = structure(shapes, &e, &format!("{what}: error"))?;
        if !shape.is_error {
            return err(format!("{what}: error {e} is not an exception shape"));
        }
        errors.push(e);
    }
    let labels: Vec<&str> = segments
        .iter()
        .filter_map(|s| match s {
            Segment::Label(l) => Some(l.as_str()),
            Segment::Literal(_) => None,
        })
        .collect();
    let mut idempotency_token = None;
    match &input {
        None if !labels.is_empty() => return err(format!("{what}: `{request_uri}` has labels but the operation has no input")),
        None => {}
        Some(input) => {
            let shape = structure(shapes, input, &format!("{what}: input"))?;
            for label in &labels {
                let bound: Vec<&Member> =
                    shape.members.iter().filter(|m| m.location == Location::Uri && m.location_name == *label).collect();
                match bound.as_slice() {
                    [] => return err(format!("{what}: label {label} of `{request_uri}` has no uri member in {input}")),
                    [m] if !shape.is_required(&m.name) => {
                        return err(format!("{what}: uri member {input}.{} must be required", m.name));
                    }
                    [_] => {}
                    _ => return err(format!("{what}: label {label} is bound by more than one member of {input}")),
                }
            }
            for m in &shape.members {
                if m.location == Location::Uri && !labels.contains(&m.location_name.as_str()) {
                    return err(format!(
                        "{what}: uri member {input}.{} names {}, which is not a label of `{request_uri}`",
                        m.name, m.location_name
                    ));
                }
                if m.idempotency_token {
                    if let Some(first) = &idempotency_token {
                        return err(format!("{what}: {input} has two idempotency token members, {first} and {}", m.name));
                    }
                    idempotency_token = Some(m.name.clone());
                }
            }
        }
    }
    Ok(OperationDef {
        name: name.to_string(),
        method,
        request_uri,
        segments,
        query_literals,
        success_status,
        input,
        output,
        errors,
        idempotency_token,
    })
}

/// Whether a model pattern accepts every string, so that the runtime can skip it.
pub fn matches_everything(pattern: &str) -> bool {
    pattern == ".*" || pattern == "^.*$"
}

/// Rewrites a model pattern's `\uXXXX` escapes into the `\x{...}` form the `regex` crate reads. The
/// models write supplementary-plane code points with five or six digits (`\u10000`, `\u10FFFF`).
pub fn translate_escapes(pattern: &str) -> String {
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = String::with_capacity(pattern.len() + 16);
    let mut i = 0;
    while i < chars.len() {
        if chars[i] == '\\' && chars.get(i + 1) == Some(&'u') {
            let hex: String = chars[i + 2..].iter().take_while(|c| c.is_ascii_hexdigit()).take(6).collect();
            // Four digits is the usual escape; five or six (always starting with 1) name a code
            // point above the Basic Multilingual Plane.
            let take = if hex.len() >= 6 && u32::from_str_radix(&hex[..6], 16).is_ok_and(|v| (0x100000..=0x10FFFF).contains(&v)) {
                6
            } else if hex.len() >= 5 && hex.starts_with('1') {
                5
            } else {
                hex.len().min(4)
            };
            if take >= 4 {
                out.push_str("\\x{");
                out.push_str(&hex[..take]);
                out.push('}');
                i += 2 + take;
                continue;
            }
        }
        out.push(chars[i]);
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests;
