//! OfficeRnD *records* → canonical events: the one mapping shared by the webhook normaliser
//! ([`super::normalize`], for the record a webhook carries in `data.object`) and the API reader
//! ([`events_from_records`], for records listed from the v2 API), so a record means the same
//! whichever way it arrived.
//!
//! Every field read here is cited in `events/officernd/README.md` ("Fields the mapping reads").
//! Both v2 names (`company`, `location`, `resource`, `start`/`end` strings, `isCancelled`,
//! `isTentative`) and v1 names (`team`, `office`, `resourceId`, `start.dateTime`, `canceled`,
//! `tentative`) are read: the reference says webhook payloads may use either (officernd.md §5).
//!
//! Pure: no clock (the sync's instant is a parameter), no I/O.

use crate::Rejection;
use crate::api::Kept;
use crate::directory::Known;
use crate::json::{Obj, ids_in};
use crate::out::{Grant, Out, reference, with_content_id};
use crate::when::{self, DateIs};
use access_sync_rules::event::MemberEvent;
use access_sync_rules::{
    Body, Email, EntitlementId, Event, Holder, Instant, Kind, MemberId, Source, Status, TeamId,
};
use serde_json::Value;
use std::collections::BTreeMap;

/// One record as OfficeRnD's API returned it, named by the collection it was listed from
/// (what `access_sync_ports::SourceRecord` carries: its `collection` and `body`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RecordRef<'a> {
    /// The collection, as the v2 API path names it: `members`, `companies`, `memberships`,
    /// `passes`, `bookings`, `bookings/occurrences` (or `occurrences`), `assignments`,
    /// `checkins`, `checkins/visitors` (or `visitorCheckins`), and the reference collections
    /// `resources`, `locations`, `floors`, `plans`.
    pub collection: &'a str,
    /// The record, exactly as the API returned it.
    pub body: &'a Value,
}

/// A record, or part of one, that gives no access, and why (the import prints these).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unmapped {
    /// The collection it came from.
    pub collection: String,
    /// Its `_id`, when it has a readable one.
    pub id: Option<String>,
    /// Why it maps to nothing (or to less than it says).
    pub reason: String,
}

/// What a set of records maps to.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Mapped {
    /// The canonical events, in record order (team lists last).
    pub events: Vec<Event>,
    /// What gave nothing, with a reason.
    pub unmapped: Vec<Unmapped>,
    /// What the records that gave nothing stand for (listed, so not gone): see
    /// [`crate::api::Kept`].
    pub kept: Kept,
}

/// The collections the mapping knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Collection {
    Members,
    Companies,
    Memberships,
    Passes,
    Bookings,
    Assignments,
    Checkins,
    VisitorCheckins,
    /// `resources`, `locations`, `floors`, `plans`: read for what other records refer to;
    /// they grant nothing themselves.
    Reference,
}

/// What a record of collection `c` with id `id` stands for among the stored facts, when it is
/// listed but cannot be read: kept as stored (neither ended nor counted by the sync's brake).
fn keep(kept: &mut Kept, c: Collection, id: &str) {
    let ent = |kind: &str| EntitlementId(format!("officernd:{kind}:{id}"));
    match c {
        Collection::Members => {
            kept.members.insert(MemberId(id.to_string()));
        }
        Collection::Companies => {
            kept.teams.insert(TeamId(id.to_string()));
        }
        Collection::Memberships => {
            kept.entitlements.insert(ent("membership"));
        }
        Collection::Passes => {
            kept.entitlements.insert(ent("pass"));
        }
        // A one-off booking and its members' entitlements (`…:member:<id>`).
        Collection::Bookings => {
            kept.entitlements.insert(ent("booking"));
        }
        Collection::Assignments => {
            kept.entitlements.insert(ent("assignment"));
        }
        Collection::Checkins => {
            kept.entitlements.insert(ent("checkin"));
        }
        Collection::VisitorCheckins | Collection::Reference => {}
    }
}

