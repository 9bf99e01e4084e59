//! Optix webhooks → canonical events.
//!
//! Optix POSTs an HTML form: `client_id`, `created_timestamp` (unix seconds; the event's `at`),
//! `organization_id`, `event`, `request_signature`, plus the record's fields. There is no delivery
//! id, so the canonical ids hash `event`, the record id and `created_timestamp`.
//!
//! People: Optix names them by e-mail (`member_email`, `member.email` or `member[email]`; name
//! from `member_name`, `member.first_name`/`member.last_name`). Their member id is `member_id` or
//! `user_id` when sent, else the member already known with that address, else the address
//! itself; a member event is added when the address is new.
//!
//! | event | canonical |
//! |---|---|
//! | `new_member_booking`, `member_booking_updated` | entitlement `optix:booking:<booking_id>`, kind `booking`, ref `resource:<workspace_id>`, `check_in_timestamp`–`check_out_timestamp` |
//! | `member_booking_cancelled` | cancel |
//! | `new_plan_subscription`, `plan_subscription_updated` | a team `optix:subscription:<account_plan_id>` listing the `subscribers` (each with `email`, `user_fullname`, `user_id`), and entitlement `optix:subscription:<account_plan_id>` held by that team: kind `plan`, ref `plan:<plan_template_id>` (else `plan:<plan_template_name>`), `start_timestamp`–`end_timestamp`. Without subscribers the member fields name a single holder |
//! | `plan_subscription_cancelled` | cancel |
//! | `new_allowance`, `allowance_updated` / `allowance_cancelled` | entitlement `optix:allowance:<account_allowance_id>` (else `<allowance_id>:<member>`), kind `allowance`, ref `allowance:<allowance_id>` / cancel |
//! | `new_assignment`, `assignment_updated` / `assignment_cancelled` | entitlement `optix:assignment:<assignment_id>`, kind `assignment`, ref `resource:<workspace_id>`, `start_timestamp`–`end_timestamp` / cancel |
//! | `member_check_in` / `member_check_out` | entitlement `optix:checkin:<location_id>:<member>`, kind `checkin`, ref `checkin:<location_id>`, from `check_in_timestamp`, `timezone` / cancel |
//! | anything else (`new_sale`, `invoice_paid`, …) | nothing |
//!
//! A team subscription is a team-held entitlement rather than one entitlement per subscriber:
//! when a later version lists other subscribers, only the team list changes, and the core adds
//! and removes people at that instant.

use crate::Rejection;
use crate::directory::Known;
use crate::out::{Grant, Out, hashed_id, person, reference};
use crate::when::{self, DateIs};
use access_sync_rules::time::parse_tz;
use access_sync_rules::{
    Email, EntitlementId, Event, Holder, Instant, Kind, MemberId, Source, Status, TeamId,
};
use std::collections::BTreeMap;

/// A parsed form: the first value of each field wins.
struct Form {
    fields: Vec<(String, String)>,
}

impl Form {
    fn parse(body: &[u8]) -> Form {
        Form {
            fields: form_urlencoded::parse(body).into_owned().collect(),
        }
    }

    fn get(&self, key: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, v)| k == key && !v.trim().is_empty())
            .map(|(_, v)| v.trim())
    }

    fn any(&self, keys: &[&str]) -> Option<&str> {
        keys.iter().find_map(|k| self.get(k))
    }

    fn required(&self, key: &str) -> Result<&str, Rejection> {
        self.get(key)
            .ok_or_else(|| Rejection::malformed(key, "missing"))
    }

    fn instant_opt(&self, key: &str) -> Result<Option<Instant>, Rejection> {
        self.get(key)
            .map(|s| {
                when::parse(s, DateIs::Start).ok_or_else(|| {
                    Rejection::malformed(key, format!("bad timestamp {s:?} (want unix seconds)"))
                })
            })
            .transpose()
    }

    fn instant(&self, key: &str) -> Result<Instant, Rejection> {
        self.instant_opt(key)?
            .ok_or_else(|| Rejection::malformed(key, "missing"))
    }

    /// The member the flat member fields name.
    fn member(&self, out: &mut Out, known: &dyn Known) -> Option<MemberId> {
        let email = self
            .any(&[
                "member_email",
                "member.email",
                "member[email]",
                "user_email",
            ])
            .and_then(Email::parse);
        let name = self
            .any(&["member_name", "user_fullname"])
            .map(str::to_string)
            .or_else(|| {
                let first = self.any(&["member.first_name", "member[first_name]"]);
                let last = self.any(&["member.last_name", "member[last_name]"]);
                match (first, last) {
                    (None, None) => None,
                    (f, l) => Some(
                        format!("{} {}", f.unwrap_or(""), l.unwrap_or(""))
                            .trim()
                            .to_string(),
                    ),
                }
            });
        let id = self
            .any(&["member_id", "user_id", "member.id", "member[id]"])
            .map(str::to_string);
        person(out, known, id, email, name)
    }

    /// The raw member reference, for hashing delivery ids of per-member records.
    fn who(&self) -> &str {
        self.any(&[
            "member_id",
            "user_id",
            "member.id",
            "member[id]",
            "member_email",
            "member.email",
            "member[email]",
            "user_email",
        ])
        .unwrap_or("")
    }

    fn holder(&self, out: &mut Out, known: &dyn Known) -> Result<MemberId, Rejection> {
        self.member(out, known)
            .ok_or_else(|| Rejection::malformed("member_email", "missing (no member e-mail or id)"))
    }
}

