//! The committed service model, parsed once at first use: operations with their HTTP bindings, and
//! shapes with their members and constraints. Routing, binding and validation read it from here.

use regex::Regex;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::LazyLock;

/// The committed copy of the model (documentation stripped); `scripts/refresh-model.py` refreshes it.
pub const MODEL_JSON: &str = include_str!("../model/chime-sdk-identity-2021-04-20.json");

/// Where a member of an input structure travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Location {
    Body,
    Uri,
    Query,
    Header,
}

#[derive(Debug, Clone)]
pub struct Member {
    /// The member's name in the model (and in a JSON body).
    pub name: String,
    pub shape: String,
    pub location: Location,
    /// The label, query parameter or header name, for members outside the body.
    pub location_name: String,
    pub idempotency_token: bool,
}

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

#[derive(Debug)]
pub struct Shape {
    pub name: String,
    pub kind: ShapeKind,
    pub min: Option<i64>,
    pub max: Option<i64>,
    /// The pattern as the model writes it (used in messages).
    pub pattern: Option<String>,
    /// The pattern compiled for a whole-value match; `None` where it matches everything.
    pub regex: Option<Regex>,
    pub enum_values: Option<Vec<String>>,
    pub sensitive: bool,
    pub members: Vec<Member>,
    pub required: Vec<String>,
    /// The element shape of a list.
    pub list_member: Option<String>,
    pub is_error: bool,
    pub error_status: Option<u16>,
}

/// One segment of a URI template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    Literal(String),
    Label(String),
}

#[derive(Debug, Clone)]
pub struct OperationDef {
    pub name: String,
    pub method: String,
    /// The request URI as the model writes it.
    pub request_uri: String,
    pub segments: Vec<Segment>,
    /// `key=value` pairs fixed by the URI template (`/tags?operation=tag-resource`).
    pub query_literals: Vec<(String, String)>,
    pub success_status: u16,
    pub input: Option<String>,
    pub output: Option<String>,
    pub errors: Vec<String>,
}

#[derive(Debug)]
pub struct Model {
    pub metadata: Value,
    pub operations: Vec<OperationDef>,
    pub shapes: HashMap<String, Shape>,
}

#[allow(clippy::expect_used)] // replaced by the start-up check of the model reader
static MODEL: LazyLock<Model> = LazyLock::new(|| Model::parse(MODEL_JSON).expect("the committed model parses"));

/// The committed model.
pub fn model() -> &'static Model {
    &MODEL
}

impl Model {
    /// Parses a model in botocore's JSON form.
    pub fn parse(text: &str) -> Result<Model, String> {
        let raw: Value = serde_json::from_str(text).map_err(|e| format!("model is not JSON: {e}"))?;
        let mut shapes = HashMap::new();
        for (name, s) in raw["shapes"].as_object().ok_or("model has no shapes")? {
            shapes.insert(name.clone(), parse_shape(name, s)?);
        }
        let mut operations = Vec::new();
        for (name, o) in raw["operations"].as_object().ok_or("model has no operations")? {
            operations.push(parse_operation(name, o)?);
        }
        Ok(Model { metadata: raw["metadata"].clone(), operations, shapes })
    }

    /// The shape of that name. Panics only on a name that is not in the model, which the model's
    /// own references never are.
    pub fn shape(&self, name: &str) -> &Shape {
        &self.shapes[name]
    }

    pub fn operation(&self, name: &str) -> Option<&OperationDef> {
        self.operations.iter().find(|o| o.name == name)
    }
}

fn parse_operation(name: &str, o: &Value) -> Result<OperationDef, String> {
    let http = &o["http"];
    let method = http["method"].as_str().ok_or(format!("{name}: no method"))?.to_string();
    let request_uri = http["requestUri"].as_str().ok_or(format!("{name}: no requestUri"))?.to_string();
    let (path, query) = match request_uri.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (request_uri.as_str(), None),
    };
    let segments = path
        .trim_start_matches('/')
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| {
            if let Some(label) = s.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                Segment::Label(label.to_string())
            } else {
                Segment::Literal(s.to_string())
            }
        })
        .collect();
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
    let success_status = http.get("responseCode").and_then(Value::as_u64).unwrap_or(200) as u16;
    Ok(OperationDef {
        name: name.to_string(),
        method,
        request_uri,
        segments,
        query_literals,
        success_status,
        input: o["input"]["shape"].as_str().map(str::to_string),
        output: o.get("output").and_then(|v| v["shape"].as_str()).map(str::to_string),
        errors: o["errors"]
            .as_array()
            .map(|e| e.iter().filter_map(|e| e["shape"].as_str().map(str::to_string)).collect())
            .unwrap_or_default(),
    })
}

