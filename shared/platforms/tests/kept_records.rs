//! A record a listing contains but the mapping cannot read is *kept* (`api::Kept`): the
//! platform still lists it, so a complete listing must neither end what it stood for nor count
//! it against the sync's brake. OfficeRnD's rules are pinned in `officernd_records.rs` and the
//! sync's use of them in `shared/engine/src/sync/tests.rs`; these pin Optix, TeamUp and
//! Nexudus: each unreadable record keeps the member, team or entitlement ids its readable
//! version maps to.

use access_sync_platforms::api::{ApiRecord, Mapped};
use access_sync_platforms::{nexudus, optix, teamup};
use access_sync_rules::{EntitlementId, Instant, MemberId, TeamId};
use serde_json::{Value, json};

fn now() -> Instant {
    "2026-12-03T12:00:00Z".parse().unwrap()
}

fn map(f: fn(&[ApiRecord<'_>], Instant) -> Mapped, recs: &[(&str, &str, Value)]) -> Mapped {
    let api: Vec<ApiRecord<'_>> = recs
        .iter()
        .map(|(c, id, body)| ApiRecord {
            collection: c,
            id,
            body,
        })
        .collect();
    f(&api, now())
}

fn ent(s: &str) -> EntitlementId {
    EntitlementId(s.to_string())
}

#[test]
fn optix_unreadable_records_are_kept_under_the_ids_they_map_to() {
    // Each body lacks what its collection needs (a user without `user_id`, a plan, booking,
    // assignment and check-in that are not objects with their fields).
    let m = map(
        optix::events_from_records,
        &[
            ("users", "7", json!({"email": "a@example.com"})),
            ("accountPlans", "31", json!("not an object")),
            ("bookings", "41", json!("not an object")),
            ("assignments", "51", json!("not an object")),
            ("checkins", "61", json!("not an object")),
        ],
    );
    assert_eq!(m.unmapped.len(), 5, "{:?}", m.unmapped);
    assert!(m.kept.members.contains(&MemberId("7".into())));
    for id in [
        "optix:subscription:31",
        "optix:allowance:31:desk",
        "optix:booking:41",
        "optix:assignment:51",
        "optix:checkin:61",
    ] {
        assert!(m.kept.entitlement(&ent(id)), "{id} not kept: {:?}", m.kept);
    }
    // Nothing else is.
    assert!(!m.kept.entitlement(&ent("optix:booking:42")));
    assert!(!m.kept.entitlement(&ent("optix:subscription:310")));
}

#[test]
fn teamup_unreadable_records_are_kept_under_the_ids_they_map_to() {
    let m = map(
        teamup::events_from_records,
        &[
            ("customers", "4312", json!({"email": "a@example.com"})),
            ("customer_memberships", "81", json!({"id": 81})),
            ("attendances", "91", json!({"id": 91})),
            ("course_session_attendances", "92", json!({"id": 92})),
        ],
    );
    assert_eq!(m.unmapped.len(), 4, "{:?}", m.unmapped);
    assert!(m.kept.members.contains(&MemberId("4312".into())));
    for id in [
        "teamup:membership:81",
        "teamup:registration:91",
        "teamup:course-registration:92",
    ] {
        assert!(m.kept.entitlement(&ent(id)), "{id} not kept: {:?}", m.kept);
    }
    assert!(!m.kept.entitlement(&ent("teamup:membership:8")));
}

#[test]
fn nexudus_unreadable_records_are_kept_under_the_ids_they_map_to() {
    let m = map(
        nexudus::records::events_from_records,
        &[
            ("coworkers", "11", json!("not an object")),
            ("teams", "21", json!("not an object")),
            ("coworkercontracts", "31", json!("not an object")),
            ("coworkertimepasses", "41", json!("not an object")),
            ("bookings", "51", json!("not an object")),
            ("floorplandesks", "61", json!("not an object")),
            ("checkins", "71", json!("not an object")),
        ],
    );
    assert!(m.kept.members.contains(&MemberId("11".into())), "{:?}", m);
    assert!(m.kept.teams.contains(&TeamId("21".into())), "{:?}", m.kept);
    for id in [
        "nexudus:contract:31",
        "nexudus:timepass:41",
        "nexudus:booking:51",
        "nexudus:floorplandesk:61",
        "nexudus:checkin:71",
    ] {
        assert!(m.kept.entitlement(&ent(id)), "{id} not kept: {:?}", m.kept);
    }
    assert!(m.events.is_empty());
}

#[test]
fn a_readable_listing_keeps_nothing() {
    let m = map(
        teamup::events_from_records,
        &[(
            "customers",
            "4312",
            json!({"id": 4312, "email": "a@example.com", "first_name": "A"}),
        )],
    );
    assert!(m.unmapped.is_empty(), "{:?}", m.unmapped);
    assert!(m.kept.is_empty());
}
