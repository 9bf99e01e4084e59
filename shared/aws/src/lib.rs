//! AWS adapters of access-sync's ports:
//!
//! - [`dynamo::DynamoStore`]: facts, Kisi ownership, idempotency records and the audit log
//!   in one DynamoDB table (single-table design, documented in [`dynamo`]);
//! - [`scheduler::SchedulerEdges`]: one-off EventBridge Scheduler schedules for access edges;
//! - [`secrets::SecretsManagerSource`]: Secrets Manager, cached in process;
//! - [`events::EventBridgePublisher`]: EventBridge `PutEvents` with per-entry retries;
//! - [`config`]: settings from the environment and SDK configuration (which honours
//!   `AWS_ENDPOINT_URL`, how local runs and tests point everything at moto).
//!
//! Adapters translate SDK errors into the ports' own error types; nothing outside this crate
//! sees an SDK type. With the `testing` feature, [`testing`] starts a private moto server.

#![warn(missing_docs)]

pub mod api_tokens;
pub mod config;
pub mod dynamo;
pub mod events;
pub mod scheduler;
pub mod secrets;
#[cfg(feature = "testing")]
pub mod testing;

pub use api_tokens::SecretsManagerApiTokens;
pub use aws_config::SdkConfig;
pub use config::{Adapters, Config, ConfigError, load_sdk_config};
pub use dynamo::{DynamoStore, create_table};
pub use events::{EventBridgePublisher, PutEventsApi};
pub use scheduler::{SchedulerEdges, SchedulerSettings};
pub use secrets::SecretsManagerSource;
