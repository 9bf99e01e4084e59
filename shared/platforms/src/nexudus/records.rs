//! Nexudus *records* → canonical events: the one mapping shared by the webhook normaliser
//! ([`super::normalize`], for the DTO a webhook carries) and the API reader
//! ([`events_from_records`], for records listed from the admin REST API), so a record means the
//! same whichever way it arrived.
//!
//! Every field read here is cited in `events/nexudus/README.md` ("Fields the mapping reads"),
//! from `../shared/reference/platform-apis/nexudus.md` (§n below).
//!
//! Pure: no clock (the sync's instant is a parameter), no I/O.
//!
//! Choices where the reference is silent or disagrees (each repeated in the README):
//! - **Suspended or archived** coworkers (`Active: false` or `Archived: true`, §2.1) are
//!   `removed` member events: all access ends, and a restored coworker (both flags back) is a
//!   member again, whose entitlements grant again from then (ACCESS-MODEL §3 rule 6). A DTO
//!   that carries neither flag is read as active.
//! - **Times** (§2.5, §2.7, §6): `FromTime`/`ToTime` are read as UTC (offset-less values too);
//!   the `…Local` twins are location wall-clock. A twin is used only to check the reading: it
//!   must differ from the UTC value by a whole number of quarter hours within ±14 h (any real
//!   zone), else the record is refused as unreadable. A record with only the `…Local` field has
//!   no instant we can trust (no zone on the record) and is refused.
//! - **Passes** (§2.4): granted from when they are known until `ExpireDate` while uses remain
//!   (`RemainingUses` > 0, or unknown and not `Used`). A pass used up (`RemainingUses` ≤ 0, or
//!   `Used` with unknown uses) still opens **until local midnight of the day it was used**
//!   (`UsedDate`), as a `checkin`-kind window in the mapping's time zone: a day pass is "unlimited
//!   check-ins that calendar day" (§2.4 Semantics), so the member whose last pass is consumed on
//!   arrival is not locked out at the door (at most the rest of that day, even past an
//!   `ExpireDate` that falls inside it). Used up with no `UsedDate`, or expired before it was
//!   used: exhausted.
//! - **Contracts** (§2.3): `Active: false` → pending (the rule behind `Active` is undocumented:
//!   a contract waiting for approval or ID checks must not open doors; the flip to active comes
//!   by webhook or the next sync). `Cancelled: true` (or the `CoworkerContractCancel` action)
//!   with a `CancellationDate` runs until that date (§2.3: a cancelled contract may still run);
//!   without one it ends now.
//! - **Bookings** (§2.5): `Tentative` → pending (needs admin approval). Booking visitors
//!   (`bookingvisitors`) with an e-mail become the booking's guests (API only: no webhook
//!   carries them). A cancelled booking (`cancelledbookings`) cancels
//!   `nexudus:booking:<OriginalBookingId>`.

use crate::Rejection;
use crate::api::{ApiRecord, Kept, Mapped, Unmapped};
use crate::json::{Obj, ids_in};
use crate::out::{Grant, Out, reference, with_content_id};
use crate::when::DateIs;
use access_sync_rules::event::MemberEvent;
use access_sync_rules::{
    Email, EntitlementId, Holder, Instant, Kind, MemberId, Source, Status, TeamId,
};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// The entitlement id of a booking.
pub(crate) fn booking_id(id: &str) -> EntitlementId {
    EntitlementId(format!("nexudus:booking:{id}"))
}

/// The collections the mapping knows (API paths' last segment, §1 "Module of each entity").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Collection {
    Coworkers,
    Teams,
    Contracts,
    TimePasses,
    Bookings,
    CancelledBookings,
    BookingVisitors,
    FloorPlanDesks,
    Checkins,
    /// `tariffs`, `businesses`, `resources`: read for reference; they grant nothing.
    Reference,
}

/// What a record of collection `c` with id `id` stands for among the stored facts when it is
/// listed but cannot be read: kept as stored, neither ended nor counted by the sync's brake
/// (`Kept`; as OfficeRnD's). The ids are those the mapping below gives each record.
fn keep(kept: &mut Kept, c: Collection, id: &str) {
    match c {
        Collection::Coworkers => kept.keep_member(id),
        Collection::Teams => kept.keep_team(id.to_string()),
        Collection::Contracts => kept.keep_entitlement(format!("nexudus:contract:{id}")),
        Collection::TimePasses => kept.keep_entitlement(format!("nexudus:timepass:{id}")),
        Collection::Bookings => kept.keep_entitlement(format!("nexudus:booking:{id}")),
        Collection::FloorPlanDesks => {
            kept.keep_entitlement(format!("nexudus:floorplandesk:{id}"));
        }
        Collection::Checkins => kept.keep_entitlement(format!("nexudus:checkin:{id}")),
        Collection::CancelledBookings | Collection::BookingVisitors | Collection::Reference => {}
    }
}

