//! One DynamoDB table for everything access-sync remembers (single-table design).
//!
//! # Keys
//! Every item has string keys `pk` (partition) and `sk` (sort). One global secondary index,
//! `gsi1` (`gsi1pk`, `gsi1sk`, all attributes projected), serves the reconcile walk. The
//! attribute `ttl` (epoch seconds) is the table's TTL attribute: clean-up only, never relied
//! on for correctness (DynamoDB deletes expired items up to days late).
//!
//! | item | `pk` | `sk` | notes |
//! |---|---|---|---|
//! | ownership of a Kisi assignment | `OWN#<email>` | `GROUP#<group>` | `gsi1pk = OWNED#<shard 0..15>`, `gsi1sk = <email>#<group>`; `version` |
//! | remembered Kisi user | `OWN#<email>` | `USER` | `user_id` |
//! | intent (before a Kisi create) | `OWN#<email>` | `INTENT#<group>#<valid_until>` | `at`, `ttl` (90 days) |
//! | assignment held by hand | `OWN#<email>` | `HAND#<group>` | `assignment_id`, `user_id`, `since` |
//! | exclusion | `OWN#<email>` | `EXCLUDED` | `gsi1pk = EXCLUDED`, `gsi1sk = <since>#<email>`; `user_id` |
//! | idempotency record | `IDEM#<function>#<sha256 hex>` | `IDEM` | `status`, `expiration` (s), `in_progress_expiration` (ms), `outcome`, `ttl` |
//! | audit entry | `AUDIT#<email>` (`AUDIT#*` for system-wide) | `<at, RFC 3339 ms>#<16 hex of entry hash>` | `doc`, `ttl`; `gsi1pk = AUDITDAY#<yyyy-mm-dd>`, `gsi1sk` = `sk` (the activity feed) |
//! | member / team / entitlement (canonical) | `MEMBER#<id>` / `TEAM#<id>` / `ENT#<id>` | `RECORD` | `doc`, `version`, `views`, derived keys — see [`facts`] |
//! | … a member's, also | | | `gsi1pk = PEOPLE#<shard 0..15>`, `gsi1sk = <stored at, RFC 3339 ms>#<id>` (the people index the console's search reads) — see [`people`] |
//! | per-person copy of a fact | `EMAIL#<email>` | `MEMBER#<id>` / `TEAM#<id>` / `ENT#<id>` | `doc`, `version` (copy of the canonical) |
//! | entitlements by holder | `HOLDER#member:<id>` / `HOLDER#team:<id>` | `ENT#<id>` | index item |
//! | teams by member | `MEMBEROF#<member id>` | `TEAM#<id>` | index item |
//! | mapping document | `MAPPING` | `CURRENT` | `doc`, `version` |
//! | accepted signed delivery (replay ledger) | `REPLAY#<sha256 hex>` | `REPLAY` | `state` (`pending` \| `done`), `until` (s), `ttl` — see [`ledger`] |
//! | repair index / dirty mark / hold of a pair | `WANT#<email>` | `GROUP#<g>` / `DIRTY#<g>` / `HELD#<g>` | `gsi1pk = WANTED#<shard>` / `DIRTY#<shard>` / `HELD`, `gsi1sk = <email>#<group>` — see `safety` |
//! | the brake's budget | `BRAKE` | `BUDGET` | `doc`, `version` |
//! | last run of a periodic job | `RUN#<job>` | `LAST` | `doc` (JSON of `RunRecord`) — see `runs` |
//! | platform sync state, buffered listing, held endings | `SYNC#<platform>` | `STATE` / `BUF#<n>` / `HELD#<n>` | `doc` — see `sync_state` |
//!
//! # Access patterns (round trips)
//! - converge, one e-mail: `Query pk = EMAIL#<e>` (every fact it needs, 1) +
//!   `Query pk = OWN#<e>` (ownership of all groups, 1) + one `TransactWriteItems`
//!   (ownership changes and their audit entries, 1) = **3**, plus one `TransactWriteItems` of
//!   the intents before Kisi is called when the converge creates an assignment;
//! - booking event: idempotency `PutItem` (1) + `BatchGetItem` of the entitlement and its
//!   holder (1) + `TransactWriteItems` of the new version, its copies and index items (1) +
//!   idempotency `UpdateItem` (1) = **4**;
//! - reconcile: `Query gsi1 (gsi1pk = OWNED#<shard>)`, paged with a cursor, shard by shard;
//! - audit history of a person: `Query pk = AUDIT#<e>`, newest first;
//! - members stored since an instant (the console's people search): `Query gsi1 (gsi1pk =
//!   PEOPLE#<shard>, gsi1sk >= <instant>)`, shard by shard.
//!
//! # Concurrency
//! Every read-modify-write carries the `version` it read and writes with a condition on it;
//! items that must change together go in one `TransactWriteItems`. A failed condition
//! becomes `StoreError::VersionMismatch`.

mod audit;
mod erasure;
pub mod facts;
mod idempotency;
pub mod item_size;
pub mod ledger;
mod ownership;
pub mod people;
mod runs;
mod safety;
mod sync_state;

use access_sync_ports::StoreError;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, GlobalSecondaryIndex, KeySchemaElement,
    KeyType, Projection, ProjectionType, ScalarAttributeType, TimeToLiveSpecification,
};
use chrono::Duration;
use std::collections::HashMap;

/// The name of the reconcile index.
pub const GSI1: &str = "gsi1";

/// A DynamoDB item.
pub type Item = HashMap<String, AttributeValue>;

