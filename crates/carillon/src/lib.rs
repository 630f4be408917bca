//! `carillon`: an Amazon Chime SDK Identity API server, as a library (so that tests and tools can
//! run it in process) and the `carillon` binary on top of it.
//!
//! [`start`] opens the store, binds and serves in the background on the current tokio runtime;
//! [`run`] is what the binary does: start, wait for SIGINT or SIGTERM, shut down gracefully.

pub mod auth;
pub mod config;
mod control;
mod http;
mod server;
pub mod throttle;

pub use config::Config;
pub use server::{Running, run, start};
