//! Optix *records* (objects as its GraphQL API returns them) → canonical events: the mapping
//! the import, the scheduled re-sync and the re-read of a webhook hint share
//! ([`super::Optix`]'s `map_records`).
//!
//! Facts are from `../shared/reference/platform-apis/optix.md` (§n below); every field read
//! here is listed with its section and mark in `events/optix/README.md` ("API records").
//! Pure: no clock (`now` is the sync's instant), no I/O.
//!
//! | collection (§2) | canonical |
//! |---|---|
//! | `users` | member `<user_id>` with `email`, `fullname`; `is_deleted` → removed |
//! | `teams`, `accounts` | who belongs to a team account (for team plans) |
//! | `accountPlans` | entitlement `optix:subscription:<account_plan_id>`, kind plan, ref `plan:<plan_template_id>`; and per access `optix:allowance:<account_plan_id>:<access_id>`, kind allowance, ref `allowance:<access_template_id>` |
//! | `bookings` | `optix:booking:<booking_id>`, kind booking, ref `resource:<resource_id>`, invitees as guests |
//! | `assignments` | `optix:assignment:<assignment_id>`, kind assignment, ref `resource:<resource_id>`, weekly blocks in the location's zone (or one entitlement per occurrence, `…@<unix start>`, for a rule richer than weekly blocks) |
//! | `checkins` | `optix:checkin:<checkin_id>`, kind checkin, ref `checkin:<location_id>`, until check-out or the location's midnight |
//! | `locations` | time zones of the locations other records name |
//!
//! Decisions where the reference is silent ([I], also in the README):
//! - **Plan acceptance.** No acceptance field exists (§2.3). `ACTIVE` and `IN_TRIAL` grant;
//!   `UPCOMING` and `UNKNOWN` are read as *not yet accepted* (`pending`: nothing granted, no
//!   Kisi invitation) until Optix reports `ACTIVE`; `CANCELED` and `ENDED` cancel.
//! - **Booking review.** `is_canceled` / `is_rejected` cancel; `is_approved` grants;
//!   `is_new` without `is_approved` (awaiting review) is `pending`.
//! - **Team plans.** A plan whose `access_usage_user` is null and whose payer is a `Team`
//!   account is held by the team `optix:account:<account_id>`, whose members are the users with
//!   an `account_contracts` entry for that account, and the `users` of the `teams` those
//!   contracts name.
//! - **Open check-ins.** An `end_timestamp` that is null, 0 or not after the start is read as
//!   still checked in: open until the location's next local midnight.
//! - **Discounts** change prices, not access (§2.4 [C SUP-DISC]); a discount-only access still
//!   yields its allowance entitlement, so an operator *may* map it.

use crate::api::{ApiRecord, Kept, Mapped, Unmapped};
use crate::out::events_at;
use access_sync_rules::event::{Block, MemberEvent, TeamEvent};
use access_sync_rules::time::{local_to_utc, parse_tz};
use access_sync_rules::{
    Body, Email, Entitlement, EntitlementId, Holder, Instant, Kind, MemberId, Ref, Source, Status,
    TeamId,
};
use chrono::{Datelike, Duration, NaiveTime, Timelike, Weekday};
use chrono_tz::Tz;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// How far ahead occurrences of a rule richer than weekly blocks are expanded (the scheduled
/// re-sync extends them as time goes on).
pub const OCCURRENCE_HORIZON_DAYS: i64 = 62;

/// At most this many occurrences per assignment are expanded.
pub const MAX_OCCURRENCES: usize = 400;

/// The collections the mapping reads, in the order a sync lists them.
pub const COLLECTIONS: [&str; 8] = [
    "locations",
    "users",
    "teams",
    "accounts",
    "accountPlans",
    "assignments",
    "bookings",
    "checkins",
];

