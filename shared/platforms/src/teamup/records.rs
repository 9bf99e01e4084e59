//! TeamUp *records* (objects as its `/api/v2` returns them, with the joins the client adds) →
//! canonical events: the mapping the import, the scheduled re-sync and the re-read of a
//! webhook nudge share ([`super::Teamup`]'s `map_records`).
//!
//! Facts are from `../shared/reference/platform-apis/teamup.md` (§n below); every field read
//! here is listed with its section and mark in `events/teamup/README.md` ("API records").
//! Pure: no clock (`now` is the sync's instant), no I/O.
//!
//! | collection (§2) | canonical |
//! |---|---|
//! | `customers` | member `<id>` with `email`, `first_name` + `last_name`; `deleted_at` set → removed. A customer read by id for a re-read also carries `_memberships`, `_attendances`, `_registration_blocks`, mapped as below |
//! | `customer_memberships` | entitlement `teamup:membership:<id>`, kind plan, ref `plan:<membership>` (the catalogue id), holder `customer`, `start_date` – day after `expiration_date`; and for every other customer in `_shared_with` (a shared/family membership), `teamup:membership:<id>/shared:<customer>`, the same with that holder |
//! | `customer_registration_blocks` | which customers are blocked (`is_active` and no `deactivated_at`) |
//! | `customer_membership_holds` | which holds are in force (`active`, `start_date` ≤ today ≤ `end_date`) |
//! | `attendances` | entitlement `teamup:registration:<id>`, kind registration, ref `registration:<offering_type>` of its event, holder `customer`, the event's `starts_at`–`ends_at` (lead and lag from the mapping: TeamUp's "access duration") |
//! | `course_session_attendances` | entitlement `teamup:course-registration:<id>`, kind registration, ref `registration:course-<course>`, the session's `starts_at`–`ends_at` |
//! | `events`, `course_sessions` | what attendances name by id (joined) |
//! | `venues`, `memberships`, `courses` | nothing (read for completeness and the joins) |
//!
//! Status (§2.2, decisions [I] also in the README):
//! - `active` grants — as `blocked` when the holder has an active registration block (TeamUp's
//!   "blocked" customers, §2.3: whether Kisi access goes with them is the mapping's `blocked`
//!   policy, per mapping or the global default);
//! - `hold`, or an `active_hold` naming a hold in force: `pending` (grants nothing, whatever
//!   the blocked policy: a held membership is paused, not unpaid);
//! - `completed`, or a report row's `completed_at`, on a pack: `exhausted` (a used-up pack);
//!   on a plan, or of unknown type: the membership ended (cancel);
//! - `cancelled`: cancel. Dates are plain dates (§6: zone and inclusiveness undocumented):
//!   read as UTC days, `expiration_date` inclusive (access until the next UTC midnight) — the
//!   generous reading of both.
//! - Attendances: `registered`, `attended` grant (a waitlisted one, `on_waitlist` in a nested
//!   object, is `pending`); `not_registered`, `late_cancelled`, `no_show`, `cancelled`, or
//!   an event whose `status` is `cancelled`: cancel.

use crate::api::{ApiRecord, Kept, Mapped, Unmapped};
use crate::out::events_at;
use access_sync_rules::event::MemberEvent;
use access_sync_rules::{
    Body, Email, Entitlement, EntitlementId, Holder, Instant, Kind, MemberId, Ref, Source, Status,
};
use chrono::{NaiveDate, NaiveTime};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// The collections the mapping reads, in the order a sync lists them (the client's
/// `access_sync_sources::teamup::NAMES`).
pub const COLLECTIONS: [&str; 11] = [
    "venues",
    "memberships",
    "customers",
    "customer_memberships",
    "customer_membership_holds",
    "customer_registration_blocks",
    "events",
    "attendances",
    "courses",
    "course_sessions",
    "course_session_attendances",
];

/// An id as TeamUp writes it: a number, a string, or an expanded object's `id`.
fn id_of(v: &Value) -> Option<String> {
    match v {
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::Object(o) => o.get("id").and_then(id_of),
        _ => None,
    }
}

fn field_id(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(id_of)
}

fn text<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

fn list<'a>(v: &'a Value, key: &str) -> &'a [Value] {
    v.get(key)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

fn date(v: &Value, key: &str) -> Result<Option<NaiveDate>, String> {
    match text(v, key) {
        None => Ok(None),
        Some(s) => NaiveDate::parse_from_str(s.get(..10).unwrap_or(s), "%Y-%m-%d")
            .map(Some)
            .map_err(|_| format!("{key} is not a date")),
    }
}

