//! Routing on the raw path: split on `/` first, then percent-decode each label, so that a `%2F`
//! inside an ARN never becomes a separator. No label is greedy.
//!
//! A [`Router`] is built once from a list of service models. Each entry of its table is one URI
//! template (method, path segments, query literals such as `operation=tag-resource`) and says which
//! target it reaches: the caller picks what a target is (the served pipeline uses the generated
//! [`crate::Operation`]). Where two templates match a request, the one with more fixed parts wins,
//! so `POST /channels?operation=search` beats `POST /channels`, and any other `operation` value falls
//! to the plain route. Templates that two services share exactly (the `/tags` operations of Identity
//! and Messaging) become one entry with several targets rather than one shadowing the other; the
//! resource type of the ARN then decides which service serves it.

use crate::error::ApiError;
use crate::model::{Model, OperationDef, Segment};

/// One URI template of the table, and what it reaches.
#[derive(Debug)]
pub struct RouteEntry<T> {
    method: String,
    /// `Some(literal)` or `None` for a label, in path order.
    segments: Vec<Option<String>>,
    /// Sorted `key=value` pairs the query must hold.
    query_literals: Vec<(String, String)>,
    /// The label names of the first service's template, for messages.
    label_names: Vec<String>,
    /// Literal segments plus query literals: the more, the more specific.
    fixed: usize,
    target: T,
    /// Targets of other services with exactly the same template.
    shared: Vec<T>,
}

impl<T> RouteEntry<T> {
    /// The target of the first service (in the order the router was given) with this template.
    pub fn target(&self) -> &T {
        &self.target
    }

    /// Every target with this template: more than one where services share it.
    pub fn targets(&self) -> impl Iterator<Item = &T> {
        std::iter::once(&self.target).chain(&self.shared)
    }

    /// Whether several services have this exact template.
    pub fn is_shared(&self) -> bool {
        !self.shared.is_empty()
    }

    pub fn method(&self) -> &str {
        &self.method
    }
}

/// The most path segments a template may have.
const MAX_SEGMENTS: usize = 16;

/// The route table of one or more service models.
#[derive(Debug)]
pub struct Router<T> {
    entries: Vec<RouteEntry<T>>,
    /// The entries a request can match, by method, then by number of segments and first segment,
    /// so that a lookup compares a few templates instead of all of them.
    index: Vec<(String, Vec<Bucket>)>,
}

/// The entries of one method with `len` segments whose first segment is the literal `first`
/// (`None`: the templates whose first segment is a label, which match any first segment), in
/// table order. A bucket with a literal also holds the label-first entries of its length.
#[derive(Debug)]
struct Bucket {
    len: usize,
    first: Option<String>,
    entries: Vec<usize>,
}

/// What a request addresses: its table entry and the decoded path labels, in template order.
#[derive(Debug)]
pub struct Route<'r, T> {
    pub entry: &'r RouteEntry<T>,
    pub labels: Vec<String>,
}

impl<T: Clone> Router<T> {
    /// Builds the table from `(model, targets)` pairs, where `targets[i]` is what the model's `i`th
    /// operation routes to. Fails when a model has two operations with one template, or when two
    /// templates could match the same request with as many fixed parts (neither would win).
    pub fn new(services: &[(&Model, &[T])]) -> Result<Router<T>, String> {
        let mut entries: Vec<RouteEntry<T>> = Vec::new();
        let mut owners: Vec<Vec<(usize, String)>> = Vec::new();
        for (service, (model, targets)) in services.iter().enumerate() {
            if model.operations.len() != targets.len() {
                return Err(format!("service {service}: {} operations but {} route targets", model.operations.len(), targets.len()));
            }
            for (op, target) in model.operations.iter().zip(targets.iter()) {
                let entry = entry_of(op, target.clone());
                if entry.segments.len() > MAX_SEGMENTS {
                    return Err(format!("operation {} has more than {MAX_SEGMENTS} path segments", op.name));
                }
                match entries.iter().position(|e| same_template(e, &entry)) {
                    Some(i) => {
                        if let Some((_, other)) = owners[i].iter().find(|(s, _)| *s == service) {
                            return Err(format!(
                                "operations {other} and {} have the same template {} {}",
                                op.name, op.method, op.request_uri
                            ));
                        }
                        entries[i].shared.push(entry.target);
                        owners[i].push((service, op.name.clone()));
                    }
                    None => {
                        entries.push(entry);
                        owners.push(vec![(service, op.name.clone())]);
                    }
                }
            }
        }
        for (i, a) in entries.iter().enumerate() {
            for (j, b) in entries.iter().enumerate().skip(i + 1) {
                if a.fixed == b.fixed && overlap(a, b) {
                    return Err(format!(
                        "operations {} and {} match the same requests with as many fixed parts",
                        owners[i][0].1, owners[j][0].1
                    ));
                }
            }
        }
        let index = index_of(&entries);
        Ok(Router { entries, index })
    }
}

