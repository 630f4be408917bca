//! Carillon's service layer: one typed handler per operation of Chime SDK Identity and
//! Messaging, written once
//! against the storage trait. Each handler checks what needs no store (ownership of ARNs, forms the
//! model cannot express), then runs its existence, state, quota and idempotency rules and its writes
//! as one transaction closure, so that they hold on every backend and under any concurrency.
//!
//! `service` is the base (the [`Service`] value, quotas, health, transaction wrappers, the owner
//! lock); `api` the facade ([`carillon_api::ChimeSdkIdentity`] on [`Service`]); one module per
//! resource holds its handlers; `messaging` is the same for Chime SDK Messaging.

mod admins;
mod api;
mod app_instances;
pub mod arn;
mod bots;
pub mod clock;
mod endpoints;
mod failure;
mod idempotency;
mod messaging;
pub mod pagination;
pub mod purge;
pub mod seed;
mod service;
pub mod state;
mod tags;
mod users;

pub use failure::{Failure, store_error};
pub use service::{Clock, Health, Quotas, Service};
