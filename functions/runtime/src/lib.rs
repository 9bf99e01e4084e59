//! # access-sync-runtime
//!
//! What every access-sync Lambda function needs, and nothing that belongs to one of them, so
//! each `main.rs` only wires and each `handler.rs` only translates:
//!
//! - [`config`]: every setting read once at cold start, one message per missing or bad
//!   variable;
//! - [`wiring`]: the engine over DynamoDB, Scheduler and Kisi (its API key read from Secrets
//!   Manager on the first Kisi call, re-read once when Kisi answers 401), and the EventBridge
//!   publisher, built once;
//! - [`clock`]: where `now` comes from (the system clock, or a test clock over HTTP);
//! - [`messages`]: the EventBridge envelope and the converge request passed between functions;
//! - [`sqs`]: SQS batches with item-by-item partial failure;
//! - [`error`]: handler errors typed Retryable / NonRetryable;
//! - [`logging`]: JSON logs.
//!
//! With the `testing` feature, [`testing`] has a test engine and helpers for handler tests.

// Deeply nested SDK futures need more than the default 128.
#![recursion_limit = "256"]

pub mod clock;
pub mod config;
pub mod error;
pub mod logging;
pub mod messages;
pub mod redact;
pub mod sqs;
#[cfg(feature = "testing")]
pub mod testing;
pub mod wiring;

pub use clock::{Clock, ClockError};
pub use config::{Config, ConfigError};
pub use error::HandlerError;
pub use messages::ConvergeRequest;
pub use wiring::{App, AwsEngine};
