//! How store failures reach the caller: a store that cannot be reached, is full or read-only is a
//! 503, a uniqueness race lost to a concurrent writer a 409, anything else a 500. No message
//! carries SQL, paths or other internals.

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

/// The answer for a store failure.
pub fn store_error(e: &StoreError) -> ApiError {
    match e {
        StoreError::Unavailable(_) => ApiError::unavailable("The service is temporarily unavailable. Try again later."),
        StoreError::Conflict(_) => ApiError::conflict("The request conflicts with a concurrent change to the same resource."),
        StoreError::Internal(_) => ApiError::internal("The service failed to process the request."),
    }
}

pub type TxResult<T> = Result<T, Failure>;