fn parse_shape(name: &str, s: &Value) -> Result<Shape, String> {
    let kind = match s["type"].as_str().unwrap_or_default() {
        "string" => ShapeKind::String,
        "integer" => ShapeKind::Integer,
        "long" => ShapeKind::Long,
        "boolean" => ShapeKind::Boolean,
        "timestamp" => ShapeKind::Timestamp,
        "list" => ShapeKind::List,
        "map" => ShapeKind::Map,
        "structure" => ShapeKind::Structure,
        other => return Err(format!("shape {name}: unknown type {other}")),
    };
    let pattern = s["pattern"].as_str().map(str::to_string);
    let regex = match &pattern {
        Some(p) if !matches_everything(p) => Some(compile_pattern(p).map_err(|e| format!("shape {name}: {e}"))?),
        _ => None,
    };
    let members = s["members"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(mname, mv)| {
                    let location = match mv["location"].as_str() {
                        Some("uri") => Location::Uri,
                        Some("querystring") => Location::Query,
                        Some("header") => Location::Header,
                        _ => Location::Body,
                    };
                    Member {
                        name: mname.clone(),
                        shape: mv["shape"].as_str().unwrap_or_default().to_string(),
                        location,
                        location_name: mv["locationName"].as_str().unwrap_or(mname).to_string(),
                        idempotency_token: mv["idempotencyToken"].as_bool().unwrap_or(false),
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(Shape {
        name: name.to_string(),
        kind,
        min: s["min"].as_i64(),
        max: s["max"].as_i64(),
        pattern,
        regex,
        enum_values: s["enum"].as_array().map(|v| v.iter().filter_map(|x| x.as_str().map(str::to_string)).collect()),
        sensitive: s["sensitive"].as_bool().unwrap_or(false),
        members,
        required: s["required"].as_array().map(|v| v.iter().filter_map(|x| x.as_str().map(str::to_string)).collect()).unwrap_or_default(),
        list_member: s["member"]["shape"].as_str().map(str::to_string),
        is_error: s["exception"].as_bool().unwrap_or(false),
        error_status: s["error"]["httpStatusCode"].as_u64().map(|v| v as u16),
    })
}

fn matches_everything(pattern: &str) -> bool {
    pattern == ".*" || pattern == "^.*$"
}

/// Compiles a model pattern for a whole-value match. A `.` also matches line breaks, and the
/// model's five- and six-digit escapes (`\u10000`, `\u10FFFF`) name supplementary-plane code points.
pub fn compile_pattern(pattern: &str) -> Result<Regex, regex::Error> {
    let translated = translate_escapes(pattern);
    Regex::new(&format!(r"\A(?s:{translated})\z"))
}

fn translate_escapes(pattern: &str) -> String {
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = String::with_capacity(pattern.len() + 16);
    let mut i = 0;
    while i < chars.len() {
        if chars[i] == '\\' && i + 1 < chars.len() && chars[i + 1] == 'u' {
            let hex: String = chars[i + 2..].iter().take_while(|c| c.is_ascii_hexdigit()).take(6).collect();
            // Four digits is the usual escape; the model writes supplementary code points with five
            // or six digits (always starting with 1).
            let take = if hex.len() >= 6 && u32::from_str_radix(&hex[..6], 16).is_ok_and(|v| (0x100000..=0x10FFFF).contains(&v)) {
                6
            } else if hex.len() >= 5 && hex.starts_with('1') {
                5
            } else {
                hex.len().min(4)
            };
            if take >= 4 {
                out.push_str(&format!("\\x{{{}}}", &hex[..take]));
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
mod tests {
    use super::*;

    #[test]
    fn the_committed_model_parses_with_every_operation() {
        let m = model();
        assert_eq!(m.operations.len(), 30);
        assert_eq!(m.shapes.len(), 120);
        assert_eq!(m.metadata["signingName"], "chime");
    }

    #[test]
    fn resource_name_pattern_takes_supplementary_planes_and_rejects_controls() {
        let re = model().shape("NonEmptyResourceName").regex.as_ref().unwrap();
        assert!(re.is_match("héllo 😀 world"));
        assert!(re.is_match("tab\there\nnewline"));
        assert!(!re.is_match("bell\u{7}"));
        assert!(!re.is_match("nul\u{0}"));
    }

    #[test]
    fn user_id_pattern_matches_the_whole_value() {
        let re = model().shape("UserId").regex.as_ref().unwrap();
        assert!(re.is_match("user:name@example.com"));
        assert!(re.is_match("a"));
        assert!(!re.is_match("-leading"));
        assert!(!re.is_match("trailing-"));
        assert!(!re.is_match("has space"));
    }

    #[test]
    fn dot_matches_line_breaks() {
        let re = model().shape("UserName").regex.as_ref().unwrap();
        assert!(re.is_match("line one\nline two"));
        assert!(!re.is_match(" \n\t "));
    }
}
