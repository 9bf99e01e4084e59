//! Nexudus webhooks → canonical events.
//!
//! The body is a JSON array holding one DTO (each element is handled, in order; §5.1). A Nexudus
//! webhook has one action, fixed when it is created, and the DTO does not say which: register
//! each webhook with its action in the URL (`/nexudus?action=BookingDelete`, name or number of
//! `eWebhookAction`, §5.1). Without it the action is inferred from the DTO's fields
//! (`TimePassId` → time pass, `TariffId` → contract, `ResourceId` → booking, `Email` →
//! coworker), which cannot tell a delete from an update.
//!
//! Each DTO is mapped by the same per-record functions as a record read from the API
//! ([`super::records`]). `at` is the DTO's `UpdatedOn` (else `CreatedOn`); the canonical ids hash
//! the action, `Id` and that timestamp.
//!
//! | action (number) | canonical |
//! |---|---|
//! | `CoworkerCreate` (3), `CoworkerUpdate` (2), `AccessControlUpdate` (61) | member event `Id`, `Email`, `FullName`; `Active: false` (suspended) or `Archived: true` → removed. 61 is Nexudus's "re-read this coworker" hint (§5.2): its coworker DTO is applied when it carries `Email`, else acknowledged (the next sync re-reads) |
//! | `CoworkerDelete` (50) | member removed |
//! | `TeamCreated` (57), `TeamUpdated` (58) / `TeamDeleted` (59) | team event from `TeamMembers` (or `CoworkerIds`), when present / empty team |
//! | `CoworkerContractCreate` (62), `…Activate` (10), `…Renew` (12), `…UpgradeDowngrade` (13), `…ActivateFirst` (14), `…Update` (60) | entitlement `nexudus:contract:<Id>`, kind `plan`, ref `plan:<TariffId>` |
//! | `CoworkerContractCancel` (11) / `CoworkerContractDelete` (77) | the contract ending at `CancellationDate` (a cancel when it has none) / cancel |
//! | `BookingCreate` (6), `BookingUpdate` (7) / `BookingDelete` (8) | entitlement `nexudus:booking:<Id>`, ref `resource:<ResourceId>` / cancel |
//! | `CheckinCreated` (47), `CheckinUpdated` (48), `CoworkerCheckin` (36), `CoworkerCheckout` (35) / `CheckinDeleted` (49) | entitlement `nexudus:checkin:<Id>`, ref `checkin:<BusinessId>`, `FromTime`–`ToTime` (a check-out without `ToTime`: cancel) / cancel. A 35/36 DTO that is a coworker (no `FromTime`, has `Email`) is applied as the coworker |
//! | `FloorPlanDeskCreate` (71), `…Update` (73) / `…Delete` (72) | entitlement `nexudus:floorplandesk:<Id>`, kind `occupancy`, ref `desk:`/`office:<Id>`; no `CoworkerId` → cancel / cancel |
//! | time passes (no such action exists, §2.4; the inferred `CoworkerTimePass*` names are kept) | entitlement `nexudus:timepass:<Id>` |
//! | every other action, known or not (tariffs, visitors, invoices, blog, …), or none and a DTO that does not tell | nothing: the route acknowledges it (2xx) and logs the action, so Nexudus never disables the webhook over it |

use super::records::{booking, checkin, contract, coworker, desk, stamp, team, timepass};
use crate::Rejection;
use crate::directory::Known;
use crate::json::{Obj, parse_body};
use crate::out::{Out, hashed_id};
use access_sync_rules::Event;
use serde_json::Value;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Action {
    Booking,
    BookingDelete,
    Contract,
    ContractCancel,
    ContractDelete,
    Coworker,
    CoworkerDelete,
    AccessControl,
    Team,
    TeamDelete,
    Checkin,
    Checkout,
    CheckinDelete,
    Desk,
    DeskDelete,
    TimePass,
    TimePassDelete,
    Ignored,
}

impl Action {
    /// The action by name (case-insensitive) or `eWebhookAction` number (§5.1); anything else
    /// is [`Action::Ignored`].
    fn parse(s: &str) -> Action {
        let s = s.trim().to_ascii_lowercase();
        match s.as_str() {
            "6" | "bookingcreate" | "7" | "bookingupdate" => Action::Booking,
            "8" | "bookingdelete" => Action::BookingDelete,
            "10"
            | "coworkercontractactivate"
            | "12"
            | "coworkercontractrenew"
            | "13"
            | "coworkercontractupgradedowngrade"
            | "14"
            | "coworkercontractactivatefirst"
            | "60"
            | "coworkercontractupdate"
            | "62"
            | "coworkercontractcreate" => Action::Contract,
            "11" | "coworkercontractcancel" => Action::ContractCancel,
            "77" | "coworkercontractdelete" => Action::ContractDelete,
            "2" | "coworkerupdate" | "3" | "coworkercreate" => Action::Coworker,
            "50" | "coworkerdelete" => Action::CoworkerDelete,
            "61" | "accesscontrolupdate" => Action::AccessControl,
            "57" | "teamcreated" | "58" | "teamupdated" => Action::Team,
            "59" | "teamdeleted" => Action::TeamDelete,
            "47" | "checkincreated" | "48" | "checkinupdated" | "36" | "coworkercheckin"
            | "checkincreate" => Action::Checkin,
            "35" | "coworkercheckout" => Action::Checkout,
            "49" | "checkindeleted" => Action::CheckinDelete,
            "71" | "floorplandeskcreate" | "73" | "floorplandeskupdate" => Action::Desk,
            "72" | "floorplandeskdelete" => Action::DeskDelete,
            "coworkertimepasscreate" | "coworkertimepassupdate" => Action::TimePass,
            "coworkertimepassdelete" => Action::TimePassDelete,
            _ => Action::Ignored,
        }
    }

