//! [`FactStore`] on DynamoDB: canonical records plus per-e-mail copies, so converge reads
//! everything about one address with a single `Query`.
//!
//! # Items
//! - **canonical** `pk = MEMBER#<id> | TEAM#<id> | ENT#<id>`, `sk = RECORD`: `doc` (the
//!   rules' `Record` as JSON), `version`, `views` (the e-mails whose partition holds a copy),
//!   `related` (JSON records carried along: for a team, its members' records; for an
//!   entitlement, its holder's records — member, or team and members), and for an
//!   entitlement `holder` (`member:<id>` | `team:<id>`).
//! - **copy** `pk = EMAIL#<e>`, `sk = MEMBER#<id> | TEAM#<id> | ENT#<id>`: `doc`, `version`.
//!   A member is copied to its address; a team to the active addresses of its members; an
//!   entitlement to the active addresses of its holder (or the holder team's members) and to
//!   its guests. A cancelled entitlement keeps its copies (the rules see the cancel).
//! - **index** `HOLDER#<holder>` / `ENT#<id>` (entitlements of a holder) and
//!   `MEMBEROF#<member>` / `TEAM#<id>` (teams of a member): walked when a member or team
//!   changes, to refresh the copies that depend on it.
//!
//! # Writes
//! - An entitlement event: `BatchGetItem` (the entitlement and its holder, 1 round trip) and
//!   one `TransactWriteItems`: the canonical item conditioned on its version, a
//!   `ConditionCheck` on the holder's version (so copies never follow a stale e-mail), the
//!   copies and the holder index. A cancel reads only the entitlement (its `related` holds
//!   the holder). When the holder changed, the old holder's records come from `related`.
//! - A member or team event writes its canonical item and copies in one transaction, then
//!   refreshes each dependent team and entitlement with its own optimistic transaction
//!   (reload, recompute copies, write; retried on conflict). That cascade is not atomic: a
//!   crash mid-way leaves some copies stale until the event is replayed (its idempotency lock
//!   is released on failure, so the platform's retry replays it) or a later refresh.
//! - More than 100 actions (a large team) are split: the first transaction carries every
//!   condition; the remaining copy writes follow in further transactions.

use super::{DynamoStore, Item, get_n, get_s, key, key_of, n, s, sdk_error, transact_error};
use access_sync_ports::{
    FactStore, Loaded, StoreError, Version, Versioned, entitlement_key, holder_key, member_key,
    record_key, team_key,
};
use access_sync_rules::event::Body;
use access_sync_rules::facts::{MemberRecord, Record};
use access_sync_rules::{Email, EntitlementId, Facts, Holder, MemberId, TeamId};
use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, Delete, KeysAndAttributes, Put, TransactWriteItem,
};
use std::collections::{BTreeSet, HashMap};

const RECORD: &str = "RECORD";
/// How often a cascade refresh retries a lost optimistic write before giving up.
const REFRESH_ATTEMPTS: u32 = 5;

fn email_pk(email: &str) -> String {
    format!("EMAIL#{email}")
}

fn holder_index_pk(holder: &str) -> String {
    format!("HOLDER#{holder}")
}

fn memberof_pk(member: &MemberId) -> String {
    format!("MEMBEROF#{member}")
}

fn invalid(e: impl std::fmt::Display) -> StoreError {
    StoreError::Invalid(e.to_string())
}

fn holder_record_key(holder: &Holder) -> String {
    match holder {
        Holder::Member(m) => member_key(m),
        Holder::Team(t) => team_key(t),
    }
}

/// A canonical item, parsed.
struct Canonical {
    record: Record,
    version: Version,
    views: BTreeSet<String>,
    related: Vec<Record>,
    holder: Option<String>,
}

