//! [`AuditLog`] on DynamoDB: entries under `AUDIT#<email>`, sorted by instant; each also in
//! the day's activity feed on `gsi1` (`gsi1pk = AUDITDAY#<yyyy-mm-dd>`, `gsi1sk` = its sort
//! key), which [`AuditLog::recent`] reads day by day, newest first, without a scan. One feed
//! partition per day takes every audit write of that day: a few per Kisi write, far below a
//! partition's limit (Kisi itself allows 5 writes a second).
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

fn feed_pk(day: chrono::NaiveDate) -> String {
    format!("AUDITDAY#{}", day.format("%Y-%m-%d"))
}

fn feed_bound(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
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
    let mut item = key(
        audit_pk(entry.pair.as_ref().map(|p| p.email.as_str())),
        sk.clone(),
    );
    item.insert("gsi1pk".into(), s(feed_pk(entry.at.date_naive())));
    item.insert("gsi1sk".into(), s(sk));
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

    async fn recent(
        &self,
        since: chrono::DateTime<chrono::Utc>,
        until: chrono::DateTime<chrono::Utc>,
        limit: u32,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let mut out = Vec::new();
        if since >= until || limit == 0 {
            return Ok(out);
        }
        // Sort keys start with the instant in milliseconds, then `#`: `since` as a bound
        // includes entries at `since`, `until` excludes those at `until`.
        let (lo, hi) = (feed_bound(since), feed_bound(until));
        let mut day = until.date_naive();
        while day >= since.date_naive() && out.len() < limit as usize {
            let mut start: Option<Item> = None;
            loop {
                let page = self
                    .client
                    .query()
                    .table_name(&self.table)
                    .index_name(super::GSI1)
                    .key_condition_expression("gsi1pk = :pk AND gsi1sk BETWEEN :lo AND :hi")
                    .expression_attribute_values(":pk", s(feed_pk(day)))
                    .expression_attribute_values(":lo", s(lo.clone()))
                    .expression_attribute_values(":hi", s(hi.clone()))
                    .scan_index_forward(false)
                    .limit(i32::try_from(limit as usize - out.len()).unwrap_or(i32::MAX))
                    .set_exclusive_start_key(start.take())
                    .send()
                    .await
                    .map_err(sdk_error)?;
                for item in page.items() {
                    let doc = get_s(item, "doc").unwrap_or("");
                    out.push(serde_json::from_str(doc).map_err(|e| StoreError::Corrupt {
                        key: key_of(item),
                        reason: e.to_string(),
                    })?);
                }
                match page.last_evaluated_key {
                    Some(k) if out.len() < limit as usize => start = Some(k),
                    _ => break,
                }
            }
            let Some(prev) = day.pred_opt() else { break };
            day = prev;
        }
        Ok(out)
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
