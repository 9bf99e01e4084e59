//! [`AuditLog`] on DynamoDB: entries under `AUDIT#<email>`, sorted by instant.
//!
//! The sort key ends with a hash of the whole entry, so writing the same entry again (a
//! retried handler) overwrites it instead of adding a second line.

use super::{DynamoStore, Item, get_s, key, key_of, n, s, sdk_error};
use access_sync_ports::{AuditEntry, AuditLog, StoreError};
use aws_sdk_dynamodb::types::{PutRequest, WriteRequest};
use chrono::Duration;
use sha2::{Digest, Sha256};

fn audit_pk(email: Option<&str>) -> String {
    format!("AUDIT#{}", email.unwrap_or("*"))
}

pub(crate) fn audit_item(entry: &AuditEntry, retention: Duration) -> Item {
    // Serialising our own plain struct cannot fail; an empty doc would still be a valid item.
    let doc = serde_json::to_string(entry).unwrap_or_default();
    let hash = hex::encode(Sha256::digest(doc.as_bytes()));
    let sk = format!(
        "{}#{}",
        entry
            .at
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        &hash[..16]
    );
    let mut item = key(audit_pk(entry.pair.as_ref().map(|p| p.email.as_str())), sk);
    item.insert("doc".into(), s(doc));
    item.insert("ttl".into(), n((entry.at + retention).timestamp()));
    item
}

impl AuditLog for DynamoStore {
    async fn record(&self, entries: &[AuditEntry]) -> Result<(), StoreError> {
        let mut unique: Vec<Item> = Vec::new();
        for e in entries {
            let item = audit_item(e, self.audit_retention);
            if !unique.iter().any(|u| key_of(u) == key_of(&item)) {
                unique.push(item);
            }
        }
        for chunk in unique.chunks(25) {
            let mut requests = chunk
                .iter()
                .map(|item| {
                    PutRequest::builder()
                        .set_item(Some(item.clone()))
                        .build()
                        .map(|p| WriteRequest::builder().put_request(p).build())
                        .map_err(|e| StoreError::Invalid(e.to_string()))
                })
                .collect::<Result<Vec<_>, _>>()?;
            // BatchWriteItem may leave items unprocessed under load: resend those, a few
            // times, with a growing pause.
            for attempt in 0..5u32 {
                let out = self
                    .client
                    .batch_write_item()
                    .request_items(&self.table, requests)
                    .send()
                    .await
                    .map_err(sdk_error)?;
                requests = out
                    .unprocessed_items
                    .and_then(|mut m| m.remove(&self.table))
                    .unwrap_or_default();
                if requests.is_empty() {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(50 << attempt)).await;
            }
            if !requests.is_empty() {
                return Err(StoreError::Unavailable(format!(
                    "{} audit entries unprocessed after retries",
                    requests.len()
                )));
            }
        }
        Ok(())
    }

    async fn history(&self, email: &str, limit: u32) -> Result<Vec<AuditEntry>, StoreError> {
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", s(audit_pk(Some(email))))
            .scan_index_forward(false)
            .limit(i32::try_from(limit.max(1)).unwrap_or(i32::MAX))
            .send()
            .await
            .map_err(sdk_error)?;
        out.items()
            .iter()
            .map(|item| {
                let doc = get_s(item, "doc").unwrap_or("");
                serde_json::from_str(doc).map_err(|e| StoreError::Corrupt {
                    key: key_of(item),
                    reason: e.to_string(),
                })
            })
            .collect()
    }

    async fn erase(&self, email: &str) -> Result<usize, StoreError> {
        let keys: Vec<Item> = self
            .partition(&audit_pk(Some(email)))
            .await?
            .iter()
            .map(|item| key(audit_pk(Some(email)), get_s(item, "sk").unwrap_or_default()))
            .collect();
        self.delete_all(&keys).await?;
        Ok(keys.len())
    }
}