/// Groups the entries by method, number of segments and first literal segment.
fn index_of<T>(entries: &[RouteEntry<T>]) -> Vec<(String, Vec<Bucket>)> {
    let mut index: Vec<(String, Vec<Bucket>)> = Vec::new();
    for (i, entry) in entries.iter().enumerate() {
        let at = match index.iter().position(|(m, _)| *m == entry.method) {
            Some(at) => at,
            None => {
                index.push((entry.method.clone(), Vec::new()));
                index.len() - 1
            }
        };
        let buckets = &mut index[at].1;
        let first = entry.segments.first().cloned().flatten();
        match buckets.iter_mut().find(|b| b.len == entry.segments.len() && b.first == first) {
            Some(bucket) => bucket.entries.push(i),
            None => buckets.push(Bucket { len: entry.segments.len(), first, entries: vec![i] }),
        }
    }
    // A label-first template matches whatever the first segment is: every literal bucket of its
    // length holds it too, in table order.
    for (_, buckets) in &mut index {
        let wild: Vec<(usize, Vec<usize>)> = buckets.iter().filter(|b| b.first.is_none()).map(|b| (b.len, b.entries.clone())).collect();
        for (len, extra) in wild {
            for bucket in buckets.iter_mut().filter(|b| b.len == len && b.first.is_some()) {
                bucket.entries.extend(&extra);
                bucket.entries.sort_unstable();
            }
        }
    }
    index
}

impl<T> Router<T> {
    /// Every entry, in the order the models list their operations.
    pub fn entries(&self) -> &[RouteEntry<T>] {
        &self.entries
    }

    /// Finds the entry for `method` and the raw (still percent-encoded) `raw_path`, given the
    /// decoded query parameters.
    pub fn route(&self, method: &str, raw_path: &str, query: &[(String, String)]) -> Result<Route<'_, T>, ApiError> {
        let unknown =
            || ApiError::new(crate::ErrorKind::UnknownOperation, format!("No operation matches {method} {}", printable(raw_path)));
        let rest = raw_path.strip_prefix('/').ok_or_else(unknown)?;
        // No template is longer than `MAX_SEGMENTS` (checked when the table is built): a longer
        // path matches nothing, and the segments of any other fit on the stack.
        let mut held = [""; MAX_SEGMENTS];
        let mut count = 0;
        for segment in segments(rest) {
            *held.get_mut(count).ok_or_else(unknown)? = segment;
            count += 1;
        }
        let segments = &held[..count];
        let buckets = self.index.iter().find(|(m, _)| m == method).map_or(&[][..], |(_, b)| b.as_slice());
        let first = segments.first().copied().unwrap_or_default();
        let of_length = || buckets.iter().filter(|b| b.len == segments.len());
        // The bucket of the first segment, else the label-first templates of this length.
        let bucket = of_length().find(|b| b.first.as_deref() == Some(first)).or_else(|| of_length().find(|b| b.first.is_none()));
        let candidates = bucket.map_or(&[][..], |b| b.entries.as_slice());
        let mut best: Option<&RouteEntry<T>> = None;
        'entries: for entry in candidates.iter().map(|&i| &self.entries[i]) {
            if best.is_some_and(|b| b.fixed >= entry.fixed) {
                continue;
            }
            for (template, actual) in entry.segments.iter().zip(segments) {
                match template {
                    Some(lit) if lit == actual => {}
                    Some(_) => continue 'entries,
                    None if actual.is_empty() => continue 'entries,
                    None => {}
                }
            }
            for (k, v) in &entry.query_literals {
                if !query.iter().any(|(qk, qv)| qk == k && qv == v) {
                    continue 'entries;
                }
            }
            best = Some(entry);
        }
        let entry = best.ok_or_else(unknown)?;
        let mut labels = Vec::new();
        for (template, actual) in entry.segments.iter().zip(segments) {
            if template.is_none() {
                labels.push(
                    percent_decode(actual)
                        .map_err(|e| ApiError::bad_request(format!("Invalid path label '{}': {e}", label_name(entry, labels.len()))))?,
                );
            }
        }
        Ok(Route { entry, labels })
    }
}

