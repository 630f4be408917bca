//! Routing on the raw path: split on `/` first, then percent-decode each label, so that a `%2F`
//! inside an ARN never becomes a separator. No label is greedy.

use crate::error::ApiError;
use crate::model::{Model, OperationDef, Segment};

/// The operation a request addresses, with its decoded path labels.
#[derive(Debug)]
pub struct Route<'m> {
    pub operation: &'m OperationDef,
    /// (label name, decoded value), in template order.
    pub labels: Vec<(String, String)>,
}

/// Finds the operation for `method` and the raw (still percent-encoded) `path`, given the decoded
/// query parameters. Where two templates match, the one with more fixed parts wins.
pub fn route<'m>(model: &'m Model, method: &str, raw_path: &str, query: &[(String, String)]) -> Result<Route<'m>, ApiError> {
    let unknown = || ApiError::new(crate::ErrorKind::UnknownOperation, format!("No operation matches {method} {}", printable(raw_path)));
    let rest = raw_path.strip_prefix('/').ok_or_else(unknown)?;
    let segments: Vec<&str> = rest.split('/').collect();
    let mut best: Option<(&OperationDef, usize)> = None;
    'ops: for op in &model.operations {
        if op.method != method || op.segments.len() != segments.len() {
            continue;
        }
        let mut fixed = 0;
        for (template, actual) in op.segments.iter().zip(&segments) {
            match template {
                Segment::Literal(lit) if lit == actual => fixed += 1,
                Segment::Literal(_) => continue 'ops,
                Segment::Label(_) if actual.is_empty() => continue 'ops,
                Segment::Label(_) => {}
            }
        }
        for (k, v) in &op.query_literals {
            if !query.iter().any(|(qk, qv)| qk == k && qv == v) {
                continue 'ops;
            }
            fixed += 1;
        }
        if best.is_none_or(|(_, f)| fixed > f) {
            best = Some((op, fixed));
        }
    }
    let (operation, _) = best.ok_or_else(unknown)?;
    let mut labels = Vec::new();
    for (template, actual) in operation.segments.iter().zip(&segments) {
        if let Segment::Label(name) = template {
            let value = percent_decode(actual).map_err(|e| ApiError::bad_request(format!("Invalid path label '{name}': {e}")))?;
            labels.push((name.clone(), value));
        }
    }
    Ok(Route { operation, labels })
}

/// Decodes `%XX` escapes; the result must be UTF-8 (overlong and other invalid sequences are rejected).
pub fn percent_decode(raw: &str) -> Result<String, String> {
    let bytes = raw.as_bytes();
    if !bytes.contains(&b'%') {
        return Ok(raw.to_string());
    }
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hi = bytes.get(i + 1).and_then(|b| (*b as char).to_digit(16));
            let lo = bytes.get(i + 2).and_then(|b| (*b as char).to_digit(16));
            match (hi, lo) {
                (Some(h), Some(l)) => out.push((h * 16 + l) as u8),
                _ => return Err("malformed percent-encoding".into()),
            }
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| "percent-encoding does not decode to UTF-8".into())
}

/// Parses a raw query string into decoded (key, value) pairs, in order.
pub fn parse_query(raw: Option<&str>) -> Result<Vec<(String, String)>, ApiError> {
    let Some(raw) = raw else { return Ok(Vec::new()) };
    let mut out = Vec::new();
    for pair in raw.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let k = percent_decode(k).map_err(|e| ApiError::bad_request(format!("Invalid query string: {e}")))?;
        let v = percent_decode(v).map_err(|e| ApiError::bad_request(format!("Invalid query string parameter '{}': {e}", printable(&k))))?;
        out.push((k, v));
    }
    Ok(out)
}

/// A raw path or name shortened and stripped of control characters, for messages.
pub fn printable(raw: &str) -> String {
    let mut s: String = raw.chars().filter(|c| !c.is_control()).take(256).collect();
    if raw.chars().count() > 256 {
        s.push_str("...");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::model;

    #[test]
    fn every_operation_routes_from_its_own_template() {
        // Fill each label with an ARN whose encoded form holds %2F and %3A, as the SDKs send it.
        for op in &model().operations {
            let (path, query) = op.request_uri.split_once('?').unwrap_or((&op.request_uri, ""));
            let mut raw = String::new();
            for seg in path.trim_start_matches('/').split('/') {
                raw.push('/');
                if seg.starts_with('{') {
                    raw.push_str("arn%3Aaws%3Achime%3Aus-east-1%3A111122223333%3Aapp-instance%2Fabc%2Fuser%2Fu%3A1%40x");
                } else {
                    raw.push_str(seg);
                }
            }
            let query = parse_query(Some(query)).unwrap();
            let r = route(model(), &op.method, &raw, &query).unwrap_or_else(|e| panic!("{}: {e}", op.name));
            assert_eq!(r.operation.name, op.name, "{raw}");
            for (_, v) in &r.labels {
                assert_eq!(v, "arn:aws:chime:us-east-1:111122223333:app-instance/abc/user/u:1@x");
            }
        }
    }

    #[test]
    fn the_tags_operation_is_picked_by_the_query() {
        let q = parse_query(Some("operation=untag-resource")).unwrap();
        assert_eq!(route(model(), "POST", "/tags", &q).unwrap().operation.name, "UntagResource");
        let q = parse_query(Some("operation=tag-resource")).unwrap();
        assert_eq!(route(model(), "POST", "/tags", &q).unwrap().operation.name, "TagResource");
        let e = route(model(), "POST", "/tags", &[]).unwrap_err();
        assert_eq!(e.kind, crate::ErrorKind::UnknownOperation);
    }

    #[test]
    fn unknown_paths_and_methods_are_unknown_operations() {
        for (m, p) in
            [("GET", "/nope"), ("PATCH", "/app-instances"), ("GET", "/app-instances/"), ("GET", ""), ("GET", "/app-instances//admins")]
        {
            let e = route(model(), m, p, &[]).unwrap_err();
            assert_eq!(e.kind, crate::ErrorKind::UnknownOperation, "{m} {p}");
        }
    }

    #[test]
    fn an_encoded_slash_stays_inside_its_label() {
        let r = route(model(), "GET", "/app-instances/a%2Fb", &[]).unwrap();
        assert_eq!(r.operation.name, "DescribeAppInstance");
        assert_eq!(r.labels[0].1, "a/b");
    }

    #[test]
    fn bad_escapes_are_bad_requests() {
        for p in ["/app-instances/%", "/app-instances/%zz", "/app-instances/%C0%AF", "/app-instances/%FF"] {
            let e = route(model(), "GET", p, &[]).unwrap_err();
            assert_eq!(e.kind, crate::ErrorKind::BadRequest, "{p}");
        }
    }
}
