//! Nexudus webhooks → canonical events.
//!
//! The body is a JSON array holding one DTO (each element is handled, in order). A Nexudus
//! webhook has one action, fixed when it is created, and the DTO does not say which: register each
//! webhook with its action in the URL (`/nexudus?action=BookingDelete`). Without it the action is
//! inferred from the DTO's fields (`TimePassId` → time pass, `TariffId` → contract, `ResourceId`
//! → booking, `Email` → coworker), which cannot tell a delete from an update.
//!
//! `at` is the DTO's `UpdatedOn` (else `CreatedOn`); the canonical ids hash the action, `Id` and
//! that timestamp. Offset-less date-times are taken as UTC.
//!
//! | action | canonical |
//! |---|---|
//! | `BookingCreate` (6), `BookingUpdate` (7) | entitlement `nexudus:booking:<Id>`, kind `booking`, ref `resource:<ResourceId>`, holder `CoworkerId`, `FromTime`–`ToTime` |
//! | `BookingDelete` (8) | cancel |
//! | `CoworkerContractActivate` (10), `…Renew` (12), `…UpgradeDowngrade` (13), `…ActivateFirst` (14) | entitlement `nexudus:contract:<Id>`, kind `plan`, ref `plan:<TariffId>`, `StartDate`–`CancellationDate`; `Active: false` → pending |
//! | `CoworkerContractCancel` (11) | the contract ending at `CancellationDate`, or a cancel now when it has none |
//! | `CoworkerCreate` (3), `CoworkerUpdate` (2) | member event `Id`, `Email`, `FullName` |
//! | `CoworkerCheckin`, `CheckinCreate` / `CoworkerCheckout` | entitlement `nexudus:checkin:<BusinessId>:<CoworkerId>`, kind `checkin`, ref `checkin:<BusinessId>`, from `FromTime` / cancel |
//! | `CoworkerTimePassCreate`, `…Update` / `…Delete` | entitlement `nexudus:timepass:<Id>`, kind `pass`, ref `pass:<TimePassId>`, until `ExpireDate`; `RemainingUses` 0 → exhausted / cancel |
//! | blog, welcome e-mail, invoice actions | nothing |

use crate::Rejection;
use crate::directory::Known;
use crate::json::{Obj, parse_body};
use crate::out::{Grant, Out, hashed_id, reference};
use crate::when::DateIs;
use access_sync_rules::event::MemberEvent;
use access_sync_rules::{EntitlementId, Event, Holder, Kind, MemberId, Source, Status};
use serde_json::Value;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Action {
    Booking,
    BookingDelete,
    Contract,
    ContractCancel,
    Coworker,
    Checkin,
    Checkout,
    TimePass,
    TimePassDelete,
    Ignored,
}

impl Action {
    fn parse(s: &str) -> Option<Action> {
        let s = s.trim().to_ascii_lowercase();
        Some(match s.as_str() {
            "6" | "bookingcreate" | "7" | "bookingupdate" => Action::Booking,
            "8" | "bookingdelete" => Action::BookingDelete,
            "10"
            | "coworkercontractactivate"
            | "12"
            | "coworkercontractrenew"
            | "13"
            | "coworkercontractupgradedowngrade"
            | "14"
            | "coworkercontractactivatefirst" => Action::Contract,
            "11" | "coworkercontractcancel" => Action::ContractCancel,
            "2" | "coworkerupdate" | "3" | "coworkercreate" => Action::Coworker,
            "coworkercheckin" | "checkincreate" => Action::Checkin,
            "coworkercheckout" => Action::Checkout,
            "coworkertimepasscreate" | "coworkertimepassupdate" => Action::TimePass,
            "coworkertimepassdelete" => Action::TimePassDelete,
            "4" | "blogpostcreate" | "5" | "blogpostupdate" | "9" | "sendwelcomeemail" => {
                Action::Ignored
            }
            n if n.starts_with("coworkerinvoice") => Action::Ignored,
            n => match n.parse::<u32>() {
                Ok(15..=24) => Action::Ignored,
                _ => return None,
            },
        })
    }

    fn infer(o: &Obj<'_>) -> Option<Action> {
        if o.has("TimePassId") {
            Some(Action::TimePass)
        } else if o.has("TariffId") {
            Some(Action::Contract)
        } else if o.has("ResourceId") {
            Some(Action::Booking)
        } else if o.has("Email") {
            Some(Action::Coworker)
        } else {
            None
        }
    }

    fn name(self) -> &'static str {
        match self {
            Action::Booking => "booking",
            Action::BookingDelete => "booking-delete",
            Action::Contract => "contract",
            Action::ContractCancel => "contract-cancel",
            Action::Coworker => "coworker",
            Action::Checkin => "checkin",
            Action::Checkout => "checkout",
            Action::TimePass => "timepass",
            Action::TimePassDelete => "timepass-delete",
            Action::Ignored => "ignored",
        }
    }
}