/// The name of the `n`th label of an entry, for messages.
fn label_name<T>(entry: &RouteEntry<T>, n: usize) -> &str {
    entry.label_names.get(n).map_or("", String::as_str)
}

fn entry_of<T>(op: &OperationDef, target: T) -> RouteEntry<T> {
    let segments: Vec<Option<String>> = op
        .segments
        .iter()
        .map(|s| match s {
            Segment::Literal(l) => Some(l.clone()),
            Segment::Label(_) => None,
        })
        .collect();
    let label_names = op
        .segments
        .iter()
        .filter_map(|s| match s {
            Segment::Label(l) => Some(l.clone()),
            Segment::Literal(_) => None,
        })
        .collect();
    let mut query_literals = op.query_literals.clone();
    query_literals.sort();
    let fixed = segments.iter().filter(|s| s.is_some()).count() + query_literals.len();
    RouteEntry { method: op.method.clone(), segments, query_literals, label_names, fixed, target, shared: Vec::new() }
}

fn same_template<T>(a: &RouteEntry<T>, b: &RouteEntry<T>) -> bool {
    a.method == b.method && a.segments == b.segments && a.query_literals == b.query_literals
}

/// Whether one request could match both entries: same method and length, no position where both
/// are different literals, and no query key both fix to different values.
fn overlap<T>(a: &RouteEntry<T>, b: &RouteEntry<T>) -> bool {
    a.method == b.method
        && a.segments.len() == b.segments.len()
        && a.segments.iter().zip(&b.segments).all(|(x, y)| match (x, y) {
            (Some(x), Some(y)) => x == y,
            _ => true,
        })
        && !a.query_literals.iter().any(|(k, v)| b.query_literals.iter().any(|(k2, v2)| k == k2 && v != v2))
}

/// The `/`-separated segments of a raw path, as `str::split('/')` gives them. The slashes are found
/// with `memchr`: every request's path is split this way, and the `str` pattern search cost about
/// 200 instructions a slash.
pub fn segments(path: &str) -> impl Iterator<Item = &str> {
    let mut start = 0;
    memchr::memchr_iter(b'/', path.as_bytes()).chain(std::iter::once(path.len())).map(move |end| {
        // `/` is ASCII: both ends are character boundaries, so `get` always finds the segment.
        let segment = path.get(start..end).unwrap_or_default();
        start = end + 1;
        segment
    })
}

/// Decodes `%XX` escapes; the result must be UTF-8 (overlong and other invalid sequences are rejected).
/// The runs between escapes are copied whole.
pub fn percent_decode(raw: &str) -> Result<String, String> {
    let bytes = raw.as_bytes();
    let Some(first) = memchr::memchr(b'%', bytes) else { return Ok(raw.to_string()) };
    let mut out = Vec::with_capacity(bytes.len());
    out.extend_from_slice(&bytes[..first]);
    let mut i = first;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            match (bytes.get(i + 1).copied().and_then(hex_digit), bytes.get(i + 2).copied().and_then(hex_digit)) {
                (Some(h), Some(l)) => out.push(h << 4 | l),
                _ => return Err("malformed percent-encoding".into()),
            }
            i += 3;
        } else {
            let end = memchr::memchr(b'%', &bytes[i..]).map_or(bytes.len(), |p| i + p);
            out.extend_from_slice(&bytes[i..end]);
            i = end;
        }
    }
    String::from_utf8(out).map_err(|_| "percent-encoding does not decode to UTF-8".into())
}

