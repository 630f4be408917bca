//! `carillon`: an Amazon Chime SDK Identity and Messaging API server, as a library (so that tests and tools can
//! run it in process) and the `carillon` binary on top of it.
//!
//! [`start`] opens the store, binds and serves in the background on the current tokio runtime;
//! [`run`] is what the binary does: start, wait for SIGINT or SIGTERM, shut down gracefully.

pub mod auth;
pub mod config;
mod console;
mod control;
pub mod cors;
mod faults;
mod http;
mod journal;
mod metrics;
mod server;
pub mod state;
pub mod throttle;

pub use config::Config;
pub use server::{ControlPlane, Running, run, start};

/// The `tracing` target of the one event each request logs (`--quiet` raises its level to warn).
/// The library only emits events; the binary installs the subscriber, so an embedding program
/// keeps control of its own.
pub const REQUEST_LOG_TARGET: &str = "carillon::request";
