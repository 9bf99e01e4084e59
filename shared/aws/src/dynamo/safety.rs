//! [`SafetyStore`] on DynamoDB.
//!
//! | item | `pk` | `sk` | `gsi1pk` / `gsi1sk` |
//! |---|---|---|---|
//! | repair-index entry (pair should be open) | `WANT#<email>` | `GROUP#<group>` | `WANTED#<shard>` / `<email>#<group>` |
//! | dirty mark (event not yet converged) | `WANT#<email>` | `DIRTY#<group>` | `DIRTY#<shard>` / `<email>#<group>` |
//! | hold (revoke held by the brake, or discarded) | `WANT#<email>` | `HELD#<group>` | `HELD` / `<email>#<group>` |
//! | the brake's budget | `BRAKE` | `BUDGET` | — (`doc`, `version`) |
//!
//! A person's three kinds share one partition so converge reads them with one `Query`; the
//! walks page over `gsi1` with a cursor (no scan), like the ownership walk.

use super::{DynamoStore, GSI1, Item, get_n, get_s, key, key_of, n, s, sdk_error};
use access_sync_ports::ownership::shard_of;
use access_sync_ports::{
    Budget, Dirty, Email, GroupId, Hold, NoteChange, Notes, OWNERSHIP_SHARDS, Pair, SafetyPage,
    SafetyStore, StoreError, Version, Versioned, Wanted, pair_key, parse_pair_key,
};
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::delete_item::DeleteItemError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::{DeleteRequest, PutRequest, WriteRequest};
use chrono::{DateTime, SecondsFormat, Utc};

fn want_pk(email: &str) -> String {
    format!("WANT#{email}")
}

const WANTED: &str = "WANTED";
const DIRTY: &str = "DIRTY";
const HELD: &str = "HELD";
const GROUP: &str = "GROUP";

fn sk(kind: &str, group: GroupId) -> String {
    format!("{kind}#{}", group.get())
}

fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn corrupt(item: &Item, reason: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt {
        key: key_of(item),
        reason: reason.to_string(),
    }
}

fn parse_time(item: &Item, name: &str) -> Result<Option<DateTime<Utc>>, StoreError> {
    match get_s(item, name) {
        None => Ok(None),
        Some(t) => DateTime::parse_from_rfc3339(t)
            .map(|t| Some(t.with_timezone(&Utc)))
            .map_err(|e| corrupt(item, format!("{name}: {e}"))),
    }
}

fn item_pair(item: &Item) -> Result<Pair, StoreError> {
    let email = get_s(item, "email").ok_or_else(|| corrupt(item, "no email"))?;
    let group = get_n::<i64>(item, "group").ok_or_else(|| corrupt(item, "no group"))?;
    Ok(Pair {
        email: Email::parse(email).ok_or_else(|| corrupt(item, "blank email"))?,
        group: GroupId::new(group).ok_or_else(|| corrupt(item, "bad group"))?,
    })
}

fn base(pair: &Pair, kind: &str, gsi1pk: String) -> Item {
    let mut item = key(want_pk(pair.email.as_str()), sk(kind, pair.group));
    item.insert("gsi1pk".into(), s(gsi1pk));
    item.insert("gsi1sk".into(), s(pair_key(pair)));
    item.insert("email".into(), s(pair.email.as_str()));
    item.insert("group".into(), n(pair.group.get()));
    item
}

fn wanted_item(pair: &Pair, w: &Wanted) -> Item {
    let mut item = base(pair, GROUP, format!("{WANTED}#{}", shard_of(pair)));
    item.insert("from".into(), s(time(w.from)));
    if let Some(u) = w.until {
        item.insert("until".into(), s(time(u)));
    }
    item
}

fn dirty_item(d: &Dirty) -> Item {
    let mut item = base(&d.pair, DIRTY, format!("{DIRTY}#{}", shard_of(&d.pair)));
    item.insert("at".into(), s(time(d.at)));
    item.insert("mark".into(), s(&d.mark));
    item
}

fn hold_item(h: &Hold) -> Item {
    let mut item = base(&h.pair, HELD, HELD.into());
    // Serialising our own plain struct cannot fail.
    item.insert(
        "doc".into(),
        s(serde_json::to_string(h).unwrap_or_default()),
    );
    item
}

