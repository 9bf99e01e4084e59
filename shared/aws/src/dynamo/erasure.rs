//! [`PersonalData`] on DynamoDB: what `access-sync erase EMAIL` removes from the table.
//!
//! - `MEMBER#<id>` / `RECORD` of every member with the address;
//! - the member record carried in `related` (and the address in `views`) of their teams
//!   (`MEMBEROF#<id>`) and of the entitlements held by them or by those teams
//!   (`HOLDER#member:<id>`, `HOLDER#team:<id>`), rewritten with a condition on `version`;
//! - the whole `EMAIL#<e>` partition (the copies filed under the address);
//! - `OWN#<e>` / `USER` (the remembered Kisi user id). Ownership items (`OWN#<e>` /
//!   `GROUP#…`) are kept: they are how a live Kisi assignment is revoked later.
//!
//! The index items (`MEMBEROF#`, `HOLDER#`) hold ids only and stay. Entitlements naming the
//! address as a guest keep it (they are their holder's records).

use super::{DynamoStore, Item, get_n, get_s, key, n, s, sdk_error};
use access_sync_ports::{Erased, PersonalData, StoreError, holder_key, member_key};
use access_sync_rules::facts::Record;
use access_sync_rules::{Email, Holder, MemberId, TeamId};
use aws_sdk_dynamodb::types::{AttributeValue, DeleteRequest, ReturnValue, WriteRequest};
use std::collections::BTreeSet;

const RECORD: &str = "RECORD";

impl DynamoStore {
    /// Deletes items by key, 25 per `BatchWriteItem`, resending what comes back unprocessed.
    pub(crate) async fn delete_all(&self, keys: &[Item]) -> Result<(), StoreError> {
        for chunk in keys.chunks(25) {
            let mut requests = chunk
                .iter()
                .map(|k| {
                    DeleteRequest::builder()
                        .set_key(Some(k.clone()))
                        .build()
                        .map(|d| WriteRequest::builder().delete_request(d).build())
                        .map_err(|e| StoreError::Invalid(e.to_string()))
                })
                .collect::<Result<Vec<_>, _>>()?;
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
                    "{} deletions unprocessed after retries",
                    requests.len()
                )));
            }
        }
        Ok(())
    }

    /// The sort keys of one partition.
    async fn sort_keys(&self, pk: &str) -> Result<Vec<String>, StoreError> {
        Ok(self
            .partition(pk)
            .await?
            .iter()
            .filter_map(|i| get_s(i, "sk").map(str::to_string))
            .collect())
    }

    /// Rewrites one team or entitlement record without the member records of `members` in
    /// `related` and without `email` in `views`. Answers whether it changed anything.
    async fn strip_member(
        &self,
        record_key: &str,
        members: &BTreeSet<&MemberId>,
        email: &str,
    ) -> Result<bool, StoreError> {
        for _ in 0..5 {
            let out = self
                .client
                .get_item()
                .table_name(&self.table)
                .set_key(Some(key(record_key, RECORD)))
                .consistent_read(true)
                .send()
                .await
                .map_err(sdk_error)?;
            let Some(item) = out.item else {
                return Ok(false);
            };
            let version: u64 = get_n(&item, "version").unwrap_or(0);
            let related: Vec<Record> = match get_s(&item, "related") {
                None => Vec::new(),
                Some(doc) => serde_json::from_str(doc).map_err(|e| StoreError::Corrupt {
                    key: format!("{record_key}/{RECORD}"),
                    reason: format!("related: {e}"),
                })?,
            };
            let views: Vec<AttributeValue> = item
                .get("views")
                .and_then(|v| v.as_l().ok())
                .cloned()
                .unwrap_or_default();
            let kept: Vec<Record> = related
                .iter()
                .filter(|r| !matches!(r, Record::Member(m) if members.contains(&m.id)))
                .cloned()
                .collect();
            let kept_views: Vec<AttributeValue> = views
                .iter()
                .filter(|v| v.as_s().map(String::as_str) != Ok(email))
                .cloned()
                .collect();
            if kept.len() == related.len() && kept_views.len() == views.len() {
                return Ok(false);
            }
            let mut update = self
                .client
                .update_item()
                .table_name(&self.table)
                .set_key(Some(key(record_key, RECORD)))
                .condition_expression("version = :old")
                .expression_attribute_values(":old", n(version))
                .expression_attribute_values(":new", n(version + 1))
                .expression_attribute_values(":views", AttributeValue::L(kept_views));
            update = if kept.is_empty() {
                update.update_expression("SET version = :new, #views = :views REMOVE #related")
            } else {
                let doc =
                    serde_json::to_string(&kept).map_err(|e| StoreError::Invalid(e.to_string()))?;
                update
                    .update_expression("SET version = :new, #views = :views, #related = :related")
                    .expression_attribute_values(":related", s(doc))
            };
            let result = update
                .expression_attribute_names("#views", "views")
                .expression_attribute_names("#related", "related")
                .send()
                .await;
            match result {
                Ok(_) => return Ok(true),
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|s| s.is_conditional_check_failed_exception()) =>
                {
                    continue;
                }
                Err(e) => return Err(sdk_error(e)),
            }
        }
        Err(StoreError::VersionMismatch {
            key: format!("{record_key}/{RECORD}"),
        })
    }
}

impl PersonalData for DynamoStore {
    async fn erase_facts(&self, email: &Email, members: &[MemberId]) -> Result<Erased, StoreError> {
        let mut out = Erased::default();
        let ids: BTreeSet<&MemberId> = members.iter().collect();
        // 1. The records that carry a copy of these members: their teams, and what the members
        //    and those teams hold.
        let mut carriers: BTreeSet<String> = BTreeSet::new();
        for m in members {
            let held = format!("HOLDER#{}", holder_key(&Holder::Member(m.clone())));
            carriers.extend(self.sort_keys(&held).await?);
            for team in self.sort_keys(&format!("MEMBEROF#{m}")).await? {
                if let Some(t) = team.strip_prefix("TEAM#") {
                    let held = format!("HOLDER#{}", holder_key(&Holder::Team(TeamId::from(t))));
                    carriers.extend(self.sort_keys(&held).await?);
                }
                carriers.insert(team);
            }
        }
        for k in &carriers {
            if self.strip_member(k, &ids, email.as_str()).await? {
                out.rewritten += 1;
            }
        }
        // 2. The member records.
        for m in members {
            let deleted = self
                .client
                .delete_item()
                .table_name(&self.table)
                .set_key(Some(key(member_key(m), RECORD)))
                .return_values(ReturnValue::AllOld)
                .send()
                .await
                .map_err(sdk_error)?;
            if deleted.attributes.is_some_and(|a| !a.is_empty()) {
                out.member_records += 1;
            }
        }
        // 3. The person's own partitions: every copy, and the remembered Kisi user.
        let email_pk = format!("EMAIL#{}", email.as_str());
        let mut keys: Vec<Item> = self
            .sort_keys(&email_pk)
            .await?
            .into_iter()
            .map(|sk| key(email_pk.as_str(), sk))
            .collect();
        let own_pk = format!("OWN#{}", email.as_str());
        keys.extend(
            self.sort_keys(&own_pk)
                .await?
                .into_iter()
                .filter(|sk| sk == "USER")
                .map(|sk| key(own_pk.as_str(), sk)),
        );
        self.delete_all(&keys).await?;
        out.items = keys.len();
        Ok(out)
    }
}
