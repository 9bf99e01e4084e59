//! The organisation the simulator serves: one record store per v2 collection, each record a JSON
//! object with the field names of `shared/reference/platform-apis/officernd.md` §2, plus what
//! each collection allows (filters, sort fields, scope, webhook event names).
//!
//! Records are kept as JSON objects rather than typed structs on purpose: the simulator must
//! serve whatever shape a fixture gives (an absent `endDate` and `endDate: null` are different
//! observations, §2.3), and a test may add a field the reference does not list.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A JSON object: one record.
pub type Record = Map<String, Value>;

/// The v2 collections the simulator serves (reference §2; `/memberships/count`,
/// `/bookings/occurrences` and `/resources/{id}/status` are views over these).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Collection {
    /// `/members` (§2.1).
    Members,
    /// `/companies` (§2.2).
    Companies,
    /// `/memberships` (§2.3).
    Memberships,
    /// `/passes` (§2.4).
    Passes,
    /// `/bookings` (§2.5): one-off bookings and one entry per recurring series.
    Bookings,
    /// `/assignments` (§2.6).
    Assignments,
    /// `/resources` (§2.6).
    Resources,
    /// `/locations` (§2.7).
    Locations,
    /// `/floors` (§2.7).
    Floors,
    /// `/checkins` (§2.8).
    Checkins,
    /// `/checkins/visitors` (§2.8).
    VisitorCheckins,
    /// `/plans` (§2.9).
    Plans,
}

/// Every collection, in fixture order.
pub const ALL: [Collection; 12] = [
    Collection::Locations,
    Collection::Floors,
    Collection::Plans,
    Collection::Resources,
    Collection::Companies,
    Collection::Members,
    Collection::Memberships,
    Collection::Passes,
    Collection::Assignments,
    Collection::Bookings,
    Collection::Checkins,
    Collection::VisitorCheckins,
];

/// The date comparison operators of v2 filters (`field[$gte]=ISO`, reference §3).
pub const DATE_OPS: [&str; 4] = ["$gt", "$gte", "$lt", "$lte"];