/// One subscriber of a plan subscription.
#[derive(Default)]
struct Subscriber {
    email: Option<String>,
    name: Option<String>,
    id: Option<String>,
}

/// Subscribers as PHP-style form arrays (`subscribers[0][email]=…`), or as one field holding a
/// JSON array of objects: the reference shows the list but not its encoding.
fn subscribers(form: &Form) -> Result<Vec<Subscriber>, Rejection> {
    if let Some(json) = form.get("subscribers") {
        let v: serde_json::Value = serde_json::from_str(json)
            .map_err(|e| Rejection::malformed("subscribers", format!("not a JSON array: {e}")))?;
        let arr = v
            .as_array()
            .ok_or_else(|| Rejection::malformed("subscribers", "not a JSON array"))?;
        let mut out = Vec::new();
        for (i, s) in arr.iter().enumerate() {
            let o = crate::json::Obj::new(s, format!("subscribers[{i}]"))?;
            out.push(Subscriber {
                email: o.str_opt("email")?.map(str::to_string),
                name: o.str_opt("user_fullname")?.map(str::to_string),
                id: o.id_opt("user_id")?,
            });
        }
        return Ok(out);
    }
    let mut by_index: BTreeMap<u32, Subscriber> = BTreeMap::new();
    for (k, v) in &form.fields {
        let Some(rest) = k.strip_prefix("subscribers[") else {
            continue;
        };
        let Some((index, field)) = rest.split_once("][") else {
            return Err(Rejection::malformed(
                k.as_str(),
                "want subscribers[<n>][<field>]",
            ));
        };
        let index: u32 = index
            .parse()
            .map_err(|_| Rejection::malformed(k.as_str(), "bad subscriber index"))?;
        let s = by_index.entry(index).or_default();
        let v = Some(v.trim().to_string()).filter(|v| !v.is_empty());
        match field.trim_end_matches(']') {
            "email" => s.email = s.email.take().or(v),
            "user_fullname" => s.name = s.name.take().or(v),
            "user_id" => s.id = s.id.take().or(v),
            _ => {}
        }
    }
    Ok(by_index.into_values().collect())
}