fn instant(v: &Value, key: &str) -> Result<Instant, String> {
    let s = text(v, key).ok_or_else(|| format!("no {key}"))?;
    chrono::DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&chrono::Utc))
        .map_err(|_| format!("{key} is not an RFC 3339 instant"))
}

fn day_start(d: NaiveDate) -> Instant {
    d.and_time(NaiveTime::MIN).and_utc()
}

/// What the records say about each other.
#[derive(Default)]
struct Index<'a> {
    /// Customers with an active registration block.
    blocked: BTreeSet<String>,
    /// Hold id → (start, end) of holds that are active.
    holds: BTreeMap<String, (Option<NaiveDate>, Option<NaiveDate>)>,
    /// Event / course-session id → record.
    events: BTreeMap<String, &'a Value>,
    sessions: BTreeMap<String, &'a Value>,
    /// Catalogue id → type.
    types: BTreeMap<String, &'a str>,
}

fn block_active(b: &Value) -> bool {
    b.get("is_active").and_then(Value::as_bool) != Some(false)
        && b.get("deactivated_at").is_none_or(Value::is_null)
}

impl<'a> Index<'a> {
    fn build(records: &[ApiRecord<'a>]) -> Index<'a> {
        let mut ix = Index::default();
        for r in records {
            let b = r.body;
            match r.collection {
                "customer_registration_blocks" if block_active(b) => {
                    ix.blocked.extend(field_id(b, "customer"));
                }
                "customers" => {
                    for bl in list(b, "_registration_blocks") {
                        if block_active(bl) {
                            ix.blocked
                                .extend(field_id(bl, "customer").or_else(|| field_id(b, "id")));
                        }
                    }
                }
                "customer_membership_holds" => {
                    if b.get("active").and_then(Value::as_bool) == Some(true)
                        && let Some(id) = field_id(b, "id")
                    {
                        let s = date(b, "start_date").ok().flatten();
                        let e = date(b, "end_date").ok().flatten();
                        ix.holds.insert(id, (s, e));
                    }
                }
                "events" => {
                    if let Some(id) = field_id(b, "id") {
                        ix.events.insert(id, b);
                    }
                }
                "course_sessions" => {
                    if let Some(id) = field_id(b, "id") {
                        ix.sessions.insert(id, b);
                    }
                }
                "memberships" => {
                    if let (Some(id), Some(t)) = (field_id(b, "id"), text(b, "type")) {
                        ix.types.insert(id, t);
                    }
                }
                _ => {}
            }
        }
        ix
    }
}

fn reference(source: Source, id: String) -> Ref {
    Ref { source, id }
}

fn entitlement(id: String, kind: Kind, refs: Vec<Ref>, holder: &str) -> Entitlement {
    Entitlement {
        id: EntitlementId(id),
        kind,
        refs,
        holder: Holder::Member(MemberId(holder.to_string())),
        guests: Vec::new(),
        start: None,
        end: None,
        blocks: Vec::new(),
        tz: None,
        status: Status::Active,
    }
}

/// What a record of `collection` with id `id` stands for among the stored facts when it is
/// listed but cannot be read: kept as stored, neither ended nor counted by the sync's brake
/// (`Kept`; as OfficeRnD's). The ids are those the mapping below gives each record (a shared
/// membership's per-sharer entitlements are under its id).
fn keep(kept: &mut Kept, collection: &str, id: &str) {
    match collection {
        "customers" => kept.keep_member(id),
        "customer_memberships" => kept.keep_entitlement(format!("teamup:membership:{id}")),
        "attendances" => kept.keep_entitlement(format!("teamup:registration:{id}")),
        "course_session_attendances" => {
            kept.keep_entitlement(format!("teamup:course-registration:{id}"));
        }
        _ => {}
    }
}

/// Maps records read from TeamUp's API to canonical events at the sync's instant `now`.
/// Event ids are a hash of the content, so the same records give the same ids.
pub fn events_from_records(records: &[ApiRecord<'_>], now: Instant) -> Mapped {
    let ix = Index::build(records);
    let mut bodies: Vec<Body> = Vec::new();
    let mut unmapped = Vec::new();
    let mut kept = Kept::default();
    let mut fail = |collection: &str, id: &str, reason: String| {
        keep(&mut kept, collection, id);
        unmapped.push(Unmapped {
            collection: collection.to_string(),
            id: id.to_string(),
            reason,
        });
    };
    for r in records {
        let b = r.body;
        let result = match r.collection {
            "customers" => {
                let mut out = Vec::new();
                match customer(b) {
                    Ok(m) => out.push(m),
                    Err(e) => fail(r.collection, r.id, e),
                }
                // A customer read for a re-read carries what decides its access.
                for m in list(b, "_memberships") {
                    let id = field_id(m, "id").unwrap_or_default();
                    match membership(&ix, m, now) {
                        Ok(bs) => out.extend(bs),
                        Err(e) => fail("customer_memberships", &id, e),
                    }
                }
                for a in list(b, "_attendances") {
                    let id = field_id(a, "id").unwrap_or_default();
                    match attendance(&ix, a) {
                        Ok(bs) => out.extend(bs),
                        Err(e) => fail("attendances", &id, e),
                    }
                }
                Ok(out)
            }
            "customer_memberships" => membership(&ix, b, now),
            "attendances" => attendance(&ix, b),
            "course_session_attendances" => session_attendance(&ix, b),
            "venues"
            | "memberships"
            | "customer_membership_holds"
            | "customer_registration_blocks"
            | "events"
            | "courses"
            | "course_sessions" => Ok(Vec::new()),
            other => Err(format!("unknown collection {other:?}")),
        };
        match result {
            Ok(bs) => bodies.extend(bs),
            Err(reason) => fail(r.collection, r.id, reason),
        }
    }
    Mapped {
        events: events_at(bodies, "teamup", now),
        unmapped,
        kept,
    }
}

fn customer(b: &Value) -> Result<Body, String> {
    let id = field_id(b, "id").ok_or("no id")?;
    let name = format!(
        "{} {}",
        text(b, "first_name").unwrap_or(""),
        text(b, "last_name").unwrap_or("")
    );
    Ok(Body::Member(MemberEvent {
        id: MemberId(id),
        email: text(b, "email").and_then(Email::parse),
        name: Some(name.trim().to_string()).filter(|n| !n.is_empty()),
        removed: b.get("deleted_at").is_some_and(|d| !d.is_null()),
    }))
}

/// The catalogue type of a membership: the expanded record's `type`, the report row's, or
/// the listed catalogue's.
fn membership_type<'a>(ix: &Index<'a>, b: &'a Value) -> Option<&'a str> {
    b.get("membership")
        .and_then(|m| text(m, "type"))
        .or_else(|| text(b, "type"))
        .or_else(|| field_id(b, "membership").and_then(|m| ix.types.get(&m).copied()))
}

/// Whether a customer is blocked: the record's own `_blocked_customers` (read with it) when
/// the client joined them, else the listed blocks.
fn is_blocked(ix: &Index<'_>, b: &Value, customer: &str) -> bool {
    match b.get("_blocked_customers").and_then(Value::as_array) {
        Some(list) => list.iter().any(|c| id_of(c).as_deref() == Some(customer)),
        None => ix.blocked.contains(customer),
    }
}

fn on_hold(ix: &Index<'_>, b: &Value, today: NaiveDate) -> bool {
    let Some(h) = field_id(b, "active_hold") else {
        return false;
    };
    // An expanded hold carries its own dates; a bare id is looked up in the listed holds, and
    // a hold we cannot see is taken as in force (TeamUp set `active_hold`).
    let (active, s, e) = match b.get("active_hold") {
        Some(o @ Value::Object(_)) => (
            o.get("active").and_then(Value::as_bool) != Some(false),
            date(o, "start_date").ok().flatten(),
            date(o, "end_date").ok().flatten(),
        ),
        _ => match ix.holds.get(&h) {
            Some((s, e)) => (true, *s, *e),
            None => (true, None, None),
        },
    };
    active && s.is_none_or(|s| s <= today) && e.is_none_or(|e| today <= e)
}

fn membership(ix: &Index<'_>, b: &Value, now: Instant) -> Result<Vec<Body>, String> {
    let id = field_id(b, "id").ok_or("no id")?;
    let eid = format!("teamup:membership:{id}");
    let status = text(b, "status").ok_or("no status")?;
    let pack = membership_type(ix, b) == Some("pack");
    let completed = status == "completed" || b.get("completed_at").is_some_and(|c| !c.is_null());
    let st = match status {
        "cancelled" | "upgraded" | "downgraded" => {
            return Ok(vec![Body::Cancel(EntitlementId(eid))]);
        }
        _ if completed && !pack => return Ok(vec![Body::Cancel(EntitlementId(eid))]),
        _ if completed => Status::Exhausted,
        "hold" => Status::Pending,
        "active" if on_hold(ix, b, now.date_naive()) => Status::Pending,
        "active" => Status::Active,
        other => return Err(format!("unknown status {other:?}")),
    };
    let plan = field_id(b, "membership").ok_or("no membership")?;
    let owner = field_id(b, "customer").ok_or("no customer")?;
    let start = date(b, "start_date")?.map(day_start);
    let end = date(b, "expiration_date")?
        .and_then(|d| d.succ_opt())
        .map(day_start);
    if let (Some(s), Some(e)) = (start, end)
        && e <= s
    {
        return Err("expiration_date is before start_date".into());
    }
    let mut holders: Vec<(String, String)> = vec![(eid.clone(), owner.clone())];
    for c in list(b, "_shared_with").iter().filter_map(id_of) {
        if c != owner && !holders.iter().any(|(_, h)| *h == c) {
            holders.push((format!("{eid}/shared:{c}"), c));
        }
    }
    Ok(holders
        .into_iter()
        .map(|(eid, holder)| {
            let mut e = entitlement(
                eid,
                Kind::Plan,
                vec![reference(Source::Plan, plan.clone())],
                &holder,
            );
            (e.start, e.end) = (start, end);
            e.status = if st == Status::Active && is_blocked(ix, b, &holder) {
                Status::Blocked
            } else {
                st
            };
            Body::Entitlement(e)
        })
        .collect())
}

/// Registration status → `Some(status)` to grant or hold, `None` to cancel.
fn registration_status(b: &Value) -> Result<Option<Status>, String> {
    let waitlisted = b
        .as_object()
        .into_iter()
        .flat_map(|o| o.values())
        .any(|v| v.get("status").and_then(Value::as_str) == Some("on_waitlist"));
    match text(b, "status").unwrap_or("registered") {
        "registered" | "attended" | "plans_to_attend" if waitlisted => Ok(Some(Status::Pending)),
        "registered" | "attended" | "plans_to_attend" => Ok(Some(Status::Active)),
        "not_registered" | "late_cancelled" | "no_show" | "cancelled" => Ok(None),
        other => Err(format!("unknown status {other:?}")),
    }
}

/// The object a record names under `key`: expanded in the record, or listed.
fn joined<'a>(
    b: &'a Value,
    key: &str,
    listed: &BTreeMap<String, &'a Value>,
) -> Result<&'a Value, String> {
    match b.get(key) {
        Some(o @ Value::Object(m)) if m.contains_key("starts_at") => Ok(o),
        Some(v) => {
            let id = id_of(v).ok_or_else(|| format!("no {key}"))?;
            listed
                .get(&id)
                .copied()
                .ok_or_else(|| format!("{key} {id} was not read with it"))
        }
        None => Err(format!("no {key}")),
    }
}

fn attendance(ix: &Index<'_>, b: &Value) -> Result<Vec<Body>, String> {
    let id = field_id(b, "id").ok_or("no id")?;
    let eid = format!("teamup:registration:{id}");
    let Some(st) = registration_status(b)? else {
        return Ok(vec![Body::Cancel(EntitlementId(eid))]);
    };
    let event = joined(b, "event", &ix.events)?;
    if text(event, "status") == Some("cancelled") {
        return Ok(vec![Body::Cancel(EntitlementId(eid))]);
    }
    let offering = field_id(event, "offering_type")
        .or_else(|| field_id(b, "offering_type"))
        .ok_or("the event has no offering_type")?;
    let holder = field_id(b, "customer").ok_or("no customer")?;
    let (start, end) = (instant(event, "starts_at")?, instant(event, "ends_at")?);
    if end < start {
        return Err("the event ends before it starts".into());
    }
    let mut e = entitlement(
        eid,
        Kind::Registration,
        vec![reference(Source::Registration, offering)],
        &holder,
    );
    (e.start, e.end, e.status) = (Some(start), Some(end), st);
    Ok(vec![Body::Entitlement(e)])
}

fn session_attendance(ix: &Index<'_>, b: &Value) -> Result<Vec<Body>, String> {
    let id = field_id(b, "id").ok_or("no id")?;
    let eid = format!("teamup:course-registration:{id}");
    let Some(st) = registration_status(b)? else {
        return Ok(vec![Body::Cancel(EntitlementId(eid))]);
    };
    let session = joined(b, "course_session", &ix.sessions)?;
    if text(session, "status") == Some("cancelled") {
        return Ok(vec![Body::Cancel(EntitlementId(eid))]);
    }
    let course = field_id(session, "course").ok_or("the session has no course")?;
    let holder = field_id(b, "customer").ok_or("no customer")?;
    let (start, end) = (instant(session, "starts_at")?, instant(session, "ends_at")?);
    if end < start {
        return Err("the session ends before it starts".into());
    }
    let mut e = entitlement(
        eid,
        Kind::Registration,
        vec![reference(Source::Registration, format!("course-{course}"))],
        &holder,
    );
    (e.start, e.end, e.status) = (Some(start), Some(end), st);
    Ok(vec![Body::Entitlement(e)])
}

/// Whether a complete full listing contains entitlement `id` if it still exists: customer
/// memberships (and their shares) are listed in full; registrations only in a time window, so
/// their absence proves nothing (they end by their own `end`).
pub fn covers(id: &EntitlementId) -> bool {
    id.as_str().starts_with("teamup:membership:")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn now() -> Instant {
        "2026-12-03T12:00:00Z".parse().unwrap()
    }

    fn map(records: &[(&str, Value)]) -> Mapped {
        let api: Vec<ApiRecord<'_>> = records
            .iter()
            .map(|(c, b)| ApiRecord {
                collection: c,
                id: "x",
                body: b,
            })
            .collect();
        events_from_records(&api, now())
    }

    fn ent(m: &Mapped, id: &str) -> Option<Entitlement> {
        m.events.iter().find_map(|e| match &e.body {
            Body::Entitlement(x) if x.id.as_str() == id => Some(x.clone()),
            _ => None,
        })
    }

    fn cancelled(m: &Mapped, id: &str) -> bool {
        m.events
            .iter()
            .any(|e| matches!(&e.body, Body::Cancel(x) if x.as_str() == id))
    }

    fn cm(id: i64, status: &str, extra: Value) -> Value {
        let mut v = json!({"id": id, "status": status, "membership": {"id": 1, "type": "recurring_plan"},
            "customer": 4312, "start_date": "2026-11-01", "expiration_date": "2026-12-31", "active_hold": null});
        for (k, x) in extra.as_object().unwrap() {
            v[k] = x.clone();
        }
        v
    }

    #[test]
    fn statuses_hold_packs_and_blocks() {
        let m = map(&[
            ("customer_memberships", cm(1, "active", json!({}))),
            ("customer_memberships", cm(2, "hold", json!({}))),
            (
                "customer_memberships",
                cm(
                    3,
                    "completed",
                    json!({"membership": {"id": 2, "type": "pack"}}),
                ),
            ),
            ("customer_memberships", cm(4, "completed", json!({}))),
            ("customer_memberships", cm(5, "cancelled", json!({}))),
            (
                "customer_memberships",
                cm(6, "active", json!({"customer": 77})),
            ),
            (
                "customer_memberships",
                cm(7, "active", json!({"active_hold": 9})),
            ),
            (
                "customer_membership_holds",
                json!({"id": 9, "active": true, "start_date": "2026-12-01", "end_date": "2026-12-20"}),
            ),
            (
                "customer_registration_blocks",
                json!({"id": 3, "customer": 77, "is_active": true, "deactivated_at": null}),
            ),
        ]);
        assert!(m.unmapped.is_empty(), "{:?}", m.unmapped);
        let a = ent(&m, "teamup:membership:1").unwrap();
        assert_eq!(a.status, Status::Active);
        assert_eq!(a.refs, vec![reference(Source::Plan, "1".into())]);
        assert_eq!(a.start, Some("2026-11-01T00:00:00Z".parse().unwrap()));
        assert_eq!(
            a.end,
            Some("2027-01-01T00:00:00Z".parse().unwrap()),
            "expiration inclusive"
        );
        assert_eq!(
            ent(&m, "teamup:membership:2").unwrap().status,
            Status::Pending
        );
        assert_eq!(
            ent(&m, "teamup:membership:3").unwrap().status,
            Status::Exhausted
        );
        assert!(cancelled(&m, "teamup:membership:4") && cancelled(&m, "teamup:membership:5"));
        assert_eq!(
            ent(&m, "teamup:membership:6").unwrap().status,
            Status::Blocked
        );
        assert_eq!(
            ent(&m, "teamup:membership:7").unwrap().status,
            Status::Pending
        );
        assert!(covers(&EntitlementId(
            "teamup:membership:1/shared:2".into()
        )));
        assert!(!covers(&EntitlementId("teamup:registration:1".into())));
    }

    #[test]
    fn a_shared_membership_reaches_every_customer_it_is_shared_with() {
        let m = map(&[(
            "customer_memberships",
            cm(
                1,
                "active",
                json!({"_shared_with": ["4312", "4313", 4314], "_blocked_customers": ["4314"]}),
            ),
        )]);
        assert_eq!(
            ent(&m, "teamup:membership:1").unwrap().status,
            Status::Active
        );
        let s = ent(&m, "teamup:membership:1/shared:4313").unwrap();
        assert_eq!(s.holder, Holder::Member(MemberId("4313".into())));
        assert_eq!(s.status, Status::Active);
        assert_eq!(
            ent(&m, "teamup:membership:1/shared:4314").unwrap().status,
            Status::Blocked
        );
        assert!(
            ent(&m, "teamup:membership:1/shared:4312").is_none(),
            "the owner once"
        );
    }

    #[test]
    fn attendances_from_lists_expansions_and_report_rows() {
        let ev = json!({"id": 901, "starts_at": "2026-12-07T18:00:00Z", "ends_at": "2026-12-07T19:00:00Z", "status": "active", "offering_type": 31});
        let m = map(&[
            ("events", ev.clone()),
            (
                "attendances",
                json!({"id": 1, "customer": 4312, "event": 901, "status": "registered"}),
            ),
            (
                "attendances",
                json!({"id": 2, "customer": {"id": 4313}, "event": ev, "status": "attended"}),
            ),
            // A report row: event without offering_type, offering_type beside it.
            (
                "attendances",
                json!({"id": 3, "customer": {"id": 4314, "name": "x", "email": "x@y.z"},
                "event": {"id": 902, "starts_at": "2026-12-08T18:00:00Z", "ends_at": "2026-12-08T19:00:00Z", "name": "B"},
                "offering_type": 32, "status": "late_cancelled"}),
            ),
            (
                "attendances",
                json!({"id": 4, "customer": 4312, "event": 901, "status": "registered", "waitlist": {"status": "on_waitlist"}}),
            ),
            (
                "attendances",
                json!({"id": 5, "customer": 4312, "event": 999, "status": "registered"}),
            ),
        ]);
        let a = ent(&m, "teamup:registration:1").unwrap();
        assert_eq!((a.kind, a.status), (Kind::Registration, Status::Active));
        assert_eq!(a.refs, vec![reference(Source::Registration, "31".into())]);
        assert_eq!(a.start, Some("2026-12-07T18:00:00Z".parse().unwrap()));
        assert_eq!(
            ent(&m, "teamup:registration:2").unwrap().holder,
            Holder::Member(MemberId("4313".into()))
        );
        assert!(cancelled(&m, "teamup:registration:3"));
        assert_eq!(
            ent(&m, "teamup:registration:4").unwrap().status,
            Status::Pending
        );
        assert_eq!(
            m.unmapped.len(),
            1,
            "event 999 was not read: {:?}",
            m.unmapped
        );
    }

    #[test]
    fn a_customer_read_for_a_re_read_maps_what_it_embeds() {
        let m = map(&[(
            "customers",
            json!({"id": 4312, "email": "Ann@Example.com", "first_name": "Ann", "last_name": "Lee",
                "_memberships": [cm(1, "active", json!({"_blocked_customers": []}))],
                "_attendances": [], "_registration_blocks": []}),
        )]);
        assert!(m.events.iter().any(|e| matches!(&e.body, Body::Member(x) if x.id.0 == "4312" && x.name.as_deref() == Some("Ann Lee"))));
        assert_eq!(
            ent(&m, "teamup:membership:1").unwrap().status,
            Status::Active
        );
        let again = map(&[(
            "customers",
            json!({"id": 4312, "email": "Ann@Example.com", "first_name": "Ann", "last_name": "Lee",
                "_memberships": [cm(1, "active", json!({"_blocked_customers": []}))],
                "_attendances": [], "_registration_blocks": []}),
        )]);
        assert_eq!(m, again, "the same records give the same ids");
    }

    #[test]
    fn unreadable_records_are_reported_not_dropped() {
        let m = map(&[
            ("customer_memberships", cm(1, "frozen", json!({}))),
            (
                "customer_memberships",
                json!({"id": 2, "status": "active", "customer": 1}),
            ),
            ("invoices", json!({"id": 1})),
        ]);
        assert_eq!(m.unmapped.len(), 3, "{:?}", m.unmapped);
        assert!(m.events.is_empty());
    }
}
