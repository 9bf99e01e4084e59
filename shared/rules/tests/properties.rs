//! Property tests of the timeline over random event sets (see `common` for the generators and
//! the independent batch oracle).

mod common;

use access_sync_rules::event::Event;
use access_sync_rules::mapping::Mappings;
use access_sync_rules::preview::{Simulation, preview};
use access_sync_rules::time::Instant;
use access_sync_rules::windows::{Timing, windows};
use access_sync_rules::{Body, Facts, GroupId};
use chrono::Duration;
use common::*;
use proptest::prelude::*;

fn horizon() -> impl Strategy<Value = Option<Instant>> {
    prop_oneof![
        Just(None),
        Just(Some(at("2026-03-29T12:00:00Z"))),
        Just(Some(at("2026-04-04T00:00:00Z"))),
    ]
}

fn policy() -> impl Strategy<Value = &'static str> {
    prop_oneof![Just("deny"), Just("allow")]
}

/// Makes every `at` distinct (by adding whole seconds) so that arrival order cannot matter.
fn distinct_ats(mut evs: Vec<Event>) -> Vec<Event> {
    for (i, e) in evs.iter_mut().enumerate() {
        e.at += Duration::seconds(i as i64);
    }
    evs
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    /// The live engine walking from event to edge to event (preview) gives exactly the
    /// timeline — intervals and reasons — that the batch reading of ACCESS-MODEL §3 gives.
    #[test]
    fn the_live_walk_reproduces_the_batch_semantics(evs in event_set(30), until in horizon(), blocked in policy()) {
        let m = test_mappings(blocked);
        let got = rows(&preview(&m, evs.clone(), until));
        let want = oracle(&m, &evs, until);
        prop_assert!(got == want, "preview:\n{}oracle:\n{}", show(&got), show(&want));
    }

    /// Re-delivering any subset of events, anywhere in the stream, changes nothing.
    #[test]
    fn redelivering_any_subset_changes_nothing(
        evs in event_set(25),
        picks in prop::collection::vec((any::<prop::sample::Index>(), any::<prop::sample::Index>()), 0..10),
        until in horizon(),
    ) {
        let m = test_mappings("deny");
        let once = rows(&preview(&m, evs.clone(), until));
        let mut again = evs.clone();
        for (which, whereto) in picks {
            let dup = evs[which.index(evs.len())].clone();
            let pos = whereto.index(again.len() + 1);
            // A re-delivery can only come after the first delivery of that id.
            let first = again.iter().position(|e| e.id == dup.id).unwrap_or(0);
            again.insert(pos.max(first + 1), dup);
        }
        prop_assert_eq!(rows(&preview(&m, again, until)), once);
    }

    /// Events handled in `at` order give the same timeline whatever order they arrived in.
    #[test]
    fn any_order_of_arrival_handled_in_at_order_gives_the_same_timeline(
        (evs, shuffled) in event_set(25).prop_map(distinct_ats).prop_flat_map(|v| (Just(v.clone()), Just(v).prop_shuffle())),
        until in horizon(),
    ) {
        let m = test_mappings("allow");
        prop_assert_eq!(rows(&preview(&m, shuffled, until)), rows(&preview(&m, evs, until)));
    }

    /// Merged intervals of one (e-mail, group) never overlap or touch, and are never empty.
    #[test]
    fn merged_intervals_never_overlap_or_touch(evs in event_set(30), until in horizon()) {
        let m = test_mappings("deny");
        let p = preview(&m, evs, until);
        for w in p.intervals.windows(2) {
            let (a, b) = (&w[0], &w[1]);
            if a.email == b.email && a.group == b.group {
                prop_assert!(a.until.is_some_and(|u| u < b.from), "{:?} then {:?}", a, b);
            }
        }
        for i in &p.intervals {
            prop_assert!(i.until.is_none_or(|u| u > i.from));
            prop_assert!(i.from < p.horizon);
        }
    }

    /// Every interval lies inside the union of the windows of the entitlements that explain it.
    #[test]
    fn every_interval_lies_inside_some_entitlement_window(evs in event_set(30), until in horizon()) {
        let m = test_mappings("allow");
        let p = preview(&m, evs.clone(), until);
        for i in &p.intervals {
            let mut ws = Vec::new();
            for e in &evs {
                let Body::Entitlement(x) = &e.body else { continue };
                if !i.reasons.contains(&x.id) {
                    continue;
                }
                let first = evs.iter().filter(|f| matches!(&f.body, Body::Entitlement(y) if y.id == x.id)).map(|f| f.at).min();
                let start = x.start.or(first).unwrap_or(e.at);
                for r in &x.refs {
                    let Some(map) = m.get(r.source, &r.id) else { continue };
                    if !map.opens(i.group) { continue; }
                    let t = Timing { lead: map.lead(), lag: map.lag(), default_tz: m.defaults.timezone };
                    for w in windows(x, start, t, i.from - Duration::days(3), p.horizon + Duration::days(3)) {
                        ws.push((w, x.id.clone()));
                    }
                }
            }
            let covered = access_sync_rules::access::merge(ws).into_iter().any(|u| {
                u.window.from <= i.from
                    && match (u.window.until, i.until) {
                        (None, _) => true,
                        (Some(a), Some(b)) => b <= a,
                        (Some(a), None) => a >= p.horizon,
                    }
            });
            prop_assert!(covered, "{:?} is not inside a window of {:?}", i, i.reasons);
        }
    }

    /// After the last event, stepping from edge to edge with the live `access` operation alone
    /// reproduces the preview's intervals.
    #[test]
    fn walking_edge_to_edge_with_access_reproduces_the_preview(evs in event_set(30), blocked in policy()) {
        let m = test_mappings(blocked);
        let until = at("2026-04-10T00:00:00Z");
        let p = preview(&m, evs.clone(), Some(until));
        let mut sorted = evs.clone();
        let mut seen = std::collections::HashSet::new();
        sorted.retain(|e| seen.insert(e.id.clone()));
        sorted.sort_by_key(|e| e.at);
        let mut facts = Facts::new();
        for e in &sorted {
            facts.apply(e, &m);
        }
        let t0 = sorted.last().map(|e| e.at).unwrap();
        let mut walked = Vec::new();
        for pair in facts.all_pairs(&m) {
            let mut t = t0;
            let mut open_from: Option<Instant> = None;
            loop {
                let a = facts.access(&m, &pair, t);
                if a.open && open_from.is_none() { open_from = Some(t); }
                if !a.open && let Some(f) = open_from.take() { walked.push((pair.clone(), f, Some(t))); }
                match a.next_change {
                    Some(n) if n < until => t = n,
                    _ => {
                        if let Some(f) = open_from.take() {
                            walked.push((pair.clone(), f, a.until.filter(|&u| u <= until)));
                        }
                        break;
                    }
                }
            }
        }
        let mut expected: Vec<_> = p.intervals.iter()
            .filter(|i| i.until.is_none_or(|u| u > t0))
            .map(|i| (access_sync_rules::Pair { email: i.email.clone(), group: i.group }, i.from.max(t0), i.until))
            .collect();
        expected.sort();
        walked.sort();
        prop_assert_eq!(walked, expected);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    /// A `[[place]]` follows its location's mapping exactly: each place's timeline (intervals
    /// and reasons) is the timeline of a group that only its location reaches, and a place
    /// whose location no mapping names is never reached.
    #[test]
    fn a_place_has_exactly_the_timeline_of_a_group_only_its_location_opens(
        evs in event_set(30), until in horizon(), blocked in policy(),
    ) {
        let m = test_mappings(blocked);
        let places = rows(&preview(&m, evs.clone(), until));
        let shadowed = Mappings::parse(&test_mappings_text(blocked, ", 98", ", 99")).unwrap();
        let shadow = rows(&preview(&shadowed, evs, until));
        for (place, group) in [(7u64, 98u64), (8, 99)] {
            let target = GroupId::place(place).unwrap().get();
            let got: Vec<Row> = places.iter().filter(|r| r.1 == target).cloned().collect();
            let want: Vec<Row> = shadow
                .iter()
                .filter(|r| r.1 == group)
                .map(|r| { let mut r = r.clone(); r.1 = target; r })
                .collect();
            prop_assert!(got == want, "place {}:\n{}group {}:\n{}", place, show(&got), group, show(&want));
        }
        let nine = GroupId::place(9).unwrap().get();
        prop_assert!(places.iter().all(|r| r.1 != nine));
    }
}

/// Sanity: the oracle and preview agree on the shared scenarios' style of input, and the test
/// mapping parses (a broken generator would make the properties vacuous).
#[test]
fn the_generators_produce_grants() {
    let m: Mappings = test_mappings("deny");
    let evs = vec![
        Event::parse(r#"{"id":"1","at":"2026-03-26T00:00:00Z","member":{"id":"m0","email":"ann@x.io"}}"#).unwrap(),
        Event::parse(r#"{"id":"2","at":"2026-03-26T00:00:00Z","entitlement":{"id":"e0","kind":"booking","refs":["resource:r"],"holder":{"member":"m0"},"start":"2026-03-26T10:00:00Z","end":"2026-03-26T11:00:00Z"}}"#).unwrap(),
    ];
    let got = rows(&preview(&m, evs.clone(), None));
    assert_eq!(got, oracle(&m, &evs, None));
    assert_eq!(got.len(), 1);
    assert_eq!(
        (got[0].2, got[0].3),
        (at("2026-03-26T09:30:00Z"), Some(at("2026-03-26T11:15:00Z")))
    );
    let _ = Simulation::new(m);
}

/// A person whose occupancy names a mapped location gets the location's place for the same
/// window as its groups, printed as `"place"`; two locations give two places.
#[test]
fn an_occupancy_at_two_locations_gives_two_places() {
    let m: Mappings = test_mappings("deny");
    let evs = vec![
        Event::parse(r#"{"id":"1","at":"2026-03-26T00:00:00Z","member":{"id":"m0","email":"ann@x.io"}}"#).unwrap(),
        Event::parse(r#"{"id":"2","at":"2026-03-26T00:00:00Z","entitlement":{"id":"e0","kind":"occupancy","refs":["location:l1","location:l2","location:l3"],"holder":{"member":"m0"},"start":"2026-03-26T10:00:00Z","end":"2026-03-27T10:00:00Z"}}"#).unwrap(),
    ];
    let p = preview(&m, evs.clone(), Some(at("2026-03-28T00:00:00Z")));
    let lines: Vec<String> = p.intervals.iter().map(|i| i.to_json()).collect();
    let w = r#""from":"2026-03-26T10:00:00Z","until":"2026-03-27T10:00:00Z","reasons":["e0"]}"#;
    assert_eq!(
        lines,
        vec![
            format!(r#"{{"email":"ann@x.io","group":1,{w}"#),
            format!(r#"{{"email":"ann@x.io","group":4,{w}"#),
            format!(r#"{{"email":"ann@x.io","place":7,{w}"#),
            format!(r#"{{"email":"ann@x.io","place":8,{w}"#),
        ]
    );
    assert_eq!(rows(&p), oracle(&m, &evs, Some(at("2026-03-28T00:00:00Z"))));
}
