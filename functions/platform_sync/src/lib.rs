//! `platform_sync`: every 15 minutes (an EventBridge schedule per platform, input
//! `{"platform": "officernd"}`) and on demand (`{"platform": "officernd", "full": true}`), the
//! platform's API is listed and only what differs from the stored facts is published to the
//! bus as canonical events, where the event functions take it like any webhook
//! (`access_sync_engine::sync`). `{"platform": …, "action": "confirm" | "discard"}` releases
//! endings the brake held. An SQS batch from the `reread` queue (`ingest`'s hints for a
//! platform whose webhooks are not believed, Optix) is re-read record by record
//! ([`reread`]).
//!
//! Parse → load → decide → apply: [`request::SyncRequest`] parses the input,
//! [`settings::SyncConfig`] the environment, [`handler::handle`] runs the engine's sync with a
//! time budget that stops before the Lambda deadline.
//!
//! The binary (`main.rs`) wires [`wiring::SyncApp`]: DynamoDB (facts, audit, sync state),
//! EventBridge, Secrets Manager, and each platform's API client from the registry
//! (`access_sync_sources::connect`).

// Deeply nested SDK futures need more than the default 128.
#![recursion_limit = "256"]
#![warn(missing_docs)]

pub mod handler;
pub mod request;
pub mod reread;
pub mod settings;
pub mod wiring;

#[cfg(test)]
mod tests;
