//! The ports of access-sync: role-named traits the handlers are written against, and
//! in-memory implementations of them for handler unit tests.
//!
//! Adapters live elsewhere (`access-sync-aws` for DynamoDB, Scheduler, Secrets Manager and
//! EventBridge); this crate has no AWS dependency so the rules and handlers can be tested
//! without a network.
//!
//! # Why native `async fn` in traits (no `async-trait`, no `dyn`)
//! Handlers are generic over their ports (`fn handle<S: FactStore + Idempotency>(..)`), wired
//! once in `main.rs`. Generics cost nothing at run time and need no boxing, so the traits use
//! Rust's native async functions. Each method is declared as
//! `fn m(..) -> impl Future<Output = ..> + Send` so the returned futures are `Send` (a handler
//! can be spawned on the multi-threaded tokio runtime); implementations simply write
//! `async fn m(..)`. Nothing here is object-safe on purpose: if a `dyn` port is ever needed,
//! wrap it in an enum rather than boxing every call.
//!
//! # Errors
//! Every port returns its own `thiserror` enum. They all share one idea: `Unavailable` is a
//! retryable infrastructure failure (throttling, timeouts, 5xx), everything else is a
//! decision the caller must make (`VersionMismatch`: re-read and retry the read-modify-write;
//! `NotFound`; `Corrupt`: stored data we cannot read, not retryable). Each error has an
//! `is_retryable()` so handlers can type Lambda diagnostics as Retryable / NonRetryable.

pub mod audit;
pub mod events;
pub mod facts;
pub mod idempotency;
pub mod memory;
pub mod ownership;
pub mod pair;
pub mod scheduler;
pub mod secrets;
pub mod store;

pub use audit::{AuditAction, AuditEntry, AuditLog};
pub use events::{EventPublisher, OutboundEvent, PublishError, UndeliveredEvent};
pub use facts::{FactStore, Loaded, entitlement_key, holder_key, member_key, record_key, team_key};
pub use idempotency::{Begin, Idempotency, IdempotencyError, IdempotencyKey, Lock};
pub use ownership::{
    OWNERSHIP_SHARDS, OwnerView, Ownership, OwnershipChange, OwnershipPage, OwnershipStore,
};
pub use pair::{Email, GroupId, Pair, pair_key, parse_pair_key};
pub use scheduler::{CancelOutcome, Edge, EdgeScheduler, ScheduleError, ScheduleOutcome};
pub use secrets::{SecretError, SecretSource, SecretValue};
pub use store::{StoreError, Version, Versioned};
