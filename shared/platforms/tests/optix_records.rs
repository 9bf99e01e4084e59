//! Optix API records → canonical events (`optix::records`), from the cited fixture
//! `events/optix/api/records.json` (shapes of optix.md §2 [O-schema]) and its mapping file,
//! run through the real rules (`preview`): assignment blocks across a DST change, a plan
//! awaiting acceptance, team plans, allowances and discounts, check-ins, bookings.

use access_sync_platforms::Platform;
use access_sync_platforms::api::ApiRecord;
use access_sync_platforms::optix::records::{Recurrence, recurrence};
use access_sync_rules::event::Event;
use access_sync_rules::mapping::Mappings;
use access_sync_rules::preview::preview;
use access_sync_rules::time::parse_tz;
use access_sync_rules::{Body, EntitlementId, Instant, Status};
use serde_json::Value;

fn t(s: &str) -> Instant {
    s.parse().unwrap()
}

fn fixture() -> Value {
    let text = include_str!("../../../events/optix/api/records.json");
    serde_json::from_str(text).unwrap()
}

fn mappings() -> Mappings {
    Mappings::parse(include_str!("../../../events/optix/api/mappings.toml")).unwrap()
}

/// Every record of the fixture, in the order a sync lists them.
fn records(f: &Value) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for c in access_sync_platforms::optix::records::COLLECTIONS {
        for r in f[c].as_array().unwrap() {
            out.push((c.to_string(), r.clone()));
        }
    }
    out
}

fn map(recs: &[(String, Value)], at: Instant) -> Vec<Event> {
    let refs: Vec<ApiRecord<'_>> = recs
        .iter()
        .map(|(c, b)| ApiRecord {
            collection: c,
            id: "",
            body: b,
        })
        .collect();
    let m = Platform::Optix.events_from_records(&refs, at).unwrap();
    assert!(m.unmapped.is_empty(), "{:?}", m.unmapped);
    m.events
}

fn timeline(events: Vec<Event>, until: &str) -> Vec<String> {
    preview(&mappings(), events, Some(t(until)))
        .intervals
        .iter()
        .map(|i| {
            format!(
                "{} {} {} {}",
                i.email,
                i.group,
                i.from.format("%Y-%m-%dT%H:%M"),
                i.until
                    .map_or("open".into(), |u| u.format("%Y-%m-%dT%H:%M").to_string())
            )
        })
        .collect()
}

const SYNC: &str = "2026-03-20T12:00:00Z";

#[test]
fn the_fixture_space_maps_to_the_doors_the_docs_promise() {
    let f = fixture();
    let lines = timeline(map(&records(&f), t(SYNC)), "2026-04-02T00:00:00Z");
    let expected = [
        // plan 9001 (template 70) from the sync on (it started before); its discount access
        // (template 13) too: discounts change prices, the access is mapped as any other.
        "ada@example.com 101 2026-03-20T12:00 open",
        "ada@example.com 203 2026-03-20T12:00 open",
        // booking 88001, 10:00-11:00 London (GMT) ± 5 minutes, and its attending invitee.
        "ada@example.com 201 2026-03-24T09:55 2026-03-24T11:05",
        // the Mon/Wed 09:00-13:00 assignment in Europe/London, each block ± 5 minutes: GMT
        // before 29 March, BST after (an hour earlier in UTC).
        "ada@example.com 301 2026-03-23T08:55 2026-03-23T13:05",
        "ada@example.com 301 2026-03-25T08:55 2026-03-25T13:05",
        "ada@example.com 301 2026-03-30T07:55 2026-03-30T12:05",
        "ada@example.com 301 2026-04-01T07:55 2026-04-01T12:05",
        // check-in 7002 until its check-out.
        "ada@example.com 401 2026-03-24T09:00 2026-03-24T12:00",
        // the team plan 9002 to both members of team account 601; check-in 7001 of the team
        // account until London's midnight (not New York's, the mapping file's default).
        "bob@acme.io 102 2026-03-20T12:00 open",
        "bob@acme.io 401 2026-03-24T08:30 2026-03-25T00:00",
        "cat@acme.io 102 2026-03-20T12:00 open",
        "cat@acme.io 401 2026-03-24T08:30 2026-03-25T00:00",
        "guest@client.co 201 2026-03-24T09:55 2026-03-24T11:05",
    ];
    let mut want: Vec<String> = expected.iter().map(|s| s.to_string()).collect();
    want.sort();
    let mut got = lines.clone();
    got.sort();
    assert_eq!(got, want, "{lines:#?}");
    // Not there: plan 9003 awaiting acceptance (group 103), cancelled booking 88002, booking
    // 88003 awaiting review, deleted user 304's cancelled plan.
}