fn parse_canonical(item: &Item) -> Result<Canonical, StoreError> {
    let corrupt = |reason: String| StoreError::Corrupt {
        key: key_of(item),
        reason,
    };
    let record: Record = serde_json::from_str(get_s(item, "doc").unwrap_or(""))
        .map_err(|e| corrupt(format!("doc: {e}")))?;
    let related: Vec<Record> = match get_s(item, "related") {
        None => Vec::new(),
        Some(doc) => serde_json::from_str(doc).map_err(|e| corrupt(format!("related: {e}")))?,
    };
    let views = item
        .get("views")
        .and_then(|v| v.as_l().ok())
        .map(|l| {
            l.iter()
                .filter_map(|v| v.as_s().ok().cloned())
                .collect::<BTreeSet<_>>()
        })
        .unwrap_or_default();
    Ok(Canonical {
        record,
        version: get_n(item, "version").ok_or_else(|| corrupt("no version".into()))?,
        views,
        related,
        holder: get_s(item, "holder").map(str::to_string),
    })
}

fn doc(record: &impl serde::Serialize) -> Result<String, StoreError> {
    serde_json::to_string(record).map_err(invalid)
}

/// Active e-mails of a holder, from records (a member without a record or address has none).
fn holder_emails(facts: &Facts, holder: &Holder) -> BTreeSet<String> {
    let member_email = |m: &MemberId| {
        facts
            .member(m)
            .and_then(MemberRecord::active_email)
            .map(|e| e.as_str().to_string())
    };
    match holder {
        Holder::Member(m) => member_email(m).into_iter().collect(),
        Holder::Team(t) => facts
            .team(t)
            .map(|team| team.members.iter().filter_map(member_email).collect())
            .unwrap_or_default(),
    }
}

/// The records carried along with an entitlement for its holder.
fn holder_related(facts: &Facts, holder: &Holder) -> Vec<Record> {
    match holder {
        Holder::Member(m) => facts
            .member(m)
            .cloned()
            .map(Record::Member)
            .into_iter()
            .collect(),
        Holder::Team(t) => match facts.team(t) {
            None => Vec::new(),
            Some(team) => team
                .members
                .iter()
                .filter_map(|m| facts.member(m).cloned().map(Record::Member))
                .chain(std::iter::once(Record::Team(team.clone())))
                .collect(),
        },
    }
}

/// One action of a transaction and the name to report if its condition fails.
type Action = (TransactWriteItem, String);

impl DynamoStore {
    /// A put; with `expected`, conditioned on the item's version (`Some(None)`: must not
    /// exist).
    fn put_action(
        &self,
        item: Item,
        expected: Option<Option<Version>>,
    ) -> Result<Action, StoreError> {
        let name = key_of(&item);
        let mut put = Put::builder().table_name(&self.table).set_item(Some(item));
        if let Some(expected) = expected {
            put = match expected {
                Some(v) => put
                    .condition_expression("version = :v")
                    .expression_attribute_values(":v", n(v)),
                None => put.condition_expression("attribute_not_exists(pk)"),
            };
        }
        let put = put.build().map_err(invalid)?;
        Ok((TransactWriteItem::builder().put(put).build(), name))
    }