/// Translates one Nexudus delivery; `action` is the webhook's action (name or number), if known.
/// Nexudus names people by id in every record, so nothing needs to be known beforehand.
pub fn normalize(
    body: &[u8],
    action: Option<&str>,
    _known: &dyn Known,
) -> Result<Vec<Event>, Rejection> {
    let given = match action {
        Some(a) => Some(Action::parse(a).ok_or_else(|| {
            Rejection::malformed(
                "action",
                format!("unknown Nexudus action {a:?} (want e.g. BookingCreate or 6)"),
            )
        })?),
        None => None,
    };
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
        let action = match given.or_else(|| Action::infer(&o)) {
            Some(a) => a,
            None => {
                return Err(Rejection::malformed(
                    "action",
                    "missing, and the record's fields do not tell (register the webhook as /nexudus?action=<Action>)",
                ));
            }
        };
        if action == Action::Ignored {
            continue;
        }
        events.extend(record(&o, action)?);
    }
    Ok(events)
}

fn record(o: &Obj<'_>, action: Action) -> Result<Vec<Event>, Rejection> {
    let (stamp_key, at) = match o.instant_opt("UpdatedOn", DateIs::Start)? {
        Some(t) => ("UpdatedOn", t),
        None => match o.instant_opt("CreatedOn", DateIs::Start)? {
            Some(t) => ("CreatedOn", t),
            None => {
                return Err(Rejection::malformed(
                    o.path("UpdatedOn"),
                    "missing (and no CreatedOn)",
                ));
            }
        },
    };
    let stamp = o.get(stamp_key).map(Value::to_string).unwrap_or_default();
    let id = o.id("Id")?;
    let mut out = Out::new(hashed_id("nexudus", &[action.name(), &id, &stamp]), at);
    let coworker = || o.id("CoworkerId").map(|c| Holder::Member(MemberId(c)));
    match action {
        Action::Ignored => {}
        Action::Booking => {
            let e = Grant {
                id: format!("nexudus:booking:{id}"),
                kind: Kind::Booking,
                refs: reference(Source::Resource, &o.id("ResourceId")?)
                    .into_iter()
                    .collect(),
                holder: coworker()?,
                start: Some(o.instant("FromTime", DateIs::Start)?),
                end: Some(o.instant("ToTime", DateIs::Start)?),
                status: Status::Active,
            }
            .build(Vec::new(), &o.path("ToTime"))?;
            out.entitlement(e);
        }
        Action::BookingDelete => out.cancel(EntitlementId(format!("nexudus:booking:{id}"))),
        Action::Contract | Action::ContractCancel => {
            let ent = format!("nexudus:contract:{id}");
            let end = o.instant_opt("CancellationDate", DateIs::End)?;
            if action == Action::ContractCancel && end.is_none() {
                out.cancel(EntitlementId(ent));
            } else {
                let e = Grant {
                    id: ent,
                    kind: Kind::Plan,
                    refs: reference(Source::Plan, &o.id("TariffId")?)
                        .into_iter()
                        .collect(),
                    holder: coworker()?,
                    start: o.instant_opt("StartDate", DateIs::Start)?,
                    end,
                    status: if o.bool_opt("Active")? == Some(false) && action == Action::Contract {
                        Status::Pending
                    } else {
                        Status::Active
                    },
                }
                .build(Vec::new(), &o.path("CancellationDate"))?;
                out.entitlement(e);
            }
        }
        Action::Coworker => out.member(MemberEvent {
            id: MemberId(id),
            email: o.email_opt("Email")?,
            name: o
                .str_opt("FullName")?
                .filter(|n| !n.trim().is_empty())
                .map(str::to_string),
            removed: false,
        }),
        Action::Checkin | Action::Checkout => {
            let business = o.id("BusinessId")?;
            let member = o.id("CoworkerId")?;
            let ent = format!("nexudus:checkin:{business}:{member}");
            if action == Action::Checkout {
                out.cancel(EntitlementId(ent));
            } else {
                let e = Grant {
                    id: ent,
                    kind: Kind::Checkin,
                    refs: reference(Source::Checkin, &business).into_iter().collect(),
                    holder: Holder::Member(MemberId(member)),
                    start: o.instant_opt("FromTime", DateIs::Start)?,
                    end: None,
                    status: Status::Active,
                }
                .build(Vec::new(), &o.path("FromTime"))?;
                out.entitlement(e);
            }
        }
        Action::TimePass => {
            let exhausted = o.int_opt("RemainingUses")?.is_some_and(|n| n <= 0);
            let e = Grant {
                id: format!("nexudus:timepass:{id}"),
                kind: Kind::Pass,
                refs: reference(Source::Pass, &o.id("TimePassId")?)
                    .into_iter()
                    .collect(),
                holder: coworker()?,
                start: None,
                end: o.instant_opt("ExpireDate", DateIs::End)?,
                status: if exhausted {
                    Status::Exhausted
                } else {
                    Status::Active
                },
            }
            .build(Vec::new(), &o.path("ExpireDate"))?;
            out.entitlement(e);
        }
        Action::TimePassDelete => out.cancel(EntitlementId(format!("nexudus:timepass:{id}"))),
    }
    Ok(out.finish())
}