fn parse_wanted(item: &Item) -> Result<(Pair, Wanted), StoreError> {
    let from = parse_time(item, "from")?.ok_or_else(|| corrupt(item, "no from"))?;
    Ok((
        item_pair(item)?,
        Wanted {
            from,
            until: parse_time(item, "until")?,
        },
    ))
}

fn parse_dirty(item: &Item) -> Result<Dirty, StoreError> {
    Ok(Dirty {
        pair: item_pair(item)?,
        at: parse_time(item, "at")?.ok_or_else(|| corrupt(item, "no at"))?,
        mark: get_s(item, "mark").unwrap_or_default().to_string(),
    })
}

fn parse_hold(item: &Item) -> Result<Hold, StoreError> {
    serde_json::from_str(get_s(item, "doc").unwrap_or("")).map_err(|e| corrupt(item, e))
}

fn invalid(e: impl std::fmt::Display) -> StoreError {
    StoreError::Invalid(e.to_string())
}

fn condition_failed<E: aws_sdk_dynamodb::error::ProvideErrorMetadata, R>(
    e: &SdkError<E, R>,
) -> bool {
    matches!(
        e.as_service_error().and_then(|s| s.code()),
        Some("ConditionalCheckFailedException")
    )
}

impl DynamoStore {
    /// BatchWriteItem in chunks of 25, unprocessed items sent again a few times.
    async fn batch_write(&self, requests: Vec<WriteRequest>) -> Result<(), StoreError> {
        for chunk in requests.chunks(25) {
            let mut todo = chunk.to_vec();
            for attempt in 0..5u32 {
                let out = self
                    .client
                    .batch_write_item()
                    .request_items(&self.table, todo)
                    .send()
                    .await
                    .map_err(sdk_error)?;
                todo = out
                    .unprocessed_items
                    .and_then(|mut m| m.remove(&self.table))
                    .unwrap_or_default();
                if todo.is_empty() {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(50 << attempt)).await;
            }
            if !todo.is_empty() {
                return Err(StoreError::Unavailable(format!(
                    "{} writes unprocessed after retries",
                    todo.len()
                )));
            }
        }
        Ok(())
    }

