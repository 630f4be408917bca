//! Cross-origin requests from browser pages (docs/behaviour.md, "CORS"): which origins are
//! allowed (`--cors-origins`), the answer to a preflight, and the headers every other answer to an
//! allowed origin carries. The control plane refuses a browser request from any other origin.

use hyper::HeaderMap;
use hyper::header::{
    ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS, ACCESS_CONTROL_ALLOW_ORIGIN, ACCESS_CONTROL_EXPOSE_HEADERS,
    ACCESS_CONTROL_MAX_AGE, ACCESS_CONTROL_REQUEST_HEADERS, ACCESS_CONTROL_REQUEST_METHOD, HeaderValue, ORIGIN, VARY,
};

/// The methods a preflight allows: every method the API and the control plane answer.
const ALLOW_METHODS: &str = "GET, HEAD, POST, PUT, DELETE, PATCH";

/// The answer headers a page's script may read: what the SDKs read to tell errors apart.
const EXPOSE_HEADERS: &str = "x-amzn-RequestId, x-amzn-ErrorType, x-amzn-ErrorMessage, Date";

/// How long a browser may keep a preflight's answer, in seconds.
const MAX_AGE: &str = "600";

/// The origins whose pages may call the server (`--cors-origins`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Origins {
    /// The default: pages served by `localhost` or `127.0.0.1`, on any port, over http or https.
    #[default]
    Local,
    /// `*`: every origin, `null` and the control plane included.
    Any,
    /// Exactly these origins (`scheme://host[:port]`, scheme and host in lower case).
    List(Vec<String>),
}

impl Origins {
    /// Reads `--cors-origins`: `*`, or origins separated by commas. An entry that is not
    /// `scheme://host[:port]` (no path, no trailing slash, no user) is refused, and so is `null`:
    /// only `*` allows the pages that send it (sandboxed frames, local files).
    pub fn parse(list: &str) -> Result<Origins, String> {
        if list.trim() == "*" {
            return Ok(Origins::Any);
        }
        let mut origins = Vec::new();
        for entry in list.split(',').map(str::trim) {
            if entry.is_empty() {
                return Err("an empty origin in the list; give origins separated by commas, or *".into());
            }
            if entry == "*" {
                return Err("* cannot be combined with other origins".into());
            }
            if entry.eq_ignore_ascii_case("null") {
                return Err("null is allowed only by * (it is the origin of every sandboxed frame and local file)".into());
            }
            let origin = entry.to_ascii_lowercase();
            if !well_formed(&origin) {
                return Err(format!(
                    "{} is not an origin of the form scheme://host[:port], e.g. http://localhost:5173",
                    crate::http::printable_bytes(entry.as_bytes())
                ));
            }
            if !origins.contains(&origin) {
                origins.push(origin);
            }
        }
        Ok(Origins::List(origins))
    }

    /// Whether a page of `origin` (an `Origin` header's bytes) may call the server.
    pub fn allows(&self, origin: &[u8]) -> bool {
        match self {
            Origins::Any => true,
            Origins::List(list) => list.iter().any(|o| o.as_bytes() == origin),
            Origins::Local => local(origin),
        }
    }
}

/// `scheme://host[:port]`: a scheme of letters, digits, `+`, `-`, `.`; a host without `/`, `@`,
/// `?`, `#`, `\`, `:`, brackets or blanks, or an IPv6 address in brackets; a port of 1 to 5 digits.
fn well_formed(origin: &str) -> bool {
    let Some((scheme, rest)) = origin.split_once("://") else { return false };
    let scheme_ok = scheme.bytes().next().is_some_and(|b| b.is_ascii_alphabetic())
        && scheme.bytes().all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b));
    // The host, and what follows it: nothing or `:PORT`.
    let (host_ok, port) = match rest.strip_prefix('[') {
        Some(v6) => match v6.split_once(']') {
            Some((inside, after)) => (!inside.is_empty() && inside.bytes().all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.'), after),
            None => return false,
        },
        None => {
            let (host, port) = rest.find(':').map_or((rest, ""), |i| rest.split_at(i));
            (!host.is_empty() && host.bytes().all(|b| b.is_ascii_graphic() && !b"/@?#\\[]".contains(&b)), port)
        }
    };
    let port_ok =
        port.is_empty() || port.strip_prefix(':').is_some_and(|p| (1..=5).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit()));
    scheme_ok && host_ok && port_ok
}

/// The default rule: a page of `localhost` or `127.0.0.1`, on any port, over http or https. A web
/// page elsewhere must not be able to wipe or steer a developer's local server; `null` (a
/// sandboxed or local file page) never may.
fn local(origin: &[u8]) -> bool {
    let Ok(origin) = std::str::from_utf8(origin) else { return false };
    let Some(rest) = origin.strip_prefix("http://").or_else(|| origin.strip_prefix("https://")) else { return false };
    let host = match rest.rsplit_once(':') {
        Some((host, port)) if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => host,
        _ => rest,
    };
    host == "localhost" || host == "127.0.0.1"
}

