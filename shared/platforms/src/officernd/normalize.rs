//! OfficeRnD webhooks → canonical events.
//!
//! Envelope `{event, eventType, data: {object, previousAttributes}, createdAt}`; the delivery id
//! is `officernd:<event>` and `at` is `createdAt`. The record in `data.object` is mapped by the
//! same per-record functions as a record read from the API ([`super::records`]), so both paths
//! agree; the webhook adds what only a delivery says (`*.removed`, `previousAttributes`).
//!
//! | eventType | canonical |
//! |---|---|
//! | `membership.created/updated` | entitlement `officernd:membership:<_id>`: kind `plan`, refs `plan:<plan>`; with a `desk` or `privateOffice` it is an `occupancy` and also carries `location:<location or office>`, `floor:<floor>`, `office:<privateOffice>`, `desk:<desk>` as present. Holder: `member`, or the whole company (`company`, v1 `team`) when no member is assigned. Grants when `status` is `approved` and `calculatedStatus` `active`; `not_started` (v1 `pending`) is the window from its future `startDate`; `not_approved` → pending; `expired` → cancel. `startDate`/`endDate` are calendar dates, `endDate` inclusive |
//! | `membership.removed` | cancel (its assignments end at the next sync: the webhook names none; `events/officernd/README.md`) |
//! | `booking.created/updated` | entitlement `officernd:booking:<_id>` (one occurrence of a recurring series: `officernd:booking:<_id>@<start>`): kind `booking`, ref `resource:<resource or resourceId>`, `start`–`end` (strings, or v1 `{dateTime}`), holder `member` else company, `visitors` with an e-mail become guests, `isTentative` (v1 `tentative`) → pending; each other id in `members` gets its own entitlement `<booking id>:member:<id>`, and members dropped since `previousAttributes.members` are cancelled |
//! | `booking.removed`, or `isCancelled`/`canceled: true` | cancel of the booking and of its members' entitlements |
//! | `pass.created/updated` | entitlement `officernd:pass:<_id>`: kind `pass`, refs `pass:<plan>` and `pass:<resourceType>` as present, `validFrom`–`validTo` (else `startDate`–`endDate`); `status: used` or `usedCount` ≥ `count` → exhausted, `pending` → pending, `expired` → cancel |
//! | `member.created/updated/removed` | member event (`email`, `name`; `status: former` or `.removed` → removed). When the payload carries `company` (v1 `team`), the team's list gains the member; when `previousAttributes` names a previous company (and the object another one, or none), that team's list loses it; both built on the list already known |
//! | `company.removed` | the team's list becomes empty; `company.created/updated` change nothing unless they carry `members` |
//! | anything else | nothing (the ingest route answers 202) |

use super::records::{booking, company, member, membership, pass};
use crate::Rejection;
use crate::directory::Known;
use crate::json::{Obj, parse_body};
use crate::out::Out;
use crate::when::DateIs;
use access_sync_rules::Event;

/// Translates one OfficeRnD delivery.
pub fn normalize(body: &[u8], known: &dyn Known) -> Result<Vec<Event>, Rejection> {
    let v = parse_body(body)?;
    let env = Obj::new(&v, "")?;
    let event = env.id("event")?;
    let event_type = env.str("eventType")?;
    let at = env.instant("createdAt", DateIs::Start)?;
    let data = env.obj("data")?;
    let object = data.obj("object")?;
    let previous = data.obj_opt("previousAttributes")?;
    let mut out = Out::new(format!("officernd:{event}"), at);
    let (entity, action) = event_type.rsplit_once('.').unwrap_or((event_type, ""));
    let removed = action == "removed";
    // What a webhook cannot give (visitors without an e-mail) is only noted by the API reader.
    let mut notes = Vec::new();
    match entity {
        "membership" => membership(&mut out, &object, removed)?,
        "booking" => booking(&mut out, &object, previous.as_ref(), removed, &mut notes)?,
        "pass" => pass(&mut out, &object, removed)?,
        "member" => member(&mut out, &object, previous.as_ref(), removed, Some(known))?,
        "company" => company(&mut out, &object, removed)?,
        _ => {}
    }
    Ok(out.finish())
}
