//! The web console (docs/behaviour.md, "Control plane"): one page, its script and its style sheet,
//! embedded in the binary. They hold no data: the page reads and changes the server through the
//! control plane's own paths, signed in the browser in sigv4 mode.

use carillon_api::Answer;
use hyper::HeaderMap;
use hyper::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY, HeaderValue, X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS};

/// Every path of the console starts with this.
pub const PREFIX: &str = "/_carillon/console";

/// A file of the console.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Asset {
    Page,
    Script,
    Style,
}

impl Asset {
    /// The file at `path`, if any.
    pub fn at(path: &str) -> Option<Asset> {
        Some(match path {
            "/_carillon/console" | "/_carillon/console/" => Asset::Page,
            "/_carillon/console/app.js" => Asset::Script,
            "/_carillon/console/app.css" => Asset::Style,
            _ => return None,
        })
    }

    /// The file, answered as it is.
    pub fn answer(self) -> Answer {
        let (content_type, body): (&'static str, &'static str) = match self {
            Asset::Page => ("text/html; charset=utf-8", include_str!("console/index.html")),
            Asset::Script => ("text/javascript; charset=utf-8", include_str!("console/app.js")),
            Asset::Style => ("text/css; charset=utf-8", include_str!("console/app.css")),
        };
        Answer { status: 200, content_type, body: body.as_bytes().to_vec() }
    }
}

/// The headers of every answer under the console's paths: always fetched anew (the binary may
/// change under the same URL), never framed by another page (a framed console could be clicked
/// into a reset), and only the console's own scripts, styles and connections.
pub fn add_headers(headers: &mut HeaderMap) {
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(CONTENT_SECURITY_POLICY, HeaderValue::from_static("default-src 'self'; img-src 'self' data:; frame-ancestors 'none'"));
}

/// Whether `path` is one of the console's (or under its prefix).
pub fn is_console(path: &str) -> bool {
    path == PREFIX || path.starts_with("/_carillon/console/")
}