fn collection(name: &str) -> Option<Collection> {
    let last = name
        .trim_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or_default();
    Some(match last.to_ascii_lowercase().as_str() {
        "coworkers" => Collection::Coworkers,
        "teams" => Collection::Teams,
        "coworkercontracts" => Collection::Contracts,
        "coworkertimepasses" => Collection::TimePasses,
        "bookings" => Collection::Bookings,
        "cancelledbookings" => Collection::CancelledBookings,
        "bookingvisitors" => Collection::BookingVisitors,
        "floorplandesks" => Collection::FloorPlanDesks,
        "checkins" => Collection::Checkins,
        "tariffs" | "businesses" | "resources" => Collection::Reference,
        _ => return None,
    })
}

/// The record's change stamp: `UpdatedOn`, else `CreatedOn` (on every record, §2).
pub(crate) fn stamp(o: &Obj<'_>) -> Result<Option<(&'static str, Instant)>, Rejection> {
    if let Some(t) = o.instant_opt("UpdatedOn", DateIs::Start)? {
        return Ok(Some(("UpdatedOn", t)));
    }
    Ok(o.instant_opt("CreatedOn", DateIs::Start)?
        .map(|t| ("CreatedOn", t)))
}

/// An instant field read as UTC, checked against its `…Local` twin when present.
pub(crate) fn utc_field(
    o: &Obj<'_>,
    key: &str,
    date_is: DateIs,
) -> Result<Option<Instant>, Rejection> {
    let local_key = format!("{key}Local");
    let utc = o.instant_opt(key, date_is)?;
    let local = o.instant_opt(&local_key, date_is)?;
    match (utc, local) {
        (Some(u), Some(l)) => {
            // Both read as if UTC: the difference is the location's offset at that instant.
            let offset = l.signed_duration_since(u);
            let minutes = offset.num_minutes();
            if offset.num_seconds() % 60 != 0 || minutes.abs() > 14 * 60 || minutes % 15 != 0 {
                return Err(Rejection::malformed(
                    o.path(&local_key),
                    format!("differs from {key} by {minutes} min: no time zone does that"),
                ));
            }
            Ok(Some(u))
        }
        (Some(u), None) => Ok(Some(u)),
        (None, Some(_)) => Err(Rejection::malformed(
            o.path(key),
            format!("missing: only {local_key} (location wall-clock, no zone) is given"),
        )),
        (None, None) => Ok(None),
    }
}

/// A list of ids given as an array (`TeamMembers`) or a comma-separated string (`CoworkerIds`).
fn id_list(
    o: &Obj<'_>,
    array_key: &str,
    string_key: &str,
) -> Result<Option<Vec<String>>, Rejection> {
    if o.get(array_key).is_some() {
        return ids_in(o.array(array_key)?, &o.path(array_key)).map(Some);
    }
    match o.str_opt(string_key)? {
        Some(s) => {
            let mut out: Vec<String> = Vec::new();
            for part in s.split([',', ';']).map(str::trim).filter(|p| !p.is_empty()) {
                if !part.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(Rejection::malformed(
                        o.path(string_key),
                        "want comma-separated ids",
                    ));
                }
                if !out.iter().any(|x| x == part) {
                    out.push(part.to_string());
                }
            }
            Ok(Some(out))
        }
        None => Ok(None),
    }
}

/// A coworker (§2.1): its member event. `deleted`: the `CoworkerDelete` action.
pub(crate) fn coworker(out: &mut Out, o: &Obj<'_>, deleted: bool) -> Result<(), Rejection> {
    let id = o.id("Id")?;
    let suspended = o.bool_opt("Active")? == Some(false);
    let archived = o.bool_opt("Archived")? == Some(true);
    out.member(MemberEvent {
        id: MemberId(id),
        email: o.email_opt("Email")?,
        name: o
            .str_opt("FullName")?
            .filter(|n| !n.trim().is_empty())
            .map(str::to_string),
        removed: deleted || suspended || archived,
    });
    Ok(())
}