fn text(v: &Value, path: &str) -> Option<String> {
    let mut cur = v;
    for k in path.split('.') {
        cur = cur.get(k)?;
    }
    match cur {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn int(v: &Value, path: &str) -> Option<i64> {
    let mut cur = v;
    for k in path.split('.') {
        cur = cur.get(k)?;
    }
    match cur {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn flag(v: &Value, key: &str) -> bool {
    v.get(key).and_then(Value::as_bool).unwrap_or(false)
}

fn unix(v: &Value, path: &str) -> Option<Instant> {
    int(v, path).and_then(crate::when::from_unix)
}

fn list<'a>(v: &'a Value, key: &str) -> &'a [Value] {
    v.get(key)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

/// What the records say about people, accounts, teams and places.
#[derive(Default)]
struct Index {
    /// user_id → e-mail.
    emails: BTreeMap<String, Email>,
    /// e-mail → user_id.
    by_email: BTreeMap<Email, String>,
    /// account_id → the user whose own (teamless) account it is.
    personal: BTreeMap<String, String>,
    /// team account_id → member user_ids.
    team_accounts: BTreeMap<String, BTreeSet<String>>,
    /// team_id → user_ids (`teams.users`).
    teams: BTreeMap<String, BTreeSet<String>>,
    /// account_id → team_ids its contracts name.
    account_teams: BTreeMap<String, BTreeSet<String>>,
    /// location_id → zone.
    zones: BTreeMap<String, Tz>,
}

impl Index {
    fn build(records: &[ApiRecord<'_>]) -> Index {
        let mut ix = Index::default();
        for r in records {
            let b = r.body;
            match r.collection {
                "users" => {
                    let Some(uid) = text(b, "user_id") else {
                        continue;
                    };
                    if let Some(e) = text(b, "email").as_deref().and_then(Email::parse) {
                        ix.by_email.insert(e.clone(), uid.clone());
                        ix.emails.insert(uid.clone(), e);
                    }
                    for c in list(b, "account_contracts") {
                        let Some(acc) = text(c, "account.account_id") else {
                            continue;
                        };
                        match text(c, "team.team_id") {
                            Some(team) => {
                                ix.team_accounts
                                    .entry(acc.clone())
                                    .or_default()
                                    .insert(uid.clone());
                                ix.account_teams.entry(acc).or_default().insert(team);
                            }
                            None => {
                                ix.personal.insert(acc, uid.clone());
                            }
                        }
                    }
                }
                "teams" => {
                    if let Some(tid) = text(b, "team_id") {
                        let users = list(b, "users")
                            .iter()
                            .filter_map(|u| text(u, "user_id"))
                            .collect();
                        ix.teams.insert(tid, users);
                    }
                }
                "locations" => {
                    if let (Some(id), Some(tz)) = (text(b, "location_id"), text(b, "timezone"))
                        && let Ok(tz) = parse_tz(&tz)
                    {
                        ix.zones.insert(id, tz);
                    }
                }
                _ => {}
            }
        }
        // A Member account named by e-mail only (`accounts`), for records whose account no
        // user's contracts list.
        for r in records.iter().filter(|r| r.collection == "accounts") {
            let b = r.body;
            if text(b, "type").as_deref() == Some("Member")
                && let (Some(acc), Some(e)) = (
                    text(b, "account_id"),
                    text(b, "email").as_deref().and_then(Email::parse),
                )
                && let Some(uid) = ix.by_email.get(&e)
            {
                ix.personal.entry(acc).or_insert_with(|| uid.clone());
            }
        }
        ix
    }

    /// The members of a team account.
    fn team_members(&self, account: &str) -> Vec<MemberId> {
        let mut m: BTreeSet<String> = self.team_accounts.get(account).cloned().unwrap_or_default();
        for t in self.account_teams.get(account).into_iter().flatten() {
            m.extend(self.teams.get(t).into_iter().flatten().cloned());
        }
        m.into_iter().map(MemberId).collect()
    }

    /// The holder of a record paid by / owned by `account` (`{account_id type}`).
    fn holder_of_account(&self, account: &Value) -> Result<Holder, String> {
        let id = text(account, "account_id").ok_or("no account_id")?;
        if text(account, "type").as_deref() == Some("Team") || self.team_accounts.contains_key(&id)
        {
            return Ok(Holder::Team(team_id(&id)));
        }
        self.personal
            .get(&id)
            .map(|u| Holder::Member(MemberId(u.clone())))
            .ok_or_else(|| format!("account {id} belongs to no listed user"))
    }

    fn zone(&self, v: &Value, path: &str) -> Option<Tz> {
        text(v, &format!("{path}.timezone"))
            .and_then(|z| parse_tz(&z).ok())
            .or_else(|| {
                text(v, &format!("{path}.location_id")).and_then(|l| self.zones.get(&l).copied())
            })
    }
}

fn team_id(account: &str) -> TeamId {
    TeamId(format!("optix:account:{account}"))
}

fn reference(source: Source, id: String) -> Ref {
    Ref { source, id }
}

fn entitlement(id: String, kind: Kind, refs: Vec<Ref>, holder: Holder) -> Entitlement {
    Entitlement {
        id: EntitlementId(id),
        kind,
        refs,
        holder,
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
/// (`Kept`; as OfficeRnD's). The ids are those the mapping below gives each record.
fn keep(kept: &mut Kept, collection: &str, id: &str) {
    match collection {
        "users" => kept.keep_member(id),
        "accountPlans" => {
            kept.keep_entitlement(format!("optix:subscription:{id}"));
            kept.keep_entitlement(format!("optix:allowance:{id}"));
        }
        "bookings" => kept.keep_entitlement(format!("optix:booking:{id}")),
        "assignments" => kept.keep_entitlement(format!("optix:assignment:{id}")),
        "checkins" => kept.keep_entitlement(format!("optix:checkin:{id}")),
        _ => {}
    }
}

/// Maps records read from Optix's API to canonical events at the sync's instant `now`.
/// Event ids are a hash of the content, so the same records give the same ids.
pub fn events_from_records(records: &[ApiRecord<'_>], now: Instant) -> Mapped {
    let ix = Index::build(records);
    let mut bodies: Vec<Body> = Vec::new();
    let mut unmapped = Vec::new();
    let mut teams_used: BTreeSet<String> = BTreeSet::new();
    let mut kept = Kept::default();
    for r in records {
        let result = match r.collection {
            "users" => user(r.body).map(|b| vec![b]),
            "teams" | "accounts" | "locations" => Ok(Vec::new()),
            "accountPlans" => plan(&ix, r.body),
            "bookings" => booking(r.body, now),
            "assignments" => assignment(&ix, r.body, now),
            "checkins" => checkin(&ix, r.body),
            other => Err(format!("unknown collection {other:?}")),
        };
        match result {
            Ok(bs) => {
                for b in &bs {
                    if let Body::Entitlement(e) = b
                        && let Holder::Team(t) = &e.holder
                        && let Some(acc) = t.as_str().strip_prefix("optix:account:")
                    {
                        teams_used.insert(acc.to_string());
                    }
                }
                bodies.extend(bs);
            }
            Err(reason) => {
                keep(&mut kept, r.collection, r.id);
                unmapped.push(Unmapped {
                    collection: r.collection.to_string(),
                    id: r.id.to_string(),
                    reason,
                });
            }
        }
    }
    // Every team account a plan (or other record) is held by, and every team account the
    // contracts name, gets its full member list, but only from a listing of both users and
    // teams: a re-read of one record (a webhook hint) knows too little to say who is in a
    // team, and an empty list would take everyone's access away.
    let listed = |c: &str| records.iter().any(|r| r.collection == c);
    let all_teams: BTreeSet<String> = if listed("users") && listed("teams") {
        teams_used
            .into_iter()
            .chain(ix.team_accounts.keys().cloned())
            .collect()
    } else {
        BTreeSet::new()
    };
    for acc in all_teams {
        bodies.push(Body::Team(TeamEvent {
            id: team_id(&acc),
            members: ix.team_members(&acc),
        }));
    }
    Mapped {
        events: events_at(bodies, "optix", now),
        unmapped,
        kept,
    }
}

fn user(b: &Value) -> Result<Body, String> {
    let id = text(b, "user_id").ok_or("no user_id")?;
    let name = text(b, "fullname").or_else(|| {
        let n = format!(
            "{} {}",
            text(b, "name").unwrap_or_default(),
            text(b, "surname").unwrap_or_default()
        );
        Some(n.trim().to_string()).filter(|n| !n.is_empty())
    });
    Ok(Body::Member(MemberEvent {
        id: MemberId(id),
        email: text(b, "email").as_deref().and_then(Email::parse),
        name,
        removed: flag(b, "is_deleted"),
    }))
}

/// The status an account plan's `status` means (see the module docs).
pub fn plan_status(status: &str) -> Option<Status> {
    match status {
        "ACTIVE" | "IN_TRIAL" => Some(Status::Active),
        "UPCOMING" | "UNKNOWN" => Some(Status::Pending),
        _ => None,
    }
}

fn plan(ix: &Index, b: &Value) -> Result<Vec<Body>, String> {
    let id = text(b, "account_plan_id").ok_or("no account_plan_id")?;
    let status = text(b, "status").unwrap_or_else(|| "UNKNOWN".into());
    let accesses = list(b, "accesses");
    let access_ids: Vec<(String, String)> = accesses
        .iter()
        .filter_map(|a| {
            Some((
                text(a, "access_id")?,
                text(a, "access_template.access_template_id")?,
            ))
        })
        .collect();
    let plan_id = format!("optix:subscription:{id}");
    let allowance_id = |access: &str| format!("optix:allowance:{id}:{access}");
    let Some(st) = plan_status(&status) else {
        // CANCELED, ENDED (or a status Optix adds later): nothing is granted.
        let mut out = vec![Body::Cancel(EntitlementId(plan_id))];
        out.extend(
            access_ids
                .iter()
                .map(|(a, _)| Body::Cancel(EntitlementId(allowance_id(a)))),
        );
        return Ok(out);
    };
    let holder = match b.get("access_usage_user").and_then(|u| text(u, "user_id")) {
        Some(u) => Holder::Member(MemberId(u)),
        None => ix.holder_of_account(b.get("payer_account").unwrap_or(&Value::Null))?,
    };
    let start = unix(b, "start_timestamp");
    let end = unix(b, "end_timestamp");
    if let (Some(s), Some(e)) = (start, end)
        && e < s
    {
        return Err("end_timestamp is before start_timestamp".into());
    }
    let template = text(b, "plan_template.plan_template_id")
        .or_else(|| text(b, "plan_template.name"))
        .ok_or("no plan_template")?;
    let mut out = Vec::new();
    let mut e = entitlement(
        plan_id,
        Kind::Plan,
        vec![reference(Source::Plan, template)],
        holder.clone(),
    );
    (e.start, e.end, e.status) = (start, end, st);
    out.push(Body::Entitlement(e));
    for (access, template) in access_ids {
        let mut a = entitlement(
            allowance_id(&access),
            Kind::Allowance,
            vec![reference(Source::Allowance, template)],
            holder.clone(),
        );
        (a.start, a.end, a.status) = (start, end, st);
        out.push(Body::Entitlement(a));
    }
    Ok(out)
}

fn booking(b: &Value, _now: Instant) -> Result<Vec<Body>, String> {
    let id = text(b, "booking_id").ok_or("no booking_id")?;
    let eid = format!("optix:booking:{id}");
    if flag(b, "is_canceled") || flag(b, "is_rejected") {
        return Ok(vec![Body::Cancel(EntitlementId(eid))]);
    }
    let user = text(b, "user.user_id").ok_or("no user")?;
    let resource = text(b, "resource.resource_id").ok_or("no resource")?;
    let start = unix(b, "start_timestamp").ok_or("no start_timestamp")?;
    let end = unix(b, "end_timestamp").ok_or("no end_timestamp")?;
    if end < start {
        return Err("end_timestamp is before start_timestamp".into());
    }
    let mut e = entitlement(
        eid,
        Kind::Booking,
        vec![reference(Source::Resource, resource)],
        Holder::Member(MemberId(user)),
    );
    (e.start, e.end) = (Some(start), Some(end));
    e.status = if flag(b, "is_approved") || !flag(b, "is_new") {
        Status::Active
    } else {
        Status::Pending
    };
    for inv in list(b, "invitees") {
        if text(inv, "status").as_deref() == Some("NOT_ATTENDING") {
            continue;
        }
        if let Some(g) = text(inv, "user.email").as_deref().and_then(Email::parse)
            && !e.guests.contains(&g)
        {
            e.guests.push(g);
        }
    }
    Ok(vec![Body::Entitlement(e)])
}

fn checkin(ix: &Index, b: &Value) -> Result<Vec<Body>, String> {
    let id = text(b, "checkin_id").ok_or("no checkin_id")?;
    let location = text(b, "location.location_id").ok_or("no location")?;
    let holder = ix.holder_of_account(b.get("owner_account").unwrap_or(&Value::Null))?;
    let start = unix(b, "start_timestamp").ok_or("no start_timestamp")?;
    let mut e = entitlement(
        format!("optix:checkin:{id}"),
        Kind::Checkin,
        vec![reference(Source::Checkin, location)],
        holder,
    );
    e.start = Some(start);
    e.end = unix(b, "end_timestamp").filter(|end| *end > start);
    e.tz = ix.zone(b, "location");
    Ok(vec![Body::Entitlement(e)])
}

// ------------------------------------------------------------------------- assignments

/// An assignment's recurrence as the canonical model can hold it.
#[derive(Debug, PartialEq)]
pub enum Recurrence {
    /// No recurrence: one span.
    None,
    /// Weekly blocks, and the end of the series from the rule (`UNTIL`), if any.
    Blocks(Vec<Block>, Option<Instant>),
    /// A rule richer than weekly blocks (an interval, a count, skipped dates): its occurrences
    /// from the first up to the horizon, as `[start, end)`.
    Occurrences(Vec<(Instant, Instant)>),
}

fn weekday(code: &str) -> Option<Weekday> {
    Some(match code.trim().to_ascii_uppercase().as_str() {
        "MO" | "MON" | "MONDAY" => Weekday::Mon,
        "TU" | "TUE" | "TUESDAY" => Weekday::Tue,
        "WE" | "WED" | "WEDNESDAY" => Weekday::Wed,
        "TH" | "THU" | "THURSDAY" => Weekday::Thu,
        "FR" | "FRI" | "FRIDAY" => Weekday::Fri,
        "SA" | "SAT" | "SATURDAY" => Weekday::Sat,
        "SU" | "SUN" | "SUNDAY" => Weekday::Sun,
        _ => return None,
    })
}

/// `Mon-Wed, Fri` (§2.7 `days_of_week`).
fn days_of_week(s: &str) -> Option<Vec<Weekday>> {
    let mut days = Vec::new();
    for part in s.split(',') {
        match part.split_once('-') {
            Some((a, b)) => {
                let (mut d, to) = (weekday(a)?, weekday(b)?);
                for _ in 0..7 {
                    days.push(d);
                    if d == to {
                        break;
                    }
                    d = d.succ();
                }
            }
            None => days.push(weekday(part)?),
        }
    }
    (!days.is_empty()).then_some(days)
}

/// `9am`, `1:30pm`, `13:00` → minutes after midnight.
fn clock(s: &str) -> Option<u32> {
    let s = s.trim().to_ascii_lowercase();
    let (s, add) = if let Some(x) = s.strip_suffix("am") {
        (x.trim().to_string(), Some(0))
    } else if let Some(x) = s.strip_suffix("pm") {
        (x.trim().to_string(), Some(12))
    } else {
        (s, None)
    };
    let (h, m) = match s.split_once(':') {
        Some((h, m)) => (h.parse::<u32>().ok()?, m.parse::<u32>().ok()?),
        None => (s.parse::<u32>().ok()?, 0),
    };
    let h = match add {
        Some(12) if h < 12 => h + 12,
        Some(0) if h == 12 => 0,
        _ => h,
    };
    (h <= 24 && m < 60 && h * 60 + m <= 1440).then_some(h * 60 + m)
}

/// `9am - 1pm` (§2.7 `time_of_day`).
fn time_of_day(s: &str) -> Option<(u32, u32)> {
    let (a, b) = s.split_once('-')?;
    let (from, to) = (clock(a)?, clock(b)?);
    let to = if to == 0 { 1440 } else { to };
    (from < to).then_some((from, to))
}

/// RFC 5545 `UNTIL`: `20261231T235959Z`, or a date.
fn until(s: &str) -> Option<Instant> {
    let s = s.trim();
    if let Ok(t) = chrono::NaiveDateTime::parse_from_str(s.trim_end_matches('Z'), "%Y%m%dT%H%M%S") {
        return Some(t.and_utc());
    }
    chrono::NaiveDate::parse_from_str(s, "%Y%m%d")
        .ok()
        .and_then(|d| d.succ_opt())
        .map(|d| d.and_time(NaiveTime::MIN).and_utc())
}

/// Reads an assignment's recurrence: the `rrule` (RFC 5545 without DTSTART, evaluated in the
/// location's zone, §2.7), else `days_of_week` + `time_of_day`. `first` is the first
/// occurrence's start (the DTSTART), `duration` each occurrence's length.
///
/// # Errors
/// A rule this mapping does not read (monthly, yearly, `BYDAY` with an ordinal, …).
pub fn recurrence(
    rec: &Value,
    first: Instant,
    duration: Duration,
    tz: Tz,
    now: Instant,
) -> Result<Recurrence, String> {
    if rec.is_null() {
        return Ok(Recurrence::None);
    }
    let local = first.with_timezone(&tz);
    let from = local.hour() * 60 + local.minute();
    let skipped: Vec<i64> = list(rec, "skipped_timestamps")
        .iter()
        .filter_map(|v| v.as_i64().or_else(|| v.as_str()?.parse().ok()))
        .collect();
    let Some(rule) = text(rec, "rrule") else {
        let days = text(rec, "days_of_week").and_then(|d| days_of_week(&d));
        let times = text(rec, "time_of_day").and_then(|t| time_of_day(&t));
        return match (days, times) {
            (Some(days), Some((f, t))) => Ok(Recurrence::Blocks(
                vec![Block {
                    days,
                    from: f,
                    to: t,
                }],
                None,
            )),
            _ => Err("a recurrence without a readable rrule, days_of_week or time_of_day".into()),
        };
    };
    let mut freq = None;
    let mut interval = 1i64;
    let mut count = None;
    let mut end = None;
    let mut byday = Vec::new();
    for part in rule.trim_start_matches("RRULE:").split(';') {
        let Some((k, v)) = part.split_once('=') else {
            continue;
        };
        match k.trim().to_ascii_uppercase().as_str() {
            "FREQ" => freq = Some(v.trim().to_ascii_uppercase()),
            "INTERVAL" => interval = v.trim().parse().map_err(|_| "bad INTERVAL")?,
            "COUNT" => count = Some(v.trim().parse::<usize>().map_err(|_| "bad COUNT")?),
            "UNTIL" => end = Some(until(v).ok_or("bad UNTIL")?),
            "BYDAY" => {
                for d in v.split(',') {
                    byday.push(weekday(d).ok_or(format!(
                        "BYDAY {d:?} (an ordinal day is richer than this mapping reads)"
                    ))?);
                }
            }
            "WKST" => {}
            other => return Err(format!("rrule part {other} is not read")),
        }
    }
    let days = match freq.as_deref() {
        Some("WEEKLY") if byday.is_empty() => vec![local.weekday()],
        Some("WEEKLY") => byday,
        Some("DAILY") if byday.is_empty() => {
            let mut d = Weekday::Mon;
            let mut all = Vec::new();
            for _ in 0..7 {
                all.push(d);
                d = d.succ();
            }
            all
        }
        Some("DAILY") => byday,
        other => return Err(format!("FREQ {other:?} is not read (daily and weekly are)")),
    };
    let minutes = duration.num_minutes();
    if minutes <= 0 {
        return Err("duration_sec is not positive".into());
    }
    let weekly_blocks = interval == 1 && count.is_none() && skipped.is_empty();
    if weekly_blocks && from as i64 + minutes <= 1440 {
        return Ok(Recurrence::Blocks(
            vec![Block {
                days,
                from,
                to: from + minutes as u32,
            }],
            end,
        ));
    }
    // Richer than weekly blocks: expand day by day in local time (DST-correct: each
    // occurrence starts at the same wall-clock time).
    if interval < 1 {
        return Err("INTERVAL is below 1".into());
    }
    let horizon = now + Duration::days(OCCURRENCE_HORIZON_DAYS);
    let step_weeks = freq.as_deref() == Some("WEEKLY");
    let start_date = local.date_naive();
    let time = local.time();
    let mut out = Vec::new();
    let mut n = 0usize;
    for offset in 0..(OCCURRENCE_HORIZON_DAYS + 3700) {
        let date = start_date + Duration::days(offset);
        let period = if step_weeks {
            // Weeks counted from the week of DTSTART (Monday-based).
            let monday =
                start_date - Duration::days(start_date.weekday().num_days_from_monday() as i64);
            (date - monday).num_days() / 7
        } else {
            offset
        };
        if period % interval != 0 || !days.contains(&date.weekday()) {
            continue;
        }
        let s = local_to_utc(tz, date.and_time(time));
        if s < first {
            continue;
        }
        if end.is_some_and(|u| s > u) || s > horizon || count.is_some_and(|c| n >= c) {
            break;
        }
        n += 1;
        if skipped.contains(&s.timestamp()) {
            continue;
        }
        out.push((s, s + duration));
        if out.len() >= MAX_OCCURRENCES {
            break;
        }
    }
    Ok(Recurrence::Occurrences(out))
}

fn assignment(ix: &Index, b: &Value, now: Instant) -> Result<Vec<Body>, String> {
    let id = text(b, "assignment_id").ok_or("no assignment_id")?;
    let eid = format!("optix:assignment:{id}");
    let status = text(b, "status").unwrap_or_default();
    if status == "CANCELED" || status == "ENDED" {
        return Ok(vec![Body::Cancel(EntitlementId(eid))]);
    }
    let resource = text(b, "resource.resource_id").ok_or("no resource")?;
    let holder = ix.holder_of_account(b.get("owner_account").unwrap_or(&Value::Null))?;
    let first = unix(b, "first_occurrence_start_timestamp").ok_or("no first occurrence")?;
    let last = unix(b, "last_occurrence_end_timestamp");
    let tz = ix
        .zone(b, "resource.location")
        .ok_or("the resource's location has no readable time zone")?;
    let duration = Duration::seconds(int(b, "duration_sec").unwrap_or(0));
    let refs = vec![reference(Source::Resource, resource)];
    let rec = b.get("recurrence").unwrap_or(&Value::Null);
    let mut e = entitlement(eid.clone(), Kind::Assignment, refs.clone(), holder.clone());
    e.tz = Some(tz);
    e.start = Some(first);
    match recurrence(rec, first, duration, tz, now)? {
        Recurrence::None => {
            e.end = last.or_else(|| (duration > Duration::zero()).then(|| first + duration));
            Ok(vec![Body::Entitlement(e)])
        }
        Recurrence::Blocks(blocks, rule_end) => {
            e.blocks = blocks;
            e.end = match (last, rule_end) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            Ok(vec![Body::Entitlement(e)])
        }
        Recurrence::Occurrences(occ) => {
            // The series id is cancelled (it may have been stored as blocks before); each
            // occurrence is its own entitlement.
            let mut out = vec![Body::Cancel(EntitlementId(eid.clone()))];
            for (s, t) in occ {
                if last.is_some_and(|l| s >= l) {
                    break;
                }
                let mut o = entitlement(
                    format!("{eid}@{}", s.timestamp()),
                    Kind::Assignment,
                    refs.clone(),
                    holder.clone(),
                );
                (o.start, o.end, o.tz) = (Some(s), Some(t), Some(tz));
                out.push(Body::Entitlement(o));
            }
            Ok(out)
        }
    }
}

/// Whether a complete full listing contains entitlement `id` if it still exists: plans,
/// allowances and assignment series are listed in full; bookings and check-ins only in a
/// time window, and expanded occurrences only up to the horizon, so their absence proves
/// nothing (they end by their own `end`).
pub fn covers(id: &EntitlementId) -> bool {
    let s = id.as_str();
    (s.starts_with("optix:subscription:")
        || s.starts_with("optix:allowance:")
        || s.starts_with("optix:assignment:"))
        && !s.contains('@')
}
