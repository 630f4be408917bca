//! The wire layer (restJson1) of Chime SDK Identity and Chime SDK Messaging, driven by the committed
//! service models; both services are served on one listener ([`Wire`]).
//!
//! A request flows: [`route`] (method and raw path to a [`ServedOperation`]), then the generated
//! `dispatch` of its service binds path labels, query, headers and JSON body straight into the typed
//! input of the operation's method on [`ChimeSdkIdentity`] or [`messaging::ChimeSdkMessaging`],
//! checking every value against the model on the way, and serializes its typed output. A request that
//! pass refuses is bound again by [`bind`] (into one JSON value of the input shape) and [`validate`]
//! (every constraint of the model, with AWS's wording), which word its 400. Every error leaves through
//! [`ApiError`].
//!
//! The shapes, operations, traits and error kinds are generated from the models into
//! `src/generated/` and committed; `cargo run -p carillon-codegen` regenerates them.

pub mod bind;
pub mod error;
pub mod model;
pub mod pipeline;
pub mod redact;
pub mod route;
pub mod served;
pub mod validate;

mod context;
mod direct;
mod timestamp;

pub use bind::MAX_BODY_BYTES;
pub use context::RequestContext;
pub use direct::fuzz_agreement as fuzz_direct_binding;
pub use error::{ApiError, ErrorKind};
pub use identity::{ChimeSdkIdentity, Operation, dispatch, shapes};
pub use pipeline::{Answer, Request, Resolved, Wire};
pub use redact::Direction;
pub use route::printable;
pub use served::ServedOperation;
pub use timestamp::Timestamp;

/// Code generated from the committed models by `carillon-codegen`.
pub mod generated {
    pub(crate) mod errors;
    pub mod identity;
    pub mod messaging;
}

/// Chime SDK Identity: its shapes, [`Operation`], trait and dispatch.
pub use generated::identity;
/// Chime SDK Messaging, served on the same listener: its shapes, operations, trait and dispatch.
pub use generated::messaging;