/// Translates one Optix delivery (a form-encoded body).
pub fn normalize(body: &[u8], known: &dyn Known) -> Result<Vec<Event>, Rejection> {
    let form = Form::parse(body);
    let event = form.required("event")?;
    let created = form.required("created_timestamp")?;
    let at = form.instant("created_timestamp")?;
    let base = |record: &str| hashed_id("optix", &[event, record, created]);
    let cancel = |record_key: &str, prefix: &str| -> Result<Vec<Event>, Rejection> {
        let record = form.required(record_key)?;
        let mut out = Out::new(base(record), at);
        out.cancel(EntitlementId(format!("optix:{prefix}:{record}")));
        Ok(out.finish())
    };
    match event {
        "new_member_booking" | "member_booking_updated" => {
            let record = form.required("booking_id")?;
            let mut out = Out::new(base(record), at);
            let holder = form.holder(&mut out, known)?;
            let e = Grant {
                id: format!("optix:booking:{record}"),
                kind: Kind::Booking,
                refs: reference(Source::Resource, form.required("workspace_id")?)
                    .into_iter()
                    .collect(),
                holder: Holder::Member(holder),
                start: Some(form.instant("check_in_timestamp")?),
                end: Some(form.instant("check_out_timestamp")?),
                status: Status::Active,
            }
            .build(Vec::new(), "check_out_timestamp")?;
            out.entitlement(e);
            Ok(out.finish())
        }
        "member_booking_cancelled" => cancel("booking_id", "booking"),
        "new_plan_subscription" | "plan_subscription_updated" => {
            let record = form.required("account_plan_id")?;
            let mut out = Out::new(base(record), at);
            let plan = form
                .any(&["plan_template_id", "plan_template_name"])
                .ok_or_else(|| Rejection::malformed("plan_template_id", "missing"))?;
            let subs = subscribers(&form)?;
            let holder = if subs.is_empty() {
                Holder::Member(form.holder(&mut out, known)?)
            } else {
                let mut members = Vec::new();
                for (i, s) in subs.into_iter().enumerate() {
                    let m = person(
                        &mut out,
                        known,
                        s.id,
                        s.email.as_deref().and_then(Email::parse),
                        s.name,
                    )
                    .ok_or_else(|| {
                        Rejection::malformed(format!("subscribers[{i}][email]"), "missing")
                    })?;
                    if !members.contains(&m) {
                        members.push(m);
                    }
                }
                let team = TeamId(format!("optix:subscription:{record}"));
                out.team(team.clone(), members);
                Holder::Team(team)
            };
            let e = Grant {
                id: format!("optix:subscription:{record}"),
                kind: Kind::Plan,
                refs: reference(Source::Plan, plan).into_iter().collect(),
                holder,
                start: form.instant_opt("start_timestamp")?,
                end: form.instant_opt("end_timestamp")?,
                status: Status::Active,
            }
            .build(Vec::new(), "end_timestamp")?;
            out.entitlement(e);
            Ok(out.finish())
        }
        "plan_subscription_cancelled" => cancel("account_plan_id", "subscription"),
        "new_allowance" | "allowance_updated" | "allowance_cancelled" => {
            let allowance = form.required("allowance_id")?;
            let record_field = form.get("account_allowance_id");
            let mut out = Out::new(
                base(&format!(
                    "{}|{}",
                    record_field.unwrap_or(allowance),
                    form.who()
                )),
                at,
            );
            let holder = form.holder(&mut out, known)?;
            let record = match record_field {
                Some(r) => r.to_string(),
                None => format!("{allowance}:{holder}"),
            };
            let id = format!("optix:allowance:{record}");
            if event == "allowance_cancelled" {
                out.cancel(EntitlementId(id));
                return Ok(out.finish());
            }
            let e = Grant {
                id,
                kind: Kind::Allowance,
                refs: reference(Source::Allowance, allowance)
                    .into_iter()
                    .collect(),
                holder: Holder::Member(holder),
                start: form.instant_opt("start_timestamp")?,
                end: form.instant_opt("end_timestamp")?,
                status: Status::Active,
            }
            .build(Vec::new(), "end_timestamp")?;
            out.entitlement(e);
            Ok(out.finish())
        }
        "new_assignment" | "assignment_updated" => {
            let record = form.required("assignment_id")?;
            let mut out = Out::new(base(record), at);
            let holder = form.holder(&mut out, known)?;
            let e = Grant {
                id: format!("optix:assignment:{record}"),
                kind: Kind::Assignment,
                refs: reference(Source::Resource, form.required("workspace_id")?)
                    .into_iter()
                    .collect(),
                holder: Holder::Member(holder),
                start: form.instant_opt("start_timestamp")?,
                end: form.instant_opt("end_timestamp")?,
                status: Status::Active,
            }
            .build(Vec::new(), "end_timestamp")?;
            out.entitlement(e);
            Ok(out.finish())
        }
        "assignment_cancelled" => cancel("assignment_id", "assignment"),
        "member_check_in" | "member_check_out" => {
            let location = form.required("location_id")?;
            let mut out = Out::new(base(&format!("{location}|{}", form.who())), at);
            let holder = form.holder(&mut out, known)?;
            // One open check-in per member and location: the check-out ends it.
            let id = format!("optix:checkin:{location}:{holder}");
            if event == "member_check_out" {
                out.cancel(EntitlementId(id));
                return Ok(out.finish());
            }
            let mut e = Grant {
                id,
                kind: Kind::Checkin,
                refs: reference(Source::Checkin, location).into_iter().collect(),
                holder: Holder::Member(holder),
                start: form.instant_opt("check_in_timestamp")?,
                end: None,
                status: Status::Active,
            }
            .build(Vec::new(), "check_in_timestamp")?;
            e.tz = form
                .get("timezone")
                .map(parse_tz)
                .transpose()
                .map_err(|m| Rejection::malformed("timezone", m))?;
            out.entitlement(e);
            Ok(out.finish())
        }
        _ => Ok(Vec::new()),
    }
}
