//! The facts store: the latest member, team and entitlement records the rules work on
//! (`access_sync_rules::facts`), and the mapping document.
//!
//! Two questions shape it:
//! - **converge** asks, for one e-mail, for every record that can give that address access:
//!   the members with the address, the teams containing them, the entitlements held by those
//!   members and teams, and the entitlements naming the address as a guest. One call,
//!   [`FactStore::facts_for_email`], feeds `Facts::from_records`;
//! - **applying one event** is a read-modify-write: [`FactStore::load_for_event`] reads the
//!   record the event changes plus what `Facts::apply` needs to tell which pairs change (for
//!   an entitlement: its holder), the handler runs `Facts::apply`, and [`FactStore::save`]
//!   writes the resulting record back only if nothing it read has changed meanwhile
//!   (optimistic concurrency: `VersionMismatch` → load again and re-apply).
//!
//! The mapping document is stored as the operator's TOML text (the handler parses it with
//! `Mappings::parse`, so a stored mapping is validated exactly like a file) with a version.

use crate::store::{StoreError, Version, Versioned};
use access_sync_rules::event::Body;
use access_sync_rules::facts::Record;
use access_sync_rules::{Email, EntitlementId, Holder, MemberId, TeamId};
use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;

/// The store key of a record: `MEMBER#<id>`, `TEAM#<id>` or `ENT#<id>`.
pub fn record_key(record: &Record) -> String {
    match record {
        Record::Member(m) => member_key(&m.id),
        Record::Team(t) => team_key(&t.id),
        Record::Entitlement(e) => entitlement_key(&e.id),
    }
}

/// `MEMBER#<id>`.
pub fn member_key(id: &MemberId) -> String {
    format!("MEMBER#{id}")
}

/// `TEAM#<id>`.
pub fn team_key(id: &TeamId) -> String {
    format!("TEAM#{id}")
}

/// `ENT#<id>`.
pub fn entitlement_key(id: &EntitlementId) -> String {
    format!("ENT#{id}")
}

/// `member:<id>` / `team:<id>`: a holder as it appears in index keys.
pub fn holder_key(holder: &Holder) -> String {
    match holder {
        Holder::Member(m) => format!("member:{m}"),
        Holder::Team(t) => format!("team:{t}"),
    }
}

/// What [`FactStore::load_for_event`] read: the records to build `Facts` from, and the
/// store's bookkeeping to write the result back.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Loaded {
    /// Records for `Facts::from_records`: the record the event changes (if stored) and its
    /// neighbourhood. Later records replace earlier ones with the same id.
    pub records: Vec<Record>,
    /// Every record read fresh from its own item, by [`record_key`]: `Some(version)`, or
    /// `None` when it was read as not existing. [`FactStore::save`] requires the saved record
    /// (and, for an entitlement, its holder) to be here and unchanged. Records in `records`
    /// but not here are copies carried by other items, for context only.
    pub versions: BTreeMap<String, Option<Version>>,
    /// Store bookkeeping: where copies of each loaded record live (by [`record_key`]; for the
    /// DynamoDB store, the e-mails whose partition holds a copy). Opaque to handlers.
    pub views: BTreeMap<String, BTreeSet<String>>,
}

/// Store of the facts the rules need.
pub trait FactStore: Send + Sync {
    /// Every record that can give `email` access (see the module docs), in one round trip.
    ///
    /// # Errors
    /// `Unavailable`; `Corrupt` if a stored record cannot be read.
    fn facts_for_email(
        &self,
        email: &Email,
    ) -> impl Future<Output = Result<Vec<Record>, StoreError>> + Send;

    /// Reads what applying an event with this body needs. For an entitlement event this is
    /// one round trip (the entitlement and its holder); for a cancel, one (the entitlement
    /// carries a copy of its holder); member and team events read their neighbourhood in a
    /// few more.
    ///
    /// # Errors
    /// `Unavailable`; `Corrupt`.
    fn load_for_event(
        &self,
        body: &Body,
    ) -> impl Future<Output = Result<Loaded, StoreError>> + Send;

    /// Writes `record` (as returned by `Facts::apply` on `loaded.records`) if neither it nor
    /// the records it was derived from changed since `loaded` was read; returns its new
    /// version. An entitlement is one round trip. A member or team save also refreshes the
    /// copies of the teams and entitlements that depend on it (more round trips; replaying
    /// the save completes an interrupted refresh).
    ///
    /// # Errors
    /// `VersionMismatch` naming the record that moved: load again and re-apply the event.
    /// `Invalid` when the record's holder was not loaded (an entitlement that changed holder
    /// must be loaded with the new holder). `Unavailable`.
    fn save(
        &self,
        loaded: &Loaded,
        record: &Record,
    ) -> impl Future<Output = Result<Version, StoreError>> + Send;

