//! [`Idempotency`] on DynamoDB, the Powertools way (see the port's docs).
//!
//! Record: `pk = IDEM#<function>#<sha256>`, `sk = IDEM`, `status` (`INPROGRESS` |
//! `COMPLETED`), `expiration` (epoch seconds), `in_progress_expiration` (epoch ms, the lock's
//! deadline), `outcome` (JSON), `ttl` (= `expiration`, clean-up only).
//!
//! The lock is one conditional `PutItem`:
//! `attribute_not_exists(pk) OR expiration < :now OR (status = INPROGRESS AND
//! in_progress_expiration <= :now_ms)` (a lock lapses at its deadline), with
//! `ReturnValuesOnConditionCheckFailure = ALL_OLD` so a refusal tells us at once whether to hand
//! back a saved outcome or report a live lock, and `ReturnValues = ALL_OLD` so a success tells
//! whether it took over an earlier attempt's lapsed lock ([`Lock::taken_over`]).

use super::{DynamoStore, Item, get_n, get_s, key, n, s};
use access_sync_ports::{Begin, Idempotency, IdempotencyError, IdempotencyKey, Lock};
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{ReturnValue, ReturnValuesOnConditionCheckFailure};
use chrono::{DateTime, Utc};

const IN_PROGRESS: &str = "INPROGRESS";
const COMPLETED: &str = "COMPLETED";

fn idem_pk(key: &IdempotencyKey) -> String {
    format!("IDEM#{key}")
}

impl DynamoStore {
    /// What a refused lock means, from the record the condition saw.
    fn refused(
        key: &IdempotencyKey,
        old: &Item,
        now: DateTime<Utc>,
    ) -> Result<Begin, IdempotencyError> {
        let corrupt = |reason: &str| IdempotencyError::Corrupt {
            key: key.clone(),
            reason: reason.to_string(),
        };
        match get_s(old, "status") {
            Some(COMPLETED) => {
                let doc = get_s(old, "outcome").unwrap_or("null");
                serde_json::from_str(doc)
                    .map(Begin::Completed)
                    .map_err(|e| corrupt(&e.to_string()))
            }
            Some(IN_PROGRESS) => {
                let until = get_n::<i64>(old, "in_progress_expiration")
                    .and_then(DateTime::<Utc>::from_timestamp_millis)
                    .unwrap_or(now);
                Err(IdempotencyError::InProgress {
                    key: key.clone(),
                    until,
                })
            }
            _ => Err(corrupt("unknown status")),
        }
    }
}

impl Idempotency for DynamoStore {
    async fn begin(
        &self,
        key_: &IdempotencyKey,
        now: DateTime<Utc>,
        lock_until: DateTime<Utc>,
    ) -> Result<Begin, IdempotencyError> {
        let expiration = (now + self.idempotency_expires_after).timestamp();
        let mut item = key(idem_pk(key_), "IDEM");
        item.insert("status".into(), s(IN_PROGRESS));
        item.insert("expiration".into(), n(expiration));
        item.insert(
            "in_progress_expiration".into(),
            n(lock_until.timestamp_millis()),
        );
        item.insert("ttl".into(), n(expiration));
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(
                "attribute_not_exists(pk) OR #exp < :now OR \
                 (#status = :inprogress AND attribute_exists(#ipe) AND #ipe <= :now_ms)",
            )
            .expression_attribute_names("#exp", "expiration")
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#ipe", "in_progress_expiration")
            .expression_attribute_values(":now", n(now.timestamp()))
            .expression_attribute_values(":now_ms", n(now.timestamp_millis()))
            .expression_attribute_values(":inprogress", s(IN_PROGRESS))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            // The record replaced, if any: a lapsed lock means an attempt died part-way.
            .return_values(ReturnValue::AllOld)
            .send()
            .await;
        match result {
            Ok(out) => Ok(Begin::Proceed(Lock {
                key: key_.clone(),
                // The stored deadline has millisecond precision; the lock must match it.
                until: DateTime::from_timestamp_millis(lock_until.timestamp_millis())
                    .unwrap_or(lock_until),
                taken_over: out
                    .attributes()
                    .is_some_and(|old| get_s(old, "status") == Some(IN_PROGRESS)),
            })),
            Err(err) => match err.into_service_error() {
                PutItemError::ConditionalCheckFailedException(e) => match e.item() {
                    Some(old) => Self::refused(key_, old, now),
                    // Without ALL_OLD we cannot tell; a retry will see the record.
                    None => Err(IdempotencyError::Unavailable(
                        "lock refused without the existing record".into(),
                    )),
                },
                other => Err(IdempotencyError::Unavailable(other.to_string())),
            },
        }
    }

    async fn complete(
        &self,
        lock: &Lock,
        outcome: &serde_json::Value,
        now: DateTime<Utc>,
    ) -> Result<(), IdempotencyError> {
        let expiration = (now + self.idempotency_expires_after).timestamp();
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(idem_pk(&lock.key), "IDEM")))
            .update_expression(
                "SET #status = :completed, #outcome = :outcome, #exp = :exp, #ttl = :exp \
                 REMOVE #ipe",
            )
            .condition_expression("#status = :inprogress AND #ipe = :until")
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#outcome", "outcome")
            .expression_attribute_names("#exp", "expiration")
            .expression_attribute_names("#ttl", "ttl")
            .expression_attribute_names("#ipe", "in_progress_expiration")
            .expression_attribute_values(":completed", s(COMPLETED))
            .expression_attribute_values(":inprogress", s(IN_PROGRESS))
            .expression_attribute_values(":outcome", s(outcome.to_string()))
            .expression_attribute_values(":exp", n(expiration))
            .expression_attribute_values(":until", n(lock.until.timestamp_millis()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(err) => match err.into_service_error() {
                UpdateItemError::ConditionalCheckFailedException(_) => {
                    Err(IdempotencyError::LockLost(lock.key.clone()))
                }
                other => Err(IdempotencyError::Unavailable(other.to_string())),
            },
        }
    }

    async fn release(&self, lock: &Lock) -> Result<(), IdempotencyError> {
        // Lapsed at once rather than deleted: the retry runs now and its lock says it takes
        // over (this attempt may have saved part of its work).
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(idem_pk(&lock.key), "IDEM")))
            .update_expression("SET #ipe = :lapsed")
            .condition_expression("#status = :inprogress AND #ipe = :until")
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#ipe", "in_progress_expiration")
            .expression_attribute_values(":inprogress", s(IN_PROGRESS))
            .expression_attribute_values(":until", n(lock.until.timestamp_millis()))
            .expression_attribute_values(":lapsed", n(0))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(err) => match err.into_service_error() {
                // Not our lock any more: nothing of ours to end.
                UpdateItemError::ConditionalCheckFailedException(_) => Ok(()),
                other => Err(IdempotencyError::Unavailable(other.to_string())),
            },
        }
    }
}