    fn infer(o: &Obj<'_>) -> Action {
        if o.has("TimePassId") {
            Action::TimePass
        } else if o.has("TariffId") {
            Action::Contract
        } else if o.has("ResourceId") {
            Action::Booking
        } else if o.has("Email") {
            Action::Coworker
        } else {
            Action::Ignored
        }
    }

    fn name(self) -> &'static str {
        match self {
            Action::Booking => "booking",
            Action::BookingDelete => "booking-delete",
            Action::Contract => "contract",
            Action::ContractCancel => "contract-cancel",
            Action::ContractDelete => "contract-delete",
            Action::Coworker => "coworker",
            Action::CoworkerDelete => "coworker-delete",
            Action::AccessControl => "access-control-update",
            Action::Team => "team",
            Action::TeamDelete => "team-delete",
            Action::Checkin => "checkin",
            Action::Checkout => "checkout",
            Action::CheckinDelete => "checkin-delete",
            Action::Desk => "floorplandesk",
            Action::DeskDelete => "floorplandesk-delete",
            Action::TimePass => "timepass",
            Action::TimePassDelete => "timepass-delete",
            Action::Ignored => "ignored",
        }
    }
}

/// Translates one Nexudus delivery; `action` is the webhook's action (name or number), if known.
/// An action this adapter does not act on gives no events (the route acknowledges it).
/// Nexudus names people by id in every record, so nothing needs to be known beforehand.
pub fn normalize(
    body: &[u8],
    action: Option<&str>,
    _known: &dyn Known,
) -> Result<Vec<Event>, Rejection> {
    let given = action.filter(|a| !a.trim().is_empty()).map(Action::parse);
    if given == Some(Action::Ignored) {
        return Ok(Vec::new());
    }
    let v = parse_body(body)?;
    let Value::Array(items) = &v else {
        return Err(Rejection::malformed(
            "body",
            "want a JSON array holding one record",
        ));
    };
    if items.is_empty() {
        return Err(Rejection::malformed(
            "body[0]",
            "missing: the array is empty",
        ));
    }
    let mut events = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let o = Obj::new(item, format!("[{i}]"))?;
        let action = given.unwrap_or_else(|| Action::infer(&o));
        if action == Action::Ignored {
            continue;
        }
        events.extend(record(&o, action)?);
    }
    Ok(events)
}

fn record(o: &Obj<'_>, action: Action) -> Result<Vec<Event>, Rejection> {
    // The coworker DTO of AccessControlUpdate (§5.2) is only a hint unless it says who.
    if action == Action::AccessControl && o.get("Email").is_none() {
        return Ok(Vec::new());
    }
    let Some((stamp_key, at)) = stamp(o)? else {
        return Err(Rejection::malformed(
            o.path("UpdatedOn"),
            "missing (and no CreatedOn)",
        ));
    };
    let stamp = o.get(stamp_key).map(Value::to_string).unwrap_or_default();
    let id = o.id("Id")?;
    let mut out = Out::new(hashed_id("nexudus", &[action.name(), &id, &stamp]), at);
    match action {
        Action::Ignored => {}
        Action::Booking => booking(&mut out, o, Vec::new(), false)?,
        Action::BookingDelete => booking(&mut out, o, Vec::new(), true)?,
        Action::Contract => contract(&mut out, o, false, false)?,
        Action::ContractCancel => contract(&mut out, o, true, false)?,
        Action::ContractDelete => contract(&mut out, o, false, true)?,
        Action::Coworker | Action::AccessControl => coworker(&mut out, o, false)?,
        Action::CoworkerDelete => coworker(&mut out, o, true)?,
        Action::Team => team(&mut out, o, false)?,
        Action::TeamDelete => team(&mut out, o, true)?,
        Action::Checkin | Action::Checkout => {
            // CoworkerCheckin/-out may carry the coworker rather than the check-in (§5.1 [I]).
            if !o.has("FromTime") && !o.has("FromTimeLocal") && o.has("Email") {
                coworker(&mut out, o, false)?;
            } else {
                // A check-out without its time ends the check-in now.
                let open = o.get("ToTime").is_none() && o.get("ToTimeLocal").is_none();
                checkin(&mut out, o, action == Action::Checkout && open)?;
            }
        }
        Action::CheckinDelete => checkin(&mut out, o, true)?,
        Action::Desk => desk(&mut out, o, false)?,
        Action::DeskDelete => desk(&mut out, o, true)?,
        Action::TimePass => timepass(&mut out, o, false)?,
        Action::TimePassDelete => timepass(&mut out, o, true)?,
    }
    Ok(out.finish())
}