    fn delete_action(&self, k: Item) -> Result<Action, StoreError> {
        let name = key_of(&k);
        let delete = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(k))
            .build()
            .map_err(invalid)?;
        Ok((TransactWriteItem::builder().delete(delete).build(), name))
    }

    fn check_action(
        &self,
        record_key: &str,
        expected: Option<Version>,
    ) -> Result<Action, StoreError> {
        let check = ConditionCheck::builder()
            .table_name(&self.table)
            .set_key(Some(key(record_key, RECORD)));
        let check = match expected {
            Some(v) => check
                .condition_expression("version = :v")
                .expression_attribute_values(":v", n(v)),
            None => check.condition_expression("attribute_not_exists(pk)"),
        };
        let check = check.build().map_err(invalid)?;
        Ok((
            TransactWriteItem::builder().condition_check(check).build(),
            format!("{record_key}/{RECORD}"),
        ))
    }

    /// Runs `actions` as one transaction, or, past 100 actions, the first 100 (which must
    /// hold every condition: callers put conditioned actions first) then the rest.
    async fn transact(&self, actions: Vec<Action>) -> Result<(), StoreError> {
        let mut rest = actions;
        while !rest.is_empty() {
            let tail = rest.split_off(rest.len().min(100));
            let (items, names): (Vec<_>, Vec<_>) = rest.into_iter().unzip();
            self.client
                .transact_write_items()
                .set_transact_items(Some(items))
                .send()
                .await
                .map_err(|e| transact_error(e, &names))?;
            rest = tail;
        }
        Ok(())
    }

    /// Reads canonical items by record key (consistent reads; retries unprocessed keys).
    async fn get_canonicals(
        &self,
        keys: &BTreeSet<String>,
    ) -> Result<HashMap<String, Canonical>, StoreError> {
        let mut out = HashMap::new();
        let all: Vec<&String> = keys.iter().collect();
        for chunk in all.chunks(100) {
            let mut pending: Vec<Item> = chunk.iter().map(|k| key(k.as_str(), RECORD)).collect();
            for attempt in 0..5u32 {
                if pending.is_empty() {
                    break;
                }
                if attempt > 0 {
                    tokio::time::sleep(std::time::Duration::from_millis(25 << attempt)).await;
                }
                let request = KeysAndAttributes::builder()
                    .set_keys(Some(pending))
                    .consistent_read(true)
                    .build()
                    .map_err(invalid)?;
                let resp = self
                    .client
                    .batch_get_item()
                    .request_items(&self.table, request)
                    .send()
                    .await
                    .map_err(sdk_error)?;
                for item in resp
                    .responses
                    .and_then(|mut r| r.remove(&self.table))
                    .unwrap_or_default()
                {
                    let pk = get_s(&item, "pk").unwrap_or("").to_string();
                    out.insert(pk, parse_canonical(&item)?);
                }
                pending = resp
                    .unprocessed_keys
                    .and_then(|mut u| u.remove(&self.table))
                    .map(|k| k.keys)
                    .unwrap_or_default();
            }
            if !pending.is_empty() {
                return Err(StoreError::Unavailable(
                    "batch get left keys unprocessed".into(),
                ));
            }
        }
        Ok(out)
    }

    /// The sort keys of one index partition (e.g. the entitlements of a holder).
    async fn index(&self, pk: &str) -> Result<Vec<String>, StoreError> {
        Ok(self
            .partition(pk)
            .await?
            .iter()
            .filter_map(|i| get_s(i, "sk").map(str::to_string))
            .collect())
    }

    /// Loads an entitlement and (fresh) its holder: one `BatchGetItem`.
    async fn load_entitlement(
        &self,
        id: &EntitlementId,
        holder: Option<&Holder>,
    ) -> Result<Loaded, StoreError> {
        let ent_key = entitlement_key(id);
        let mut keys = BTreeSet::from([ent_key.clone()]);
        if let Some(h) = holder {
            keys.insert(holder_record_key(h));
        }
        let mut found = self.get_canonicals(&keys).await?;
        let mut loaded = Loaded::default();
        for k in &keys {
            loaded
                .versions
                .insert(k.clone(), found.get(k).map(|c| c.version));
        }
        if let Some(ent) = found.remove(&ent_key) {
            // Carried copies first, so the fresh holder records below replace them.
            loaded.records.extend(ent.related);
            loaded.records.push(ent.record);
            loaded.views.insert(ent_key.clone(), ent.views);
            if let Some(h) = ent.holder {
                loaded
                    .views
                    .insert(format!("{ent_key}#holder"), BTreeSet::from([h]));
            }
        }
        if let Some(h) = holder
            && let Some(c) = found.remove(&holder_record_key(h))
        {
            loaded.records.extend(c.related);
            loaded.records.push(c.record);
        }
        Ok(loaded)
    }

    /// Loads a member, its teams and the entitlements held by it and by them.
    async fn load_member(&self, id: &MemberId) -> Result<Loaded, StoreError> {
        let mkey = member_key(id);
        let teams: Vec<String> = self.index(&memberof_pk(id)).await?;
        let mut holders = vec![holder_index_pk(&holder_key(&Holder::Member(id.clone())))];
        for t in &teams {
            if let Some(tid) = t.strip_prefix("TEAM#") {
                holders.push(holder_index_pk(&holder_key(&Holder::Team(TeamId::from(
                    tid,
                )))));
            }
        }
        let mut keys: BTreeSet<String> = BTreeSet::from([mkey.clone()]);
        keys.extend(teams);
        for h in &holders {
            keys.extend(self.index(h).await?);
        }
        let mut found = self.get_canonicals(&keys).await?;
        let mut loaded = Loaded::default();
        loaded
            .versions
            .insert(mkey.clone(), found.get(&mkey).map(|c| c.version));
        if let Some(c) = found.remove(&mkey) {
            loaded.views.insert(mkey.clone(), c.views);
            loaded.records.push(c.record);
        }
        loaded.records.extend(found.into_values().map(|c| c.record));
        Ok(loaded)
    }

    /// Loads a team, the members it had and will have, and the entitlements it holds.
    async fn load_team(&self, id: &TeamId, members: &[MemberId]) -> Result<Loaded, StoreError> {
        let tkey = team_key(id);
        let mut keys: BTreeSet<String> = BTreeSet::from([tkey.clone()]);
        keys.extend(members.iter().map(member_key));
        keys.extend(
            self.index(&holder_index_pk(&holder_key(&Holder::Team(id.clone()))))
                .await?,
        );
        let mut found = self.get_canonicals(&keys).await?;
        let mut loaded = Loaded::default();
        loaded
            .versions
            .insert(tkey.clone(), found.get(&tkey).map(|c| c.version));
        if let Some(c) = found.remove(&tkey) {
            loaded.views.insert(tkey.clone(), c.views);
            loaded.records.extend(c.related);
            loaded.records.push(c.record);
        }
        loaded.records.extend(found.into_values().map(|c| c.record));
        Ok(loaded)
    }

    /// Writes copies of `record` to `views`, removing those in `old` no longer wanted.
    fn copy_actions(
        &self,
        record: &Record,
        version: Version,
        views: &BTreeSet<String>,
        old: &BTreeSet<String>,
    ) -> Result<Vec<Action>, StoreError> {
        let rkey = record_key(record);
        let body = doc(record)?;
        let mut actions = Vec::new();
        for e in views {
            let mut item = key(email_pk(e), &rkey);
            item.insert("doc".into(), s(&body));
            item.insert("version".into(), n(version));
            actions.push(self.put_action(item, None)?);
        }
        for e in old.difference(views) {
            actions.push(self.delete_action(key(email_pk(e), &rkey))?);
        }
        Ok(actions)
    }

    /// The canonical item of `record` (also what [`super::item_size`] measures).
    pub(super) fn canonical_item_of(
        record: &Record,
        version: Version,
        views: &BTreeSet<String>,
        related: &[Record],
        holder: Option<&str>,
    ) -> Result<Item, StoreError> {
        let mut item = key(record_key(record), RECORD);
        item.insert("doc".into(), s(doc(record)?));
        item.insert("version".into(), n(version));
        item.insert(
            "views".into(),
            AttributeValue::L(views.iter().map(|e| s(e.as_str())).collect()),
        );
        if !related.is_empty() {
            item.insert("related".into(), s(doc(&related)?));
        }
        if let Some(h) = holder {
            item.insert("holder".into(), s(h));
        }
        Ok(item)
    }

    fn expected(loaded: &Loaded, k: &str) -> Result<Option<Version>, StoreError> {
        loaded
            .versions
            .get(k)
            .copied()
            .ok_or_else(|| StoreError::Invalid(format!("{k} was not loaded")))
    }

    async fn write_entitlement(
        &self,
        loaded: &Loaded,
        record: &Record,
    ) -> Result<Version, StoreError> {
        let Record::Entitlement(rec) = record else {
            return Err(StoreError::Invalid("not an entitlement".into()));
        };
        let ekey = entitlement_key(&rec.id);
        let expected = Self::expected(loaded, &ekey)?;
        let version = expected.unwrap_or(0) + 1;
        let old_views = loaded.views.get(&ekey).cloned().unwrap_or_default();
        let old_holder = loaded
            .views
            .get(&format!("{ekey}#holder"))
            .and_then(|h| h.iter().next().cloned());
        let facts = Facts::from_records(loaded.records.iter().cloned());
        let mut actions = Vec::new();
        let (views, related, holder) = match &rec.current {
            Some(current) => {
                let hkey = holder_record_key(&current.holder);
                let holder_version = Self::expected(loaded, &hkey).map_err(|_| {
                    StoreError::Invalid(format!(
                        "holder {hkey} of {ekey} was not loaded: load with the new holder"
                    ))
                })?;
                let mut views = holder_emails(&facts, &current.holder);
                views.extend(current.guests.iter().map(|g| g.as_str().to_string()));
                actions.push(self.check_action(&hkey, holder_version)?);
                (
                    views,
                    holder_related(&facts, &current.holder),
                    Some(holder_key(&current.holder)),
                )
            }
            // Cancelled: copies stay where they are, so converge sees the cancel.
            None => (
                old_views.clone(),
                facts
                    .entitlement(&rec.id)
                    .and_then(|old| old.current.as_ref())
                    .map(|c| holder_related(&facts, &c.holder))
                    .unwrap_or_default(),
                old_holder.clone(),
            ),
        };
        let canonical =
            Self::canonical_item_of(record, version, &views, &related, holder.as_deref())?;
        // Conditioned actions first (see `transact`).
        actions.insert(0, self.put_action(canonical, Some(expected))?);
        if let Some(h) = &holder
            && old_holder.as_ref() != Some(h)
        {
            actions.push(self.put_action(key(holder_index_pk(h), &ekey), None)?);
            if let Some(old) = &old_holder {
                actions.push(self.delete_action(key(holder_index_pk(old), &ekey))?);
            }
        }
        actions.extend(self.copy_actions(record, version, &views, &old_views)?);
        self.transact(actions).await?;
        Ok(version)
    }

    async fn write_member(&self, loaded: &Loaded, record: &Record) -> Result<Version, StoreError> {
        let Record::Member(rec) = record else {
            return Err(StoreError::Invalid("not a member".into()));
        };
        let mkey = member_key(&rec.id);
        let expected = Self::expected(loaded, &mkey)?;
        let version = expected.unwrap_or(0) + 1;
        let old_views = loaded.views.get(&mkey).cloned().unwrap_or_default();
        let views: BTreeSet<String> = rec.email.iter().map(|e| e.as_str().to_string()).collect();
        let mut canonical = Self::canonical_item_of(record, version, &views, &[], None)?;
        // Filed in the people index as stored now (see `people`).
        super::people::index_member(&mut canonical, &rec.id, chrono::Utc::now());
        let mut actions = vec![self.put_action(canonical, Some(expected))?];
        actions.extend(self.copy_actions(record, version, &views, &old_views)?);
        self.transact(actions).await?;
        Ok(version)
    }

    async fn write_team(&self, loaded: &Loaded, record: &Record) -> Result<Version, StoreError> {
        let Record::Team(rec) = record else {
            return Err(StoreError::Invalid("not a team".into()));
        };
        let tkey = team_key(&rec.id);
        let expected = Self::expected(loaded, &tkey)?;
        let version = expected.unwrap_or(0) + 1;
        let old_views = loaded.views.get(&tkey).cloned().unwrap_or_default();
        let facts = Facts::from_records(loaded.records.iter().cloned());
        let old_members: BTreeSet<MemberId> = facts
            .team(&rec.id)
            .map(|t| t.members.iter().cloned().collect())
            .unwrap_or_default();
        let new_team = Facts::from_records(
            loaded
                .records
                .iter()
                .cloned()
                .chain(std::iter::once(record.clone())),
        );
        let holder = Holder::Team(rec.id.clone());
        let views = holder_emails(&new_team, &holder);
        let related: Vec<Record> = rec
            .members
            .iter()
            .filter_map(|m| new_team.member(m).cloned().map(Record::Member))
            .collect();
        let mut actions = vec![self.put_action(
            Self::canonical_item_of(record, version, &views, &related, None)?,
            Some(expected),
        )?];
        let new_members: BTreeSet<MemberId> = rec.members.iter().cloned().collect();
        for m in new_members.difference(&old_members) {
            actions.push(self.put_action(key(memberof_pk(m), &tkey), None)?);
        }
        for m in old_members.difference(&new_members) {
            actions.push(self.delete_action(key(memberof_pk(m), &tkey))?);
        }
        actions.extend(self.copy_actions(record, version, &views, &old_views)?);
        self.transact(actions).await?;
        Ok(version)
    }

    /// Rewrites an entitlement's copies from fresh holder records.
    async fn refresh_entitlement(&self, id: &EntitlementId) -> Result<(), StoreError> {
        let ekey = entitlement_key(id);
        for _ in 0..REFRESH_ATTEMPTS {
            let probe = self.get_canonicals(&BTreeSet::from([ekey.clone()])).await?;
            let Some(current) = probe.get(&ekey) else {
                return Ok(());
            };
            let Record::Entitlement(rec) = &current.record else {
                return Ok(());
            };
            // A cancelled entitlement grants nothing whoever holds it: leave it.
            let Some(version) = rec.current.as_ref() else {
                return Ok(());
            };
            let loaded = self.load_entitlement(id, Some(&version.holder)).await?;
            match self.write_entitlement(&loaded, &current.record).await {
                Err(StoreError::VersionMismatch { .. }) => continue,
                other => return other.map(|_| ()),
            }
        }
        Err(StoreError::VersionMismatch { key: ekey })
    }

    /// Rewrites a team's member copies and copies from fresh member records, then its
    /// entitlements'.
    async fn refresh_team(&self, id: &TeamId) -> Result<(), StoreError> {
        let tkey = team_key(id);
        let mut done = false;
        for _ in 0..REFRESH_ATTEMPTS {
            let probe = self.get_canonicals(&BTreeSet::from([tkey.clone()])).await?;
            let Some(current) = probe.get(&tkey) else {
                return Ok(());
            };
            let Record::Team(rec) = &current.record else {
                return Ok(());
            };
            let loaded = self.load_team(id, &rec.members).await?;
            match self.write_team(&loaded, &current.record).await {
                Err(StoreError::VersionMismatch { .. }) => continue,
                Err(e) => return Err(e),
                Ok(_) => {
                    done = true;
                    break;
                }
            }
        }
        if !done {
            return Err(StoreError::VersionMismatch { key: tkey });
        }
        self.refresh_held_by(&Holder::Team(id.clone())).await
    }

    async fn refresh_held_by(&self, holder: &Holder) -> Result<(), StoreError> {
        for sk in self.index(&holder_index_pk(&holder_key(holder))).await? {
            if let Some(id) = sk.strip_prefix("ENT#") {
                self.refresh_entitlement(&EntitlementId::from(id)).await?;
            }
        }
        Ok(())
    }
}