fn collection(name: &str) -> Option<Collection> {
    Some(match name.trim_matches('/') {
        "members" => Collection::Members,
        "companies" => Collection::Companies,
        "memberships" => Collection::Memberships,
        "passes" => Collection::Passes,
        "bookings" | "bookings/occurrences" | "occurrences" => Collection::Bookings,
        "assignments" => Collection::Assignments,
        "checkins" => Collection::Checkins,
        "checkins/visitors" | "visitorCheckins" => Collection::VisitorCheckins,
        "resources" | "locations" | "floors" | "plans" => Collection::Reference,
        _ => return None,
    })
}

/// Maps records read from OfficeRnD's API to canonical events.
///
/// - Event ids are a hash of the event's content and of the record's `modifiedAt` (when it has
///   one), so reading the same records again gives the same ids (the engine ignores them) and
///   a record that changed gives new ones.
/// - `at` is the record's `modifiedAt`; records without one (assignments, check-ins, or a record
///   that lacks it) take `now`, the sync's instant.
/// - Team lists: each company listed (or named by a listed member's `company`) gets its full
///   list: what `known` holds, without the listed members now elsewhere, plus the listed
///   members naming it (a listed member record is whole: without `company` it is in none). A
///   team event is emitted only when that differs from `known`.
/// - Assignments reach their holder through their `membership`: an assignment whose membership
///   is not among the records is over (a cancel: its access came with the membership, R §2.6);
///   the resource's `type` (from `resources`, if listed) chooses `desk:` or `office:`.
/// - A record that cannot be read is reported in `unmapped` and what it stands for is `kept`
///   (it is listed, so it is not gone).
pub fn events_from_records(records: &[RecordRef<'_>], now: Instant, known: &dyn Known) -> Mapped {
    let mut mapped = Mapped::default();
    let memberships = index_memberships(records);
    let resource_types = index_resource_types(records);
    let mut teams = Teams::default();
    for r in records {
        let id = r.body.get("_id").and_then(record_id);
        let unmapped = |reason: String| Unmapped {
            collection: r.collection.to_string(),
            id: id.clone(),
            reason,
        };
        let Some(c) = collection(r.collection) else {
            mapped
                .unmapped
                .push(unmapped(format!("unknown collection {:?}", r.collection)));
            continue;
        };
        let unreadable = |mapped: &mut Mapped, reason: String| {
            if let Some(id) = &id {
                keep(&mut mapped.kept, c, id);
            }
            mapped.unmapped.push(unmapped(reason));
        };
        let o = match Obj::new(r.body, "") {
            Ok(o) => o,
            Err(e) => {
                unreadable(&mut mapped, e.to_string());
                continue;
            }
        };
        let stamp = match o.instant_opt("modifiedAt", DateIs::Start) {
            Ok(t) => t,
            Err(e) => {
                unreadable(&mut mapped, e.to_string());
                continue;
            }
        };
        let mut out = Out::new(String::new(), stamp.unwrap_or(now));
        let mut notes = Vec::new();
        let result = match c {
            Collection::Members => {
                teams.note_member(&o, stamp.unwrap_or(now));
                member(&mut out, &o, None, false, None)
            }
            Collection::Companies => {
                if let Ok(t) = o.id("_id") {
                    teams.note_company(TeamId(t), stamp.unwrap_or(now));
                }
                Ok(())
            }
            Collection::Memberships => membership(&mut out, &o, false),
            Collection::Passes => pass(&mut out, &o, false),
            Collection::Bookings => booking(&mut out, &o, None, false, &mut notes),
            Collection::Assignments => assignment(&mut out, &o, &memberships, &resource_types),
            Collection::Checkins => checkin(&mut out, &o),
            Collection::VisitorCheckins => Err(Rejection::malformed(
                "visitor",
                "a visitor check-in names a visitor id, not an e-mail: Kisi cannot be given it",
            )),
            Collection::Reference => Ok(()),
        };
        match result {
            Ok(()) => {
                for e in out.finish() {
                    mapped
                        .events
                        .push(with_content_id(e, "officernd", "record", stamp.is_some()));
                }
            }
            Err(e) => unreadable(&mut mapped, e.to_string()),
        }
        mapped.unmapped.extend(notes.into_iter().map(unmapped));
    }
    mapped.events.extend(teams.events(known));
    mapped
}

fn record_id(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Team lists built from member records (API reads).
#[derive(Default)]
struct Teams {
    /// Each listed member's company (`None`: none), in record order, with the record's `at`.
    members: Vec<(MemberId, Option<TeamId>, Instant)>,
    /// Companies listed or named, with the latest `at` that touched them.
    touched: BTreeMap<TeamId, Instant>,
}

impl Teams {
    /// A listed member record is the whole record (R §2.1): no `company` means none.
    fn note_member(&mut self, o: &Obj<'_>, at: Instant) {
        let Ok(id) = o.id("_id") else { return };
        let Ok(company) = first_id(o, &["company", "team"]) else {
            return;
        };
        let id = MemberId(id);
        self.members.retain(|(m, _, _)| m != &id);
        if let Some(t) = &company {
            self.touch(TeamId(t.clone()), at);
        }
        self.members.push((id, company.map(TeamId), at));
    }

    fn note_company(&mut self, t: TeamId, at: Instant) {
        self.touch(t, at);
    }

    fn touch(&mut self, t: TeamId, at: Instant) {
        let e = self.touched.entry(t).or_insert(at);
        *e = (*e).max(at);
    }

    fn events(&self, known: &dyn Known) -> Vec<Event> {
        let listed: BTreeMap<&MemberId, &Option<TeamId>> =
            self.members.iter().map(|(m, t, _)| (m, t)).collect();
        let mut out = Vec::new();
        for (t, touched_at) in &self.touched {
            let before = known.team_members(t);
            let mut list: Vec<MemberId> = before
                .clone()
                .unwrap_or_default()
                .into_iter()
                .filter(|m| listed.get(m).is_none_or(|c| c.as_ref() == Some(t)))
                .collect();
            let mut at = *touched_at;
            for (m, c, m_at) in &self.members {
                if c.as_ref() == Some(t) && !list.contains(m) {
                    list.push(m.clone());
                }
                let was = before.as_ref().is_some_and(|b| b.contains(m));
                if c.as_ref() == Some(t) || was {
                    at = at.max(*m_at);
                }
            }
            if before.as_ref() == Some(&list) {
                continue;
            }
            let e = Event {
                id: String::new(),
                at,
                body: Body::Team(access_sync_rules::event::TeamEvent {
                    id: t.clone(),
                    members: list,
                }),
            };
            out.push(with_content_id(e, "officernd", "record", true));
        }
        out
    }
}

/// The first of `keys` present with an id (`None` when all are absent or null).
fn first_id(o: &Obj<'_>, keys: &[&str]) -> Result<Option<String>, Rejection> {
    for k in keys {
        if let Some(id) = o.id_opt(k)? {
            return Ok(Some(id));
        }
    }
    Ok(None)
}

/// Who holds a membership, pass or booking: its `member`, else its company (v2 `company`, v1
/// `team`): a company record without a member covers the whole company (reference §2.3 and
/// kisi-api.md §5).
fn holder(o: &Obj<'_>) -> Result<Holder, Rejection> {
    if let Some(m) = o.id_opt("member")? {
        return Ok(Holder::Member(MemberId(m)));
    }
    if let Some(t) = first_id(o, &["company", "team"])? {
        return Ok(Holder::Team(TeamId(t)));
    }
    Err(Rejection::malformed(
        o.path("member"),
        "neither a member nor a company (team) holds it",
    ))
}

/// A membership date: OfficeRnD sends `…T00:00:00.000Z` whatever the time zone and says to
/// ignore the time part (reference §2.3), so the date is read as a calendar date; `endDate`
/// is the last day, inclusive. A bare date reads the same way.
fn calendar_date(o: &Obj<'_>, key: &str, date_is: DateIs) -> Result<Option<Instant>, Rejection> {
    if let Some(Value::String(s)) = o.get(key) {
        let s = s.trim();
        if s.len() > 10
            && s.is_char_boundary(10)
            && when::parse(s, DateIs::Start).is_some()
            && let Some(t) = when::parse(&s[..10], date_is)
        {
            return Ok(Some(t));
        }
    }
    o.instant_opt(key, date_is)
}

/// What a membership's `status` and `calculatedStatus` say (reference §2.3; summary item 7).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Standing {
    /// Grants with this status over its window.
    Grants(Status),
    /// Over: a cancel.
    Ended,
}

fn membership_standing(o: &Obj<'_>) -> Result<Standing, Rejection> {
    let approved = match o.str_opt("status")? {
        None | Some("approved") => true,
        Some("not_approved") => false,
        Some(other) => {
            return Err(Rejection::malformed(
                o.path("status"),
                format!("unknown status {other:?} (want approved or not_approved)"),
            ));
        }
    };
    let calculated = o.str_opt("calculatedStatus")?;
    let status = match calculated {
        None | Some("active") => Status::Active,
        // A membership that has not started yet is a window with a future start: it opens at
        // `startDate` without another event (v2 `not_started`, v1 `pending`). Without a start
        // date there is no window to wait for: pending.
        Some("not_started" | "pending") => {
            if o.get("startDate").is_some() {
                Status::Active
            } else {
                Status::Pending
            }
        }
        Some("not_approved") => Status::Pending,
        Some("expired") => return Ok(Standing::Ended),
        Some(other) => {
            return Err(Rejection::malformed(
                o.path("calculatedStatus"),
                format!(
                    "unknown status {other:?} (want active, not_started, pending, expired or not_approved)"
                ),
            ));
        }
    };
    Ok(Standing::Grants(if approved {
        status
    } else {
        Status::Pending
    }))
}

/// A membership: `officernd:membership:<_id>`, kind `plan` (or `occupancy` with a desk or
/// private office), ref `plan:<plan>`.
pub(crate) fn membership(out: &mut Out, o: &Obj<'_>, removed: bool) -> Result<(), Rejection> {
    let id = format!("officernd:membership:{}", o.id("_id")?);
    if removed {
        out.cancel(EntitlementId(id));
        return Ok(());
    }
    let status = match membership_standing(o)? {
        Standing::Ended => {
            out.cancel(EntitlementId(id));
            return Ok(());
        }
        Standing::Grants(s) => s,
    };
    let plan = o.id_opt("plan")?;
    let desk = o.id_opt("desk")?;
    let private_office = o.id_opt("privateOffice")?;
    let occupancy = desk.is_some() || private_office.is_some();
    let mut refs = Vec::new();
    refs.extend(plan.as_deref().and_then(|p| reference(Source::Plan, p)));
    if occupancy {
        if let Some(x) = first_id(o, &["location", "office"])? {
            refs.extend(reference(Source::Location, &x));
        }
        if let Some(x) = o.id_opt("floor")? {
            refs.extend(reference(Source::Floor, &x));
        }
        refs.extend(
            private_office
                .as_deref()
                .and_then(|x| reference(Source::Office, x)),
        );
        refs.extend(desk.as_deref().and_then(|x| reference(Source::Desk, x)));
    } else if plan.is_none() {
        return Err(Rejection::malformed(o.path("plan"), "missing"));
    }
    let e = Grant {
        id,
        kind: if occupancy {
            Kind::Occupancy
        } else {
            Kind::Plan
        },
        refs,
        holder: holder(o)?,
        start: calendar_date(o, "startDate", DateIs::Start)?,
        end: calendar_date(o, "endDate", DateIs::End)?,
        status,
    }
    .build(Vec::new(), &o.path("endDate"))?;
    out.entitlement(e);
    Ok(())
}

/// A visitor's e-mail, when the item carries one: the API returns visitor *ids* (reference
/// §2.5), which cannot be Kisi guests; e-mail strings and `{email}` objects are read.
fn visitor_email(v: &Value) -> Option<Email> {
    match v {
        Value::String(s) if s.contains('@') => Email::parse(s),
        Value::Object(o) => o
            .get("email")
            .and_then(Value::as_str)
            .and_then(Email::parse),
        _ => None,
    }
}

/// A booking instant: v2 an ISO string, v1 `{dateTime}`. Returns it and the field's path.
fn booking_instant(o: &Obj<'_>, key: &str) -> Result<Option<(Instant, String)>, Rejection> {
    match o.get(key) {
        Some(Value::Object(_)) => {
            let inner = o.obj(key)?;
            Ok(Some((
                inner.instant("dateTime", DateIs::Start)?,
                inner.path("dateTime"),
            )))
        }
        Some(_) => Ok(o.instant_opt(key, DateIs::Start)?.map(|t| (t, o.path(key)))),
        None => Ok(None),
    }
}

fn booking_instant_required(o: &Obj<'_>, key: &str) -> Result<(Instant, String), Rejection> {
    booking_instant(o, key)?.ok_or_else(|| Rejection::malformed(o.path(key), "missing"))
}

fn is_true(o: &Obj<'_>, keys: &[&str]) -> Result<bool, Rejection> {
    for k in keys {
        if o.bool_opt(k)? == Some(true) {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Whether a booking is one occurrence of a recurring series (`recurrence.rrule` set).
fn recurring(o: &Obj<'_>) -> Result<bool, Rejection> {
    Ok(match o.obj_opt("recurrence")? {
        Some(r) => r.str_opt("rrule")?.is_some_and(|s| !s.trim().is_empty()),
        None => false,
    })
}

/// The entitlement id of a booking: `officernd:booking:<_id>`, or for one occurrence of a
/// recurring series `officernd:booking:<_id>@<occurrence start, RFC 3339 UTC>` — the API's
/// `/bookings/occurrences` returns each occurrence with the series' `_id` and its own
/// `start`/`end`, so each occurrence is its own entitlement with a deterministic id.
fn booking_id(record: &str, occurrence: Option<Instant>) -> String {
    match occurrence {
        Some(t) => format!(
            "officernd:booking:{record}@{}",
            t.format("%Y-%m-%dT%H:%M:%SZ")
        ),
        None => format!("officernd:booking:{record}"),
    }
}

/// A booking or one occurrence: kind `booking`, ref `resource:<resource>`.
pub(crate) fn booking(
    out: &mut Out,
    o: &Obj<'_>,
    previous: Option<&Obj<'_>>,
    removed: bool,
    notes: &mut Vec<String>,
) -> Result<(), Rejection> {
    let record = o.id("_id")?;
    let series = recurring(o)?;
    let start = booking_instant(o, "start")?;
    let id = booking_id(&record, start.as_ref().filter(|_| series).map(|s| s.0));
    let member_id = |id: &str, m: &str| format!("{id}:member:{m}");
    let members = ids_in(o.array("members")?, &o.path("members"))?;
    let before = match previous {
        Some(p) => ids_in(p.array("members")?, &p.path("members"))?,
        None => Vec::new(),
    };
    // A moved occurrence of a series: the occurrence at its old start is gone.
    if series
        && let Some(p) = previous
        && let Some((old, _)) = booking_instant(p, "start")?
        && start.as_ref().map(|s| s.0) != Some(old)
    {
        let old_id = booking_id(&record, Some(old));
        out.cancel(EntitlementId(old_id.clone()));
        for m in members.iter().chain(&before) {
            out.cancel(EntitlementId(member_id(&old_id, m)));
        }
    }
    if removed || is_true(o, &["isCancelled", "canceled"])? {
        out.cancel(EntitlementId(id.clone()));
        for m in members.iter().chain(&before) {
            out.cancel(EntitlementId(member_id(&id, m)));
        }
        return Ok(());
    }
    let resource = match first_id(o, &["resource", "resourceId"])? {
        Some(r) => r,
        None => {
            return Err(Rejection::malformed(
                o.path("resourceId"),
                "missing (v2 `resource`, v1 `resourceId`)",
            ));
        }
    };
    let (start, _) = match start {
        Some(s) => s,
        None => booking_instant_required(o, "start")?,
    };
    let (end, end_field) = booking_instant_required(o, "end")?;
    let holder = holder(o)?;
    let status = if is_true(o, &["isTentative", "tentative"])? {
        Status::Pending
    } else {
        Status::Active
    };
    // Visitors without an e-mail (the API returns ids) cannot be given access: Kisi knows
    // people by address.
    let mut guests: Vec<Email> = Vec::new();
    for v in o.array("visitors")? {
        match visitor_email(v) {
            Some(e) => guests.push(e),
            None => notes.push(format!(
                "visitor {} has no e-mail in the booking: not a Kisi guest",
                crate::json::id_or_kind(v)
            )),
        }
    }
    let refs: Vec<_> = reference(Source::Resource, &resource).into_iter().collect();
    let grant = |id: String, holder: Holder| Grant {
        id,
        kind: Kind::Booking,
        refs: refs.clone(),
        holder,
        start: Some(start),
        end: Some(end),
        status,
    };
    out.entitlement(grant(id.clone(), holder.clone()).build(guests, &end_field)?);
    for m in &members {
        if holder == Holder::Member(MemberId(m.clone())) {
            continue;
        }
        out.entitlement(
            grant(member_id(&id, m), Holder::Member(MemberId(m.clone())))
                .build(Vec::new(), &end_field)?,
        );
    }
    for m in before.iter().filter(|m| !members.contains(m)) {
        out.cancel(EntitlementId(member_id(&id, m)));
    }
    Ok(())
}

/// A set of passes: `officernd:pass:<_id>`, kind `pass`, refs `pass:<plan>` (v1/webhook, as
/// before) and `pass:<resourceType>` (v2 has no plan on a pass, reference §2.4).
pub(crate) fn pass(out: &mut Out, o: &Obj<'_>, removed: bool) -> Result<(), Rejection> {
    let id = format!("officernd:pass:{}", o.id("_id")?);
    if removed {
        out.cancel(EntitlementId(id));
        return Ok(());
    }
    let mut status = match o.str_opt("status")? {
        None | Some("valid") => Status::Active,
        Some("used") => Status::Exhausted,
        Some("pending") => Status::Pending,
        Some("expired") => {
            out.cancel(EntitlementId(id));
            return Ok(());
        }
        Some(other) => {
            return Err(Rejection::malformed(
                o.path("status"),
                format!("unknown status {other:?} (want valid, used, expired or pending)"),
            ));
        }
    };
    if let (Some(count), Some(used)) = (o.int_opt("count")?, o.int_opt("usedCount")?)
        && used >= count
    {
        status = Status::Exhausted;
    }
    let mut refs = Vec::new();
    if let Some(plan) = o.id_opt("plan")? {
        refs.extend(reference(Source::Pass, &plan));
    }
    if let Some(rt) = o.str_opt("resourceType")? {
        refs.extend(reference(Source::Pass, rt));
    }
    if refs.is_empty() {
        return Err(Rejection::malformed(
            o.path("plan"),
            "missing (and no resourceType): nothing to map the pass by",
        ));
    }
    let (start, end, end_key) = if o.has("validFrom") || o.has("validTo") {
        (
            o.instant_opt("validFrom", DateIs::Start)?,
            o.instant_opt("validTo", DateIs::End)?,
            "validTo",
        )
    } else {
        (
            o.instant_opt("startDate", DateIs::Start)?,
            o.instant_opt("endDate", DateIs::End)?,
            "endDate",
        )
    };
    let e = Grant {
        id,
        kind: Kind::Pass,
        refs,
        holder: holder(o)?,
        start,
        end,
        status,
    }
    .build(Vec::new(), &o.path(end_key))?;
    out.entitlement(e);
    Ok(())
}

/// A member: its full state (`email`, `name`; `status: former` or a removal → removed). With
/// `teams`, a webhook's member also updates the team lists from what is known (the API reader
/// builds team lists from all listed members instead).
pub(crate) fn member(
    out: &mut Out,
    o: &Obj<'_>,
    previous: Option<&Obj<'_>>,
    removed: bool,
    teams: Option<&dyn Known>,
) -> Result<(), Rejection> {
    let id = MemberId(o.id("_id")?);
    let removed = removed || o.str_opt("status")? == Some("former");
    out.member(MemberEvent {
        id: id.clone(),
        email: o.email_opt("email")?,
        name: o
            .str_opt("name")?
            .filter(|n| !n.trim().is_empty())
            .map(str::to_string),
        removed,
    });
    let Some(known) = teams else { return Ok(()) };
    // A removal leaves team lists alone (ACCESS-MODEL rule 6). Only a payload that carries
    // `company` (v1 `team`), or whose `previousAttributes` does (the company changed), says
    // anything about the member's team: with the previous company named and the object
    // without one, the company was cleared (`data.object` is the whole record, R §5).
    let says_company = |x: &Obj<'_>| x.has("company") || x.has("team");
    if removed || !(says_company(o) || previous.is_some_and(says_company)) {
        return Ok(());
    }
    let team = first_id(o, &["company", "team"])?.map(TeamId);
    if let Some(t) = &team {
        let mut list = known.team_members(t).unwrap_or_default();
        if !list.contains(&id) {
            list.push(id.clone());
            out.team(t.clone(), list);
        }
    }
    if let Some(p) = previous
        && let Some(old) = first_id(p, &["company", "team"])?.map(TeamId)
        && Some(&old) != team.as_ref()
        && let Some(list) = known.team_members(&old)
        && list.contains(&id)
    {
        out.team(old, list.into_iter().filter(|m| m != &id).collect());
    }
    Ok(())
}

/// A company (webhook): removed → its list empties; a `members` list (not in the v2 API) is
/// taken as the team.
pub(crate) fn company(out: &mut Out, o: &Obj<'_>, removed: bool) -> Result<(), Rejection> {
    let id = TeamId(o.id("_id")?);
    if removed {
        out.team(id, Vec::new());
    } else if o.has("members") {
        let members = ids_in(o.array("members")?, &o.path("members"))?;
        out.team(id, members.into_iter().map(MemberId).collect());
    }
    Ok(())
}

/// A member check-in (API only; OfficeRnD has no check-in webhook): `officernd:checkin:<_id>`,
/// kind `checkin`, ref `checkin:<location>`, `start`–`end` (open: until local midnight).
fn checkin(out: &mut Out, o: &Obj<'_>) -> Result<(), Rejection> {
    let id = format!("officernd:checkin:{}", o.id("_id")?);
    let location = first_id(o, &["location", "office"])?
        .ok_or_else(|| Rejection::malformed(o.path("location"), "missing"))?;
    let member = o
        .id_opt("member")?
        .ok_or_else(|| Rejection::malformed(o.path("member"), "missing"))?;
    let e = Grant {
        id,
        kind: Kind::Checkin,
        refs: reference(Source::Checkin, &location).into_iter().collect(),
        holder: Holder::Member(MemberId(member)),
        start: Some(o.instant("start", DateIs::Start)?),
        end: o.instant_opt("end", DateIs::Start)?,
        status: Status::Active,
    }
    .build(Vec::new(), &o.path("end"))?;
    out.entitlement(e);
    Ok(())
}

/// What an assignment needs of its membership.
#[derive(Clone, Debug)]
struct MembershipFacts {
    holder: Holder,
    standing: Standing,
}

/// The memberships among the records, by `_id`: `None` for one that is listed but cannot be
/// read (its holder or standing is not understood).
fn index_memberships(records: &[RecordRef<'_>]) -> BTreeMap<String, Option<MembershipFacts>> {
    let mut out = BTreeMap::new();
    for r in records {
        if collection(r.collection) != Some(Collection::Memberships) {
            continue;
        }
        let Some(id) = r.body.get("_id").and_then(record_id) else {
            continue;
        };
        let facts = Obj::new(r.body, "").ok().and_then(|o| {
            let (Ok(holder), Ok(standing)) = (holder(&o), membership_standing(&o)) else {
                return None;
            };
            Some(MembershipFacts { holder, standing })
        });
        out.insert(id, facts);
    }
    out
}

fn index_resource_types(records: &[RecordRef<'_>]) -> BTreeMap<String, String> {
    records
        .iter()
        .filter(|r| r.collection.trim_matches('/') == "resources")
        .filter_map(|r| {
            let id = r.body.get("_id").and_then(record_id)?;
            let ty = r.body.get("type")?.as_str()?.to_string();
            Some((id, ty))
        })
        .collect()
}

/// A desk or office assignment (API only): `officernd:assignment:<_id>`, kind `occupancy`,
/// held by its membership's holder with its membership's status; ref `desk:<resource>` for a
/// desk type, `office:<resource>` for `team_room`, both when the resource was not listed.
///
/// An assignment links a resource to a membership and reaches its holder only through it
/// (R §2.6): without its membership it gives no one access. So an assignment whose membership
/// is not among the records (deleted: a complete listing no longer has it, R §3 "Deletions")
/// is a cancel, like an expired membership's; one whose membership is listed but cannot be
/// read is unmapped (and kept as stored).
fn assignment(
    out: &mut Out,
    o: &Obj<'_>,
    memberships: &BTreeMap<String, Option<MembershipFacts>>,
    resource_types: &BTreeMap<String, String>,
) -> Result<(), Rejection> {
    let id = format!("officernd:assignment:{}", o.id("_id")?);
    let resource = o.id("resource")?;
    let membership = o.id("membership")?;
    let m = match memberships.get(&membership) {
        None => {
            out.cancel(EntitlementId(id));
            return Ok(());
        }
        Some(None) => {
            return Err(Rejection::malformed(
                o.path("membership"),
                format!("membership {membership} is listed but cannot be read"),
            ));
        }
        Some(Some(m)) => m,
    };
    let status = match m.standing {
        Standing::Ended => {
            out.cancel(EntitlementId(id));
            return Ok(());
        }
        Standing::Grants(s) => s,
    };
    let sources: &[Source] = match resource_types.get(&resource).map(String::as_str) {
        Some("team_room") => &[Source::Office],
        Some("desk" | "desk_tr" | "hotdesk" | "desk_na") => &[Source::Desk],
        Some(other) => {
            return Err(Rejection::malformed(
                o.path("resource"),
                format!("resource type {other:?} is neither a desk nor an office"),
            ));
        }
        None => &[Source::Desk, Source::Office],
    };
    let refs = sources
        .iter()
        .filter_map(|s| reference(*s, &resource))
        .collect();
    let e = Grant {
        id,
        kind: Kind::Occupancy,
        refs,
        holder: m.holder.clone(),
        start: calendar_date(o, "startDate", DateIs::Start)?,
        end: calendar_date(o, "endDate", DateIs::End)?,
        status,
    }
    .build(Vec::new(), &o.path("endDate"))?;
    out.entitlement(e);
    Ok(())
}
