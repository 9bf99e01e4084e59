//! OfficeRnD webhooks → canonical events.
//!
//! Envelope `{event, eventType, data: {object, previousAttributes}, createdAt}`; the delivery id
//! is `officernd:<event>` and `at` is `createdAt`.
//!
//! | eventType | canonical |
//! |---|---|
//! | `membership.created/updated` | entitlement `officernd:membership:<_id>`: kind `plan`, refs `plan:<plan>`; with a `desk` or `privateOffice` it is an `occupancy` and also carries `location:<office>`, `floor:<floor>`, `office:<privateOffice>`, `desk:<desk>` as present. Holder: `member`, or the whole `team` when no member is assigned. `status: not_approved` or `calculatedStatus: pending` → pending; `calculatedStatus: expired` → cancel |
//! | `membership.removed` | cancel |
//! | `booking.created/updated` | entitlement `officernd:booking:<_id>`: kind `booking`, ref `resource:<resourceId>`, `start.dateTime`–`end.dateTime`, holder `member` else `team`, `visitors` with an e-mail become guests, `tentative` → pending; each other id in `members` gets its own entitlement `officernd:booking:<_id>:member:<id>`, and members dropped since `previousAttributes.members` are cancelled |
//! | `booking.removed`, or `canceled: true` | cancel of the booking and of its members' entitlements |
//! | `pass.created/updated` | entitlement `officernd:pass:<_id>`: kind `pass`, ref `pass:<plan>`, `startDate`–`endDate`; exhausted when `usedCount` ≥ `count` |
//! | `member.created/updated/removed` | member event (`email`, `name`; `status: former` or `.removed` → removed). When the payload carries `team`, the team's list gains the member (and the previous team, from `previousAttributes.team`, loses it), built on the list already known |
//! | `company.removed` | the team's list becomes empty; `company.created/updated` change nothing unless they carry `members` |
//! | anything else | nothing |
//!
//! Dates: a bare `endDate` (no time) includes that day.

use crate::Rejection;
use crate::directory::Known;
use crate::json::{Obj, ids_in, parse_body};
use crate::out::{Grant, Out, reference};
use crate::when::DateIs;
use access_sync_rules::event::MemberEvent;
use access_sync_rules::{
    Email, EntitlementId, Event, Holder, Kind, MemberId, Source, Status, TeamId,
};
use serde_json::Value;

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
    match entity {
        "membership" => membership(&mut out, &object, removed)?,
        "booking" => booking(&mut out, &object, previous.as_ref(), removed)?,
        "pass" => pass(&mut out, &object, removed)?,
        "member" => member(&mut out, &object, previous.as_ref(), removed, known)?,
        "company" => company(&mut out, &object, removed)?,
        _ => {}
    }
    Ok(out.finish())
}

fn holder(o: &Obj<'_>) -> Result<Holder, Rejection> {
    if let Some(m) = o.id_opt("member")? {
        return Ok(Holder::Member(MemberId(m)));
    }
    if let Some(t) = o.id_opt("team")? {
        return Ok(Holder::Team(TeamId(t)));
    }
    Err(Rejection::malformed(
        o.path("member"),
        "neither a member nor a team holds it",
    ))
}