/// A team (§2.2): its member list, when the record carries one (`TeamMembers` on GET by id,
/// `CoworkerIds` as a string). `deleted`: `TeamDeleted` (the list becomes empty).
pub(crate) fn team(out: &mut Out, o: &Obj<'_>, deleted: bool) -> Result<(), Rejection> {
    let id = TeamId(o.id("Id")?);
    if deleted {
        out.team(id, Vec::new());
        return Ok(());
    }
    if let Some(members) = id_list(o, "TeamMembers", "CoworkerIds")? {
        out.team(id, members.into_iter().map(MemberId).collect());
    }
    Ok(())
}

/// A contract (§2.3): `nexudus:contract:<Id>`, kind plan, ref `plan:<TariffId>`.
/// `cancel_action`: delivered as `CoworkerContractCancel`; `deleted`: `CoworkerContractDelete`.
pub(crate) fn contract(
    out: &mut Out,
    o: &Obj<'_>,
    cancel_action: bool,
    deleted: bool,
) -> Result<(), Rejection> {
    let ent = format!("nexudus:contract:{}", o.id("Id")?);
    if deleted {
        out.cancel(EntitlementId(ent));
        return Ok(());
    }
    let cancelled = cancel_action || o.bool_opt("Cancelled")? == Some(true);
    let end = o.instant_opt("CancellationDate", DateIs::End)?;
    if cancelled && end.is_none() {
        out.cancel(EntitlementId(ent));
        return Ok(());
    }
    let active = o.bool_opt("Active")? != Some(false);
    let e = Grant {
        id: ent,
        kind: Kind::Plan,
        refs: reference(Source::Plan, &o.id("TariffId")?)
            .into_iter()
            .collect(),
        holder: Holder::Member(MemberId(o.id("CoworkerId")?)),
        start: o.instant_opt("StartDate", DateIs::Start)?,
        end,
        // A cancelled contract still running to its date was active: keep it so.
        status: if active || cancelled {
            Status::Active
        } else {
            Status::Pending
        },
    }
    .build(Vec::new(), &o.path("CancellationDate"))?;
    out.entitlement(e);
    Ok(())
}

/// A time pass held by a coworker (§2.4): `nexudus:timepass:<Id>`, ref `pass:<TimePassId>`.
pub(crate) fn timepass(out: &mut Out, o: &Obj<'_>, deleted: bool) -> Result<(), Rejection> {
    let ent = format!("nexudus:timepass:{}", o.id("Id")?);
    if deleted {
        out.cancel(EntitlementId(ent));
        return Ok(());
    }
    let remaining = o.int_opt("RemainingUses")?;
    let used = o.bool_opt("Used")? == Some(true);
    let used_up = match remaining {
        Some(n) => n <= 0,
        None => used,
    };
    let expires = o.instant_opt("ExpireDate", DateIs::End)?;
    let refs: Vec<_> = reference(Source::Pass, &o.id("TimePassId")?)
        .into_iter()
        .collect();
    let holder = Holder::Member(MemberId(o.id("CoworkerId")?));
    let used_on = o.instant_opt("UsedDate", DateIs::Start)?;
    let e = match (used_up, used_on) {
        (false, _) => Grant {
            id: ent,
            kind: Kind::Pass,
            refs,
            holder,
            start: None,
            end: expires,
            status: Status::Active,
        }
        .build(Vec::new(), &o.path("ExpireDate"))?,
        // Used up on arrival: the rest of that local day (a check-in window, which the engine
        // ends at the first local midnight after `UsedDate` in the mapping's time zone).
        (true, Some(day)) if expires.is_none_or(|x| x > day) => Grant {
            id: ent,
            kind: Kind::Checkin,
            refs,
            holder,
            start: Some(day),
            end: None,
            status: Status::Active,
        }
        .build(Vec::new(), &o.path("UsedDate"))?,
        (true, _) => Grant {
            id: ent,
            kind: Kind::Pass,
            refs,
            holder,
            start: None,
            end: None,
            status: Status::Exhausted,
        }
        .build(Vec::new(), &o.path("ExpireDate"))?,
    };
    out.entitlement(e);
    Ok(())
}