/// The value of a hexadecimal digit, in either case.
fn hex_digit(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Parses a raw query string into decoded (key, value) pairs, in order. It reads the query as the
/// SigV4 verifier does: `+` is a space, `%XX` a byte. A parameter named twice is a 400, so that
/// what a signature covered and what is routed and bound cannot differ.
pub fn parse_query(raw: Option<&str>) -> Result<Vec<(String, String)>, ApiError> {
    let Some(raw) = raw else { return Ok(Vec::new()) };
    let mut out = Vec::new();
    for pair in raw.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let k = query_decode(k).map_err(|e| ApiError::bad_request(format!("Invalid query string: {e}")))?;
        let v = query_decode(v).map_err(|e| ApiError::bad_request(format!("Invalid query string parameter '{}': {e}", printable(&k))))?;
        out.push((k, v));
    }
    let mut keys: Vec<&str> = out.iter().map(|(k, _)| k.as_str()).collect();
    keys.sort_unstable();
    if let Some(pair) = keys.windows(2).find(|w| w.first() == w.get(1)) {
        let name = pair.first().copied().unwrap_or_default();
        return Err(ApiError::bad_request(format!("The query string names the parameter '{}' more than once.", printable(name))));
    }
    Ok(out)
}

/// One query component: `+` is a space, then percent-decoding.
fn query_decode(raw: &str) -> Result<String, String> {
    if raw.contains('+') { percent_decode(&raw.replace('+', " ")) } else { percent_decode(raw) }
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
    use crate::model::{MESSAGING_JSON, MODEL_JSON};

    const ARN_ENCODED: &str = "arn%3Aaws%3Achime%3Aus-east-1%3A111122223333%3Aapp-instance%2Fabc%2Fuser%2Fu%3A1%40x";
    const ARN: &str = "arn:aws:chime:us-east-1:111122223333:app-instance/abc/user/u:1@x";

    fn identity() -> Model {
        Model::parse(MODEL_JSON).unwrap()
    }

    fn messaging() -> Model {
        Model::parse(MESSAGING_JSON).unwrap()
    }

    #[test]
    fn segments_are_those_of_a_split_on_slashes() {
        for path in ["", "/", "//", "a", "/a", "a/", "/a/b//c/", "/app-instances/arn%3Aaws%2F/é/ü€/x", "ü/", "/€"] {
            assert_eq!(segments(path).collect::<Vec<_>>(), path.split('/').collect::<Vec<_>>(), "{path:?}");
        }
    }

    /// A router whose targets are the operations' names.
    fn by_name(model: &Model) -> Router<String> {
        let names: Vec<String> = model.operations.iter().map(|o| o.name.clone()).collect();
        Router::new(&[(model, &names)]).unwrap()
    }

    fn route_name(router: &Router<String>, method: &str, raw: &str, query: Option<&str>) -> Result<String, ApiError> {
        router.route(method, raw, &parse_query(query).unwrap()).map(|r| r.entry.target().clone())
    }

    /// The request an SDK sends for `op`: each label filled with an ARN whose encoded form holds
    /// %2F and %3A, and the template's query literals.
    fn request_of(op: &OperationDef) -> (String, Vec<(String, String)>) {
        let (path, query) = op.request_uri.split_once('?').unwrap_or((&op.request_uri, ""));
        let mut raw = String::new();
        for seg in path.trim_start_matches('/').split('/') {
            raw.push('/');
            raw.push_str(if seg.starts_with('{') { ARN_ENCODED } else { seg });
        }
        (raw, parse_query(Some(query)).unwrap())
    }

    #[test]
    fn every_operation_of_both_models_routes_from_its_own_template() {
        for model in [identity(), messaging()] {
            let router = by_name(&model);
            for op in &model.operations {
                let (raw, query) = request_of(op);
                let r = router.route(&op.method, &raw, &query).unwrap_or_else(|e| panic!("{}: {e}", op.name));
                assert_eq!(r.entry.target(), &op.name, "{} {raw}", op.method);
                assert!(!r.entry.is_shared());
                let labels = op.segments.iter().filter(|s| matches!(s, Segment::Label(_))).count();
                assert_eq!(r.labels, vec![ARN.to_string(); labels], "{}", op.name);
            }
        }
    }

    #[test]
    fn a_router_over_both_models_detects_the_shared_tags_templates() {
        let (identity, messaging) = (identity(), messaging());
        let ids: Vec<(&str, String)> = identity.operations.iter().map(|o| ("identity", o.name.clone())).collect();
        let msgs: Vec<(&str, String)> = messaging.operations.iter().map(|o| ("messaging", o.name.clone())).collect();
        let router = Router::new(&[(&identity, &ids), (&messaging, &msgs)]).unwrap();
        for (service, model) in [("identity", &identity), ("messaging", &messaging)] {
            for op in &model.operations {
                let (raw, query) = request_of(op);
                let r = router.route(&op.method, &raw, &query).unwrap_or_else(|e| panic!("{}: {e}", op.name));
                assert!(r.entry.targets().any(|t| *t == (service, op.name.clone())), "{service} {} reached {:?}", op.name, r.entry);
            }
        }
        let mut shared: Vec<Vec<(&str, String)>> =
            router.entries().iter().filter(|e| e.is_shared()).map(|e| e.targets().cloned().collect()).collect();
        shared.sort();
        let both = |name: &str| vec![("identity", name.to_string()), ("messaging", name.to_string())];
        assert_eq!(shared, vec![both("ListTagsForResource"), both("TagResource"), both("UntagResource")]);
        assert_eq!(router.entries().len(), identity.operations.len() + messaging.operations.len() - 3);
    }

    #[test]
    fn a_query_literal_wins_and_any_other_value_falls_to_the_plain_route() {
        let model = messaging();
        let router = by_name(&model);
        assert_eq!(route_name(&router, "POST", "/channels", Some("operation=search")).unwrap(), "SearchChannels");
        assert_eq!(route_name(&router, "POST", "/channels", None).unwrap(), "CreateChannel");
        assert_eq!(route_name(&router, "POST", "/channels", Some("operation=other")).unwrap(), "CreateChannel");
        assert_eq!(
            route_name(&router, "GET", "/channels", Some("scope=app-instance-user-memberships&max-results=5")).unwrap(),
            "ListChannelMembershipsForAppInstanceUser"
        );
        assert_eq!(route_name(&router, "GET", "/channels", Some("scope=nope")).unwrap(), "ListChannels");
        // Every template with a query literal: the literal reaches it; another value reaches the
        // plain template of the same path where the model has one, else no operation.
        let with_literals: Vec<&OperationDef> = model.operations.iter().filter(|o| !o.query_literals.is_empty()).collect();
        assert_eq!(with_literals.len(), 12);
        for op in with_literals {
            let (raw, query) = request_of(op);
            assert_eq!(router.route(&op.method, &raw, &query).unwrap().entry.target(), &op.name);
            let other: Vec<(String, String)> = query.iter().map(|(k, _)| (k.clone(), "something-else".to_string())).collect();
            let plain = model.operations.iter().find(|p| p.method == op.method && p.segments == op.segments && p.query_literals.is_empty());
            match (router.route(&op.method, &raw, &other), plain) {
                (Ok(r), Some(plain)) => assert_eq!(r.entry.target(), &plain.name),
                (Err(e), None) => assert_eq!(e.kind, crate::ErrorKind::UnknownOperation),
                (got, want) => panic!("{}: got {:?}, want {:?}", op.name, got.map(|r| r.entry.target().clone()), want.map(|p| &p.name)),
            }
        }
    }

    #[test]
    fn the_tags_operation_is_picked_by_the_query() {
        let router = by_name(&identity());
        assert_eq!(route_name(&router, "POST", "/tags", Some("operation=untag-resource")).unwrap(), "UntagResource");
        assert_eq!(route_name(&router, "POST", "/tags", Some("operation=tag-resource")).unwrap(), "TagResource");
        let e = route_name(&router, "POST", "/tags", None).unwrap_err();
        assert_eq!(e.kind, crate::ErrorKind::UnknownOperation);
        assert_eq!(e.message, "No operation matches POST /tags");
    }

    #[test]
    fn unknown_paths_and_methods_are_unknown_operations() {
        let router = by_name(&identity());
        for (m, p) in
            [("GET", "/nope"), ("PATCH", "/app-instances"), ("GET", "/app-instances/"), ("GET", ""), ("GET", "/app-instances//admins")]
        {
            let e = route_name(&router, m, p, None).unwrap_err();
            assert_eq!(e.kind, crate::ErrorKind::UnknownOperation, "{m} {p}");
        }
    }

    #[test]
    fn an_encoded_slash_stays_inside_its_label() {
        let router = by_name(&identity());
        let r = router.route("GET", "/app-instances/a%2Fb", &[]).unwrap();
        assert_eq!(r.entry.target(), "DescribeAppInstance");
        assert_eq!(r.labels, vec!["a/b".to_string()]);
    }

    #[test]
    fn bad_escapes_are_bad_requests() {
        let router = by_name(&identity());
        for p in ["/app-instances/%", "/app-instances/%zz", "/app-instances/%C0%AF", "/app-instances/%FF"] {
            let e = route_name(&router, "GET", p, None).unwrap_err();
            assert_eq!(e.kind, crate::ErrorKind::BadRequest, "{p}");
            assert!(e.message.starts_with("Invalid path label 'appInstanceArn': "), "{}", e.message);
        }
    }

    /// A small model with the given (name, method, requestUri) operations, each label bound to a
    /// required string member.
    fn tiny(ops: &[(&str, &str, &str)]) -> Model {
        let mut operations = serde_json::Map::new();
        let mut shapes = serde_json::Map::new();
        shapes.insert("S".into(), serde_json::json!({"type": "string"}));
        for (name, method, uri) in ops {
            let labels: Vec<&str> = uri.split(['{', '}']).skip(1).step_by(2).collect();
            let members: serde_json::Map<String, serde_json::Value> =
                labels.iter().map(|l| (l.to_string(), serde_json::json!({"shape": "S", "location": "uri", "locationName": l}))).collect();
            shapes.insert(format!("{name}Request"), serde_json::json!({"type": "structure", "required": labels, "members": members}));
            operations.insert(
                name.to_string(),
                serde_json::json!({"name": name, "http": {"method": method, "requestUri": uri}, "input": {"shape": format!("{name}Request")}}),
            );
        }
        let model = serde_json::json!({"metadata": {"signingName": "chime"}, "operations": operations, "shapes": shapes});
        Model::parse(&model.to_string()).unwrap()
    }

    #[test]
    fn a_template_twice_in_one_model_is_refused() {
        let m = tiny(&[("A", "GET", "/things/{a}"), ("B", "GET", "/things/{b}")]);
        let e = by_name_result(&m).unwrap_err();
        assert!(e.contains("operations A and B have the same template"), "{e}");
    }

    #[test]
    fn templates_neither_of_which_would_win_are_refused() {
        let m = tiny(&[("A", "GET", "/a/{x}"), ("B", "GET", "/{y}/b")]);
        let e = by_name_result(&m).unwrap_err();
        assert!(e.contains("operations A and B match the same requests"), "{e}");
        let m = tiny(&[("A", "GET", "/a?x=1"), ("B", "GET", "/a?y=1")]);
        assert!(by_name_result(&m).is_err());
        // A literal against a label, or two values of one query key, is no ambiguity.
        let m = tiny(&[("A", "GET", "/a/{x}"), ("B", "GET", "/a/b"), ("C", "GET", "/a?x=1"), ("D", "GET", "/a?x=2"), ("E", "GET", "/a")]);
        let router = by_name_result(&m).unwrap();
        assert_eq!(route_name(&router, "GET", "/a/b", None).unwrap(), "B");
        assert_eq!(route_name(&router, "GET", "/a/c", None).unwrap(), "A");
        assert_eq!(route_name(&router, "GET", "/a", Some("x=2")).unwrap(), "D");
        assert_eq!(route_name(&router, "GET", "/a", Some("x=3")).unwrap(), "E");
    }

    #[test]
    fn a_label_first_template_is_found_beside_literal_ones() {
        let m = tiny(&[("A", "GET", "/{x}/b"), ("B", "GET", "/a/b"), ("C", "GET", "/a"), ("D", "PUT", "/{x}/b")]);
        let router = by_name_result(&m).unwrap();
        assert_eq!(route_name(&router, "GET", "/a/b", None).unwrap(), "B");
        assert_eq!(route_name(&router, "GET", "/c/b", None).unwrap(), "A");
        assert_eq!(route_name(&router, "GET", "/a", None).unwrap(), "C");
        assert_eq!(route_name(&router, "PUT", "/a/b", None).unwrap(), "D");
        for (method, path) in [("GET", "/a/c"), ("GET", "//b"), ("GET", "/c"), ("POST", "/a/b"), ("GET", "/a/b/c")] {
            assert_eq!(route_name(&router, method, path, None).unwrap_err().kind, crate::ErrorKind::UnknownOperation, "{method} {path}");
        }
    }

    #[test]
    fn a_path_longer_than_any_template_is_an_unknown_operation() {
        let router = by_name(&identity());
        let long = "/app-instances".repeat(40);
        let e = route_name(&router, "GET", &long, None).unwrap_err();
        assert_eq!(e.kind, crate::ErrorKind::UnknownOperation);
        let m = tiny(&[("A", "GET", &"/a".repeat(MAX_SEGMENTS + 1))]);
        assert!(by_name_result(&m).unwrap_err().contains("more than 16 path segments"));
    }

    #[test]
    fn percent_decoding_copies_runs_and_reads_either_case() {
        assert_eq!(percent_decode("plain").unwrap(), "plain");
        assert_eq!(percent_decode("%41b%2fc%2Fd%20").unwrap(), "Ab/c/d ");
        assert_eq!(percent_decode("%E2%82%ac!").unwrap(), "€!");
        assert_eq!(percent_decode("").unwrap(), "");
        for bad in ["%", "a%4", "%4g", "x%zz", "%C0%AF", "%FF", "%+1"] {
            assert!(percent_decode(bad).is_err(), "{bad}");
        }
    }

    fn by_name_result(model: &Model) -> Result<Router<String>, String> {
        let names: Vec<String> = model.operations.iter().map(|o| o.name.clone()).collect();
        Router::new(&[(model, &names)])
    }

    #[test]
    fn queries_decode_and_bad_escapes_are_bad_requests() {
        let q = parse_query(Some("a=1&b=x%2Fy&&c&d=")).unwrap();
        let want: Vec<(String, String)> =
            [("a", "1"), ("b", "x/y"), ("c", ""), ("d", "")].iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        assert_eq!(q, want);
        assert_eq!(parse_query(Some("%zz=1")).unwrap_err().message, "Invalid query string: malformed percent-encoding");
        assert_eq!(
            parse_query(Some("max-results=%FF")).unwrap_err().message,
            "Invalid query string parameter 'max-results': percent-encoding does not decode to UTF-8"
        );
    }

    /// A parameter named twice is a 400 (docs/behaviour.md, "Wire protocol"): the signature covers
    /// every value, the router would read one.
    #[test]
    fn a_repeated_query_parameter_is_a_bad_request() {
        for raw in ["max-results=1&max-results=50", "a&a", "a=1&b=2&a=1", "a+b=1&a%20b=2", "k=1&%6B=2"] {
            let e = parse_query(Some(raw)).unwrap_err();
            assert_eq!(e.kind, crate::ErrorKind::BadRequest, "{raw}");
            assert!(e.message.contains("more than once"), "{raw}: {}", e.message);
        }
        assert_eq!(parse_query(Some("a=1&A=2&b")).unwrap().len(), 3);
    }

    /// `+` is a space in a query, as the SigV4 verifier reads it (form encoding); `%2B` is a plus.
    #[test]
    fn a_plus_in_the_query_is_a_space() {
        let q = parse_query(Some("next-token=a+b%2Bc&k+1=x")).unwrap();
        assert_eq!(q, vec![("next-token".to_string(), "a b+c".to_string()), ("k 1".to_string(), "x".to_string())]);
    }
}
