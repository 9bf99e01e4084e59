//! TeamUp webhooks → canonical events.
//!
//! Body `{"feed_items":[{"object":"feed_item","id":…,"timestamp":…,"type":…,"data":{…}}]}`; each
//! item is handled, in order. The canonical ids are `teamup:<TEAMUP-WEBHOOK-ID>/<item id>` (the
//! header stays the same across retries), or `teamup:item:<item id>` when there is no header
//! (the CLI); `at` is the item's `timestamp`.
//!
//! | type | canonical |
//! |---|---|
//! | `customer.created/updated` / `customer.deleted` | member event `data.id`, `data.email`, `data.first_name` + `data.last_name` / removed |
//! | `customer_membership.created/updated` | entitlement `teamup:membership:<data.id>`, kind `plan`, ref `plan:<data.membership>` (the membership type), holder `data.customer`, `data.start_date`–`data.end_date`; `data.status`: `active` → active, `blocked` → blocked, `inactive` (a fully used pack) or `data.remaining_uses` 0 → exhausted, `expired` → cancel |
//! | `customer_membership.deleted` | cancel |
//! | `event_registration.created/updated` | entitlement `teamup:registration:<data.id>`, kind `registration`, ref `registration:<offering>` where the offering is `data.event.offering_type`, else `data.event.course`, else `data.event.appointment_type`; `data.event.starts_at`–`data.event.ends_at` |
//! | `event_registration.cancelled/deleted`, or `data.status: cancelled` | cancel |
//! | anything else | nothing |
//!
//! A `customer` embedded as an object with an `email` also yields its member event.

use crate::Rejection;
use crate::directory::Known;
use crate::json::{Obj, join, parse_body};
use crate::out::{Grant, Out, person, reference};
use crate::when::DateIs;
use access_sync_rules::event::MemberEvent;
use access_sync_rules::{EntitlementId, Event, Holder, Kind, MemberId, Source, Status};

/// Translates one TeamUp delivery; `webhook_id` is the `TEAMUP-WEBHOOK-ID` header, if any.
pub fn normalize(
    body: &[u8],
    webhook_id: Option<&str>,
    known: &dyn Known,
) -> Result<Vec<Event>, Rejection> {
    let v = parse_body(body)?;
    let root = Obj::new(&v, "")?;
    if !root.has("feed_items") {
        return Err(Rejection::malformed("feed_items", "missing"));
    }
    let webhook_id = webhook_id.map(str::trim).filter(|w| !w.is_empty());
    let mut events = Vec::new();
    for (i, item) in root.array("feed_items")?.iter().enumerate() {
        let o = Obj::new(item, format!("feed_items[{i}]"))?;
        let item_id = o.id("id")?;
        let base = match webhook_id {
            Some(w) => format!("teamup:{w}/{item_id}"),
            None => format!("teamup:item:{item_id}"),
        };
        let mut out = Out::new(base, o.instant("timestamp", DateIs::Start)?);
        let kind = o.str("type")?;
        let (entity, action) = kind.rsplit_once('.').unwrap_or((kind, ""));
        match entity {
            "customer" => customer(&mut out, &o.obj("data")?, action)?,
            "customer_membership" => membership(&mut out, &o.obj("data")?, action, known)?,
            "event_registration" => registration(&mut out, &o.obj("data")?, action, known)?,
            _ => {}
        }
        events.extend(out.finish());
    }
    Ok(events)
}

fn customer(out: &mut Out, d: &Obj<'_>, action: &str) -> Result<(), Rejection> {
    let first = d.str_opt("first_name")?.unwrap_or("");
    let last = d.str_opt("last_name")?.unwrap_or("");
    let name = format!("{first} {last}").trim().to_string();
    out.member(MemberEvent {
        id: MemberId(d.id("id")?),
        email: d.email_opt("email")?,
        name: Some(name).filter(|n| !n.is_empty()),
        removed: action == "deleted",
    });
    Ok(())
}

/// The customer a record belongs to: an id, or an embedded customer (whose e-mail, if any,
/// becomes a member event).
fn customer_of(out: &mut Out, d: &Obj<'_>, known: &dyn Known) -> Result<MemberId, Rejection> {
    if let Some(c) = d.obj_opt("customer").ok().flatten() {
        let id = c.id("id")?;
        let name = format!(
            "{} {}",
            c.str_opt("first_name")?.unwrap_or(""),
            c.str_opt("last_name")?.unwrap_or("")
        );
        let email = c.email_opt("email")?;
        return person(out, known, Some(id), email, Some(name.trim().to_string()))
            .ok_or_else(|| Rejection::malformed(c.path("id"), "missing"));
    }
    let id = d.id("customer")?;
    let email = d.email_opt("customer_email")?;
    person(out, known, Some(id), email, None)
        .ok_or_else(|| Rejection::malformed(d.path("customer"), "missing"))
}

fn membership(
    out: &mut Out,
    d: &Obj<'_>,
    action: &str,
    known: &dyn Known,
) -> Result<(), Rejection> {
    let id = format!("teamup:membership:{}", d.id("id")?);
    if action == "deleted" {
        out.cancel(EntitlementId(id));
        return Ok(());
    }
    let status = match d.str_opt("status")? {
        None | Some("active") => Status::Active,
        Some("blocked") => Status::Blocked,
        Some("inactive") => Status::Exhausted,
        Some("expired") => {
            out.cancel(EntitlementId(id));
            return Ok(());
        }
        Some(other) => {
            return Err(Rejection::malformed(
                d.path("status"),
                format!("unknown status {other:?} (want active, blocked, inactive or expired)"),
            ));
        }
    };
    let status = if d.int_opt("remaining_uses")?.is_some_and(|n| n <= 0) {
        Status::Exhausted
    } else {
        status
    };
    let holder = customer_of(out, d, known)?;
    let e = Grant {
        id,
        kind: Kind::Plan,
        refs: reference(Source::Plan, &d.id("membership")?)
            .into_iter()
            .collect(),
        holder: Holder::Member(holder),
        start: d.instant_opt("start_date", DateIs::Start)?,
        end: d.instant_opt("end_date", DateIs::End)?,
        status,
    }
    .build(Vec::new(), &d.path("end_date"))?;
    out.entitlement(e);
    Ok(())
}

fn registration(
    out: &mut Out,
    d: &Obj<'_>,
    action: &str,
    known: &dyn Known,
) -> Result<(), Rejection> {
    let id = format!("teamup:registration:{}", d.id("id")?);
    let cancelled = matches!(action, "cancelled" | "deleted")
        || matches!(d.str_opt("status")?, Some("cancelled" | "late_cancelled"));
    if cancelled {
        out.cancel(EntitlementId(id));
        return Ok(());
    }
    let event = d.obj("event")?;
    let offering = match event.id_opt("offering_type")? {
        Some(o) => o,
        None => match event.id_opt("course")? {
            Some(o) => o,
            None => event.id_opt("appointment_type")?.ok_or_else(|| {
                Rejection::malformed(
                    join(&d.path("event"), "offering_type"),
                    "missing (and no course or appointment_type)",
                )
            })?,
        },
    };
    let holder = customer_of(out, d, known)?;
    let e = Grant {
        id,
        kind: Kind::Registration,
        refs: reference(Source::Registration, &offering)
            .into_iter()
            .collect(),
        holder: Holder::Member(holder),
        start: Some(event.instant("starts_at", DateIs::Start)?),
        end: Some(event.instant("ends_at", DateIs::Start)?),
        status: Status::Active,
    }
    .build(Vec::new(), &event.path("ends_at"))?;
    out.entitlement(e);
    Ok(())
}