/// A booking (§2.5): `nexudus:booking:<Id>`, ref `resource:<ResourceId>`, `FromTime`–`ToTime`.
pub(crate) fn booking(
    out: &mut Out,
    o: &Obj<'_>,
    guests: Vec<Email>,
    deleted: bool,
) -> Result<(), Rejection> {
    let id = o.id("Id")?;
    if deleted {
        out.cancel(booking_id(&id));
        return Ok(());
    }
    let start = utc_field(o, "FromTime", DateIs::Start)?
        .ok_or_else(|| Rejection::malformed(o.path("FromTime"), "missing"))?;
    let end = utc_field(o, "ToTime", DateIs::Start)?
        .ok_or_else(|| Rejection::malformed(o.path("ToTime"), "missing"))?;
    let e = Grant {
        id: booking_id(&id).0,
        kind: Kind::Booking,
        refs: reference(Source::Resource, &o.id("ResourceId")?)
            .into_iter()
            .collect(),
        holder: Holder::Member(MemberId(o.id("CoworkerId")?)),
        start: Some(start),
        end: Some(end),
        status: if o.bool_opt("Tentative")? == Some(true) {
            Status::Pending
        } else {
            Status::Active
        },
    }
    .build(guests, &o.path("ToTime"))?;
    out.entitlement(e);
    Ok(())
}

/// A cancelled booking (§2.5): cancels the original booking.
pub(crate) fn cancelled_booking(out: &mut Out, o: &Obj<'_>) -> Result<(), Rejection> {
    out.cancel(booking_id(&o.id("OriginalBookingId")?));
    Ok(())
}

/// A floor-plan desk or office (§2.6) linked to a coworker: `nexudus:floorplandesk:<Id>`, kind
/// occupancy, ref `office:<Id>` for `ItemType` 1 (Office), else `desk:<Id>`. No coworker: the
/// unit is free (a cancel).
pub(crate) fn desk(out: &mut Out, o: &Obj<'_>, deleted: bool) -> Result<(), Rejection> {
    let id = o.id("Id")?;
    let ent = format!("nexudus:floorplandesk:{id}");
    let holder = o.id_opt("CoworkerId")?;
    let Some(holder) = holder.filter(|_| !deleted) else {
        out.cancel(EntitlementId(ent));
        return Ok(());
    };
    let source = if o.int_opt("ItemType")? == Some(1) {
        Source::Office
    } else {
        Source::Desk
    };
    let e = Grant {
        id: ent,
        kind: Kind::Occupancy,
        refs: reference(source, &id).into_iter().collect(),
        holder: Holder::Member(MemberId(holder)),
        start: None,
        end: None,
        status: Status::Active,
    }
    .build(Vec::new(), &o.path("CoworkerId"))?;
    out.entitlement(e);
    Ok(())
}

/// A check-in (§2.7): `nexudus:checkin:<Id>`, ref `checkin:<BusinessId>`, from `FromTime` to
/// `ToTime` (the check-out), or until local midnight while open.
pub(crate) fn checkin(out: &mut Out, o: &Obj<'_>, deleted: bool) -> Result<(), Rejection> {
    let ent = format!("nexudus:checkin:{}", o.id("Id")?);
    if deleted {
        out.cancel(EntitlementId(ent));
        return Ok(());
    }
    let start = utc_field(o, "FromTime", DateIs::Start)?
        .ok_or_else(|| Rejection::malformed(o.path("FromTime"), "missing"))?;
    let e = Grant {
        id: ent,
        kind: Kind::Checkin,
        refs: reference(Source::Checkin, &o.id("BusinessId")?)
            .into_iter()
            .collect(),
        holder: Holder::Member(MemberId(o.id("CoworkerId")?)),
        start: Some(start),
        end: utc_field(o, "ToTime", DateIs::Start)?,
        status: Status::Active,
    }
    .build(Vec::new(), &o.path("ToTime"))?;
    out.entitlement(e);
    Ok(())
}

