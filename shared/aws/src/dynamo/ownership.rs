//! [`OwnershipStore`] on DynamoDB: one item per (e-mail, group) under `OWN#<email>`, and the
//! sharded `gsi1` entry (`OWNED#<shard>`, `<email>#<group>`) the reconcile walk pages over.

use super::{DynamoStore, GSI1, Item, get_n, get_s, key, key_of, n, s, sdk_error, transact_error};
use crate::dynamo::audit::audit_item;
use access_sync_ports::ownership::shard_of;
use access_sync_ports::{
    AuditEntry, Email, Exclusion, ExclusionList, GrantIntent, GroupId, HeldByHand,
    OWNERSHIP_SHARDS, OwnerView, Ownership, OwnershipChange, OwnershipPage, OwnershipStore, Pair,
    StoreError, Versioned, pair_key, parse_pair_key,
};
use aws_sdk_dynamodb::types::{Delete, Put, TransactWriteItem};
use chrono::{DateTime, Utc};

pub(crate) fn own_pk(email: &str) -> String {
    format!("OWN#{email}")
}

fn own_sk(group: u64) -> String {
    format!("GROUP#{group}")
}

fn shard_pk(shard: u16) -> String {
    format!("OWNED#{shard}")
}

fn ownership_item(o: &Ownership, version: u64) -> Item {
    let mut item = key(own_pk(o.pair.email.as_str()), own_sk(o.pair.group.get()));
    item.insert("gsi1pk".into(), s(shard_pk(shard_of(&o.pair))));
    item.insert("gsi1sk".into(), s(pair_key(&o.pair)));
    item.insert("email".into(), s(o.pair.email.as_str()));
    item.insert("group".into(), n(o.pair.group.get()));
    item.insert("assignment_id".into(), n(o.assignment_id));
    item.insert("user_id".into(), n(o.user_id));
    if let Some(until) = o.valid_until {
        item.insert(
            "valid_until".into(),
            s(until.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)),
        );
    }
    item.insert("version".into(), n(version));
    item
}

/// The sort key of the remembered Kisi user id in a person's ownership partition.
const USER_SK: &str = "USER";

/// The sort key of a person's exclusion; also listed under `gsi1pk = EXCLUDED`.
const EXCLUDED_SK: &str = "EXCLUDED";

/// How long an unsettled intent is kept before TTL clean-up (longer than any lease).
const INTENT_RETENTION_DAYS: i64 = 90;

fn ms(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn intent_sk(i: &GrantIntent) -> String {
    format!("INTENT#{}#{}", i.pair.group.get(), ms(i.valid_until))
}

fn hand_sk(group: u64) -> String {
    format!("HAND#{group}")
}

fn intent_item(i: &GrantIntent) -> Item {
    let mut item = key(own_pk(i.pair.email.as_str()), intent_sk(i));
    item.insert("email".into(), s(i.pair.email.as_str()));
    item.insert("group".into(), n(i.pair.group.get()));
    item.insert("valid_until".into(), s(ms(i.valid_until)));
    item.insert("at".into(), s(ms(i.at)));
    item.insert(
        "ttl".into(),
        n((i.at + chrono::Duration::days(INTENT_RETENTION_DAYS)).timestamp()),
    );
    item
}

fn hand_item(h: &HeldByHand) -> Item {
    let mut item = key(own_pk(h.pair.email.as_str()), hand_sk(h.pair.group.get()));
    item.insert("email".into(), s(h.pair.email.as_str()));
    item.insert("group".into(), n(h.pair.group.get()));
    item.insert("assignment_id".into(), n(h.assignment_id));
    item.insert("user_id".into(), n(h.user_id));
    item.insert("since".into(), s(ms(h.since)));
    item
}

fn exclusion_item(x: &Exclusion) -> Item {
    let mut item = key(own_pk(x.email.as_str()), EXCLUDED_SK.to_string());
    item.insert("gsi1pk".into(), s(EXCLUDED_SK));
    item.insert(
        "gsi1sk".into(),
        s(format!("{}#{}", ms(x.since), x.email.as_str())),
    );
    item.insert("email".into(), s(x.email.as_str()));
    item.insert("user_id".into(), n(x.user_id));
    item.insert("since".into(), s(ms(x.since)));
    item
}

fn parse_time(item: &Item, name: &str) -> Result<DateTime<Utc>, StoreError> {
    let t = get_s(item, name).ok_or_else(|| StoreError::Corrupt {
        key: key_of(item),
        reason: format!("no {name}"),
    })?;
    DateTime::parse_from_rfc3339(t)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| StoreError::Corrupt {
            key: key_of(item),
            reason: format!("{name}: {e}"),
        })
}

