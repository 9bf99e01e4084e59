//! The ports of access-sync: role-named traits the engine and the handlers are written
//! against, and (feature `testing`) in-memory implementations of them for unit tests.
//!
//! | port | what for | adapter |
//! |---|---|---|
//! | [`AccessControl`] | the door-access system (Kisi) | `access_sync_kisi::KisiAccess` |
//! | [`FactStore`], [`OwnershipStore`], [`AuditLog`], [`Idempotency`] | what the engine records | `access_sync_aws::DynamoStore` |
//! | [`EdgeScheduler`] | waking the engine at access edges | `access_sync_aws::SchedulerEdges` |
//! | [`EventPublisher`] | events between the functions | `access_sync_aws::EventBridgePublisher` |
//! | [`SecretSource`] | secrets (Kisi key, webhook secrets) | `access_sync_aws::SecretsManagerSource` |
//! | [`Directory`] | what platform normalisers ask about members and teams | [`FactsDirectory`] over a [`FactStore`] |
//! | [`WebhookSecrets`] | each platform's webhook secret | [`StoredWebhookSecrets`] over a [`SecretSource`] |
//! | [`RunLog`] | the last run of reconcile and each sync, for `access-sync status` | `access_sync_aws::DynamoStore` |
//! | [`SyncStateStore`] | `platform_sync`'s cursor, buffered listing and held endings | `access_sync_aws::DynamoStore` |
//! | [`PlatformSource`] | a platform's API, the source of truth (import, re-sync, re-read) | one HTTP client per platform |
//!
//! Adapters live beside their technology (`access-sync-aws`, `access-sync-kisi`); the two that
//! only answer one port through another live here. This crate has no AWS or HTTP dependency,
//! so the engine and the handlers can be tested without a network.
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

#![warn(missing_docs)]

pub mod access_control;
pub mod audit;
pub mod claims;
pub mod directory;
pub mod erasure;
pub mod events;
pub mod facts;
pub mod idempotency;
pub mod ledger;
#[cfg(any(test, feature = "testing"))]
pub mod memory;
pub mod ownership;
pub mod pair;
pub mod platform_source;
pub mod runs;
pub mod safety;
pub mod scheduler;
pub mod secrets;
pub mod store;
pub mod sync_state;
pub mod webhook_secrets;

pub use access_control::{AccessControl, AccessError, Assignment, Granted};
pub use audit::{AuditAction, AuditEntry, AuditLog};
pub use claims::{Exclusion, ExclusionList, GrantIntent, HeldByHand};
pub use directory::{Directory, DirectoryError, FactsDirectory};
pub use erasure::{Erased, PersonalData};
pub use events::{EventPublisher, OutboundEvent, PublishError, UndeliveredEvent};
pub use facts::{FactStore, Loaded, entitlement_key, holder_key, member_key, record_key, team_key};
pub use idempotency::{Begin, Idempotency, IdempotencyError, IdempotencyKey, Lock};
pub use ledger::{Claim, DeliveryLedger, LedgerError};
pub use ownership::{
    OWNERSHIP_SHARDS, OwnerView, Ownership, OwnershipChange, OwnershipPage, OwnershipStore,
};
pub use pair::{Email, GroupId, Pair, pair_key, parse_pair_key};
pub use platform_source::{
    ApiSettings, ApiTokens, DETAIL_REREAD, ListRequest, Page, PlatformSource, RereadRequest,
    SourceError, SourceRecord,
};
pub use runs::{RunLog, RunRecord};
pub use safety::{
    Budget, Dirty, Discarded, Hold, NoteChange, Notes, Reduction, SafetyPage, SafetyStore, Wanted,
};
pub use scheduler::{CancelOutcome, Edge, EdgeScheduler, ScheduleError, ScheduleOutcome};
pub use secrets::{SecretError, SecretSource, SecretValue};
pub use store::{StoreError, Version, Versioned};
pub use sync_state::{
    ChunkKind, FullProgress, HeldSync, MAX_CHUNK_BYTES, SyncProgress, SyncStateStore, split_chunks,
};
pub use webhook_secrets::{StoredWebhookSecrets, WebhookSecretError, WebhookSecrets};
