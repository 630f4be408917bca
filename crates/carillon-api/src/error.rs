//! The error policy, written once: every failure of a request becomes an [`ApiError`], and every
//! `ApiError` leaves through [`ApiError::body`] with the status and `x-amzn-ErrorType` of its kind.
//! Messages are for the caller: they never carry SQL, file paths, secrets or stack traces.

use std::fmt;

/// Defines [`ErrorKind`] from two tables of `Kind = status, "TypeName", "Code";` entries: the models'
/// error shapes (generated) and the protocol-level errors below.
macro_rules! error_kinds {
    (
        model { $($(#[$mdoc:meta])* $model:ident = $mstatus:literal, $mtype:literal, $mcode:literal;)* }
        protocol { $($(#[$pdoc:meta])* $proto:ident = $pstatus:literal, $ptype:literal;)* }
        carillon { $($(#[$cdoc:meta])* $own:ident = $cstatus:literal, $ctype:literal, $ccode:literal;)* }
    ) => {
        /// The error shapes of the models, plus the protocol- and auth-level errors AWS answers with.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum ErrorKind {
            $($(#[$mdoc])* $model,)*
            $($(#[$pdoc])* $proto,)*
            $($(#[$cdoc])* $own,)*
        }

        impl ErrorKind {
            /// The kinds of the models' error shapes.
            pub const MODEL: &'static [ErrorKind] = &[$(ErrorKind::$model),*];
            /// The protocol- and auth-level kinds, which no model declares.
            pub const PROTOCOL: &'static [ErrorKind] = &[$(ErrorKind::$proto),*];
            /// Carillon's own kinds: answers no model declares, with a body like the models' errors.
            pub const CARILLON: &'static [ErrorKind] = &[$(ErrorKind::$own),*];

            /// The HTTP status.
            pub fn status(self) -> u16 {
                match self {
                    $(ErrorKind::$model => $mstatus,)*
                    $(ErrorKind::$proto => $pstatus,)*
                    $(ErrorKind::$own => $cstatus,)*
                }
            }

            /// The `x-amzn-ErrorType` header: the error shape's name.
            pub fn type_name(self) -> &'static str {
                match self {
                    $(ErrorKind::$model => $mtype,)*
                    $(ErrorKind::$proto => $ptype,)*
                    $(ErrorKind::$own => $ctype,)*
                }
            }

            /// The `Code` member of the body: a value of the model's `ErrorCode` for the model's
            /// kinds; none for the protocol kinds, which AWS's front door answers without one.
            pub fn code(self) -> Option<&'static str> {
                match self {
                    $(ErrorKind::$model => Some($mcode),)*
                    $(ErrorKind::$proto => None,)*
                    $(ErrorKind::$own => Some($ccode),)*
                }
            }
        }
    };
}

crate::generated::errors::with_model_errors!(error_kinds {
    protocol {
        /// No operation matches the method and path.
        UnknownOperation = 404, "UnknownOperationException";
        /// sigv4 mode: the request carries no credentials.
        MissingAuthenticationToken = 403, "MissingAuthenticationTokenException";
        /// sigv4 mode: the access key is not configured.
        UnrecognizedClient = 403, "UnrecognizedClientException";
        /// sigv4 mode: the signature does not match, or the clock is outside the window.
        InvalidSignature = 403, "InvalidSignatureException";
    }
    carillon {
        /// An operation of a model that Carillon does not implement (yet), or a member of one
        /// whose feature it lacks (`docs/behaviour.md`, "Messaging"). 501 is in no client's list
        /// of statuses to retry.
        NotImplemented = 501, "NotImplementedException", "NotImplemented";
    }
});

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
    /// 501 for an operation (or a member, by its name) that Carillon does not implement yet.
    pub fn not_implemented(operation: &str) -> Self {
        Self::new(ErrorKind::NotImplemented, format!("Carillon does not implement {operation} yet"))
    }

    /// The HTTP status of this error.
    pub fn status(&self) -> u16 {
        self.kind.status()
    }

    /// The JSON body: `{"Code": ..., "Message": ...}`, no `__type`; `{"Message": ...}` for the
    /// protocol kinds, so that every client takes the error's name from `x-amzn-ErrorType`.
    pub fn body(&self) -> Vec<u8> {
        let body = match self.kind.code() {
            Some(code) => serde_json::json!({ "Code": code, "Message": self.message }),
            None => serde_json::json!({ "Message": self.message }),
        };
        serde_json::to_vec(&body).unwrap_or_else(|_| b"{}".to_vec())
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind.type_name(), self.message)
    }
}

impl std::error::Error for ApiError {}

#[cfg(test)]
mod tests {
    use super::*;

    /// The wire answer of every kind, as the service has always sent it.
    #[test]
    fn every_kind_keeps_its_status_type_name_and_code() {
        let expected = [
            (ErrorKind::BadRequest, 400, "BadRequestException", "BadRequest"),
            (ErrorKind::ResourceLimitExceeded, 400, "ResourceLimitExceededException", "ResourceLimitExceeded"),
            (ErrorKind::UnauthorizedClient, 401, "UnauthorizedClientException", "Unauthorized"),
            (ErrorKind::Forbidden, 403, "ForbiddenException", "Forbidden"),
            (ErrorKind::NotFound, 404, "NotFoundException", "NotFound"),
            (ErrorKind::Conflict, 409, "ConflictException", "Conflict"),
            (ErrorKind::ThrottledClient, 429, "ThrottledClientException", "Throttled"),
            (ErrorKind::ServiceFailure, 500, "ServiceFailureException", "ServiceFailure"),
            (ErrorKind::ServiceUnavailable, 503, "ServiceUnavailableException", "ServiceUnavailable"),
            (ErrorKind::UnknownOperation, 404, "UnknownOperationException", ""),
            (ErrorKind::MissingAuthenticationToken, 403, "MissingAuthenticationTokenException", ""),
            (ErrorKind::UnrecognizedClient, 403, "UnrecognizedClientException", ""),
            (ErrorKind::InvalidSignature, 403, "InvalidSignatureException", ""),
            (ErrorKind::NotImplemented, 501, "NotImplementedException", "NotImplemented"),
        ];
        for (kind, status, type_name, code) in expected {
            let code = Some(code).filter(|c| !c.is_empty());
            assert_eq!((kind.status(), kind.type_name(), kind.code()), (status, type_name, code), "{kind:?}");
        }
        assert_eq!(ErrorKind::MODEL.len() + ErrorKind::PROTOCOL.len() + ErrorKind::CARILLON.len(), expected.len());
    }

    /// The protocol and authentication errors carry no `Code` in the body, as AWS's front door
    /// answers them: a client that reads the body's `Code` first (the AWS SDK for JavaScript v2)
    /// falls back to `x-amzn-ErrorType` and sees the full exception name.
    #[test]
    fn protocol_errors_have_no_code_in_the_body() {
        for kind in ErrorKind::PROTOCOL {
            let body: serde_json::Value = serde_json::from_slice(&ApiError::new(*kind, "refused").body()).unwrap();
            assert_eq!(body, serde_json::json!({"Message": "refused"}), "{kind:?}");
        }
        for kind in ErrorKind::MODEL {
            let body: serde_json::Value = serde_json::from_slice(&ApiError::new(*kind, "m").body()).unwrap();
            assert_eq!(body["Code"], kind.type_name().trim_end_matches("Exception").trim_end_matches("Client"), "{kind:?}");
        }
    }

    #[test]
    fn not_implemented_names_the_operation_in_a_coded_body() {
        let e = ApiError::not_implemented("ListChannelBans");
        assert_eq!((e.status(), e.kind.type_name()), (501, "NotImplementedException"));
        assert_eq!(e.body(), br#"{"Code":"NotImplemented","Message":"Carillon does not implement ListChannelBans yet"}"#.to_vec());
    }

    #[test]
    fn the_body_carries_code_and_message_and_never_the_cause() {
        let e = ApiError::new(ErrorKind::ThrottledClient, "slow down").with_cause("store: database is locked");
        assert_eq!(e.body(), br#"{"Code":"Throttled","Message":"slow down"}"#.to_vec());
        assert_eq!((e.status(), e.to_string().as_str()), (429, "ThrottledClientException: slow down"));
    }
}