fn parse_pair(item: &Item) -> Result<Pair, StoreError> {
    let corrupt = |reason: &str| StoreError::Corrupt {
        key: key_of(item),
        reason: reason.to_string(),
    };
    let email = get_s(item, "email").ok_or_else(|| corrupt("no email"))?;
    let group = get_n::<u64>(item, "group").ok_or_else(|| corrupt("no group"))?;
    Ok(Pair {
        email: Email::parse(email).ok_or_else(|| corrupt("blank email"))?,
        group: i64::try_from(group)
            .ok()
            .and_then(GroupId::new)
            .ok_or_else(|| corrupt("group is not a positive integer"))?,
    })
}

fn parse_intent(item: &Item) -> Result<GrantIntent, StoreError> {
    Ok(GrantIntent {
        pair: parse_pair(item)?,
        valid_until: parse_time(item, "valid_until")?,
        at: parse_time(item, "at")?,
    })
}

fn parse_hand(item: &Item) -> Result<HeldByHand, StoreError> {
    let corrupt = |reason: &str| StoreError::Corrupt {
        key: key_of(item),
        reason: reason.to_string(),
    };
    Ok(HeldByHand {
        pair: parse_pair(item)?,
        assignment_id: get_n(item, "assignment_id").ok_or_else(|| corrupt("no assignment_id"))?,
        user_id: get_n(item, "user_id").ok_or_else(|| corrupt("no user_id"))?,
        since: parse_time(item, "since")?,
    })
}

fn parse_exclusion(item: &Item) -> Result<Exclusion, StoreError> {
    let corrupt = |reason: &str| StoreError::Corrupt {
        key: key_of(item),
        reason: reason.to_string(),
    };
    Ok(Exclusion {
        email: get_s(item, "email")
            .and_then(Email::parse)
            .ok_or_else(|| corrupt("no email"))?,
        user_id: get_n(item, "user_id").ok_or_else(|| corrupt("no user_id"))?,
        since: parse_time(item, "since")?,
    })
}

impl DynamoStore {
    fn put(&self, item: Item) -> Result<TransactWriteItem, StoreError> {
        Ok(TransactWriteItem::builder()
            .put(
                Put::builder()
                    .table_name(&self.table)
                    .set_item(Some(item))
                    .build()
                    .map_err(invalid)?,
            )
            .build())
    }

    fn delete(&self, pk: String, sk: String) -> Result<TransactWriteItem, StoreError> {
        Ok(TransactWriteItem::builder()
            .delete(
                Delete::builder()
                    .table_name(&self.table)
                    .set_key(Some(key(pk, sk)))
                    .build()
                    .map_err(invalid)?,
            )
            .build())
    }
}

fn parse_ownership(item: &Item) -> Result<Versioned<Ownership>, StoreError> {
    let corrupt = |reason: &str| StoreError::Corrupt {
        key: key_of(item),
        reason: reason.to_string(),
    };
    let email = get_s(item, "email").ok_or_else(|| corrupt("no email"))?;
    let group = get_n::<u64>(item, "group").ok_or_else(|| corrupt("no group"))?;
    let pair = Pair {
        email: Email::parse(email).ok_or_else(|| corrupt("blank email"))?,
        group: i64::try_from(group)
            .ok()
            .and_then(GroupId::new)
            .ok_or_else(|| corrupt("group is not a positive integer"))?,
    };
    let valid_until = match get_s(item, "valid_until") {
        None => None,
        Some(t) => Some(
            DateTime::parse_from_rfc3339(t)
                .map_err(|e| corrupt(&format!("valid_until: {e}")))?
                .with_timezone(&Utc),
        ),
    };
    Ok(Versioned {
        value: Ownership {
            pair,
            assignment_id: get_n(item, "assignment_id")
                .ok_or_else(|| corrupt("no assignment_id"))?,
            user_id: get_n(item, "user_id").ok_or_else(|| corrupt("no user_id"))?,
            valid_until,
        },
        version: get_n(item, "version").ok_or_else(|| corrupt("no version"))?,
    })
}

