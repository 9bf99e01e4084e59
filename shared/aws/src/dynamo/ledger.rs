//! [`DeliveryLedger`] on DynamoDB (see the port's docs).
//!
//! Record: `pk = REPLAY#<sha256 hex>`, `sk = REPLAY`, `state` (`pending` | `done`), `until`
//! (epoch seconds: when a pending claim lapses), `ttl` (epoch seconds, clean-up only).
//!
//! Written only with `PutItem` (ingest's role may put `REPLAY#*` items and write nothing
//! else):
//! - claim: `PutItem {state: pending, until}` on condition
//!   `attribute_not_exists(pk) OR (state = pending AND until <= :now)`, with
//!   `ReturnValuesOnConditionCheckFailure = ALL_OLD` so a refusal says at once whether the
//!   delivery is done or in flight;
//! - done: unconditional `PutItem {state: done, ttl: keep_until}`.

use super::{DynamoStore, get_n, get_s, key, n, s};
use access_sync_ports::{Claim, DeliveryLedger, LedgerError};
use aws_sdk_dynamodb::error::DisplayErrorContext;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::ReturnValuesOnConditionCheckFailure;
use chrono::{DateTime, Duration, Utc};

const SK: &str = "REPLAY";
const PENDING: &str = "pending";
const DONE: &str = "done";

/// The partition key of a ledger record.
pub fn replay_pk(key: &str) -> String {
    format!("REPLAY#{key}")
}

impl DeliveryLedger for DynamoStore {
    async fn claim(
        &self,
        key_: &str,
        now: DateTime<Utc>,
        hold_until: DateTime<Utc>,
    ) -> Result<Claim, LedgerError> {
        let mut item = key(replay_pk(key_), SK);
        item.insert("state".into(), s(PENDING));
        item.insert("until".into(), n(hold_until.timestamp()));
        item.insert(
            "ttl".into(),
            n((hold_until + Duration::days(1)).timestamp()),
        );
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(
                "attribute_not_exists(pk) OR (#state = :pending AND #until <= :now)",
            )
            .expression_attribute_names("#state", "state")
            .expression_attribute_names("#until", "until")
            .expression_attribute_values(":pending", s(PENDING))
            .expression_attribute_values(":now", n(now.timestamp()))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(_) => Ok(Claim::Fresh),
            Err(err) => match err.into_service_error() {
                PutItemError::ConditionalCheckFailedException(e) => {
                    let Some(old) = e.item() else {
                        return Err(LedgerError(
                            "claim refused without the existing record".into(),
                        ));
                    };
                    match get_s(old, "state") {
                        Some(DONE) => Ok(Claim::Done),
                        _ => Ok(Claim::InFlight {
                            until: get_n::<i64>(old, "until")
                                .and_then(|t| DateTime::from_timestamp(t, 0))
                                .unwrap_or(hold_until),
                        }),
                    }
                }
                other => Err(LedgerError(DisplayErrorContext(&other).to_string())),
            },
        }
    }

    async fn done(&self, key_: &str, keep_until: DateTime<Utc>) -> Result<(), LedgerError> {
        let mut item = key(replay_pk(key_), SK);
        item.insert("state".into(), s(DONE));
        item.insert("ttl".into(), n(keep_until.timestamp()));
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| LedgerError(DisplayErrorContext(&e).to_string()))
    }
}
