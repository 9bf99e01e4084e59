//! The people index: who was stored when, so the operator's console can keep its people
//! search current by reading only what changed (no table scan).
//!
//! Every member's canonical item (`MEMBER#<id>` / `RECORD`) is also filed on `gsi1` under
//! `gsi1pk = PEOPLE#<shard 0..15>` (by member id), `gsi1sk = <stored at, RFC 3339 ms UTC>#<id>`,
//! written in the same `PutItem` as the record. A rewrite moves the entry to its new time, so
//! "every member stored at or after T" is one `Query` per shard with `gsi1sk >= T`. The time is
//! the writer's wall clock (only an order for this index, never a rule's instant); the index
//! follows writes eventually, so readers read again with an overlap ([`DynamoStore::members_stored_since`]).
//! Erasure deletes the canonical item and with it the entry.

use super::{DynamoStore, GSI1, Item, get_n, get_s, key_of, s, sdk_error};
use access_sync_ports::{StoreError, Version};
use access_sync_rules::facts::{MemberRecord, Record};
use access_sync_rules::{Instant, MemberId};
use chrono::SecondsFormat;

/// Shards of the people index.
pub const PEOPLE_SHARDS: u16 = 16;

fn people_pk(shard: u16) -> String {
    format!("PEOPLE#{shard}")
}

/// The shard of a member (FNV-1a of the id; any stable spread will do).
fn people_shard(id: &MemberId) -> u16 {
    let mut h: u32 = 0x811c_9dc5;
    for b in id.as_str().bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    u16::try_from(h % u32::from(PEOPLE_SHARDS)).unwrap_or(0)
}

fn stamp(at: Instant) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Files a member's canonical item in the people index as stored `at`.
pub(super) fn index_member(item: &mut Item, id: &MemberId, at: Instant) {
    item.insert("gsi1pk".into(), s(people_pk(people_shard(id))));
    item.insert("gsi1sk".into(), s(format!("{}#{id}", stamp(at))));
}

/// A member record as the people index holds it.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredMember {
    /// When it was stored (the writer's clock).
    pub stored: Instant,
    /// Its version (a later read may return an older one: keep the higher).
    pub version: Version,
    /// The record.
    pub record: MemberRecord,
}

impl DynamoStore {
    /// The member records stored at or after `since` (every member when `None`), at most
    /// `limit` (with whether the limit cut the read short), from the people index: one paged
    /// `Query` per shard. The index is eventually consistent: a reader keeping a copy should
    /// ask again from a little before the latest `stored` it saw.
    ///
    /// # Errors
    /// `Unavailable`; `Corrupt` when an entry cannot be read.
    pub async fn members_stored_since(
        &self,
        since: Option<Instant>,
        limit: usize,
    ) -> Result<(Vec<StoredMember>, bool), StoreError> {
        let mut out = Vec::new();
        for shard in 0..PEOPLE_SHARDS {
            let mut start = None;
            loop {
                if out.len() >= limit {
                    return Ok((out, true));
                }
                let mut q = self
                    .client
                    .query()
                    .table_name(&self.table)
                    .index_name(GSI1)
                    .expression_attribute_values(":p", s(people_pk(shard)))
                    .projection_expression("pk, sk, gsi1sk, doc, version")
                    .set_exclusive_start_key(start);
                q = match since {
                    None => q.key_condition_expression("gsi1pk = :p"),
                    Some(t) => q
                        .key_condition_expression("gsi1pk = :p AND gsi1sk >= :t")
                        .expression_attribute_values(":t", s(stamp(t))),
                };
                let page = q.send().await.map_err(sdk_error)?;
                for item in page.items() {
                    out.push(parse(item)?);
                }
                match page.last_evaluated_key {
                    Some(k) if !k.is_empty() => start = Some(k),
                    _ => break,
                }
            }
        }
        let cut = out.len() > limit;
        out.truncate(limit);
        Ok((out, cut))
    }
}

fn parse(item: &Item) -> Result<StoredMember, StoreError> {
    let corrupt = |reason: String| StoreError::Corrupt {
        key: key_of(item),
        reason,
    };
    let stored = get_s(item, "gsi1sk")
        .and_then(|k| k.split_once('#'))
        .and_then(|(t, _)| chrono::DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&chrono::Utc))
        .ok_or_else(|| corrupt("people index: no time".into()))?;
    let record: Record = serde_json::from_str(get_s(item, "doc").unwrap_or(""))
        .map_err(|e| corrupt(format!("doc: {e}")))?;
    let Record::Member(record) = record else {
        return Err(corrupt("people index: not a member".into()));
    };
    Ok(StoredMember {
        stored,
        version: get_n(item, "version").ok_or_else(|| corrupt("no version".into()))?,
        record,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_sort_by_time_and_spread_over_the_shards() {
        let t = |x: &str| access_sync_rules::time::parse_instant(x).unwrap();
        let mut item = Item::new();
        index_member(&mut item, &MemberId::from("m1"), t("2026-12-07T09:00:00Z"));
        assert_eq!(get_s(&item, "gsi1sk"), Some("2026-12-07T09:00:00.000Z#m1"));
        assert!(stamp(t("2026-12-07T09:00:00.5Z")) > stamp(t("2026-12-07T09:00:00Z")));
        assert!(stamp(t("2026-12-07T10:00:00Z")) > stamp(t("2026-12-07T09:59:59.999Z")));
        let shards: std::collections::BTreeSet<u16> = (0..200)
            .map(|i| people_shard(&MemberId::from(format!("m{i}").as_str())))
            .collect();
        assert_eq!(shards.len(), usize::from(PEOPLE_SHARDS));
    }
}