fn membership(out: &mut Out, o: &Obj<'_>, removed: bool) -> Result<(), Rejection> {
    let id = format!("officernd:membership:{}", o.id("_id")?);
    if removed {
        out.cancel(EntitlementId(id));
        return Ok(());
    }
    let status = match o.str_opt("status")? {
        None | Some("approved") => Status::Active,
        Some("not_approved") => Status::Pending,
        Some(other) => {
            return Err(Rejection::malformed(
                o.path("status"),
                format!("unknown status {other:?} (want approved or not_approved)"),
            ));
        }
    };
    let status = match o.str_opt("calculatedStatus")? {
        None | Some("active") => status,
        Some("pending") => Status::Pending,
        Some("expired") => {
            out.cancel(EntitlementId(id));
            return Ok(());
        }
        Some(other) => {
            return Err(Rejection::malformed(
                o.path("calculatedStatus"),
                format!("unknown status {other:?} (want active, pending or expired)"),
            ));
        }
    };
    let plan = o.id_opt("plan")?;
    let desk = o.id_opt("desk")?;
    let private_office = o.id_opt("privateOffice")?;
    let occupancy = desk.is_some() || private_office.is_some();
    let mut refs = Vec::new();
    refs.extend(plan.as_deref().and_then(|p| reference(Source::Plan, p)));
    if occupancy {
        for (source, key) in [(Source::Location, "office"), (Source::Floor, "floor")] {
            if let Some(x) = o.id_opt(key)? {
                refs.extend(reference(source, &x));
            }
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
        start: o.instant_opt("startDate", DateIs::Start)?,
        end: o.instant_opt("endDate", DateIs::End)?,
        status,
    }
    .build(Vec::new(), &o.path("endDate"))?;
    out.entitlement(e);
    Ok(())
}

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

fn booking(
    out: &mut Out,
    o: &Obj<'_>,
    previous: Option<&Obj<'_>>,
    removed: bool,
) -> Result<(), Rejection> {
    let record = o.id("_id")?;
    let id = format!("officernd:booking:{record}");
    let member_id = |m: &str| format!("{id}:member:{m}");
    let members = ids_in(o.array("members")?, &o.path("members"))?;
    let before = match previous {
        Some(p) => ids_in(p.array("members")?, &p.path("members"))?,
        None => Vec::new(),
    };
    if removed || o.bool_opt("canceled")? == Some(true) {
        out.cancel(EntitlementId(id.clone()));
        for m in members.iter().chain(&before) {
            out.cancel(EntitlementId(member_id(m)));
        }
        return Ok(());
    }
    let resource = o.id("resourceId")?;
    let start = o.obj("start")?.instant("dateTime", DateIs::Start)?;
    let end_obj = o.obj("end")?;
    let end = end_obj.instant("dateTime", DateIs::Start)?;
    let end_field = end_obj.path("dateTime");
    let holder = holder(o)?;
    let status = if o.bool_opt("tentative")? == Some(true) {
        Status::Pending
    } else {
        Status::Active
    };
    // Visitors without an e-mail (ids only) cannot be given access: Kisi knows people by address.
    let guests: Vec<Email> = o
        .array("visitors")?
        .iter()
        .filter_map(visitor_email)
        .collect();
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
            grant(member_id(m), Holder::Member(MemberId(m.clone())))
                .build(Vec::new(), &end_field)?,
        );
    }
    for m in before.iter().filter(|m| !members.contains(m)) {
        out.cancel(EntitlementId(member_id(m)));
    }
    Ok(())
}

fn pass(out: &mut Out, o: &Obj<'_>, removed: bool) -> Result<(), Rejection> {
    let id = format!("officernd:pass:{}", o.id("_id")?);
    if removed {
        out.cancel(EntitlementId(id));
        return Ok(());
    }
    let plan = o.id("plan")?;
    let exhausted = match (o.int_opt("count")?, o.int_opt("usedCount")?) {
        (Some(count), Some(used)) => used >= count,
        _ => false,
    };
    let e = Grant {
        id,
        kind: Kind::Pass,
        refs: reference(Source::Pass, &plan).into_iter().collect(),
        holder: holder(o)?,
        start: o.instant_opt("startDate", DateIs::Start)?,
        end: o.instant_opt("endDate", DateIs::End)?,
        status: if exhausted {
            Status::Exhausted
        } else {
            Status::Active
        },
    }
    .build(Vec::new(), &o.path("endDate"))?;
    out.entitlement(e);
    Ok(())
}

fn member(
    out: &mut Out,
    o: &Obj<'_>,
    previous: Option<&Obj<'_>>,
    removed: bool,
    known: &dyn Known,
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
    // A removal leaves team lists alone (ACCESS-MODEL rule 6); and only a payload that carries
    // `team` says anything about the member's team.
    if removed || !o.has("team") {
        return Ok(());
    }
    let team = o.id_opt("team")?.map(TeamId);
    if let Some(t) = &team {
        let mut list = known.team_members(t).unwrap_or_default();
        if !list.contains(&id) {
            list.push(id.clone());
            out.team(t.clone(), list);
        }
    }
    if let Some(p) = previous
        && let Some(old) = p.id_opt("team")?.map(TeamId)
        && Some(&old) != team.as_ref()
        && let Some(list) = known.team_members(&old)
        && list.contains(&id)
    {
        out.team(old, list.into_iter().filter(|m| m != &id).collect());
    }
    Ok(())
}

fn company(out: &mut Out, o: &Obj<'_>, removed: bool) -> Result<(), Rejection> {
    let id = TeamId(o.id("_id")?);
    if removed {
        out.team(id, Vec::new());
    } else if o.has("members") {
        let members = ids_in(o.array("members")?, &o.path("members"))?;
        out.team(id, members.into_iter().map(MemberId).collect());
    }
    Ok(())
}