impl FactStore for DynamoStore {
    async fn facts_for_email(&self, email: &Email) -> Result<Vec<Record>, StoreError> {
        self.partition(&email_pk(email.as_str()))
            .await?
            .iter()
            .map(|item| {
                serde_json::from_str(get_s(item, "doc").unwrap_or("")).map_err(|e| {
                    StoreError::Corrupt {
                        key: key_of(item),
                        reason: e.to_string(),
                    }
                })
            })
            .collect()
    }

    async fn load_for_event(&self, body: &Body) -> Result<Loaded, StoreError> {
        match body {
            Body::Entitlement(e) => self.load_entitlement(&e.id, Some(&e.holder)).await,
            Body::Cancel(id) => self.load_entitlement(id, None).await,
            Body::Member(m) => self.load_member(&m.id).await,
            Body::Team(t) => self.load_team(&t.id, &t.members).await,
        }
    }

    async fn save(&self, loaded: &Loaded, record: &Record) -> Result<Version, StoreError> {
        match record {
            Record::Entitlement(_) => self.write_entitlement(loaded, record).await,
            Record::Member(m) => {
                let version = self.write_member(loaded, record).await?;
                for sk in self.index(&memberof_pk(&m.id)).await? {
                    if let Some(t) = sk.strip_prefix("TEAM#") {
                        self.refresh_team(&TeamId::from(t)).await?;
                    }
                }
                self.refresh_held_by(&Holder::Member(m.id.clone())).await?;
                Ok(version)
            }
            Record::Team(t) => {
                let version = self.write_team(loaded, record).await?;
                self.refresh_held_by(&Holder::Team(t.id.clone())).await?;
                Ok(version)
            }
        }
    }