fn invalid(e: impl std::fmt::Display) -> StoreError {
    StoreError::Invalid(e.to_string())
}

impl OwnershipStore for DynamoStore {
    async fn owner_view(&self, email: &str) -> Result<OwnerView, StoreError> {
        let mut view = OwnerView::default();
        for item in self.partition(&own_pk(email)).await? {
            match get_s(&item, "sk").unwrap_or_default() {
                USER_SK => view.kisi_user = get_n(&item, "user_id"),
                EXCLUDED_SK => view.excluded = Some(parse_exclusion(&item)?),
                sk if sk.starts_with("INTENT#") => view.intents.push(parse_intent(&item)?),
                sk if sk.starts_with("HAND#") => view.by_hand.push(parse_hand(&item)?),
                _ => view.owned.push(parse_ownership(&item)?),
            }
        }
        Ok(view)
    }

    async fn owned_for_email(&self, email: &str) -> Result<Vec<Versioned<Ownership>>, StoreError> {
        Ok(self.owner_view(email).await?.owned)
    }

    async fn apply_ownership(
        &self,
        changes: &[OwnershipChange],
        audit: &[AuditEntry],
    ) -> Result<(), StoreError> {
        let mut items = Vec::new();
        let mut names = Vec::new();
        for change in changes {
            let op = match change {
                OwnershipChange::RememberUser { email, user_id } => {
                    names.push(format!("{}/{USER_SK}", own_pk(email)));
                    let mut item = key(own_pk(email), USER_SK.to_string());
                    item.insert("user_id".into(), n(*user_id));
                    TransactWriteItem::builder()
                        .put(
                            Put::builder()
                                .table_name(&self.table)
                                .set_item(Some(item))
                                .build()
                                .map_err(invalid)?,
                        )
                        .build()
                }
                OwnershipChange::Create(o) => {
                    names.push(pair_key(&o.pair));
                    TransactWriteItem::builder()
                        .put(
                            Put::builder()
                                .table_name(&self.table)
                                .set_item(Some(ownership_item(o, 1)))
                                .condition_expression("attribute_not_exists(pk)")
                                .build()
                                .map_err(invalid)?,
                        )
                        .build()
                }
                OwnershipChange::Update {
                    ownership,
                    expected,
                } => {
                    names.push(pair_key(&ownership.pair));
                    TransactWriteItem::builder()
                        .put(
                            Put::builder()
                                .table_name(&self.table)
                                .set_item(Some(ownership_item(ownership, expected + 1)))
                                .condition_expression("version = :v")
                                .expression_attribute_values(":v", n(*expected))
                                .build()
                                .map_err(invalid)?,
                        )
                        .build()
                }
                OwnershipChange::Intend(i) => {
                    names.push(format!(
                        "{}/{}",
                        own_pk(i.pair.email.as_str()),
                        intent_sk(i)
                    ));
                    self.put(intent_item(i))?
                }
                OwnershipChange::ForgetIntent(i) => {
                    names.push(format!(
                        "{}/{}",
                        own_pk(i.pair.email.as_str()),
                        intent_sk(i)
                    ));
                    self.delete(own_pk(i.pair.email.as_str()), intent_sk(i))?
                }
                OwnershipChange::HoldByHand(h) => {
                    names.push(format!(
                        "{}/{}",
                        own_pk(h.pair.email.as_str()),
                        hand_sk(h.pair.group.get())
                    ));
                    self.put(hand_item(h))?
                }
                OwnershipChange::ReleaseByHand { pair } => {
                    names.push(format!(
                        "{}/{}",
                        own_pk(pair.email.as_str()),
                        hand_sk(pair.group.get())
                    ));
                    self.delete(own_pk(pair.email.as_str()), hand_sk(pair.group.get()))?
                }
                OwnershipChange::Exclude(x) => {
                    names.push(format!("{}/{EXCLUDED_SK}", own_pk(x.email.as_str())));
                    self.put(exclusion_item(x))?
                }
                OwnershipChange::Include { email } => {
                    names.push(format!("{}/{EXCLUDED_SK}", own_pk(email)));
                    items.push(self.delete(own_pk(email), EXCLUDED_SK.to_string())?);
                    names.push(format!("{}/{USER_SK}", own_pk(email)));
                    self.delete(own_pk(email), USER_SK.to_string())?
                }
                OwnershipChange::Delete { pair, expected } => {
                    names.push(pair_key(pair));
                    TransactWriteItem::builder()
                        .delete(
                            Delete::builder()
                                .table_name(&self.table)
                                .set_key(Some(key(
                                    own_pk(pair.email.as_str()),
                                    own_sk(pair.group.get()),
                                )))
                                .condition_expression("version = :v")
                                .expression_attribute_values(":v", n(*expected))
                                .build()
                                .map_err(invalid)?,
                        )
                        .build()
                }
            };
            items.push(op);
        }
        // The same entry twice would be two actions on one item, which a transaction refuses.
        let mut seen = std::collections::HashSet::new();
        for entry in audit {
            let item = audit_item(entry, self.audit_retention);
            if !seen.insert(key_of(&item)) {
                continue;
            }
            names.push(key_of(&item));
            items.push(
                TransactWriteItem::builder()
                    .put(
                        Put::builder()
                            .table_name(&self.table)
                            .set_item(Some(item))
                            .build()
                            .map_err(invalid)?,
                    )
                    .build(),
            );
        }
        if items.is_empty() {
            return Ok(());
        }
        if items.len() > 100 {
            return Err(StoreError::Invalid(format!(
                "{} items exceed one transaction (100)",
                items.len()
            )));
        }
        self.client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await
            .map_err(|e| transact_error(e, &names))?;
        Ok(())
    }

