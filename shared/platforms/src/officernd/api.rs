//! OfficeRnD's side of the API seam ([`crate::api`]): [`map_records`] (records listed from the
//! v2 API → canonical events, through the one mapping in [`super::records`]) and [`covers`]
//! (which stored entitlements a complete full listing speaks for).
//!
//! # What a complete full listing covers
//! The sync ends ("cancels") an active stored entitlement of this platform that a *complete
//! full* listing no longer contains. That is only right for an entitlement the listing would
//! have contained if it still existed. The OfficeRnD client (`access_sync_sources::officernd`)
//! lists `memberships`, `passes`, `assignments` and `bookings` without a time filter, but
//! `bookings/occurrences` and `checkins` only inside a window around the day of the sync (the
//! API requires one for occurrences, reference §2.5). So:
//!
//! | entitlement id | covered | why |
//! |---|---|---|
//! | `officernd:membership:<id>` | yes | `memberships` is listed in full |
//! | `officernd:pass:<id>` | yes | `passes` is listed in full |
//! | `officernd:assignment:<id>` | yes | `assignments` is listed in full |
//! | `officernd:booking:<id>` and `…:member:<m>` | yes | `bookings` is listed in full (a one-off booking's id has no `@`) |
//! | `officernd:booking:<id>@<start>` and `…:member:<m>` | **no** | one occurrence of a recurring series: listed only while inside the occurrence window; outside it, absence says nothing |
//! | `officernd:checkin:<id>` | **no** | `checkins` is listed only for the last days; a check-in ends by itself (its `end`, or local midnight) |
//! | anything else | no | not made by this platform's mapping (another platform's, or a hashed webhook id) |
//!
//! `covers` sees only the id, not the sync's instant, so it cannot tell an occurrence inside
//! today's window from one outside it; we chose never to end occurrences by absence over
//! ending ones the listing could not see. The cost: an occurrence whose series was deleted
//! (deletions are invisible in listings, §3) keeps its access for that occurrence's own
//! hours; a cancelled occurrence the listing returns with `isCancelled` is still cancelled,
//! because that is an event the mapping emits, not an absence.
//!
//! # Team lists and incremental listings
//! A company's member list is made from the listed members that name it (a listed member
//! record is whole: without `company` it is in none). That is the whole list only when every
//! member was listed. An incremental sync lists only the collections OfficeRnD can filter by
//! change time (`members`, `companies`, `floors`, §3 "Incremental"), so a list made from it
//! would drop every unchanged member. The mapping therefore makes team lists only from a
//! listing that contains a record of a collection no incremental listing reads (memberships,
//! passes, bookings, locations, …): a full listing of any space that grants anything. (The
//! engine lists OfficeRnD in full on every scheduled run, because memberships, passes and
//! bookings cannot be listed by change time; an incremental listing reaches this mapping only
//! when a caller asks for one.)

use super::records::{self, RecordRef};
use crate::api::{ApiRecord, Mapped, Unmapped, covers_by_prefix};
use crate::directory::Nothing;
use access_sync_rules::{Body, EntitlementId, Instant};

/// The collections OfficeRnD can list by change time (reference §3 "Incremental"): the only
/// ones an incremental listing contains. Kept in step with the client's collection table
/// (`access_sync_sources::officernd`, `incremental: true`).
const INCREMENTAL: [&str; 3] = ["members", "companies", "floors"];

/// Whether the records can only have come from a full listing (see the module docs).
fn is_full(records: &[ApiRecord<'_>]) -> bool {
    records
        .iter()
        .any(|r| !INCREMENTAL.contains(&r.collection.trim_matches('/')))
}

/// Records listed from OfficeRnD's v2 API → canonical events at the sync's instant `at`.
/// Team events only from a full listing (module docs).
pub fn map_records(records: &[ApiRecord<'_>], at: Instant) -> Mapped {
    let full = is_full(records);
    let refs: Vec<RecordRef<'_>> = records
        .iter()
        .map(|r| RecordRef {
            collection: r.collection,
            body: r.body,
        })
        .collect();
    let out = records::events_from_records(&refs, at, &Nothing);
    let events = out
        .events
        .into_iter()
        .filter(|e| full || !matches!(e.body, Body::Team(_)))
        .map(|mut e| {
            e.at = at;
            e
        })
        .collect();
    let mut unmapped: Vec<Unmapped> = out
        .unmapped
        .into_iter()
        .map(|u| Unmapped {
            collection: u.collection,
            id: u.id.unwrap_or_else(|| "(no _id)".into()),
            reason: u.reason,
        })
        .collect();
    unmapped.sort();
    Mapped {
        events,
        unmapped,
        kept: out.kept,
    }
}

/// Whether a complete full listing would contain entitlement `id` if it still existed
/// (module docs, "What a complete full listing covers").
pub fn covers(id: &EntitlementId) -> bool {
    if !covers_by_prefix("officernd", id) {
        return false;
    }
    let rest = &id.as_str()["officernd:".len()..];
    let Some((kind, record)) = rest.split_once(':') else {
        return false;
    };
    match kind {
        "membership" | "pass" | "assignment" => !record.is_empty(),
        "booking" => !record.is_empty() && !record.contains('@'),
        _ => false,
    }
}

#[cfg(test)]
mod tests;