/// Whether a request is a preflight: `OPTIONS` with `Origin` and `Access-Control-Request-Method`.
pub fn is_preflight(method: &hyper::Method, headers: &HeaderMap) -> bool {
    method == hyper::Method::OPTIONS && headers.contains_key(ORIGIN) && headers.contains_key(ACCESS_CONTROL_REQUEST_METHOD)
}

/// The headers of a preflight's 204 for an allowed `origin`: the origin echoed, the methods, the
/// requested headers echoed, how long to keep it.
pub fn add_preflight_headers(headers: &mut HeaderMap, origin: HeaderValue, requested: Option<HeaderValue>) {
    headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    headers.insert(ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static(ALLOW_METHODS));
    if let Some(requested) = requested {
        headers.insert(ACCESS_CONTROL_ALLOW_HEADERS, requested);
    }
    headers.insert(ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static(MAX_AGE));
}

/// The headers of every other answer to an allowed `origin`: the origin echoed, and the headers a
/// script may read.
pub fn add_answer_headers(headers: &mut HeaderMap, origin: HeaderValue) {
    headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    headers.insert(ACCESS_CONTROL_EXPOSE_HEADERS, HeaderValue::from_static(EXPOSE_HEADERS));
}

/// Every answer to a request that carries `Origin` varies with it, allowed or not.
pub fn add_vary(headers: &mut HeaderMap) {
    headers.append(VARY, HeaderValue::from_static("Origin"));
}

/// The answer to a preflight from an origin that is not allowed.
pub fn refused(origin: &[u8]) -> carillon_api::ApiError {
    let shown = crate::http::printable_bytes(origin);
    carillon_api::ApiError::forbidden(format!(
        "Pages of origin {shown} may not call this server: --cors-origins lists the origins that may."
    ))
}

/// The requested headers of a preflight, to echo.
pub fn requested_headers(headers: &HeaderMap) -> Option<HeaderValue> {
    headers.get(ACCESS_CONTROL_REQUEST_HEADERS).cloned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn by_default_only_pages_of_this_machine_are_allowed() {
        let o = Origins::default();
        for ok in ["http://localhost", "https://localhost:8443", "http://127.0.0.1:5173", "https://127.0.0.1"] {
            assert!(o.allows(ok.as_bytes()), "{ok}");
        }
        for no in [
            "null",
            "http://evil.example",
            "http://localhost.evil.example",
            "http://evil.example/localhost",
            "http://127.0.0.1.nip.io:80",
            "ws://localhost",
            "http://localhost:",
            "http://localhost:80x",
            "http://user@localhost",
            "",
        ] {
            assert!(!o.allows(no.as_bytes()), "{no}");
        }
        assert!(!o.allows(b"http://localhost\xff"));
    }

    #[test]
    fn a_list_allows_exactly_its_origins() {
        let o = Origins::parse(" https://app.example.com , http://localhost:5173,HTTP://Example.org:8080").unwrap();
        assert_eq!(
            o,
            Origins::List(vec!["https://app.example.com".into(), "http://localhost:5173".into(), "http://example.org:8080".into()])
        );
        for ok in ["https://app.example.com", "http://localhost:5173", "http://example.org:8080"] {
            assert!(o.allows(ok.as_bytes()), "{ok}");
        }
        for no in ["http://app.example.com", "https://app.example.com:443", "http://localhost", "http://localhost:5174", "null", "*"] {
            assert!(!o.allows(no.as_bytes()), "{no}");
        }
        assert!(Origins::parse("http://[::1]:3000").unwrap().allows(b"http://[::1]:3000"));
        assert!(Origins::parse("tauri://localhost").is_ok());
    }

    #[test]
    fn a_star_allows_every_origin_null_included() {
        let o = Origins::parse("*").unwrap();
        for any in ["null", "http://evil.example", "http://localhost"] {
            assert!(o.allows(any.as_bytes()), "{any}");
        }
    }

    #[test]
    fn bad_lists_are_refused_in_one_line() {
        for bad in [
            "",
            ",",
            "http://a.example,",
            "null",
            "http://a.example,null",
            "*,http://a.example",
            "a.example",
            "http://a.example/",
            "http://a.example/path",
            "http://user@a.example",
            "http://a.example:",
            "http://a.example:80x",
            "http://a.example:123456",
            "http://",
            "://a.example",
            "1http://a.example",
            "http://a example",
            "http://[::1",
            "http://[]",
        ] {
            let e = Origins::parse(bad).unwrap_err();
            assert!(!e.is_empty() && !e.contains('\n'), "{bad}: {e}");
        }
    }
}
