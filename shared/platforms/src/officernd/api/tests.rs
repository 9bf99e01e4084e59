//! OfficeRnD's `map_records` and `covers`: the seam the sync and the import use.

use super::covers;
use crate::Platform;
use crate::api::ApiRecord;
use access_sync_rules::{Body, EntitlementId, Event, Holder, Instant, MemberId, TeamId};
use serde_json::{Value, json};

fn t(s: &str) -> Instant {
    s.parse().unwrap()
}

const NOW: &str = "2026-12-03T12:00:00Z";

fn records(list: &[(&'static str, Value)]) -> Vec<(&'static str, String, Value)> {
    list.iter()
        .map(|(c, v)| (*c, v["_id"].as_str().unwrap_or("?").to_string(), v.clone()))
        .collect()
}

fn api<'a>(rs: &'a [(&'static str, String, Value)]) -> Vec<ApiRecord<'a>> {
    rs.iter()
        .map(|(c, id, body)| ApiRecord {
            collection: c,
            id,
            body,
        })
        .collect()
}

fn teams(evs: &[Event]) -> Vec<(TeamId, Vec<MemberId>)> {
    evs.iter()
        .filter_map(|e| match &e.body {
            Body::Team(t) => Some((t.id.clone(), t.members.clone())),
            _ => None,
        })
        .collect()
}

/// A small space as the v2 API lists it (R = `../shared/reference/platform-apis/officernd.md`:
/// members §2.1 with `company`, companies §2.2, a company membership without a member §2.3).
fn space() -> Vec<(&'static str, String, Value)> {
    records(&[
        (
            "locations",
            json!({"_id": "L1", "name": "Main", "timezone": "Europe/London"}),
        ),
        ("companies", json!({"_id": "C1", "name": "Acme"})),
        (
            "members",
            json!({"_id": "M1", "email": "a@x.io", "name": "A", "company": "C1"}),
        ),
        (
            "members",
            json!({"_id": "M2", "email": "b@x.io", "name": "B", "company": "C1"}),
        ),
        (
            "members",
            json!({"_id": "M3", "email": "c@x.io", "name": "C"}),
        ),
        (
            "memberships",
            json!({"_id": "S1", "status": "approved", "calculatedStatus": "active",
                "plan": "P1", "company": "C1", "startDate": "2026-11-01T00:00:00.000Z"}),
        ),
        (
            "memberships",
            json!({"_id": "S2", "status": "approved", "calculatedStatus": "sleeping",
                "plan": "P1", "member": "M3", "startDate": "2026-11-01T00:00:00.000Z"}),
        ),
    ])
}

#[test]
fn a_full_listing_maps_to_members_team_lists_and_entitlements_at_the_sync_instant() {
    let rs = space();
    let m = Platform::Officernd
        .events_from_records(&api(&rs), t(NOW))
        .expect("OfficeRnD has an API mapping");
    assert!(m.events.iter().all(|e| e.at == t(NOW)), "{:?}", m.events);
    let members = m
        .events
        .iter()
        .filter(|e| matches!(e.body, Body::Member(_)))
        .count();
    assert_eq!(members, 3);
    assert_eq!(
        teams(&m.events),
        vec![(
            TeamId("C1".into()),
            vec![MemberId("M1".into()), MemberId("M2".into())]
        )]
    );
    let held: Vec<(String, Holder)> = m
        .events
        .iter()
        .filter_map(|e| match &e.body {
            Body::Entitlement(x) => Some((x.id.to_string(), x.holder.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(
        held,
        vec![(
            "officernd:membership:S1".to_string(),
            Holder::Team(TeamId("C1".into()))
        )]
    );
    // The membership with an unknown status is reported, with its id and why.
    assert_eq!(m.unmapped.len(), 1, "{:?}", m.unmapped);
    assert_eq!(
        (m.unmapped[0].collection.as_str(), m.unmapped[0].id.as_str()),
        ("memberships", "S2")
    );
    assert!(
        m.unmapped[0].reason.contains("sleeping"),
        "{:?}",
        m.unmapped
    );
}

/// An incremental listing holds only the members and companies that changed: a team list
/// made from it would drop every unchanged member, so it makes none.
#[test]
fn an_incremental_listing_updates_members_but_never_team_lists() {
    let rs: Vec<_> = space()
        .into_iter()
        .filter(|(c, id, _)| (*c == "members" && id == "M1") || *c == "companies")
        .collect();
    let m = Platform::Officernd
        .events_from_records(&api(&rs), t(NOW))
        .unwrap();
    assert!(teams(&m.events).is_empty(), "{:?}", m.events);
    assert!(
        m.events
            .iter()
            .any(|e| matches!(&e.body, Body::Member(x) if x.id == MemberId("M1".into())))
    );
}

#[test]
fn covers_only_what_a_complete_listing_lists_in_full() {
    let cases = [
        ("officernd:membership:603dfbc260f4054084125d30", true),
        ("officernd:pass:P9", true),
        ("officernd:assignment:A1", true),
        ("officernd:booking:B1", true),
        ("officernd:booking:B1:member:M2", true),
        // One occurrence of a series: listed only inside the occurrence window.
        ("officernd:booking:B2@2026-12-10T09:00:00Z", false),
        ("officernd:booking:B2@2026-12-10T09:00:00Z:member:M2", false),
        // Check-ins are listed for the last days only.
        ("officernd:checkin:K1", false),
        // Not this platform's, or not a record id this mapping makes.
        ("optix:plan:1", false),
        ("officerndx:membership:1", false),
        ("officernd:membership:", false),
        ("officernd:0123456789abcdef0123456789abcdef", false),
    ];
    for (id, want) in cases {
        let id = EntitlementId(id.into());
        assert_eq!(covers(&id), want, "{id}");
        assert_eq!(Platform::Officernd.covers(&id), want, "{id}");
    }
}

/// Every entitlement the mapping makes from a generated organisation is covered exactly when
/// its collection is listed in full (and it is not one occurrence of a series).
#[test]
fn what_the_mapping_makes_is_covered_exactly_when_listed_in_full() {
    let anchor = t("2026-12-07T00:00:00Z");
    let org = officernd_sim::generate(60, 5, anchor);
    let mut checked = std::collections::BTreeMap::<(&str, bool), usize>::new();
    for (collection, list) in &org.records {
        for body in list {
            let one = [ApiRecord {
                collection,
                id: "",
                body,
            }];
            let m = super::map_records(&one, anchor);
            for e in &m.events {
                let id = match &e.body {
                    Body::Entitlement(x) => x.id.clone(),
                    Body::Cancel(id) => id.clone(),
                    _ => continue,
                };
                let series = body.get("recurrence").is_some();
                let want = matches!(
                    collection.as_str(),
                    "memberships" | "passes" | "assignments" | "bookings"
                ) && !series;
                assert_eq!(covers(&id), want, "{collection} {id}");
                *checked.entry((collection.as_str(), want)).or_default() += 1;
            }
        }
    }
    // The generated space has covered and uncovered kinds alike.
    assert!(checked.contains_key(&("memberships", true)), "{checked:?}");
    assert!(checked.contains_key(&("bookings", true)), "{checked:?}");
    assert!(checked.contains_key(&("bookings", false)), "{checked:?}");
    assert!(checked.contains_key(&("checkins", false)), "{checked:?}");
}

fn cancels(evs: &[Event]) -> Vec<String> {
    evs.iter()
        .filter_map(|e| match &e.body {
            Body::Cancel(id) => Some(id.to_string()),
            _ => None,
        })
        .collect()
}

/// A company's office membership (R §2.3: `isPersonal: false`, `company`, no `member`) and the
/// private office assigned to it (R §2.6: an assignment's `resource`, `membership`,
/// `startDate`; the resource's `type` `team_room`).
fn office_space() -> Vec<(&'static str, String, Value)> {
    records(&[
        ("companies", json!({"_id": "C1", "name": "Acme"})),
        (
            "members",
            json!({"_id": "M1", "email": "a@x.io", "company": "C1"}),
        ),
        ("resources", json!({"_id": "R1", "type": "team_room"})),
        (
            "memberships",
            json!({"_id": "S1", "isPersonal": false, "company": "C1", "plan": "P1",
                "status": "approved", "calculatedStatus": "active",
                "startDate": "2026-11-01T00:00:00.000Z"}),
        ),
        (
            "assignments",
            json!({"_id": "A1", "resource": "R1", "membership": "S1",
                "startDate": "2026-11-01T00:00:00.000Z"}),
        ),
    ])
}

/// Issue 17 review, item 1: an assignment reaches its holder only through its membership
/// (R §2.6), so when the membership is gone from a complete listing (deleted: R §3
/// "Deletions") the assignment's access ends with it — a cancel, not an unmapped record that
/// would keep the office door open.
#[test]
fn an_assignment_whose_membership_is_gone_is_cancelled() {
    let rs = office_space();
    let m = Platform::Officernd
        .events_from_records(&api(&rs), t(NOW))
        .unwrap();
    assert!(cancels(&m.events).is_empty(), "{:?}", m.events);
    assert!(m.unmapped.is_empty(), "{:?}", m.unmapped);

    let without: Vec<_> = rs
        .into_iter()
        .filter(|(c, _, _)| *c != "memberships")
        .collect();
    let m = Platform::Officernd
        .events_from_records(&api(&without), t(NOW))
        .unwrap();
    assert_eq!(cancels(&m.events), vec!["officernd:assignment:A1"]);
    assert!(m.unmapped.is_empty() && m.kept.is_empty(), "{m:?}");
}

/// Issue 17 review, item 3: a record the listing contains but the mapping cannot read (an
/// unknown `calculatedStatus`, R §2.3 enum; a `modifiedAt` that is not a date, R §2.1) is
/// reported and *kept*: not gone, so the sync must not end it. An assignment of such a
/// membership is unreadable too (its holder is unknown), and kept.
#[test]
fn records_that_cannot_be_read_are_kept_not_gone() {
    let mut rs = office_space();
    for (c, _, body) in &mut rs {
        match *c {
            "memberships" => body["calculatedStatus"] = json!("sleeping"),
            "members" => body["modifiedAt"] = json!("not a date"),
            _ => {}
        }
    }
    let m = Platform::Officernd
        .events_from_records(&api(&rs), t(NOW))
        .unwrap();
    assert!(cancels(&m.events).is_empty(), "{:?}", m.events);
    let ids = |v: &std::collections::BTreeSet<EntitlementId>| {
        v.iter().map(|e| e.to_string()).collect::<Vec<_>>()
    };
    assert_eq!(
        ids(&m.kept.entitlements),
        vec!["officernd:assignment:A1", "officernd:membership:S1"]
    );
    assert_eq!(
        m.kept.members.iter().cloned().collect::<Vec<_>>(),
        vec![MemberId("M1".into())]
    );
    assert_eq!(m.unmapped.len(), 3, "{:?}", m.unmapped);
    // Kept ids cover the records' own entitlements and those under them.
    assert!(
        m.kept
            .entitlement(&EntitlementId("officernd:membership:S1".into()))
    );
    assert!(
        !m.kept
            .entitlement(&EntitlementId("officernd:membership:S11".into()))
    );
}

/// Issue 17 review, item 2: a `member.updated` webhook whose object no longer carries
/// `company` while `previousAttributes.company` names the old one (R §5: `data.object` is the
/// whole record, `previousAttributes` the changed fields) is a member who left the company:
/// the company's list loses the member, so its company-wide membership and pass stop
/// reaching them.
#[test]
fn a_webhook_member_whose_company_was_cleared_leaves_the_team() {
    use crate::{Delivery, Seen};
    let mut known = Seen::new();
    known.observe(
        &Event::parse(
            r#"{"id":"k","at":"2026-11-01T00:00:00Z","team":{"id":"C1","members":["M1","M2"]}}"#,
        )
        .unwrap(),
    );
    let body = |object: Value, previous: Value| {
        json!({"event": "6a00000000000000000000e1", "eventType": "member.updated",
            "createdAt": "2026-12-03T11:00:00.000Z",
            "data": {"object": object, "previousAttributes": previous}})
        .to_string()
    };
    let normalize = |text: &str| {
        Platform::Officernd
            .normalize(
                &Delivery {
                    body: text.as_bytes(),
                    ..Delivery::default()
                },
                &known,
            )
            .unwrap()
    };
    // Cleared: the key is gone from the object (v2 and v1 names alike).
    for key in ["company", "team"] {
        let evs = normalize(&body(
            json!({"_id": "M1", "email": "a@x.io", "name": "A", "status": "active"}),
            json!({key: "C1"}),
        ));
        assert_eq!(
            teams(&evs),
            vec![(TeamId("C1".into()), vec![MemberId("M2".into())])],
            "{key}"
        );
    }
    // Changed: the old company loses the member, the new one gains it.
    let evs = normalize(&body(
        json!({"_id": "M1", "email": "a@x.io", "company": "C2"}),
        json!({"company": "C1"}),
    ));
    assert_eq!(
        teams(&evs),
        vec![
            (TeamId("C2".into()), vec![MemberId("M1".into())]),
            (TeamId("C1".into()), vec![MemberId("M2".into())]),
        ]
    );
    // A change of something else says nothing about the company.
    let evs = normalize(&body(
        json!({"_id": "M1", "email": "a@x.io", "name": "A2"}),
        json!({"name": "A"}),
    ));
    assert!(teams(&evs).is_empty(), "{evs:?}");
}
