//! OfficeRnD records → canonical events (`officernd::records`): one test per fidelity fix of
//! issue 17, each from records whose fields are cited (`R` = `../shared/reference/platform-apis/officernd.md`,
//! `K` = `../shared/reference/kisi-api.md`), and the agreement of the webhook and API paths.

use access_sync_platforms::officernd::{Mapped, RecordRef, events_from_records};
use access_sync_platforms::{Delivery, Known, Nothing, Platform, Seen};
use access_sync_rules::event::Event;
use access_sync_rules::mapping::Mappings;
use access_sync_rules::preview::preview;
use access_sync_rules::{Body, Entitlement, Holder, Instant, Kind, Status};
use serde_json::{Value, json};

fn t(s: &str) -> Instant {
    s.parse().unwrap()
}

const NOW: &str = "2026-12-03T12:00:00Z";

fn read(collection: &str, records: &[Value]) -> Mapped {
    read_with(collection, records, &Nothing)
}

fn read_with(collection: &str, records: &[Value], known: &dyn Known) -> Mapped {
    let refs: Vec<RecordRef<'_>> = records
        .iter()
        .map(|body| RecordRef { collection, body })
        .collect();
    events_from_records(&refs, t(NOW), known)
}

fn entitlements(evs: &[Event]) -> Vec<&Entitlement> {
    evs.iter()
        .filter_map(|e| match &e.body {
            Body::Entitlement(x) => Some(x),
            _ => None,
        })
        .collect()
}

fn cancels(evs: &[Event]) -> Vec<String> {
    evs.iter()
        .filter_map(|e| match &e.body {
            Body::Cancel(id) => Some(id.to_string()),
            _ => None,
        })
        .collect()
}

fn one(m: &Mapped) -> &Entitlement {
    let e = entitlements(&m.events);
    assert_eq!(e.len(), 1, "{m:?}");
    e[0]
}

/// A v2 membership as `GET /memberships` returns it (R §2.3, the documented example's fields).
fn membership(status: &str, calculated: &str, start: &str) -> Value {
    json!({"_id": "603dfbc260f4054084125d30", "name": "Hot Desk", "isPersonal": true,
        "status": status, "calculatedStatus": calculated, "type": "month_to_month",
        "location": "603dfbc260f4054084125d01", "plan": "603dfbc260f4054084125d02",
        "member": "603dfbc260f4054084125d03", "startDate": start,
        "createdAt": "2026-11-01T00:00:00.000Z", "modifiedAt": "2026-11-02T00:00:00.000Z"})
}

