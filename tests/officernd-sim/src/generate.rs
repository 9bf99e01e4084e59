//! A deterministic generator of an OfficeRnD organisation for benchmarks: the same
//! `(members, seed, anchor)` always gives the same records, ids included.
//!
//! What it makes for `n` members (all dates relative to `anchor`, field names as in the
//! reference §2): two locations (London, New York) with two floors each; five plans; `n / 8`
//! companies; `n` members (about 60 % in a company; statuses mostly `active`, some `former`,
//! `pending`, `contact`, `drop-in`, `not_approved`, `lead`); memberships for them covering every
//! `calculatedStatus`, `month_to_month` ones without an `endDate` key and `fixed` ones with
//! `endDate` set or `null`, company memberships without a member for half of the companies (and
//! a few with one), and personal memberships that also name the company; passes with
//! `usedCount`/`count` in every `status`; meeting rooms, dedicated desks, private offices and a
//! hot-desk area; desk and office assignments; one-off bookings (some cancelled, tentative,
//! with visitors or teammates) and weekly recurring series; check-ins over the last week,
//! a few still open.

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use serde_json::{Map, Value, json};

use crate::model::{Collection, Fixture, iso};

/// The most members the generator (and `POST /__admin/generate`) makes.
pub const MAX_MEMBERS: usize = 100_000;

/// Midnight UTC of `now`'s day: the default anchor, so a run on the same day is reproducible.
pub fn default_anchor(now: DateTime<Utc>) -> DateTime<Utc> {
    now.date_naive()
        .and_hms_opt(0, 0, 0)
        .map_or(now, |t| t.and_utc())
}