impl Collection {
    /// The key in a fixture file and in admin paths (`/__admin/records/{key}`).
    pub fn key(self) -> &'static str {
        match self {
            Collection::Members => "members",
            Collection::Companies => "companies",
            Collection::Memberships => "memberships",
            Collection::Passes => "passes",
            Collection::Bookings => "bookings",
            Collection::Assignments => "assignments",
            Collection::Resources => "resources",
            Collection::Locations => "locations",
            Collection::Floors => "floors",
            Collection::Checkins => "checkins",
            Collection::VisitorCheckins => "visitorCheckins",
            Collection::Plans => "plans",
        }
    }

    /// The collection for a fixture/admin key.
    pub fn from_key(key: &str) -> Option<Collection> {
        ALL.into_iter().find(|c| c.key() == key)
    }

    /// The API path below `/api/v2/organizations/{orgSlug}`.
    pub fn path(self) -> &'static str {
        match self {
            Collection::Members => "/members",
            Collection::Companies => "/companies",
            Collection::Memberships => "/memberships",
            Collection::Passes => "/passes",
            Collection::Bookings => "/bookings",
            Collection::Assignments => "/assignments",
            Collection::Resources => "/resources",
            Collection::Locations => "/locations",
            Collection::Floors => "/floors",
            Collection::Checkins => "/checkins",
            Collection::VisitorCheckins => "/checkins/visitors",
            Collection::Plans => "/plans",
        }
    }

    /// The read scope a token needs (reference §1 "Scopes (v2)").
    pub fn read_scope(self) -> &'static str {
        match self {
            Collection::Members => "flex.community.members.read",
            Collection::Companies => "flex.community.companies.read",
            Collection::Memberships => "flex.community.memberships.read",
            Collection::Checkins | Collection::VisitorCheckins => "flex.community.checkins.read",
            Collection::Passes => "flex.space.passes.read",
            Collection::Bookings => "flex.space.bookings.read",
            Collection::Assignments => "flex.space.assignments.read",
            Collection::Resources => "flex.space.resources.read",
            Collection::Locations => "flex.space.locations.read",
            Collection::Floors => "flex.space.floors.read",
            Collection::Plans => "flex.billing.plans.read",
        }
    }

    /// Exact-match list filters (`field=value`, `field[$in]=a,b`) the reference documents
    /// (§2, per collection). Bookings and resources: no v2 filter names are documented; the
    /// ones here are the simulator's reading ([I], see the crate README).
    pub fn eq_filters(self) -> &'static [&'static str] {
        match self {
            Collection::Members => &["_id", "name", "email", "location", "company", "status"],
            Collection::Companies => &["_id", "name", "location", "status"],
            Collection::Memberships | Collection::Passes => &["company", "member"],
            Collection::Bookings => &["member", "company", "location", "resource"],
            Collection::Assignments => &["resource", "membership"],
            Collection::Resources => &["_id", "location", "type"],
            Collection::Locations => &["_id", "name", "isOpen", "isPublic"],
            Collection::Floors => &["_id", "name", "location"],
            Collection::Checkins => &["_id", "company", "member", "location", "source"],
            Collection::VisitorCheckins => {
                &["_id", "company", "member", "location", "source", "visitor"]
            }
            Collection::Plans => &["name", "code"],
        }
    }

    /// Fields with `$gt/$gte/$lt/$lte` filters as documented (§2, §3 "Date filters"):
    /// `modifiedAt` only on members, companies and floors.
    pub fn date_filters(self) -> &'static [&'static str] {
        match self {
            Collection::Members | Collection::Companies | Collection::Floors => {
                &["createdAt", "modifiedAt"]
            }
            Collection::Checkins | Collection::VisitorCheckins => &["start", "end", "createdAt"],
            _ => &[],
        }
    }

    /// Fields `$sort` accepts (§2.1, §2.2); empty = `$sort` is refused.
    pub fn sort_fields(self) -> &'static [&'static str] {
        match self {
            Collection::Members => &[
                "name",
                "email",
                "location",
                "company",
                "status",
                "modifiedAt",
            ],
            Collection::Companies => &["name", "email", "startDate"],
            _ => &[],
        }
    }

    /// Whether `properties[<key>]=<value>` filters exist (members, companies).
    pub fn properties_filter(self) -> bool {
        matches!(self, Collection::Members | Collection::Companies)
    }

    /// Whether the reference lists `createdAt`/`modifiedAt` on this record, so the simulator
    /// stamps them on changes.
    pub fn has_timestamps(self) -> bool {
        matches!(
            self,
            Collection::Members
                | Collection::Companies
                | Collection::Memberships
                | Collection::Passes
                | Collection::Bookings
                | Collection::Resources
                | Collection::Floors
        )
    }

    /// The webhook event prefix (`member` → `member.updated`), for the collections that have
    /// events (kisi-api.md §4.1; reference §5: no check-in, assignment, resource or location
    /// events).
    pub fn event_prefix(self) -> Option<&'static str> {
        match self {
            Collection::Members => Some("member"),
            Collection::Companies => Some("company"),
            Collection::Memberships => Some("membership"),
            Collection::Bookings => Some("booking"),
            Collection::Passes => Some("pass"),
            _ => None,
        }
    }

    /// The event type for a change, if OfficeRnD has one (`pass.removed` does not exist).
    pub fn event_type(self, change: Change) -> Option<String> {
        let prefix = self.event_prefix()?;
        if self == Collection::Passes && change == Change::Removed {
            return None;
        }
        Some(format!("{prefix}.{}", change.as_str()))
    }
}

impl fmt::Display for Collection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

/// The kind of change an admin call made (the webhook suffix).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// `*.created`.
    Created,
    /// `*.updated`.
    Updated,
    /// `*.removed`.
    Removed,
}