/// Fix: "membership access only when approved and `calculatedStatus` active (a future start is
/// not 'pending forever')" — R summary item 7 and §2.3 enums (`status` approved|not_approved;
/// `calculatedStatus` not_started|active|expired|not_approved, v1 pending).
#[test]
fn membership_grants_only_when_approved_and_active_and_a_future_start_is_a_window() {
    enum Want {
        Grants(Status, &'static str),
        Cancel,
        Unmapped,
    }
    let cases = [
        (
            "approved",
            "active",
            Want::Grants(Status::Active, "2026-11-01T00:00:00Z"),
        ),
        // v2 not_started and v1 pending: the window opens at startDate, with no further event.
        (
            "approved",
            "not_started",
            Want::Grants(Status::Active, "2026-12-10T00:00:00Z"),
        ),
        (
            "approved",
            "pending",
            Want::Grants(Status::Active, "2026-12-10T00:00:00Z"),
        ),
        (
            "not_approved",
            "not_approved",
            Want::Grants(Status::Pending, "2026-11-01T00:00:00Z"),
        ),
        (
            "not_approved",
            "active",
            Want::Grants(Status::Pending, "2026-11-01T00:00:00Z"),
        ),
        (
            "approved",
            "not_approved",
            Want::Grants(Status::Pending, "2026-11-01T00:00:00Z"),
        ),
        ("approved", "expired", Want::Cancel),
        ("approved", "sleeping", Want::Unmapped),
        ("archived", "active", Want::Unmapped),
    ];
    for (status, calculated, want) in cases {
        let start = if matches!(calculated, "not_started" | "pending") {
            "2026-12-10T00:00:00.000Z"
        } else {
            "2026-11-01T00:00:00.000Z"
        };
        let m = read("memberships", &[membership(status, calculated, start)]);
        let case = format!("{status}/{calculated}");
        match want {
            Want::Grants(s, from) => {
                let e = one(&m);
                assert_eq!(e.status, s, "{case}");
                assert_eq!(e.start, Some(t(from)), "{case}");
                assert_eq!(
                    e.id.as_str(),
                    "officernd:membership:603dfbc260f4054084125d30"
                );
                assert!(m.unmapped.is_empty(), "{case}");
            }
            Want::Cancel => {
                assert_eq!(
                    cancels(&m.events),
                    vec!["officernd:membership:603dfbc260f4054084125d30"],
                    "{case}"
                );
            }
            Want::Unmapped => {
                assert!(m.events.is_empty(), "{case}");
                assert_eq!(m.unmapped.len(), 1, "{case}");
                assert_eq!(
                    m.unmapped[0].id.as_deref(),
                    Some("603dfbc260f4054084125d30")
                );
                assert!(m.unmapped[0].reason.contains("status"), "{case}");
            }
        }
    }
}

/// The not_started membership opens on its start date in the real preview, with no second
/// event (before the fix it stayed pending until the platform said otherwise).
#[test]
fn a_not_started_membership_opens_at_its_start_date_in_the_preview() {
    let person = read(
        "members",
        &[
            json!({"_id": "603dfbc260f4054084125d03", "email": "ann@example.com",
            "modifiedAt": "2026-11-01T00:00:00.000Z"}),
        ],
    );
    let mut events = person.events.clone();
    events.extend(
        read(
            "memberships",
            &[membership(
                "approved",
                "not_started",
                "2026-12-10T00:00:00.000Z",
            )],
        )
        .events,
    );
    let mappings = Mappings::parse(
        "[[mapping]]\nsource = \"plan\"\nid = \"603dfbc260f4054084125d02\"\ngroups = [101]\n",
    )
    .unwrap();
    let out = preview(&mappings, events, Some(t("2026-12-31T00:00:00Z")));
    let lines: Vec<String> = out.intervals.iter().map(|i| i.to_json()).collect();
    assert_eq!(
        lines,
        vec![
            r#"{"email":"ann@example.com","group":101,"from":"2026-12-10T00:00:00Z","until":null,"reasons":["officernd:membership:603dfbc260f4054084125d30"]}"#
        ]
    );
}

/// Fix: "company memberships without a member → the whole company" — R §2.3 (`isPersonal:false`
/// → `company` present, `member` absent, observed; "handle all four combinations"), K §5 ("If a
/// membership has no member assigned, access goes to the whole team"), v1 `team` (K §4.1).
#[test]
fn a_company_membership_without_a_member_is_held_by_the_whole_company() {
    let base = membership("approved", "active", "2026-11-01T00:00:00.000Z");
    let with = |f: &dyn Fn(&mut serde_json::Map<String, Value>)| {
        let mut v = base.clone();
        f(v.as_object_mut().unwrap());
        v
    };
    let cases: [(Value, Option<Holder>); 5] = [
        (
            with(&|m| {
                m.remove("member");
                m.insert("isPersonal".into(), json!(false));
                m.insert("company".into(), json!("603dfbc260f4054084125dc0"));
            }),
            Some(Holder::Team("603dfbc260f4054084125dc0".into())),
        ),
        (
            with(&|m| {
                m.insert("member".into(), Value::Null);
                m.insert("team".into(), json!("603dfbc260f4054084125dc0"));
            }),
            Some(Holder::Team("603dfbc260f4054084125dc0".into())),
        ),
        (
            with(&|m| {
                m.insert("company".into(), json!("603dfbc260f4054084125dc0"));
            }),
            Some(Holder::Member("603dfbc260f4054084125d03".into())),
        ),
        (
            base.clone(),
            Some(Holder::Member("603dfbc260f4054084125d03".into())),
        ),
        (
            with(&|m| {
                m.remove("member");
            }),
            None,
        ),
    ];
    for (record, want) in cases {
        let m = read("memberships", std::slice::from_ref(&record));
        match want {
            Some(h) => assert_eq!(one(&m).holder, h, "{record}"),
            None => {
                assert!(m.events.is_empty());
                assert!(
                    m.unmapped[0].reason.starts_with("member:"),
                    "{:?}",
                    m.unmapped
                );
            }
        }
    }
}

/// A v2 pass set as `GET /passes` returns it (R §2.4, the documented example).
fn pass(status: &str, used: u64, count: u64) -> Value {
    json!({"_id": "608000000000000000000052", "count": count, "usedCount": used,
        "intervalLength": "month", "validFrom": "2026-12-01T00:00:00.000Z",
        "validTo": "2027-01-01T00:00:00.000Z", "member": "608000000000000000000067",
        "isPersonal": true, "membership": "608000000000000000000033", "resourceType": "hotdesk",
        "status": status, "modifiedAt": "2026-12-01T09:00:00.000Z"})
}

/// Fix: "passes by their documented fields (`status`, `usedCount`/`count`, `validFrom`/`validTo`)"
/// — R §2.4 (`status` used|valid|expired|pending; used up = `status: used` or `usedCount >=
/// count`) and summary item 7 ("`status == valid` and `usedCount < count` inside
/// `validFrom`..`validTo`").
#[test]
fn passes_follow_status_counts_and_validity() {
    let cases = [
        ("valid", 5, 15, Some(Status::Active)),
        ("valid", 15, 15, Some(Status::Exhausted)),
        ("used", 15, 15, Some(Status::Exhausted)),
        ("used", 3, 15, Some(Status::Exhausted)),
        ("pending", 0, 15, Some(Status::Pending)),
        ("expired", 2, 15, None),
    ];
    for (status, used, count, want) in cases {
        let m = read("passes", &[pass(status, used, count)]);
        match want {
            Some(s) => {
                let e = one(&m);
                assert_eq!(e.status, s, "{status} {used}/{count}");
                assert_eq!(e.kind, Kind::Pass);
                assert_eq!(e.start, Some(t("2026-12-01T00:00:00Z")));
                assert_eq!(e.end, Some(t("2027-01-01T00:00:00Z")));
                // v2 passes carry no plan: mapped by their resourceType.
                let refs: Vec<String> = e.refs.iter().map(ToString::to_string).collect();
                assert_eq!(refs, vec!["pass:hotdesk"]);
            }
            None => assert_eq!(
                cancels(&m.events),
                vec!["officernd:pass:608000000000000000000052"]
            ),
        }
    }
    let mut bad = pass("lost", 0, 1);
    assert!(
        read("passes", std::slice::from_ref(&bad)).unmapped[0]
            .reason
            .starts_with("status:")
    );
    bad["status"] = json!("valid");
    bad.as_object_mut().unwrap().remove("resourceType");
    assert!(
        read("passes", &[bad]).unmapped[0]
            .reason
            .starts_with("plan:")
    );
}

/// A v2 booking (R §2.5, the documented example's fields).
fn booking(start: &str, end: &str, rrule: Option<&str>) -> Value {
    json!({"_id": "603d00000000000000000039", "timezone": "Europe/London",
        "start": start, "end": end,
        "recurrence": {"rrule": rrule, "exdates": []},
        "location": "603d00000000000000000001", "company": "603d000000000000000000c0",
        "member": "603d00000000000000000003", "resource": "603d000000000000000000r1",
        "isCancelled": false, "isTentative": false, "title": "Meeting with John",
        "visitors": ["603d00000000000000000036"], "members": [],
        "serviceSlots": {"before": 10, "after": 10},
        "modifiedAt": "2026-12-01T10:03:33.169Z"})
}

/// Fix: "recurring bookings through occurrences (today only the first occurrence opens)" —
/// R §2.5: `/bookings` returns a series once (first instance), `/bookings/occurrences` every
/// instance; the occurrence item is assumed to be the booking shape with the series' `_id`.
#[test]
fn each_occurrence_of_a_series_is_its_own_entitlement() {
    let rule = Some("FREQ=WEEKLY;BYDAY=MO,WE,FR;COUNT=10");
    let occurrences = [
        booking("2026-12-07T13:00:00.000Z", "2026-12-07T13:30:00.000Z", rule),
        booking("2026-12-09T13:00:00.000Z", "2026-12-09T13:30:00.000Z", rule),
        {
            let mut b = booking("2026-12-11T13:00:00.000Z", "2026-12-11T13:30:00.000Z", rule);
            b["isCancelled"] = json!(true);
            b
        },
    ];
    let m = read("bookings/occurrences", &occurrences);
    let ids: Vec<&str> = entitlements(&m.events)
        .iter()
        .map(|e| e.id.as_str())
        .collect();
    assert_eq!(
        ids,
        vec![
            "officernd:booking:603d00000000000000000039@2026-12-07T13:00:00Z",
            "officernd:booking:603d00000000000000000039@2026-12-09T13:00:00Z",
        ]
    );
    assert_eq!(
        cancels(&m.events),
        vec!["officernd:booking:603d00000000000000000039@2026-12-11T13:00:00Z"]
    );
    // A one-off booking keeps the plain id (as every earlier webhook gave it).
    let once = read(
        "bookings",
        &[booking(
            "2026-12-07T13:00:00.000Z",
            "2026-12-07T13:30:00.000Z",
            None,
        )],
    );
    assert_eq!(
        one(&once).id.as_str(),
        "officernd:booking:603d00000000000000000039"
    );
    // A webhook moving one occurrence cancels the occurrence at its old start.
    let moved = json!({"event": "65a0f0e0d0c0b0a0908070aa", "eventType": "booking.updated",
        "data": {"object": occurrences[1].clone(),
                 "previousAttributes": {"start": "2026-12-09T12:00:00.000Z"}},
        "createdAt": "2026-12-02T00:00:00Z"});
    let evs = webhook(&moved, &Nothing);
    assert_eq!(
        cancels(&evs),
        vec!["officernd:booking:603d00000000000000000039@2026-12-09T12:00:00Z"]
    );
    assert_eq!(entitlements(&evs).len(), 1);
}

/// Fix: "visitors as the API returns them" — R §2.5 `visitors[]` are "ids of external
/// visitors": no e-mail, so no guest; each is reported. E-mail strings and `{email}` objects
/// (the webhook fixtures' inferred shape) still become guests.
#[test]
fn visitor_ids_are_reported_and_visitor_emails_become_guests() {
    let b = booking("2026-12-07T13:00:00.000Z", "2026-12-07T13:30:00.000Z", None);
    let m = read("bookings", std::slice::from_ref(&b));
    assert!(one(&m).guests.is_empty());
    assert_eq!(m.unmapped.len(), 1);
    assert!(m.unmapped[0].reason.contains("603d00000000000000000036"));
    let mut b = b;
    b["visitors"] = json!([{"name": "Gus", "email": "Gus@Client.example"}, "vic@client.example"]);
    let m = read("bookings", &[b]);
    let guests: Vec<&str> = one(&m).guests.iter().map(|g| g.as_str()).collect();
    assert_eq!(guests, vec!["gus@client.example", "vic@client.example"]);
    assert!(m.unmapped.is_empty());
}

/// Fix: "v2 field names (`company`, `location`) as well as v1" — R §1 "Field names v1 → v2"
/// (`team`→`company`, `office`→`location`, `resourceId`→`resource`, `canceled`→`isCancelled`,
/// `tentative`→`isTentative`, `start.dateTime`→`start`) and §5 ("Normalise both").
#[test]
fn v1_and_v2_field_names_give_the_same_entitlement() {
    let v2 = json!({"_id": "6700aa00bb00cc00dd00ff01", "start": "2026-12-07T10:00:00.000Z",
        "end": "2026-12-07T11:00:00.000Z", "resource": "5f3e2d1c0b9a8f7e6d5c4b01",
        "company": "64b1a0c0e4b0c0c0c0c0c001", "isTentative": true, "isCancelled": false,
        "modifiedAt": "2026-12-02T09:00:00.000Z"});
    let v1 = json!({"_id": "6700aa00bb00cc00dd00ff01", "start": {"dateTime": "2026-12-07T10:00:00.000Z"},
        "end": {"dateTime": "2026-12-07T11:00:00.000Z"}, "resourceId": "5f3e2d1c0b9a8f7e6d5c4b01",
        "team": "64b1a0c0e4b0c0c0c0c0c001", "tentative": true, "canceled": false,
        "modifiedAt": "2026-12-02T09:00:00.000Z"});
    let a = read("bookings", std::slice::from_ref(&v2));
    let b = read("bookings", std::slice::from_ref(&v1));
    assert_eq!(a, b);
    let e = one(&a);
    assert_eq!(e.holder, Holder::Team("64b1a0c0e4b0c0c0c0c0c001".into()));
    assert_eq!(e.status, Status::Pending);
    let mut cancelled = v2;
    cancelled["isCancelled"] = json!(true);
    let mut cancelled_v1 = v1;
    cancelled_v1["canceled"] = json!(true);
    for r in [cancelled, cancelled_v1] {
        assert_eq!(
            cancels(&read("bookings", &[r]).events),
            vec!["officernd:booking:6700aa00bb00cc00dd00ff01"]
        );
    }
    // Occupancy membership: v2 `location`, v1 `office`, both `location:<id>`.
    for key in ["location", "office"] {
        let r = json!({"_id": "6600aa00bb00cc00dd00ee03", "member": "64b1a0c0e4b0a1a1a1a1a104",
            key: "5d2a9f3e1c4b7a0012345601", "desk": "5d2a9f3e1c4b7a001234d012",
            "plan": "5e7c1b2a3d4f5a6b7c8d9e04", "status": "approved", "calculatedStatus": "active"});
        let m = read("memberships", &[r]);
        let refs: Vec<String> = one(&m).refs.iter().map(ToString::to_string).collect();
        assert_eq!(
            refs,
            vec![
                "plan:5e7c1b2a3d4f5a6b7c8d9e04",
                "location:5d2a9f3e1c4b7a0012345601",
                "desk:5d2a9f3e1c4b7a001234d012"
            ],
            "{key}"
        );
    }
}

/// R §2.3: `startDate`/`endDate` come back as `…T00:00:00.000Z` whatever the time zone and the
/// time part is to be ignored; `endDate` is the last day (inclusive).
#[test]
fn membership_dates_are_calendar_days_with_an_inclusive_end() {
    let mut r = membership("approved", "active", "2026-11-01T00:00:00.000Z");
    r["endDate"] = json!("2026-12-31T00:00:00.000Z");
    let e = read("memberships", &[r.clone()]);
    assert_eq!(one(&e).end, Some(t("2027-01-01T00:00:00Z")));
    r["endDate"] = json!("2026-12-31");
    assert_eq!(
        one(&read("memberships", &[r])).end,
        Some(t("2027-01-01T00:00:00Z"))
    );
}

fn webhook(body: &Value, known: &dyn Known) -> Vec<Event> {
    let text = body.to_string();
    Platform::Officernd
        .normalize(
            &Delivery {
                body: text.as_bytes(),
                ..Delivery::default()
            },
            known,
        )
        .unwrap()
}

/// "A record means the same whichever way it arrived": each record, delivered in a webhook's
/// `data.object` (K §4.1 envelope) and read from the API, gives the same canonical bodies.
#[test]
fn a_record_by_webhook_and_by_api_gives_the_same_canonical_events() {
    let mut known = Seen::new();
    known.observe(
        &Event::parse(
            r#"{"id":"k","at":"2026-11-01T00:00:00Z","team":{"id":"603d000000000000000000c0","members":["603d00000000000000000009"]}}"#,
        )
        .unwrap(),
    );
    let records = [
        (
            "members",
            "member",
            json!({"_id": "603d00000000000000000003", "name": "John Doe",
            "email": "John.Doe@Example.com", "company": "603d000000000000000000c0",
            "location": "603d00000000000000000001", "status": "active",
            "modifiedAt": "2026-12-01T00:00:00.000Z"}),
        ),
        (
            "members",
            "member",
            json!({"_id": "603d00000000000000000004", "email": "x@example.com",
            "status": "former", "modifiedAt": "2026-12-01T00:00:00.000Z"}),
        ),
        (
            "memberships",
            "membership",
            membership("approved", "active", "2026-11-01T00:00:00.000Z"),
        ),
        (
            "memberships",
            "membership",
            membership("approved", "not_started", "2026-12-20T00:00:00.000Z"),
        ),
        (
            "memberships",
            "membership",
            membership("approved", "expired", "2026-10-01T00:00:00.000Z"),
        ),
        ("passes", "pass", pass("valid", 1, 10)),
        ("passes", "pass", pass("used", 10, 10)),
        (
            "bookings",
            "booking",
            booking("2026-12-07T13:00:00.000Z", "2026-12-07T13:30:00.000Z", None),
        ),
        (
            "bookings",
            "booking",
            booking(
                "2026-12-07T13:00:00.000Z",
                "2026-12-07T13:30:00.000Z",
                Some("FREQ=WEEKLY"),
            ),
        ),
    ];
    for (collection, entity, record) in records {
        let env = json!({"event": "65a0f0e0d0c0b0a090807001", "eventType": format!("{entity}.updated"),
            "data": {"object": record.clone()}, "createdAt": "2026-12-02T00:00:00Z"});
        let by_hook: Vec<Body> = webhook(&env, &known).into_iter().map(|e| e.body).collect();
        let by_api: Vec<Body> = read_with(collection, std::slice::from_ref(&record), &known)
            .events
            .into_iter()
            .map(|e| e.body)
            .collect();
        assert!(!by_hook.is_empty(), "{record}");
        assert_eq!(by_hook, by_api, "{record}");
    }
}

/// Repeated reads give the same ids (the engine ignores them); a change gives new ones; `at`
/// is the record's `modifiedAt`, or the sync's instant for records without one.
#[test]
fn ids_are_a_function_of_the_record_and_at_is_its_modified_at() {
    let records = [
        membership("approved", "active", "2026-11-01T00:00:00.000Z"),
        json!({"_id": "603d000000000000000000a1", "start": "2026-12-03T08:00:00.000Z",
            "location": "603d00000000000000000001", "member": "603d00000000000000000003"}),
    ];
    let a = events_from_records(
        &[
            RecordRef {
                collection: "memberships",
                body: &records[0],
            },
            RecordRef {
                collection: "checkins",
                body: &records[1],
            },
        ],
        t(NOW),
        &Nothing,
    );
    let b = events_from_records(
        &[
            RecordRef {
                collection: "memberships",
                body: &records[0],
            },
            RecordRef {
                collection: "checkins",
                body: &records[1],
            },
        ],
        t("2026-12-03T12:15:00Z"),
        &Nothing,
    );
    let ids = |m: &Mapped| m.events.iter().map(|e| e.id.clone()).collect::<Vec<_>>();
    assert_eq!(ids(&a), ids(&b));
    assert_eq!(a.events[0].at, t("2026-11-02T00:00:00Z"));
    assert_eq!(a.events[1].at, t(NOW));
    assert_eq!(b.events[1].at, t("2026-12-03T12:15:00Z"));
    let checkin = entitlements(&a.events)[1];
    assert_eq!(checkin.kind, Kind::Checkin);
    assert_eq!(
        checkin.refs[0].to_string(),
        "checkin:603d00000000000000000001"
    );
    let mut changed = records[0].clone();
    changed["modifiedAt"] = json!("2026-11-03T00:00:00.000Z");
    let c = read("memberships", &[changed]);
    assert_ne!(c.events[0].id, a.events[0].id);
    for e in &a.events {
        assert_eq!(Event::parse(&e.to_json()).unwrap(), *e);
    }
}

/// Team lists from a members listing (R §2.2: a company's members are the members whose
/// `company` names it): a member who moved leaves the old list when both companies are read.
#[test]
fn team_lists_come_from_the_members_listing() {
    let mut known = Seen::new();
    known.observe(
        &Event::parse(
            r#"{"id":"k","at":"2026-11-01T00:00:00Z","team":{"id":"c1","members":["m1","m2"]}}"#,
        )
        .unwrap(),
    );
    let m = |id: &str, company: Option<&str>| {
        json!({"_id": id, "email": format!("{id}@example.com"), "company": company,
            "modifiedAt": "2026-12-01T00:00:00.000Z"})
    };
    let companies = [
        json!({"_id": "c1", "modifiedAt": "2026-11-01T00:00:00.000Z"}),
        json!({"_id": "c2", "modifiedAt": "2026-11-01T00:00:00.000Z"}),
    ];
    // m1 is listed without `company`: a listed record is whole, so m1 has left c1.
    let m1 =
        json!({"_id": "m1", "email": "m1@example.com", "modifiedAt": "2026-12-01T00:00:00.000Z"});
    let members = [m("m2", Some("c2")), m("m3", Some("c1")), m("m4", None), m1];
    let mut refs: Vec<RecordRef<'_>> = companies
        .iter()
        .map(|body| RecordRef {
            collection: "companies",
            body,
        })
        .collect();
    refs.extend(members.iter().map(|body| RecordRef {
        collection: "members",
        body,
    }));
    let out = events_from_records(&refs, t(NOW), &known);
    let teams: Vec<String> = out
        .events
        .iter()
        .filter_map(|e| match &e.body {
            Body::Team(t) => Some(format!(
                "{}={}",
                t.id,
                t.members
                    .iter()
                    .map(|m| m.as_str())
                    .collect::<Vec<_>>()
                    .join(",")
            )),
            _ => None,
        })
        .collect();
    assert_eq!(teams, vec!["c1=m3", "c2=m2"]);
}

/// Assignments link a resource to a membership (R §2.6); the holder is the membership's.
#[test]
fn assignments_take_their_membership_holder_and_the_resource_type() {
    let ms = json!({"_id": "6600aa00bb00cc00dd00ee09", "isPersonal": false,
        "company": "64b1a0c0e4b0c0c0c0c0c001", "plan": "5e7c1b2a3d4f5a6b7c8d9e01",
        "status": "approved", "calculatedStatus": "active"});
    let office = json!({"_id": "5f0000000000000000000103", "type": "team_room"});
    let a = json!({"_id": "6a0000000000000000000001", "resource": "5f0000000000000000000103",
        "membership": "6600aa00bb00cc00dd00ee09", "startDate": "2026-12-01T00:00:00.000Z",
        "endDate": null});
    let orphan = json!({"_id": "6a0000000000000000000002", "resource": "5f0000000000000000000103",
        "membership": "6600aa00bb00cc00dd00ee99"});
    let out = events_from_records(
        &[
            RecordRef {
                collection: "memberships",
                body: &ms,
            },
            RecordRef {
                collection: "resources",
                body: &office,
            },
            RecordRef {
                collection: "assignments",
                body: &a,
            },
            RecordRef {
                collection: "assignments",
                body: &orphan,
            },
            RecordRef {
                collection: "checkins/visitors",
                body: &a,
            },
            RecordRef {
                collection: "tickets",
                body: &a,
            },
        ],
        t(NOW),
        &Nothing,
    );
    let e = entitlements(&out.events);
    assert_eq!(e.len(), 2);
    assert_eq!(
        e[1].id.as_str(),
        "officernd:assignment:6a0000000000000000000001"
    );
    // Its membership is not among the records (deleted): the access it gave is over.
    assert_eq!(
        cancels(&out.events),
        vec!["officernd:assignment:6a0000000000000000000002".to_string()]
    );
    assert_eq!(e[1].kind, Kind::Occupancy);
    assert_eq!(e[1].holder, Holder::Team("64b1a0c0e4b0c0c0c0c0c001".into()));
    assert_eq!(e[1].refs[0].to_string(), "office:5f0000000000000000000103");
    let why: Vec<(&str, &str)> = out
        .unmapped
        .iter()
        .map(|u| (u.collection.as_str(), u.reason.as_str()))
        .collect();
    assert_eq!(why.len(), 2, "{why:?}");
    assert!(why[0].1.starts_with("visitor:"));
    assert!(why[1].1.contains("unknown collection"));
}

/// An event type we do not know (K §4.1 lists many, e.g. `occupancyslot.created`) gives no
/// events and no error: the route answers 2xx and the platform keeps the webhook enabled.
#[test]
fn an_unknown_webhook_event_type_is_accepted_with_nothing_to_do() {
    for ty in [
        "occupancyslot.created",
        "ticket.updated",
        "brand.new.thing",
        "nodot",
    ] {
        let env = json!({"event": "65a0f0e0d0c0b0a090807001", "eventType": ty,
            "data": {"object": {"_id": "x"}}, "createdAt": "2026-12-02T00:00:00Z"});
        assert_eq!(webhook(&env, &Nothing), vec![], "{ty}");
    }
}