/// SplitMix64: small, fast and the same on every platform and crate version.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n` > 0).
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    /// True with probability `pct` %.
    fn pct(&mut self, pct: u64) -> bool {
        self.below(100) < pct
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

const FIRST: [&str; 16] = [
    "Ann", "Bob", "Cat", "Dan", "Eve", "Finn", "Gia", "Hal", "Ida", "Jon", "Kai", "Lea", "Max",
    "Nia", "Oto", "Pia",
];
const LAST: [&str; 12] = [
    "Archer", "Baker", "Cho", "Diaz", "Evans", "Fox", "Gupta", "Hart", "Ito", "Jones", "Kim",
    "Lund",
];

struct Ids {
    ts: u32,
    n: u64,
}

impl Ids {
    fn next(&mut self, c: Collection) -> String {
        self.n += 1;
        let tag = crate::model::ALL.iter().position(|x| *x == c).unwrap_or(0);
        format!("{:08x}{:04x}{:012x}", self.ts, tag + 1, self.n)
    }
}

fn obj(v: Value) -> Value {
    debug_assert!(v.is_object());
    v
}

fn day(anchor: DateTime<Utc>, offset_days: i64) -> String {
    iso(default_anchor(anchor + Duration::days(offset_days)))
}

fn local(tz: Tz, date: NaiveDate, hour: u32, minute: u32) -> DateTime<Utc> {
    date.and_hms_opt(hour, minute, 0)
        .and_then(|t| tz.from_local_datetime(&t).earliest())
        .map_or_else(
            || {
                date.and_hms_opt(12, 0, 0)
                    .map_or(DateTime::UNIX_EPOCH, |t| t.and_utc())
            },
            |t| t.with_timezone(&Utc),
        )
}

/// Generates an organisation of `members` members from `seed`, dated around `anchor`.
pub fn generate(members: usize, seed: u64, anchor: DateTime<Utc>) -> Fixture {
    let members = members.min(MAX_MEMBERS);
    let mut rng = Rng(seed ^ 0x5EED_0FF1_CE00_0000);
    let mut ids = Ids {
        ts: u32::try_from(anchor.timestamp().max(0)).unwrap_or(u32::MAX),
        n: 0,
    };
    let mut out: Map<String, Value> = Map::new();
    let mut push = |c: Collection, v: Value| {
        if let Value::Array(list) = out
            .entry(c.key().to_owned())
            .or_insert_with(|| Value::Array(Vec::new()))
        {
            list.push(v);
        }
    };
    let stamp = |rng: &mut Rng| iso(anchor - Duration::minutes(rng.below(90 * 24 * 60) as i64 + 1));

    // Locations and floors.
    let sites = [
        (
            "London Bridge",
            "LDN",
            "Europe/London",
            chrono_tz::Europe::London,
        ),
        (
            "Brooklyn",
            "BKN",
            "America/New_York",
            chrono_tz::America::New_York,
        ),
    ];
    let mut locations = Vec::new();
    let mut floors = Vec::new();
    for (name, code, tz_name, tz) in sites {
        let id = ids.next(Collection::Locations);
        push(
            Collection::Locations,
            obj(
                json!({"_id": id, "name": name, "code": code, "timezone": tz_name,
                "isOpen": true, "isPublic": true, "address": {"city": name},
                "properties": {}}),
            ),
        );
        let mut fl = Vec::new();
        for f in 1..=2 {
            let fid = ids.next(Collection::Floors);
            let ts = stamp(&mut rng);
            push(
                Collection::Floors,
                obj(
                    json!({"_id": fid, "floor": f.to_string(), "name": format!("Floor {f}"),
                    "location": id, "area": 500, "isOpen": true,
                    "createdAt": ts, "modifiedAt": ts}),
                ),
            );
            fl.push(fid);
        }
        locations.push((id, tz));
        floors.push(fl);
    }
    let location_ids: Vec<String> = locations.iter().map(|l| l.0.clone()).collect();

    // Plans: (key, name, type, interval, price).
    let plan_defs = [
        ("hot", "Hot Desk Monthly", "hotdesk", "month", 250),
        ("desk", "Dedicated Desk", "desk", "month", 400),
        ("office", "Private Office", "office", "month", 2000),
        ("day", "Day Pass Bundle", "hotdesk", "once", 150),
        ("weekend", "Weekend Access", "custom", "month", 90),
    ];
    let mut plan = std::collections::HashMap::new();
    for (key, name, ty, interval, price) in plan_defs {
        let id = ids.next(Collection::Plans);
        push(
            Collection::Plans,
            obj(
                json!({"_id": id, "name": name, "code": key.to_uppercase(), "type": ty,
                "price": price, "intervalLength": interval, "intervalCount": 1,
                "locations": location_ids, "requiresApproval": key == "office",
                "forMembers": true, "forTeamMembers": key != "weekend",
                "forNonMembers": key == "day", "shouldPassesGrantActiveStatus": key == "day"}),
            ),
        );
        plan.insert(key, (id, name, price));
    }

    // Resources: meeting rooms, dedicated desks, private offices, a hot-desk area per site.
    let companies_n = (members / 8).max(1);
    let mut rooms = Vec::new();
    let mut desks = Vec::new();
    let mut offices = Vec::new();
    for (li, (loc, _)) in locations.iter().enumerate() {
        let mut add = |rng: &mut Rng, ids: &mut Ids, name: String, ty: &str, size: u32| {
            let id = ids.next(Collection::Resources);
            let ts = stamp(rng);
            let floor = rng.pick(&floors[li]).clone();
            push(
                Collection::Resources,
                obj(
                    json!({"_id": id, "name": name, "type": ty, "location": loc, "floor": floor,
                    "size": size, "privacy": "active_members", "properties": {},
                    "availability": {"startDate": day(anchor, -400)},
                    "createdAt": ts, "modifiedAt": ts}),
                ),
            );
            id
        };
        for r in 0..4 {
            let id = add(
                &mut rng,
                &mut ids,
                format!("Room {}{}", li + 1, r + 1),
                "meeting_room",
                8,
            );
            rooms.push((id, li));
        }
        for d in 0..(members / 16).max(1) {
            desks.push(add(
                &mut rng,
                &mut ids,
                format!("Desk {}-{}", li + 1, d + 1),
                "desk",
                1,
            ));
        }
        for o in 0..companies_n.div_ceil(4) {
            offices.push(add(
                &mut rng,
                &mut ids,
                format!("Office {}-{}", li + 1, o + 1),
                "team_room",
                6,
            ));
        }
        add(
            &mut rng,
            &mut ids,
            format!("Hot desks {}", li + 1),
            "hotdesk",
            40,
        );
    }

    // Companies.
    let mut companies = Vec::new();
    for k in 0..companies_n {
        let id = ids.next(Collection::Companies);
        let li = rng.below(2) as usize;
        let ts = stamp(&mut rng);
        push(
            Collection::Companies,
            obj(json!({"_id": id, "name": format!("Company {} Ltd", k + 1),
                "email": format!("office{}@company{}.example", k + 1, k + 1),
                "location": location_ids[li], "status": "active",
                "startDate": day(anchor, -(rng.below(700) as i64)),
                "hasActiveMembersAllowance": false, "properties": {}, "tags": [],
                "createdAt": ts, "modifiedAt": ts})),
        );
        companies.push((id, li));
    }

    // Company memberships: half the companies without a member (the whole team), a tenth
    // naming one member; offices assigned to the company memberships.
    let mut company_memberships = Vec::new();
    for (ci, (cid, li)) in companies.iter().enumerate() {
        if ci % 2 == 1 {
            continue;
        }
        let id = ids.next(Collection::Memberships);
        let ts = stamp(&mut rng);
        let (pid, pname, price) = &plan["office"];
        let ended = rng.pct(10);
        let mut m = json!({"_id": id, "name": format!("{pname} ({})", ci + 1), "isPersonal": false,
            "status": "approved", "calculatedStatus": if ended {"expired"} else {"active"},
            "type": "fixed", "location": location_ids[*li], "plan": pid, "company": cid,
            "startDate": day(anchor, -(rng.below(300) as i64) - 30),
            "endDate": if ended { json!(day(anchor, -3)) } else { Value::Null },
            "intervalLength": "month", "intervalCount": 12, "isLocked": false, "price": price,
            "properties": {}, "createdAt": ts, "modifiedAt": ts});
        company_memberships.push((id.clone(), ci));
        if let Some(office) = offices.get(company_memberships.len() - 1) {
            let aid = ids.next(Collection::Assignments);
            push(
                Collection::Assignments,
                obj(json!({"_id": aid, "resource": office, "membership": id,
                    "startDate": m["startDate"], "endDate": m["endDate"]})),
            );
        }
        if ci % 10 == 0 {
            // Filled in below once the members exist.
            m["member"] = Value::Null;
        }
        push(Collection::Memberships, obj(m));
    }

    // Members, their memberships and passes.
    let statuses: [(&str, u64); 7] = [
        ("active", 70),
        ("former", 8),
        ("pending", 5),
        ("contact", 5),
        ("drop-in", 4),
        ("not_approved", 4),
        ("lead", 4),
    ];
    let mut active_members: Vec<(String, usize, Option<usize>)> = Vec::new();
    let mut passes_by_member = std::collections::HashMap::new();
    for k in 0..members {
        let id = ids.next(Collection::Members);
        let first = FIRST[k % FIRST.len()];
        let last = LAST[(k / FIRST.len()) % LAST.len()];
        let mut roll = rng.below(100);
        let status = statuses
            .iter()
            .find(|(_, p)| {
                if roll < *p {
                    true
                } else {
                    roll -= p;
                    false
                }
            })
            .map_or("active", |(s, _)| *s);
        let company = rng.pct(60).then(|| rng.below(companies_n as u64) as usize);
        let li = company.map_or_else(|| rng.below(2) as usize, |c| companies[c].1);
        let ts = stamp(&mut rng);
        let mut m = json!({"_id": id, "name": format!("{first} {last}"),
            "email": format!("{}.{}.{k}@example.com", first.to_lowercase(), last.to_lowercase()),
            "phone": format!("+44 20 7946 {:04}", k % 10_000),
            "location": location_ids[li], "status": status,
            "startDate": day(anchor, -(rng.below(700) as i64)),
            "isBillingPerson": false, "isContactPerson": false,
            "properties": {}, "tags": [], "createdAt": ts, "modifiedAt": ts});
        if let Some(c) = company {
            m["company"] = json!(companies[c].0);
        }
        push(Collection::Members, obj(m));

        let team_covered = company.is_some_and(|c| c % 2 == 0);
        let membership = match status {
            "active" if team_covered && rng.pct(50) => None,
            "active" => Some(if rng.pct(70) {
                "active"
            } else {
                "active-fixed"
            }),
            "former" => Some("expired"),
            "pending" => Some("not_started"),
            "not_approved" => Some("not_approved"),
            _ => None,
        };
        if status == "active" {
            active_members.push((id.clone(), li, company));
        }
        if let Some(kind) = membership {
            let mid = ids.next(Collection::Memberships);
            let pkey = *rng.pick(&["hot", "hot", "desk", "weekend"]);
            let (pid, pname, price) = &plan[pkey];
            let ts = stamp(&mut rng);
            let start = -(rng.below(400) as i64) - 1;
            let mut ms = json!({"_id": mid, "name": pname, "isPersonal": true,
                "status": if kind == "not_approved" {"not_approved"} else {"approved"},
                "calculatedStatus": if kind == "active-fixed" {"active"} else {kind},
                "type": "month_to_month", "location": location_ids[li], "plan": pid, "member": id,
                "startDate": day(anchor, start), "intervalLength": "month", "intervalCount": 1,
                "isLocked": false, "price": price, "properties": {},
                "createdAt": ts, "modifiedAt": ts});
            match kind {
                "active-fixed" => {
                    ms["type"] = json!("fixed");
                    ms["endDate"] = json!(day(anchor, rng.below(180) as i64 + 1));
                }
                "expired" => {
                    ms["type"] = json!("fixed");
                    ms["endDate"] = json!(day(anchor, -(rng.below(60) as i64) - 1));
                }
                "not_started" => ms["startDate"] = json!(day(anchor, rng.below(30) as i64 + 1)),
                _ => {}
            }
            if let Some(c) = company.filter(|_| rng.pct(10)) {
                ms["company"] = json!(companies[c].0);
            }
            if pkey == "desk"
                && let Some(desk) = desks.get(k % desks.len().max(1))
            {
                let aid = ids.next(Collection::Assignments);
                push(
                    Collection::Assignments,
                    obj(json!({"_id": aid, "resource": desk, "membership": mid,
                        "startDate": ms["startDate"],
                        "endDate": ms.get("endDate").cloned().unwrap_or(Value::Null)})),
                );
            }
            push(Collection::Memberships, obj(ms));
        }

        if status == "drop-in" || rng.pct(6) {
            let pid = ids.next(Collection::Passes);
            let count = *rng.pick(&[5u64, 10, 15]);
            let used = rng.below(count + 1);
            let from = -(rng.below(40) as i64);
            let to = from + 30;
            let status = if used >= count {
                "used"
            } else if to < 0 {
                "expired"
            } else if from > 0 {
                "pending"
            } else {
                "valid"
            };
            let ts = stamp(&mut rng);
            push(
                Collection::Passes,
                obj(json!({"_id": pid, "count": count, "usedCount": used,
                    "intervalLength": "once", "validFrom": day(anchor, from),
                    "validTo": day(anchor, to), "member": id, "isPersonal": true,
                    "resourceType": "hotdesk", "status": status,
                    "createdAt": ts, "modifiedAt": ts})),
            );
            passes_by_member.insert(id.clone(), pid);
        }
    }

    // Company passes for a few companies.
    for (cid, _) in companies.iter().step_by(7) {
        let pid = ids.next(Collection::Passes);
        let ts = stamp(&mut rng);
        push(
            Collection::Passes,
            obj(json!({"_id": pid, "count": 20, "usedCount": rng.below(21),
                "intervalLength": "month", "validFrom": day(anchor, -10), "validTo": day(anchor, 20),
                "startDate": day(anchor, -10), "renewDate": day(anchor, 20),
                "company": cid, "isPersonal": false, "resourceType": "hotdesk", "status": "valid",
                "createdAt": ts, "modifiedAt": ts})),
        );
    }

    // Bookings: one-off meeting-room bookings and weekly series.
    let base = anchor.date_naive();
    if !active_members.is_empty() {
        for b in 0..(members / 5).max(1) {
            let (mid, _, company) = rng.pick(&active_members).clone();
            let (room, li) = rng.pick(&rooms).clone();
            let tz = locations[li].1;
            let date = base + Duration::days(rng.below(21) as i64 - 7);
            let start = local(tz, date, 8 + rng.below(10) as u32, 30 * rng.below(2) as u32);
            let end = start + Duration::minutes(30 * (rng.below(4) as i64 + 1));
            let series = b % 10 == 9;
            let id = ids.next(Collection::Bookings);
            let ts = stamp(&mut rng);
            let mut bk = json!({"_id": id, "timezone": tz.name(), "start": iso(start),
                "end": iso(end), "location": location_ids[li], "member": mid, "resource": room,
                "isCancelled": rng.pct(10), "isTentative": rng.pct(10), "isFree": false,
                "title": format!("Meeting {}", b + 1), "visitors": [], "members": [],
                "serviceSlots": {"before": 0, "after": 0}, "source": "admin",
                "properties": {}, "createdAt": ts, "modifiedAt": ts});
            if let Some(c) = company {
                bk["company"] = json!(companies[c].0);
                if rng.pct(20)
                    && let Some((mate, _, _)) = active_members
                        .iter()
                        .find(|(m, _, cc)| *cc == Some(c) && *m != mid)
                {
                    bk["members"] = json!([mate]);
                }
            }
            if rng.pct(15) {
                bk["visitors"] = json!([ids.next(Collection::VisitorCheckins)]);
            }
            if series {
                let first = start - Duration::days(14);
                bk["start"] = json!(iso(first));
                bk["end"] = json!(iso(first + (end - start)));
                let rule = if rng.pct(50) {
                    "FREQ=WEEKLY;BYDAY=MO,WE,FR;COUNT=12"
                } else {
                    "FREQ=WEEKLY"
                };
                bk["recurrence"] = json!({"rrule": rule, "exdates": []});
                bk["isCancelled"] = json!(false);
            }
            push(Collection::Bookings, obj(bk));
        }

        // Check-ins over the last week; the last few still open.
        let n_checkins = (members / 4).max(1);
        for k in 0..n_checkins {
            let (mid, li, company) = rng.pick(&active_members).clone();
            let tz = locations[li].1;
            let date = base - Duration::days(rng.below(7) as i64);
            let start = local(tz, date, 7 + rng.below(4) as u32, rng.below(60) as u32);
            let id = ids.next(Collection::Checkins);
            let mut ck = json!({"_id": id, "start": iso(start), "location": location_ids[li],
                "member": mid, "resourceType": "hotdesk",
                "source": *rng.pick(&["kiosk", "app", "admin"]), "createdAt": iso(start)});
            if k + 3 < n_checkins {
                ck["end"] = json!(iso(start + Duration::hours(rng.below(8) as i64 + 1)));
            }
            if let Some(c) = company {
                ck["company"] = json!(companies[c].0);
            }
            if let Some(p) = passes_by_member.get(&mid) {
                ck["pass"] = json!(p);
            }
            push(Collection::Checkins, obj(ck));
        }
    }

    // Give the memberships that were marked to name one member a member of that company.
    if let Some(Value::Array(list)) = out.get_mut(Collection::Memberships.key()) {
        for m in list
            .iter_mut()
            .filter(|m| m.get("member") == Some(&Value::Null))
        {
            let cid = m.get("company").cloned();
            let who = active_members
                .iter()
                .find(|(_, _, c)| c.map(|c| json!(companies[c].0)) == cid);
            match who {
                Some((mid, _, _)) => m["member"] = json!(mid),
                None => {
                    if let Some(o) = m.as_object_mut() {
                        o.remove("member");
                    }
                }
            }
        }
    }

    let records = out
        .into_iter()
        .map(|(k, v)| match v {
            Value::Array(list) => (k, list),
            other => (k, vec![other]),
        })
        .collect();
    Fixture {
        org_slug: None,
        now: None,
        records,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Store;

    fn anchor() -> DateTime<Utc> {
        "2026-03-02T00:00:00Z".parse().unwrap()
    }

    #[test]
    fn the_same_seed_gives_the_same_organisation_and_another_seed_another() {
        let a = generate(200, 7, anchor());
        assert_eq!(a, generate(200, 7, anchor()));
        assert_ne!(a, generate(200, 8, anchor()));
    }

    #[test]
    fn a_generated_organisation_is_a_valid_fixture_with_every_kind_of_record() {
        let f = generate(500, 1, anchor());
        let store = Store::from_fixture(&f).unwrap();
        assert_eq!(store.len(Collection::Members), 500);
        for c in crate::model::ALL {
            if c != Collection::VisitorCheckins {
                assert!(store.len(c) > 0, "{c}");
            }
        }
        let ms: Vec<_> = store.iter(Collection::Memberships).collect();
        let team_wide = ms
            .iter()
            .filter(|m| m["isPersonal"] == false && !m.contains_key("member"))
            .count();
        assert!(team_wide > 0);
        assert!(
            ms.iter()
                .any(|m| m["isPersonal"] == false && m.contains_key("member"))
        );
        assert!(
            ms.iter()
                .any(|m| m["isPersonal"] == true && m.contains_key("company"))
        );
        assert!(ms.iter().any(|m| !m.contains_key("endDate")));
        assert!(ms.iter().any(|m| m.get("endDate") == Some(&Value::Null)));
        for s in ["active", "expired", "not_started", "not_approved"] {
            assert!(ms.iter().any(|m| m["calculatedStatus"] == s), "{s}");
        }
        let passes: Vec<_> = store.iter(Collection::Passes).collect();
        assert!(passes.iter().any(|p| p["status"] == "used"));
        assert!(passes.iter().any(|p| p["status"] == "valid"));
        assert!(
            store
                .iter(Collection::Bookings)
                .any(|b| b.contains_key("recurrence"))
        );
        assert!(
            store
                .iter(Collection::Checkins)
                .any(|c| !c.contains_key("end"))
        );
    }
}
