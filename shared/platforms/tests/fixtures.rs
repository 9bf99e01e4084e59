//! The fixture sequences in `events/<platform>/` normalise, every event reads back from its
//! canonical JSON, and through the real preview they give the expected access: the whole
//! timeline equals `expected.jsonl`, and the behaviours the issue names hold (a cancelled booking
//! closes, a used-up pass closes, a team plan grants each member, a blocked TeamUp membership
//! denies).

use access_sync_platforms::{Platform, normalize_lines};
use access_sync_rules::event::Event;
use access_sync_rules::mapping::Mappings;
use access_sync_rules::preview::{Interval, preview};
use std::path::PathBuf;

fn folder(p: Platform) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../events")
        .join(p.as_str())
}

fn webhooks(p: Platform) -> String {
    std::fs::read_to_string(folder(p).join(p.spec().fixture().file)).unwrap()
}

fn events(p: Platform) -> Vec<Event> {
    normalize_lines(p, &webhooks(p)).unwrap_or_else(|e| panic!("{p}: {e}"))
}

fn timeline(p: Platform) -> Vec<Interval> {
    let mappings =
        Mappings::parse(&std::fs::read_to_string(folder(p).join("mappings.toml")).unwrap())
            .unwrap();
    let result = preview(&mappings, events(p), None);
    result.intervals
}

fn lines(p: Platform) -> Vec<String> {
    timeline(p).iter().map(Interval::to_json).collect()
}

/// The intervals of one (e-mail, group), as (from, until) strings.
fn of(t: &[Interval], email: &str, group: u64) -> Vec<(String, Option<String>)> {
    t.iter()
        .filter(|i| i.email.as_str() == email && i.group.get() == group)
        .map(|i| {
            (
                i.from.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
                i.until.map(|u| u.format("%Y-%m-%dT%H:%M:%SZ").to_string()),
            )
        })
        .collect()
}

fn span(from: &str, until: Option<&str>) -> Vec<(String, Option<String>)> {
    vec![(from.to_string(), until.map(str::to_string))]
}

#[test]
fn every_fixture_normalises_and_round_trips_through_canonical_json() {
    for p in Platform::ALL {
        let evs = events(p);
        assert!(evs.len() >= 9, "{p}: {} events", evs.len());
        let mut ids = std::collections::HashSet::new();
        for e in &evs {
            assert_eq!(Event::parse(&e.to_json()).as_ref(), Ok(e), "{p}");
            assert!(ids.insert(e.id.clone()), "{p}: duplicate id {}", e.id);
        }
    }
}

#[test]
fn every_fixture_gives_its_expected_timeline() {
    for p in Platform::ALL {
        let want = std::fs::read_to_string(folder(p).join("expected.jsonl")).unwrap();
        let want: Vec<&str> = want.lines().collect();
        assert_eq!(lines(p), want, "{p}");
    }
}

#[test]
fn normalising_a_fixture_twice_gives_the_same_ids() {
    for p in Platform::ALL {
        assert_eq!(events(p), events(p), "{p}");
    }
}

#[test]
fn officernd_team_plan_grants_each_member_and_follows_team_changes() {
    let t = timeline(Platform::Officernd);
    assert_eq!(
        of(&t, "ann@acme.io", 102),
        span("2026-12-01T09:00:00Z", None)
    );
    // Bob moved to another company on 11 December: the Acme team plan stops for him.
    assert_eq!(
        of(&t, "bob@acme.io", 102),
        span("2026-12-01T09:00:00Z", Some("2026-12-11T12:00:00Z"))
    );
}

#[test]
fn officernd_cancelled_booking_closes_and_visitors_are_guests() {
    let t = timeline(Platform::Officernd);
    // Booked 09:00–10:00 (lead 5 min), cancelled at 09:20.
    assert_eq!(
        of(&t, "bob@acme.io", 202),
        span("2026-12-08T08:55:00Z", Some("2026-12-08T09:20:00Z"))
    );
    // Moved from 10:00 to 14:00 before it started; the visitor follows; Ann was dropped.
    assert_eq!(
        of(&t, "gus@client.example", 201),
        span("2026-12-07T13:55:00Z", Some("2026-12-07T15:05:00Z"))
    );
    assert!(of(&t, "ann@acme.io", 201).is_empty());
}

#[test]
fn officernd_used_up_pass_closes_and_a_member_known_later_is_not_lost() {
    let t = timeline(Platform::Officernd);
    assert_eq!(
        of(&t, "eve@visit.example", 101),
        span("2026-12-09T08:05:00Z", Some("2026-12-09T17:30:00Z"))
    );
    // Dan's desk membership arrived before Dan did: it grants from his member event.
    assert_eq!(
        of(&t, "dan@desk.dev", 301),
        span("2026-12-01T10:00:00Z", Some("2026-12-15T12:00:00Z"))
    );
}

#[test]
fn optix_team_subscription_grants_each_subscriber_until_dropped_or_cancelled() {
    let t = timeline(Platform::Optix);
    assert_eq!(
        of(&t, "ann@acme.io", 102),
        span("2026-12-01T09:00:00Z", Some("2026-12-20T00:00:00Z"))
    );
    assert_eq!(
        of(&t, "bob@acme.io", 102),
        span("2026-12-01T09:00:00Z", Some("2026-12-11T12:00:00Z"))
    );
}

#[test]
fn optix_cancelled_booking_closes_and_check_out_ends_the_day() {
    let t = timeline(Platform::Optix);
    assert_eq!(
        of(&t, "cat@studio.dev", 201),
        span("2026-12-07T09:55:00Z", Some("2026-12-07T10:30:00Z"))
    );
    assert_eq!(
        of(&t, "eve@visit.example", 101),
        span("2026-12-09T08:30:00Z", Some("2026-12-09T12:00:00Z"))
    );
    assert_eq!(
        of(&t, "cat@studio.dev", 203),
        span("2026-12-05T09:00:00Z", Some("2026-12-12T12:00:00Z"))
    );
}

#[test]
fn nexudus_used_up_time_pass_closes_and_a_deleted_booking_closes() {
    let t = timeline(Platform::Nexudus);
    // Used up on the day: open until local midnight (Europe/London, UTC+0 in December).
    assert_eq!(
        of(&t, "cat@studio.dev", 101),
        span("2026-12-09T08:00:00Z", Some("2026-12-10T00:00:00Z"))
    );
    assert_eq!(
        of(&t, "bob@acme.io", 201),
        span("2026-12-07T09:45:00Z", Some("2026-12-07T10:30:00Z"))
    );
    // The contract cancelled with a cancellation date ends then.
    assert_eq!(
        of(&t, "bob@acme.io", 102),
        span("2026-12-01T09:01:00Z", Some("2026-12-15T00:00:00Z"))
    );
}

#[test]
fn teamup_blocked_membership_denies_and_used_pack_closes() {
    let t = timeline(Platform::Teamup);
    assert_eq!(
        of(&t, "ann@acme.io", 101),
        span("2026-12-01T09:00:00Z", Some("2026-12-12T06:00:00Z"))
    );
    assert_eq!(
        of(&t, "bob@acme.io", 101),
        span("2026-12-01T09:05:00Z", Some("2026-12-07T18:50:00Z"))
    );
}

#[test]
fn teamup_class_registration_opens_around_the_class_and_a_cancelled_one_never_opens() {
    let t = timeline(Platform::Teamup);
    assert_eq!(
        of(&t, "bob@acme.io", 401),
        span("2026-12-07T17:50:00Z", Some("2026-12-07T18:55:00Z"))
    );
    assert!(of(&t, "ann@acme.io", 402).is_empty());
}