    /// One canonical record by its key (`MEMBER#<id>`, `TEAM#<id>`, `ENT#<id>`; see
    /// [`member_key`], [`team_key`], [`entitlement_key`]), read consistently in one round trip
    /// (a `GetItem` in DynamoDB); `None` when it was never stored. This is all the public
    /// `ingest` function may read of a record (its IAM policy names these partitions only).
    ///
    /// # Errors
    /// `Unavailable`; `Corrupt`.
    fn canonical_record(
        &self,
        key: &str,
    ) -> impl Future<Output = Result<Option<Record>, StoreError>> + Send;

    /// Every stored record. An administrative read (a table scan in DynamoDB) for
    /// `mappings apply`, which must know everyone a mapping change affects; never on the
    /// event, edge or reconcile path.
    ///
    /// # Errors
    /// `Unavailable`; `Corrupt`.
    fn all_records(&self) -> impl Future<Output = Result<Vec<Record>, StoreError>> + Send;

    /// The mapping document (TOML text) and its version; `None` before the first upload.
    ///
    /// # Errors
    /// `Unavailable`; `Corrupt`.
    fn mapping(&self)
    -> impl Future<Output = Result<Option<Versioned<String>>, StoreError>> + Send;

    /// Replaces the mapping document if it is still at `expected` (`None`: must not exist).
    ///
    /// # Errors
    /// `VersionMismatch`; `Unavailable`.
    fn put_mapping(
        &self,
        toml: &str,
        expected: Option<Version>,
    ) -> impl Future<Output = Result<Version, StoreError>> + Send;
}

/// The in-memory fact store's state: every record with its version, and the mapping.
#[cfg(any(test, feature = "testing"))]
#[derive(Debug, Default)]
pub(crate) struct MemoryFacts {
    pub(crate) records: BTreeMap<String, Versioned<Record>>,
    pub(crate) mapping: Option<Versioned<String>>,
}

#[cfg(any(test, feature = "testing"))]
impl MemoryFacts {
    /// The neighbourhood of one e-mail, computed from all records (the in-memory store is
    /// small; the DynamoDB store keeps per-e-mail copies instead).
    pub(crate) fn for_email(&self, email: &Email) -> Vec<Record> {
        let all =
            access_sync_rules::Facts::from_records(self.records.values().map(|v| v.value.clone()));
        let mut keys = BTreeSet::new();
        let mut holders: Vec<Holder> = Vec::new();
        for m in all.members_with_email(email) {
            keys.insert(member_key(m));
            holders.push(Holder::Member(m.clone()));
            for t in all.teams_of(m) {
                keys.insert(team_key(t));
                holders.push(Holder::Team(t.clone()));
            }
        }
        for h in &holders {
            keys.extend(all.held_by(h).iter().map(entitlement_key));
        }
        keys.extend(all.guest_of(email).iter().map(entitlement_key));
        keys.iter()
            .filter_map(|k| self.records.get(k).map(|v| v.value.clone()))
            .collect()
    }

    /// Checks the versions in `loaded` for `record` and stores it.
    pub(crate) fn save(&mut self, loaded: &Loaded, record: &Record) -> Result<Version, StoreError> {
        let key = record_key(record);
        let Some(expected) = loaded.versions.get(&key).copied() else {
            return Err(StoreError::Invalid(format!("{key} was not loaded")));
        };
        let found = self.records.get(&key).map(|v| v.version);
        if found != expected {
            return Err(StoreError::VersionMismatch { key });
        }
        let version = expected.unwrap_or(0) + 1;
        self.records.insert(
            key,
            Versioned {
                value: record.clone(),
                version,
            },
        );
        Ok(version)
    }

    /// Every record and its version (the in-memory store loads everything for an event),
    /// plus the record the event names as not existing if it is new.
    pub(crate) fn load(&self, body: &Body) -> Loaded {
        let named = match body {
            Body::Member(m) => member_key(&m.id),
            Body::Team(t) => team_key(&t.id),
            Body::Entitlement(e) => entitlement_key(&e.id),
            Body::Cancel(id) => entitlement_key(id),
        };
        let mut loaded = Loaded {
            records: self.records.values().map(|v| v.value.clone()).collect(),
            versions: self
                .records
                .iter()
                .map(|(k, v)| (k.clone(), Some(v.version)))
                .collect(),
            views: BTreeMap::new(),
        };
        loaded.versions.entry(named).or_insert(None);
        loaded
    }
}
