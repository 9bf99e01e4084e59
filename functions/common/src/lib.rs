//! # access-sync-lambda
//!
//! What every access-sync Lambda function shares, so each `main.rs` only wires and each
//! `handler.rs` only translates:
//!
//! - [`config`]: every setting read once at cold start, one message per missing or bad
//!   variable;
//! - [`wiring`]: the engine over DynamoDB, Scheduler and Kisi, and the EventBridge publisher,
//!   built once;
//! - [`kisi`]: the Kisi port with the API key read from Secrets Manager, re-read once when Kisi
//!   answers 401, and one Kisi request budget (a sliding window) for the process;
//! - [`clock`]: where `now` comes from (the system clock, or a test clock over HTTP);
//! - [`messages`]: the EventBridge envelope and the converge request passed between functions;
//! - [`sqs`]: SQS batches with item-by-item partial failure;
//! - [`ingest`]: what `ingest` does per route (canonical events, platform webhooks);
//! - [`known`]: what platform normalisers ask about members and teams, from the store;
//! - [`webhooks`]: the platforms' webhook secrets, from Secrets Manager;
//! - [`on_event`]: what `on_booking`, `on_plan_change` and `on_checkin` do (their handler and
//!   their whole `main`);
//! - [`error`]: handler errors typed Retryable / NonRetryable;
//! - [`logging`]: JSON logs.
//!
//! With the `testing` feature, [`testing`] has an in-memory Kisi and helpers for handler tests.

// Deeply nested SDK futures (`on_event::serve`) need more than the default 128.
#![recursion_limit = "256"]

pub mod clock;
pub mod config;
pub mod error;
pub mod ingest;
pub mod kisi;
pub mod known;
pub mod logging;
pub mod messages;
pub mod on_event;
pub mod sqs;
#[cfg(feature = "testing")]
pub mod testing;
pub mod webhooks;
pub mod wiring;

pub use clock::{Clock, ClockError};
pub use config::{Config, ConfigError};
pub use error::HandlerError;
pub use kisi::RefreshingKisi;
pub use messages::ConvergeRequest;
pub use wiring::{App, AwsEngine};

use access_sync_engine::AccessControl;
use access_sync_ports::EdgeScheduler;

/// The Kisi port as the engine needs it (shorthand for handler bounds).
pub trait Kisi: AccessControl + Send + Sync {}
impl<T: AccessControl + Send + Sync> Kisi for T {}

/// The edge scheduler as the engine needs it (shorthand for handler bounds).
pub trait Edges: EdgeScheduler + Send + Sync {}
impl<T: EdgeScheduler + Send + Sync> Edges for T {}
