//! Verification failures.

use std::borrow::Cow;
use std::fmt;

/// What kind of failure: maps one to one onto the API's error codes (all HTTP 403).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuthErrorKind {
    /// No `Authorization` header and no presigned query parameters.
    MissingAuthenticationToken,
    /// The access key id is not configured.
    UnrecognizedClient,
    /// Anything else: malformed authorization, wrong service, bad or skewed date, expired
    /// presigned URL, unsigned `x-amz-*` header, `host` not signed, payload hash mismatch,
    /// signature mismatch.
    InvalidSignature,
}

impl AuthErrorKind {
    /// The error code: `MissingAuthenticationToken`, `UnrecognizedClient` or `InvalidSignature`.
    pub fn code(self) -> &'static str {
        match self {
            AuthErrorKind::MissingAuthenticationToken => "MissingAuthenticationToken",
            AuthErrorKind::UnrecognizedClient => "UnrecognizedClient",
            AuthErrorKind::InvalidSignature => "InvalidSignature",
        }
    }
}

/// A failed verification: its [kind](AuthErrorKind) and a short human message. The message
/// never contains a secret, the expected signature or the signature sent, and echoes at most a
/// few dozen printable characters of the request.
#[derive(Clone, PartialEq, Eq)]
pub struct AuthError {
    kind: AuthErrorKind,
    message: Cow<'static, str>,
    detail: Option<Box<str>>,
    mismatch: Option<Box<SignatureMismatch>>,
}

/// What the server computed for a request whose signature did not match: the parts a client can
/// diff against its own. Request data only, never a secret, a derived key or a signature
/// (`x-amz-security-token` values are redacted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureMismatch {
    /// The canonical request, payload hash included.
    pub canonical_request: String,
    /// `AWS4-HMAC-SHA256`, the timestamp, the scope and the canonical request's hash, one a line.
    pub string_to_sign: String,
    /// The `SignedHeaders` the request named, `;`-separated.
    pub signed_headers: String,
    /// `YYYYMMDD/REGION/SERVICE/aws4_request`.
    pub credential_scope: String,
}

impl AuthError {
    pub(crate) fn missing() -> Self {
        AuthError {
            kind: AuthErrorKind::MissingAuthenticationToken,
            message: Cow::Borrowed("Missing Authentication Token"),
            detail: None,
            mismatch: None,
        }
    }

    pub(crate) fn unrecognized() -> Self {
        AuthError {
            kind: AuthErrorKind::UnrecognizedClient,
            message: Cow::Borrowed("The security token included in the request is invalid."),
            detail: None,
            mismatch: None,
        }
    }

    pub(crate) fn invalid(message: impl Into<Cow<'static, str>>) -> Self {
        AuthError { kind: AuthErrorKind::InvalidSignature, message: message.into(), detail: None, mismatch: None }
    }

    /// A signature mismatch: the detail is made from what the server computed.
    pub(crate) fn with_mismatch(mut self, mismatch: SignatureMismatch) -> Self {
        let detail = format!("canonical request:\n{}\nstring to sign:\n{}", mismatch.canonical_request, mismatch.string_to_sign);
        self.detail = Some(detail.into_boxed_str());
        self.mismatch = Some(Box::new(mismatch));
        self
    }

    /// The kind.
    pub fn kind(&self) -> AuthErrorKind {
        self.kind
    }

    /// The short message for the caller.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// For a signature mismatch: the canonical request and string to sign the server computed
    /// (with `x-amz-security-token` values redacted), for server-side debug logs. It contains
    /// request data, never a secret or a signature.
    pub fn detail(&self) -> Option<&str> {
        self.detail.as_deref()
    }

    /// For a signature mismatch: the same as [`AuthError::detail`], field by field.
    pub fn mismatch(&self) -> Option<&SignatureMismatch> {
        self.mismatch.as_deref()
    }
}

impl fmt::Debug for AuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthError").field("kind", &self.kind).field("message", &self.message).finish_non_exhaustive()
    }
}

impl fmt::Display for AuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind.code(), self.message)
    }
}

impl std::error::Error for AuthError {}
