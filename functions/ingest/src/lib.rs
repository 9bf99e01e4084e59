//! `ingest`: canonical events and platform webhooks over HTTP (a Lambda function URL) →
//! validated → EventBridge.
//!
//! - [`handler`]: one request → its route;
//! - [`routes`]: what each route does (canonical events, a platform's webhook);
//! - [`normalize`]: a platform's normaliser run with answers from the directory;
//! - [`trust`]: bounds, the time check and the replay ledger around what is published;
//! - [`wiring`]: what `main` builds once (and where the webhook secrets are configured).
//!
//! The handler is a library so that end-to-end tests and the local stack can run it in
//! process; `main.rs` only wires it to the Lambda runtime.

// Deeply nested SDK futures need more than the default 128.
#![recursion_limit = "256"]

pub mod handler;
pub mod hints;
pub mod normalize;
pub mod routes;
pub mod trust;
pub mod wiring;

#[cfg(test)]
mod tests;