impl Change {
    /// The event-type suffix.
    pub fn as_str(self) -> &'static str {
        match self {
            Change::Created => "created",
            Change::Updated => "updated",
            Change::Removed => "removed",
        }
    }

    /// Parses an event-type suffix.
    pub fn parse(s: &str) -> Option<Change> {
        match s {
            "created" => Some(Change::Created),
            "updated" => Some(Change::Updated),
            "removed" => Some(Change::Removed),
            _ => None,
        }
    }
}

/// Whether `id` looks like a MongoDB ObjectId (24 hex digits, reference §1 "IDs").
pub fn is_object_id(id: &str) -> bool {
    id.len() == 24 && id.bytes().all(|b| b.is_ascii_hexdigit())
}

/// OfficeRnD's timestamp format (`2025-01-01T00:00:00.000Z`).
pub fn iso(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Bad fixture or admin input: the message names the collection, the record and the field.
pub use sim_common::InputError;

fn bad(msg: impl Into<String>) -> InputError {
    InputError(msg.into())
}

/// A fixture file: the organisation slug and the records of each collection, keyed as in
/// [`Collection::key`]. Unknown top-level keys are refused when the fixture is loaded
/// ([`Store::from_fixture`]) so a typo cannot silently seed nothing.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Fixture {
    /// The organisation slug served in `/api/v2/organizations/{orgSlug}`; the simulator keeps
    /// its configured slug when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org_slug: Option<String>,
    /// Sets the simulator's clock when present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub now: Option<DateTime<Utc>>,
    /// Records per collection key.
    #[serde(flatten)]
    pub records: BTreeMap<String, Vec<Value>>,
}

impl Fixture {
    /// Parses fixture JSON text.
    pub fn from_json(text: &str) -> Result<Fixture, InputError> {
        serde_json::from_str(text).map_err(|e| bad(format!("fixture: {e}")))
    }

    /// The number of records of a collection.
    pub fn count(&self, c: Collection) -> usize {
        self.records.get(c.key()).map_or(0, Vec::len)
    }
}

/// The records of every collection, plus the last state of removed records (so a `*.removed`
/// webhook can still carry the whole object, reference §5).
#[derive(Debug, Clone, Default)]
pub struct Store {
    records: BTreeMap<Collection, BTreeMap<String, Record>>,
    removed: HashMap<(Collection, String), Record>,
    next_id: u64,
}

impl Store {
    /// A store holding a validated fixture's records.
    pub fn from_fixture(fixture: &Fixture) -> Result<Store, InputError> {
        let mut store = Store::default();
        for (key, list) in &fixture.records {
            let c = Collection::from_key(key)
                .ok_or_else(|| bad(format!("fixture: unknown collection \"{key}\"")))?;
            for (i, v) in list.iter().enumerate() {
                let rec = v
                    .as_object()
                    .ok_or_else(|| bad(format!("{key}[{i}]: not a JSON object")))?;
                let id = rec
                    .get("_id")
                    .and_then(Value::as_str)
                    .ok_or_else(|| bad(format!("{key}[{i}]: missing string \"_id\"")))?;
                validate(c, rec).map_err(|e| bad(format!("{key}[{i}] ({id}): {e}")))?;
                if store.get(c, id).is_some() {
                    return Err(bad(format!("{key}[{i}]: duplicate _id {id}")));
                }
                store.put(c, rec.clone());
            }
        }
        Ok(store)
    }

    /// All records, as a fixture (for `GET /__admin/state` and round trips).
    pub fn to_fixture(&self, org_slug: &str, now: Option<DateTime<Utc>>) -> Fixture {
        let mut records = BTreeMap::new();
        for c in ALL {
            let list: Vec<Value> = self.iter(c).map(|r| Value::Object(r.clone())).collect();
            records.insert(c.key().to_owned(), list);
        }
        Fixture {
            org_slug: Some(org_slug.to_owned()),
            now,
            records,
        }
    }