#[test]
fn a_plan_awaiting_acceptance_opens_only_once_accepted() {
    let f = fixture();
    let mut recs = records(&f);
    let first = map(&recs, t(SYNC));
    let pending: Vec<_> = first
        .iter()
        .filter_map(|e| match &e.body {
            Body::Entitlement(x) if x.id.as_str() == "optix:subscription:9003" => Some(x.status),
            _ => None,
        })
        .collect();
    assert_eq!(pending, [Status::Pending]);
    // Two days later Optix reports the plan ACTIVE (the member accepted): the next sync (or
    // the re-read a webhook asks for) grants from then on.
    for (c, b) in &mut recs {
        if c == "accountPlans" && b["account_plan_id"] == "9003" {
            b["status"] = "ACTIVE".into();
        }
    }
    let mut events = first;
    events.extend(map(&recs, t("2026-03-22T08:00:00Z")));
    let night: Vec<String> = timeline(events, "2026-04-02T00:00:00Z")
        .into_iter()
        .filter(|l| l.contains(" 103 "))
        .collect();
    assert_eq!(night, ["ada@example.com 103 2026-03-22T08:00 open"]);
}

#[test]
fn a_re_read_of_one_record_never_says_who_is_in_a_team() {
    let f = fixture();
    let plan = ("accountPlans".to_string(), f["accountPlans"][1].clone());
    let evs = map(&[plan], t(SYNC));
    assert!(
        evs.iter().all(|e| !matches!(e.body, Body::Team(_))),
        "{evs:?}"
    );
    assert_eq!(evs.len(), 1);
}

#[test]
fn ended_and_cancelled_records_cancel() {
    let f = fixture();
    let evs = map(&records(&f), t(SYNC));
    let cancels: Vec<&EntitlementId> = evs
        .iter()
        .filter_map(|e| match &e.body {
            Body::Cancel(id) => Some(id),
            _ => None,
        })
        .collect();
    let names: Vec<&str> = cancels.iter().map(|c| c.as_str()).collect();
    assert!(names.contains(&"optix:subscription:9004"), "{names:?}");
    assert!(names.contains(&"optix:booking:88002"), "{names:?}");
    assert!(Platform::Optix.covers(&EntitlementId("optix:subscription:9".into())));
    assert!(!Platform::Optix.covers(&EntitlementId("optix:booking:9".into())));
    assert!(!Platform::Optix.covers(&EntitlementId("optix:assignment:9@17".into())));
}

#[test]
fn ids_are_stable_across_syncs_of_the_same_records() {
    let f = fixture();
    let a = map(&records(&f), t(SYNC));
    let b = map(&records(&f), t("2026-03-21T00:00:00Z"));
    let ids = |v: &[Event]| v.iter().map(|e| e.id.clone()).collect::<Vec<_>>();
    assert_eq!(ids(&a), ids(&b));
}

#[test]
fn days_of_week_and_time_of_day_without_a_rule_are_blocks_too() {
    let tz = parse_tz("Europe/London").unwrap();
    let rec = serde_json::json!({"days_of_week": "Mon-Wed, Fri", "time_of_day": "9am - 1:30pm"});
    let r = recurrence(
        &rec,
        t("2026-03-23T09:00:00Z"),
        chrono::Duration::hours(4),
        tz,
        t(SYNC),
    )
    .unwrap();
    let Recurrence::Blocks(b, None) = r else {
        panic!("{r:?}")
    };
    assert_eq!((b[0].days.len(), b[0].from, b[0].to), (4, 540, 810));
}

#[test]
fn a_rule_richer_than_weekly_blocks_is_expanded_at_the_same_local_time_across_dst() {
    let tz = parse_tz("Europe/London").unwrap();
    // Every other Monday, 3 times, one date skipped: not a weekly block.
    let rec = serde_json::json!({"rrule": "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO;COUNT=3",
        "skipped_timestamps": []});
    let r = recurrence(
        &rec,
        t("2026-03-16T09:00:00Z"),
        chrono::Duration::hours(4),
        tz,
        t(SYNC),
    )
    .unwrap();
    let Recurrence::Occurrences(o) = r else {
        panic!("{r:?}")
    };
    let starts: Vec<String> = o.iter().map(|(s, _)| s.to_rfc3339()).collect();
    assert_eq!(
        starts,
        [
            "2026-03-16T09:00:00+00:00",
            "2026-03-30T08:00:00+00:00",
            "2026-04-13T08:00:00+00:00"
        ]
    );
    let monthly = serde_json::json!({"rrule": "FREQ=MONTHLY;BYMONTHDAY=1"});
    assert!(recurrence(&monthly, t(SYNC), chrono::Duration::hours(1), tz, t(SYNC)).is_err());
}