    async fn owned_page(
        &self,
        shard: u16,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<OwnershipPage, StoreError> {
        if shard >= OWNERSHIP_SHARDS {
            return Err(StoreError::Invalid(format!("shard {shard} out of range")));
        }
        // The cursor is the gsi1sk of the last item returned, from which the full start key
        // (table keys + index keys) can be rebuilt, so callers carry a short readable string.
        let start = match cursor {
            None => None,
            Some(c) => {
                let pair = parse_pair_key(c)
                    .ok_or_else(|| StoreError::Invalid(format!("bad cursor {c:?}")))?;
                let mut k = key(own_pk(pair.email.as_str()), own_sk(pair.group.get()));
                k.insert("gsi1pk".into(), s(shard_pk(shard)));
                k.insert("gsi1sk".into(), s(c));
                Some(k)
            }
        };
        let page = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(GSI1)
            .key_condition_expression("gsi1pk = :p")
            .expression_attribute_values(":p", s(shard_pk(shard)))
            .limit(i32::try_from(limit.max(1)).unwrap_or(i32::MAX))
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(sdk_error)?;
        let items = page
            .items()
            .iter()
            .map(parse_ownership)
            .collect::<Result<Vec<_>, _>>()?;
        let next = page
            .last_evaluated_key()
            .and_then(|k| get_s(k, "gsi1sk"))
            .map(str::to_string);
        Ok(OwnershipPage { items, next })
    }
}

impl ExclusionList for DynamoStore {
    async fn exclusions(&self, limit: u32) -> Result<Vec<Exclusion>, StoreError> {
        let mut out = Vec::new();
        let mut start = None;
        loop {
            let page = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(GSI1)
                .key_condition_expression("gsi1pk = :p")
                .expression_attribute_values(":p", s(EXCLUDED_SK))
                .limit(i32::try_from(limit.clamp(1, 1000)).unwrap_or(1000))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(sdk_error)?;
            for item in page.items() {
                out.push(parse_exclusion(item)?);
            }
            if out.len() >= limit as usize {
                out.truncate(limit as usize);
                return Ok(out);
            }
            match page.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => return Ok(out),
            }
        }
    }
}