    /// The records of a collection in `_id` order (creation order for ObjectIds).
    pub fn iter(&self, c: Collection) -> impl Iterator<Item = &Record> {
        self.records.get(&c).into_iter().flat_map(|m| m.values())
    }

    /// The number of records of a collection.
    pub fn len(&self, c: Collection) -> usize {
        self.records.get(&c).map_or(0, BTreeMap::len)
    }

    /// Whether the store holds no record at all.
    pub fn is_empty(&self) -> bool {
        self.records.values().all(BTreeMap::is_empty)
    }

    /// One record by id.
    pub fn get(&self, c: Collection, id: &str) -> Option<&Record> {
        self.records.get(&c)?.get(id)
    }

    /// The last state of a removed record.
    pub fn removed(&self, c: Collection, id: &str) -> Option<&Record> {
        self.removed.get(&(c, id.to_owned()))
    }

    /// Inserts or replaces a record (its `_id` must be set).
    pub fn put(&mut self, c: Collection, rec: Record) {
        if let Some(id) = rec.get("_id").and_then(Value::as_str) {
            let id = id.to_owned();
            self.removed.remove(&(c, id.clone()));
            self.records.entry(c).or_default().insert(id, rec);
        }
    }

    /// Removes a record (a hard delete: it 404s and leaves every list); returns it.
    pub fn remove(&mut self, c: Collection, id: &str) -> Option<Record> {
        let rec = self.records.get_mut(&c)?.remove(id)?;
        self.removed.insert((c, id.to_owned()), rec.clone());
        Some(rec)
    }

    /// A new ObjectId: the unix time of `now` followed by a counter, so ids made later sort
    /// later (as MongoDB's do).
    pub fn new_id(&mut self, now: DateTime<Utc>) -> String {
        loop {
            self.next_id += 1;
            let secs = u32::try_from(now.timestamp().max(0)).unwrap_or(u32::MAX);
            let id = format!("{secs:08x}ffff{:012x}", self.next_id);
            if self.records.values().all(|m| !m.contains_key(&id)) {
                return id;
            }
        }
    }
}

/// The checks every stored record passes, fixture or admin: a 24-hex `_id`, date fields that
/// parse, and (bookings) a recurrence the simulator can expand.
pub fn validate(c: Collection, rec: &Record) -> Result<(), InputError> {
    let id = rec.get("_id").and_then(Value::as_str).unwrap_or_default();
    if !is_object_id(id) {
        return Err(bad(format!("\"_id\" {id:?} is not a 24-hex ObjectId")));
    }
    for field in [
        "createdAt",
        "modifiedAt",
        "start",
        "end",
        "startDate",
        "endDate",
        "validFrom",
        "validTo",
    ] {
        match rec.get(field) {
            None | Some(Value::Null) => {}
            Some(Value::String(s)) if DateTime::parse_from_rfc3339(s).is_ok() => {}
            Some(other) => {
                return Err(bad(format!(
                    "\"{field}\" must be an ISO 8601 date-time string, got {other}"
                )));
            }
        }
    }
    if c == Collection::Bookings {
        crate::recur::Series::from_booking(rec).map_err(|e| bad(e.0))?;
    }
    Ok(())
}

/// JSON merge patch (RFC 7396) of `patch` into `target`: `null` removes a field, objects merge
/// recursively, anything else replaces.
pub fn merge_patch(target: &mut Record, patch: &Record) {
    for (k, v) in patch {
        match v {
            Value::Null => {
                target.remove(k);
            }
            Value::Object(p) => {
                let slot = target
                    .entry(k.clone())
                    .or_insert_with(|| Value::Object(Map::new()));
                if let Value::Object(t) = slot {
                    merge_patch(t, p);
                } else {
                    *slot = Value::Object(p.clone());
                }
            }
            other => {
                target.insert(k.clone(), other.clone());
            }
        }
    }
}
