//! How store failures reach the caller: a store that cannot be reached, is full or read-only is a
//! 503, a uniqueness race lost to a concurrent writer a 409, anything else a 500. No message
//! carries SQL, paths or other internals: the store's own text goes to the error's cause, which
//! only the server's log line shows (`docs/behaviour.md`, "Errors" and "Observability").

use carillon_api::ApiError;
use carillon_store::StoreError;

/// The error type of transaction closures: an [`ApiError`], convertible from a [`StoreError`].
#[derive(Debug)]
pub struct Failure(pub ApiError);

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Self {
        Failure(store_error(&e))
    }
}

impl From<ApiError> for Failure {
    fn from(e: ApiError) -> Self {
        Failure(e)
    }
}

/// The result of a transaction closure.
pub type TxResult<T> = Result<T, Failure>;

/// The answer for a store failure, with the store's text as its cause.
pub fn store_error(e: &StoreError) -> ApiError {
    let answer = match e {
        StoreError::Unavailable(_) => ApiError::unavailable("The service is temporarily unavailable. Try again later."),
        StoreError::Conflict(_) => ApiError::conflict("The request conflicts with a concurrent change to the same resource."),
        StoreError::Internal(_) => ApiError::internal("The service failed to process the request."),
    };
    answer.with_cause(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_store_text_is_the_cause_never_the_message() {
        let e = store_error(&StoreError::Internal("endpoints.status holds \"X\"".into()));
        assert_eq!(e.status(), 500);
        assert_eq!(e.message, "The service failed to process the request.");
        assert_eq!(e.cause.as_deref(), Some("store failure: endpoints.status holds \"X\""));
        assert!(!String::from_utf8_lossy(&e.body()).contains("endpoints"));
        assert_eq!(store_error(&StoreError::Unavailable("disk full".into())).status(), 503);
        assert_eq!(store_error(&StoreError::Conflict("unique".into())).cause.as_deref(), Some("store conflict: unique"));
    }
}