    async fn all_records(&self) -> Result<Vec<Record>, StoreError> {
        // Administrative only (mappings apply): the canonical record items, sk = RECORD.
        let mut out = Vec::new();
        let mut start = None;
        loop {
            let page = self
                .client
                .scan()
                .table_name(&self.table)
                .filter_expression("sk = :r")
                .expression_attribute_values(":r", s("RECORD"))
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(sdk_error)?;
            for item in page.items() {
                let record =
                    serde_json::from_str(get_s(item, "doc").unwrap_or("")).map_err(|e| {
                        StoreError::Corrupt {
                            key: key_of(item),
                            reason: e.to_string(),
                        }
                    })?;
                out.push(record);
            }
            match page.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => return Ok(out),
            }
        }
    }

    async fn canonical_record(&self, pk: &str) -> Result<Option<Record>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(pk, RECORD)))
            .consistent_read(true)
            .send()
            .await
            .map_err(sdk_error)?;
        match out.item {
            None => Ok(None),
            Some(item) => Ok(Some(parse_canonical(&item)?.record)),
        }
    }

    async fn mapping(&self) -> Result<Option<Versioned<String>>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key("MAPPING", "CURRENT")))
            .consistent_read(true)
            .send()
            .await
            .map_err(sdk_error)?;
        let Some(item) = out.item else {
            return Ok(None);
        };
        let corrupt = |reason: &str| StoreError::Corrupt {
            key: "MAPPING/CURRENT".into(),
            reason: reason.into(),
        };
        Ok(Some(Versioned {
            value: get_s(&item, "doc")
                .ok_or_else(|| corrupt("no doc"))?
                .to_string(),
            version: get_n(&item, "version").ok_or_else(|| corrupt("no version"))?,
        }))
    }

    async fn put_mapping(
        &self,
        toml: &str,
        expected: Option<Version>,
    ) -> Result<Version, StoreError> {
        let version = expected.unwrap_or(0) + 1;
        let mut item = key("MAPPING", "CURRENT");
        item.insert("doc".into(), s(toml));
        item.insert("version".into(), n(version));
        let (action, _) = self.put_action(item, Some(expected))?;
        let Some(put) = action.put else {
            return Err(StoreError::Invalid("no put".into()));
        };
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(put.item))
            .set_condition_expression(put.condition_expression)
            .set_expression_attribute_values(put.expression_attribute_values)
            .send()
            .await;
        match result {
            Ok(_) => Ok(version),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_conditional_check_failed_exception()) =>
            {
                Err(StoreError::VersionMismatch {
                    key: "MAPPING/CURRENT".into(),
                })
            }
            Err(e) => Err(sdk_error(e)),
        }
    }
}