    /// One page of `gsi1` partition `gsi1pk` whose items live under sort-key kind `kind`.
    async fn safety_page(
        &self,
        gsi1pk: &str,
        kind: &str,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<(Vec<Item>, Option<String>), StoreError> {
        let start = match cursor {
            None => None,
            Some(c) => {
                let pair = parse_pair_key(c).ok_or_else(|| invalid(format!("bad cursor {c:?}")))?;
                let mut k = key(want_pk(pair.email.as_str()), sk(kind, pair.group));
                k.insert("gsi1pk".into(), s(gsi1pk));
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
            .expression_attribute_values(":p", s(gsi1pk))
            .limit(i32::try_from(limit.max(1)).unwrap_or(i32::MAX))
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(sdk_error)?;
        let next = page
            .last_evaluated_key()
            .and_then(|k| get_s(k, "gsi1sk"))
            .map(str::to_string);
        Ok((page.items.unwrap_or_default(), next))
    }
}

fn put(item: Item) -> Result<WriteRequest, StoreError> {
    Ok(WriteRequest::builder()
        .put_request(
            PutRequest::builder()
                .set_item(Some(item))
                .build()
                .map_err(invalid)?,
        )
        .build())
}

fn delete(pair: &Pair, kind: &str) -> Result<WriteRequest, StoreError> {
    Ok(WriteRequest::builder()
        .delete_request(
            DeleteRequest::builder()
                .set_key(Some(key(
                    want_pk(pair.email.as_str()),
                    sk(kind, pair.group),
                )))
                .build()
                .map_err(invalid)?,
        )
        .build())
}

fn shard_check(shard: u16) -> Result<(), StoreError> {
    if shard >= OWNERSHIP_SHARDS {
        return Err(StoreError::Invalid(format!("shard {shard} out of range")));
    }
    Ok(())
}

impl SafetyStore for DynamoStore {
    async fn notes(&self, email: &str) -> Result<Notes, StoreError> {
        let mut notes = Notes::default();
        for item in self.partition(&want_pk(email)).await? {
            let sk = get_s(&item, "sk").unwrap_or_default();
            if sk.starts_with(GROUP) {
                notes.wanted.push(parse_wanted(&item)?);
            } else if sk.starts_with(DIRTY) {
                notes.dirty.push(parse_dirty(&item)?);
            } else if sk.starts_with(HELD) {
                notes.holds.push(parse_hold(&item)?);
            }
        }
        Ok(notes)
    }

    async fn mark_dirty(&self, marks: &[Dirty]) -> Result<(), StoreError> {
        let requests = marks
            .iter()
            .map(|m| put(dirty_item(m)))
            .collect::<Result<Vec<_>, _>>()?;
        self.batch_write(requests).await
    }

    async fn apply_notes(&self, changes: &[NoteChange]) -> Result<(), StoreError> {
        let mut requests = Vec::new();
        for c in changes {
            match c {
                NoteChange::Want(p, w) => requests.push(put(wanted_item(p, w))?),
                NoteChange::Unwant(p) => requests.push(delete(p, GROUP)?),
                NoteChange::Hold(h) => requests.push(put(hold_item(h))?),
                NoteChange::Release(p) => requests.push(delete(p, HELD)?),
                NoteChange::Clean(d) => {
                    // Only the mark that was read: a mark written since stays for reconcile.
                    let r = self
                        .client
                        .delete_item()
                        .table_name(&self.table)
                        .set_key(Some(key(
                            want_pk(d.pair.email.as_str()),
                            sk(DIRTY, d.pair.group),
                        )))
                        .condition_expression("mark = :m")
                        .expression_attribute_values(":m", s(&d.mark))
                        .send()
                        .await;
                    match r {
                        Ok(_) => {}
                        Err(e) if condition_failed::<DeleteItemError, _>(&e) => {}
                        Err(e) => return Err(sdk_error(e)),
                    }
                }
            }
        }
        self.batch_write(requests).await
    }

    async fn wanted_page(
        &self,
        shard: u16,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<SafetyPage<(Pair, Wanted)>, StoreError> {
        shard_check(shard)?;
        let (items, next) = self
            .safety_page(&format!("{WANTED}#{shard}"), GROUP, cursor, limit)
            .await?;
        Ok(SafetyPage {
            items: items.iter().map(parse_wanted).collect::<Result<_, _>>()?,
            next,
        })
    }

    async fn dirty_page(
        &self,
        shard: u16,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<SafetyPage<Dirty>, StoreError> {
        shard_check(shard)?;
        let (items, next) = self
            .safety_page(&format!("{DIRTY}#{shard}"), DIRTY, cursor, limit)
            .await?;
        Ok(SafetyPage {
            items: items.iter().map(parse_dirty).collect::<Result<_, _>>()?,
            next,
        })
    }

    async fn holds_page(
        &self,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<SafetyPage<Hold>, StoreError> {
        let (items, next) = self.safety_page(HELD, HELD, cursor, limit).await?;
        Ok(SafetyPage {
            items: items.iter().map(parse_hold).collect::<Result<_, _>>()?,
            next,
        })
    }

    async fn budget(&self) -> Result<Option<Versioned<Budget>>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key("BRAKE", "BUDGET")))
            .consistent_read(true)
            .send()
            .await
            .map_err(sdk_error)?;
        let Some(item) = out.item else {
            return Ok(None);
        };
        let value = serde_json::from_str(get_s(&item, "doc").unwrap_or(""))
            .map_err(|e| corrupt(&item, e))?;
        let version = get_n(&item, "version").ok_or_else(|| corrupt(&item, "no version"))?;
        Ok(Some(Versioned { value, version }))
    }

    async fn save_budget(
        &self,
        budget: &Budget,
        expected: Option<Version>,
    ) -> Result<Version, StoreError> {
        let version = expected.unwrap_or(0) + 1;
        let mut item = key("BRAKE", "BUDGET");
        item.insert(
            "doc".into(),
            s(serde_json::to_string(budget).unwrap_or_default()),
        );
        item.insert("version".into(), n(version));
        let req = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item));
        let req = match expected {
            None => req.condition_expression("attribute_not_exists(pk)"),
            Some(v) => req
                .condition_expression("version = :v")
                .expression_attribute_values(":v", n(v)),
        };
        match req.send().await {
            Ok(_) => Ok(version),
            Err(e) if condition_failed::<PutItemError, _>(&e) => Err(StoreError::VersionMismatch {
                key: "BRAKE/BUDGET".into(),
            }),
            Err(e) => Err(sdk_error(e)),
        }
    }
}
