//! The error policy, written once: every failure of a request becomes an [`ApiError`], and every
//! `ApiError` leaves through [`ApiError::body`] with the status and `x-amzn-ErrorType` of its kind.
//! Messages are for the caller: they never carry SQL, file paths, secrets or stack traces.

use std::fmt;

/// The error shapes of the model, plus the protocol- and auth-level errors AWS answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    BadRequest,
    ResourceLimitExceeded,
    UnauthorizedClient,
    Forbidden,
    NotFound,
    Conflict,
    ThrottledClient,
    ServiceFailure,
    ServiceUnavailable,
    /// No operation matches the method and path.
    UnknownOperation,
    /// sigv4 mode: the request carries no credentials.
    MissingAuthenticationToken,
    /// sigv4 mode: the access key is not configured.
    UnrecognizedClient,
    /// sigv4 mode: the signature does not match, or the clock is outside the window.
    InvalidSignature,
}

impl ErrorKind {
    /// The HTTP status.
    pub fn status(self) -> u16 {
        match self {
            ErrorKind::BadRequest | ErrorKind::ResourceLimitExceeded => 400,
            ErrorKind::UnauthorizedClient => 401,
            ErrorKind::Forbidden | ErrorKind::MissingAuthenticationToken | ErrorKind::UnrecognizedClient | ErrorKind::InvalidSignature => {
                403
            }
            ErrorKind::NotFound | ErrorKind::UnknownOperation => 404,
            ErrorKind::Conflict => 409,
            ErrorKind::ThrottledClient => 429,
            ErrorKind::ServiceFailure => 500,
            ErrorKind::ServiceUnavailable => 503,
        }
    }

    /// The `x-amzn-ErrorType` header: the error shape's name.
    pub fn type_name(self) -> &'static str {
        match self {
            ErrorKind::BadRequest => "BadRequestException",
            ErrorKind::ResourceLimitExceeded => "ResourceLimitExceededException",
            ErrorKind::UnauthorizedClient => "UnauthorizedClientException",
            ErrorKind::Forbidden => "ForbiddenException",
            ErrorKind::NotFound => "NotFoundException",
            ErrorKind::Conflict => "ConflictException",
            ErrorKind::ThrottledClient => "ThrottledClientException",
            ErrorKind::ServiceFailure => "ServiceFailureException",
            ErrorKind::ServiceUnavailable => "ServiceUnavailableException",
            ErrorKind::UnknownOperation => "UnknownOperationException",
            ErrorKind::MissingAuthenticationToken => "MissingAuthenticationTokenException",
            ErrorKind::UnrecognizedClient => "UnrecognizedClientException",
            ErrorKind::InvalidSignature => "InvalidSignatureException",
        }
    }

    /// The `Code` member of the body (the model's `ErrorCode` where the shape has one).
    pub fn code(self) -> &'static str {
        match self {
            ErrorKind::BadRequest => "BadRequest",
            ErrorKind::ResourceLimitExceeded => "ResourceLimitExceeded",
            ErrorKind::UnauthorizedClient => "Unauthorized",
            ErrorKind::Forbidden => "Forbidden",
            ErrorKind::NotFound => "NotFound",
            ErrorKind::Conflict => "Conflict",
            ErrorKind::ThrottledClient => "Throttled",
            ErrorKind::ServiceFailure => "ServiceFailure",
            ErrorKind::ServiceUnavailable => "ServiceUnavailable",
            ErrorKind::UnknownOperation => "UnknownOperation",
            ErrorKind::MissingAuthenticationToken => "MissingAuthenticationToken",
            ErrorKind::UnrecognizedClient => "UnrecognizedClient",
            ErrorKind::InvalidSignature => "InvalidSignature",
        }
    }
}

/// A failed request: its kind and a message for the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub kind: ErrorKind,
    pub message: String,
    /// What the server knows of the cause, for its own log line only (a store error's text, the
    /// detail of a refused signature): never sent to the caller, never holds a secret.
    pub cause: Option<String>,
}

impl ApiError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        ApiError { kind, message: message.into(), cause: None }
    }

    /// The same error, with the cause the log line shows.
    pub fn with_cause(mut self, cause: impl fmt::Display) -> Self {
        self.cause = Some(cause.to_string());
        self
    }
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::BadRequest, message)
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotFound, message)
    }
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Conflict, message)
    }
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Forbidden, message)
    }
    pub fn limit_exceeded(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::ResourceLimitExceeded, message)
    }
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::ServiceUnavailable, message)
    }
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::ServiceFailure, message)
    }

    /// The HTTP status of this error.
    pub fn status(&self) -> u16 {
        self.kind.status()
    }

    /// The JSON body: `{"Code": ..., "Message": ...}`, no `__type`.
    pub fn body(&self) -> Vec<u8> {
        let body = serde_json::json!({ "Code": self.kind.code(), "Message": self.message });
        serde_json::to_vec(&body).unwrap_or_else(|_| b"{}".to_vec())
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind.type_name(), self.message)
    }
}

impl std::error::Error for ApiError {}