/// The DynamoDB adapter of the fact, ownership, idempotency and audit ports.
#[derive(Clone, Debug)]
pub struct DynamoStore {
    pub(crate) client: Client,
    pub(crate) table: String,
    pub(crate) idempotency_expires_after: Duration,
    pub(crate) audit_retention: Duration,
}

impl DynamoStore {
    /// A store on `table`; completed idempotency records answer for one hour (Powertools'
    /// default) and audit entries are kept 400 days.
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
            idempotency_expires_after: Duration::hours(1),
            audit_retention: Duration::days(400),
        }
    }

    /// Sets how long a completed idempotency record answers.
    pub fn with_idempotency_expiry(mut self, expires_after: Duration) -> Self {
        self.idempotency_expires_after = expires_after;
        self
    }

    /// Sets how long audit entries are kept before TTL clean-up.
    pub fn with_audit_retention(mut self, retention: Duration) -> Self {
        self.audit_retention = retention;
        self
    }

    /// The table name.
    pub fn table(&self) -> &str {
        &self.table
    }
}

/// Creates the table with its keys, the reconcile index and TTL, on-demand billing. Used by
/// tests and the local stack; production tables come from the CDK app with the same shape.
///
/// # Errors
/// `Invalid` when the request is malformed or the table exists; `Unavailable` otherwise.
pub async fn create_table(client: &Client, name: &str) -> Result<(), StoreError> {
    let key = |n: &str, t: KeyType| {
        KeySchemaElement::builder()
            .attribute_name(n)
            .key_type(t)
            .build()
            .map_err(|e| StoreError::Invalid(e.to_string()))
    };
    let attr = |n: &str| {
        AttributeDefinition::builder()
            .attribute_name(n)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .map_err(|e| StoreError::Invalid(e.to_string()))
    };
    let gsi = GlobalSecondaryIndex::builder()
        .index_name(GSI1)
        .key_schema(key("gsi1pk", KeyType::Hash)?)
        .key_schema(key("gsi1sk", KeyType::Range)?)
        .projection(
            Projection::builder()
                .projection_type(ProjectionType::All)
                .build(),
        )
        .build()
        .map_err(|e| StoreError::Invalid(e.to_string()))?;
    client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .key_schema(key("pk", KeyType::Hash)?)
        .key_schema(key("sk", KeyType::Range)?)
        .attribute_definitions(attr("pk")?)
        .attribute_definitions(attr("sk")?)
        .attribute_definitions(attr("gsi1pk")?)
        .attribute_definitions(attr("gsi1sk")?)
        .global_secondary_indexes(gsi)
        .send()
        .await
        .map_err(sdk_error)?;
    client
        .update_time_to_live()
        .table_name(name)
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .enabled(true)
                .attribute_name("ttl")
                .build()
                .map_err(|e| StoreError::Invalid(e.to_string()))?,
        )
        .send()
        .await
        .map_err(sdk_error)?;
    Ok(())
}

/// Maps an SDK error that is not a condition failure: validation problems are `Invalid`
/// (retrying cannot help), everything else (throttling, timeouts, 5xx) `Unavailable`.
pub(crate) fn sdk_error<E, R>(err: SdkError<E, R>) -> StoreError
where
    E: std::error::Error + ProvideErrorMetadata + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    let text = DisplayErrorContext(&err).to_string();
    match err.code() {
        Some("ValidationException" | "ResourceInUseException" | "ResourceNotFoundException") => {
            StoreError::Invalid(text)
        }
        _ => StoreError::Unavailable(text),
    }
}

pub(crate) fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

pub(crate) fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

pub(crate) fn get_s<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    item.get(name)
        .and_then(|v| v.as_s().ok())
        .map(String::as_str)
}

pub(crate) fn get_n<T: std::str::FromStr>(item: &Item, name: &str) -> Option<T> {
    item.get(name)
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse().ok())
}

/// The `pk#sk` of an item, to name it in errors.
pub(crate) fn key_of(item: &Item) -> String {
    format!(
        "{}/{}",
        get_s(item, "pk").unwrap_or("?"),
        get_s(item, "sk").unwrap_or("?")
    )
}

/// The primary key of an item.
impl DynamoStore {
    /// Every item of partition `pk`, all pages, strongly consistent: the one query loop the
    /// fact, index and ownership reads share.
    pub(crate) async fn partition(&self, pk: &str) -> Result<Vec<Item>, StoreError> {
        let mut out = Vec::new();
        let mut start = None;
        loop {
            let page = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk")
                .expression_attribute_values(":pk", s(pk))
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(sdk_error)?;
            out.extend(page.items.unwrap_or_default());
            match page.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => return Ok(out),
            }
        }
    }
}

pub(crate) fn key(pk: impl Into<String>, sk: impl Into<String>) -> Item {
    HashMap::from([("pk".to_string(), s(pk)), ("sk".to_string(), s(sk))])
}

/// Maps a failed `TransactWriteItems`: the first item whose condition failed (or that another
/// transaction was touching) becomes `VersionMismatch` naming it; `keys` names the items in
/// request order.
pub(crate) fn transact_error<R>(
    err: SdkError<aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError, R>,
    keys: &[String],
) -> StoreError
where
    R: std::fmt::Debug + Send + Sync + 'static,
{
    use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError as E;
    if let Some(E::TransactionCanceledException(e)) = err.as_service_error() {
        for (i, reason) in e.cancellation_reasons().iter().enumerate() {
            if matches!(
                reason.code(),
                Some("ConditionalCheckFailed" | "TransactionConflict")
            ) {
                return StoreError::VersionMismatch {
                    key: keys.get(i).cloned().unwrap_or_else(|| format!("item {i}")),
                };
            }
        }
    }
    sdk_error(err)
}
