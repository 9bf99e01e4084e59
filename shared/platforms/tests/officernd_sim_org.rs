//! Every record of an organisation the OfficeRnD simulator generates (`officernd_sim::generate`:
//! every membership `calculatedStatus`, company memberships with and without a member, passes
//! in every `status`, one-off and recurring bookings, assignments, check-ins) maps to canonical
//! events or is reported unmapped with a reason; nothing is lost silently, and every event reads
//! back from its canonical JSON.

use access_sync_platforms::Nothing;
use access_sync_platforms::officernd::{RecordRef, events_from_records};
use access_sync_rules::{Body, Event, Instant};
use serde_json::Value;

#[test]
fn every_generated_record_maps_or_is_reported_with_a_reason() {
    let anchor: Instant = "2026-12-07T00:00:00Z".parse().unwrap();
    let org = officernd_sim::generate(400, 17, anchor);
    let mut refs = Vec::new();
    for (collection, list) in &org.records {
        for body in list {
            refs.push(RecordRef {
                collection: collection.as_str(),
                body,
            });
        }
    }
    let mapped = events_from_records(&refs, anchor, &Nothing);
    let mut reasons = std::collections::BTreeMap::<String, usize>::new();
    for u in &mapped.unmapped {
        let head = u.reason.split(' ').next().unwrap_or_default();
        *reasons
            .entry(format!("{}: {head}", u.collection))
            .or_default() += 1;
    }
    eprintln!(
        "{} records, {} events; unmapped: {reasons:#?}",
        refs.len(),
        mapped.events.len()
    );
    for e in &mapped.events {
        assert_eq!(
            Event::parse(&e.to_json()).as_ref(),
            Ok(e),
            "{}",
            e.to_json()
        );
    }
    // What each event is about: the record id inside its entitlement, cancel or member id.
    let about: Vec<String> = mapped
        .events
        .iter()
        .map(|e| match &e.body {
            Body::Entitlement(x) => x.id.to_string(),
            Body::Cancel(id) => id.to_string(),
            Body::Member(m) => m.id.to_string(),
            Body::Team(t) => t.id.to_string(),
        })
        .collect();
    let mut checked = 0;
    for r in &refs {
        let id = r.body["_id"].as_str().unwrap();
        let grants = matches!(
            r.collection,
            "members" | "memberships" | "passes" | "bookings" | "assignments" | "checkins"
        );
        if !grants {
            continue;
        }
        checked += 1;
        let mapped_to = about.iter().any(|a| a.contains(id));
        let reported = mapped
            .unmapped
            .iter()
            .any(|u| u.id.as_deref() == Some(id) && !u.reason.is_empty());
        assert!(
            mapped_to || reported,
            "{} {id}: neither mapped nor reported: {}",
            r.collection,
            r.body
        );
    }
    assert!(checked > 400, "{checked}");
    // The generated organisation exercises the fixes: company-wide holders, a not-started
    // membership as a window, passes used up, occurrences of a series, visitor ids noted.
    let json: Vec<Value> = mapped
        .events
        .iter()
        .map(|e| serde_json::from_str(&e.to_json()).unwrap())
        .collect();
    let has = |f: &dyn Fn(&Value) -> bool| json.iter().any(f);
    assert!(has(&|v| v["entitlement"]["holder"]["team"].is_string()));
    assert!(has(&|v| v["entitlement"]["status"] == "exhausted"));
    assert!(has(&|v| v["entitlement"]["id"]
        .as_str()
        .is_some_and(|s| s.contains('@'))));
    assert!(has(&|v| v["entitlement"]["kind"] == "checkin"));
    assert!(has(&|v| v["entitlement"]["kind"] == "occupancy"));
    assert!(has(&|v| v["team"]["members"].is_array()));
    assert!(mapped.unmapped.iter().any(|u| u.reason.contains("visitor")));
}