/// Maps records read from Nexudus's API to canonical events.
///
/// - Event ids hash the event's content and the record's `UpdatedOn` (else `CreatedOn`), so
///   reading the same records again gives the same ids and a changed record gives new ones.
/// - `at` is `now`, the sync's instant, for every event (the seam's contract,
///   [`crate::api::Mapped`]): what bumps `UpdatedOn` is undocumented (R §3), so a record's stamp
///   may lag a change, and an event older than a version the engine holds is ignored.
/// - `bookingvisitors` rows with a `VisitorEmail` become guests of their `BookingId`'s booking
///   (listed in the same set); a row whose booking is not listed is noted as unmapped.
/// - A `cancelledbookings` row whose original booking is still listed in `bookings` is skipped
///   (the live booking wins).
pub fn events_from_records(records: &[ApiRecord<'_>], now: Instant) -> Mapped {
    let mut mapped = Mapped::default();
    let mut guests: BTreeMap<String, Vec<Email>> = BTreeMap::new();
    let mut live_bookings: BTreeSet<String> = BTreeSet::new();
    for r in records {
        match collection(r.collection) {
            Some(Collection::BookingVisitors) => {
                let Ok(o) = Obj::new(r.body, "") else {
                    continue;
                };
                if let (Ok(b), Ok(Some(e))) = (o.id("BookingId"), o.email_opt("VisitorEmail")) {
                    guests.entry(b).or_default().push(e);
                }
            }
            Some(Collection::Bookings) => {
                if let Some(id) = r.body.get("Id").and_then(plain_id) {
                    live_bookings.insert(id);
                }
            }
            _ => {}
        }
    }
    for r in records {
        let unmapped = |reason: String| Unmapped {
            collection: r.collection.to_string(),
            id: r.id.to_string(),
            reason,
        };
        let Some(c) = collection(r.collection) else {
            mapped
                .unmapped
                .push(unmapped(format!("unknown collection {:?}", r.collection)));
            continue;
        };
        let o = match Obj::new(r.body, "") {
            Ok(o) => o,
            Err(e) => {
                keep(&mut mapped.kept, c, r.id);
                mapped.unmapped.push(unmapped(e.to_string()));
                continue;
            }
        };
        let stamped = match stamp(&o) {
            Ok(s) => s.map(|(_, t)| t),
            Err(e) => {
                keep(&mut mapped.kept, c, r.id);
                mapped.unmapped.push(unmapped(e.to_string()));
                continue;
            }
        };
        let mut out = Out::new(String::new(), stamped.unwrap_or(now));
        let result = match c {
            Collection::Coworkers => coworker(&mut out, &o, false),
            Collection::Teams => team(&mut out, &o, false),
            Collection::Contracts => contract(&mut out, &o, false, false),
            Collection::TimePasses => timepass(&mut out, &o, false),
            Collection::Bookings => {
                let g = o
                    .id("Id")
                    .ok()
                    .and_then(|id| guests.remove(&id))
                    .unwrap_or_default();
                booking(&mut out, &o, g, false)
            }
            Collection::CancelledBookings => match o.id("OriginalBookingId") {
                Ok(orig) if live_bookings.contains(&orig) => Ok(()),
                _ => cancelled_booking(&mut out, &o),
            },
            Collection::FloorPlanDesks => {
                // A free unit gives nothing; its absence from the holder's entitlements is
                // what the sync's full listing sees.
                if o.get("CoworkerId").is_none() {
                    Ok(())
                } else {
                    desk(&mut out, &o, false)
                }
            }
            Collection::Checkins => checkin(&mut out, &o, false),
            Collection::BookingVisitors | Collection::Reference => Ok(()),
        };
        match result {
            Ok(()) => {
                for e in out.finish() {
                    let mut e = with_content_id(e, "nexudus", "record", stamped.is_some());
                    e.at = now;
                    mapped.events.push(e);
                }
            }
            Err(e) => {
                keep(&mut mapped.kept, c, r.id);
                mapped.unmapped.push(unmapped(e.to_string()));
            }
        }
    }
    for (booking, _) in guests {
        mapped.unmapped.push(Unmapped {
            collection: "bookingvisitors".into(),
            id: booking.clone(),
            reason: format!(
                "visitors of booking {booking}, which is not among the listed bookings"
            ),
        });
    }
    mapped
}

fn plain_id(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Whether a complete full listing contains the entitlement `id` if it still exists: contracts,
/// time passes and floor-plan units are listed in full; bookings and check-ins are listed in a
/// window (their ends come from `cancelledbookings`, `BookingDelete`, `ToTime`), so their
/// absence proves nothing.
pub fn covers(id: &EntitlementId) -> bool {
    let Some(rest) = id.as_str().strip_prefix("nexudus:") else {
        return false;
    };
    ["contract:", "timepass:", "floorplandesk:"]
        .iter()
        .any(|p| rest.starts_with(p))
}
