use crate::handler::handle;
use crate::request::{Action, SyncRequest};
use crate::settings::SyncConfig;
use access_sync_engine::sync::{PlatformMapping, PlatformSync};
use access_sync_platforms::Platform;
use access_sync_platforms::api::{ApiRecord, Mapped, NoApiMapping};
use access_sync_ports::memory::{MemoryPublisher, MemorySource, MemoryStore, MemorySyncState};
use access_sync_ports::{OutboundEvent, SourceRecord, SyncStateStore};
use access_sync_rules::event::MemberEvent;
use access_sync_rules::{Body, Email, EntitlementId, Event, Instant, MemberId};
use serde_json::json;
use std::collections::HashMap;

#[test]
fn requests() {
    let (r, p) = SyncRequest::parse(json!({"platform": "OfficeRnD", "full": true})).unwrap();
    assert_eq!(
        (p, r.full, r.action),
        (Platform::Officernd, true, Action::Sync)
    );
    let (r, _) = SyncRequest::parse(json!({"platform": "optix", "action": "confirm"})).unwrap();
    assert_eq!((r.full, r.action), (false, Action::Confirm));
    let e = SyncRequest::parse(json!({"platform": "nope"})).unwrap_err();
    assert!(
        e.contains("unknown platform") && e.contains("officernd"),
        "{e}"
    );
    assert!(SyncRequest::parse(json!({"platform": "optix", "fool": 1})).is_err());
    assert!(SyncRequest::parse(json!({"full": true})).is_err());
}

#[test]
fn the_sample_event_is_a_request() {
    let text = include_str!("../../../events/platform_sync.json");
    let (r, p) = SyncRequest::parse(serde_json::from_str(text).unwrap()).unwrap();
    assert_eq!(
        (p, r.full, r.action),
        (Platform::Officernd, false, Action::Sync)
    );
}

#[test]
fn settings() {
    let none = SyncConfig::from_lookup(|_| None).unwrap();
    assert_eq!(none, SyncConfig::default());
    assert_eq!((none.sync.brake.share, none.sync.brake.floor), (0.10, 5));
    assert_eq!(none.sync.full_every, chrono::Duration::hours(24));
    let env: HashMap<&str, &str> = HashMap::from([
        ("SYNC_BRAKE_SHARE", "0.25"),
        ("SYNC_BRAKE_FLOOR", "0"),
        ("SYNC_FULL_EVERY_HOURS", "6"),
        ("SYNC_DEADLINE_MARGIN_SECONDS", "30"),
    ]);
    let c = SyncConfig::from_lookup(|k| env.get(k).map(|v| v.to_string())).unwrap();
    assert_eq!((c.sync.brake.share, c.sync.brake.floor), (0.25, 0));
    assert_eq!(c.sync.full_every, chrono::Duration::hours(6));
    assert_eq!(c.deadline_margin, std::time::Duration::from_secs(30));
    let bad: HashMap<&str, &str> =
        HashMap::from([("SYNC_BRAKE_SHARE", "2"), ("SYNC_BRAKE_FLOOR", "-1")]);
    let e = SyncConfig::from_lookup(|k| bad.get(k).map(|v| v.to_string())).unwrap_err();
    assert_eq!(e.len(), 2, "{e:?}");
}

fn map(records: &[ApiRecord<'_>], at: Instant) -> Result<Mapped, NoApiMapping> {
    let events = records
        .iter()
        .map(|r| Event {
            id: String::new(),
            at,
            body: Body::Member(MemberEvent {
                id: MemberId(r.id.into()),
                email: r.body["email"].as_str().and_then(Email::parse),
                name: None,
                removed: false,
            }),
        })
        .collect();
    Ok(Mapped {
        events,
        unmapped: vec![],
        kept: Default::default(),
    })
}

fn covers(id: &EntitlementId) -> bool {
    id.as_str().starts_with("officernd:")
}

fn encode(e: &Event) -> OutboundEvent {
    OutboundEvent {
        source: "access-sync.ingest".into(),
        detail_type: "plan".into(),
        detail: serde_json::from_str(&e.to_json()).unwrap(),
    }
}

#[tokio::test]
async fn a_sync_out_of_time_pauses_then_completes_and_nothing_held_is_refused() {
    let source = MemorySource::new(Platform::Officernd, &["members"], &[], 1);
    for i in 0..3 {
        source.put(SourceRecord {
            collection: "members".into(),
            id: format!("m{i}"),
            modified_at: None,
            body: json!({"email": format!("p{i}@x.io")}),
        });
    }
    let (state, store, bus) = (
        MemorySyncState::default(),
        MemoryStore::default(),
        MemoryPublisher::default(),
    );
    let sync = PlatformSync {
        source: &source,
        state: &state,
        facts: &store,
        publisher: &bus,
        mapping: PlatformMapping::Custom {
            map: &map,
            covers: &covers,
        },
        encode,
        settings: SyncConfig::default().sync,
    };
    let now: Instant = "2026-03-01T10:00:00Z".parse().unwrap();
    let (req, _) = SyncRequest::parse(json!({"platform": "officernd"})).unwrap();
    let out = handle(&sync, &req, now, &|| false).await.unwrap();
    assert_eq!(
        out,
        json!({"platform": "officernd", "paused": true, "records": 0})
    );
    assert!(state.progress("officernd").await.unwrap().full.is_some());
    let out = handle(&sync, &req, now, &|| true).await.unwrap();
    assert_eq!(out["changes"], 3);
    assert_eq!(out["held"], false);
    assert_eq!(bus.published().len(), 3);
    let (confirm, _) =
        SyncRequest::parse(json!({"platform": "officernd", "action": "confirm"})).unwrap();
    let err = handle(&sync, &confirm, now, &|| true).await.unwrap_err();
    assert!(!err.is_retryable() && err.to_string().contains("nothing is held"));
}

/// The Lambda runtime runs the handler's future on a multi-threaded runtime.
#[test]
fn the_handler_future_is_send() {
    fn send<T: Send>(_: &T) {}
    let source = MemorySource::new(Platform::Officernd, &["members"], &[], 1);
    let (state, store, bus) = (
        MemorySyncState::default(),
        MemoryStore::default(),
        MemoryPublisher::default(),
    );
    let sync = PlatformSync {
        source: &source,
        state: &state,
        facts: &store,
        publisher: &bus,
        mapping: PlatformMapping::Spec(Platform::Officernd),
        encode,
        settings: SyncConfig::default().sync,
    };
    let (req, _) = SyncRequest::parse(json!({"platform": "officernd"})).unwrap();
    let now: Instant = "2026-03-01T10:00:00Z".parse().unwrap();
    let fut = handle(&sync, &req, now, &|| true);
    send(&fut);
}

/// OfficeRnD's own mapping behind the sync: a complete full listing ends the membership that
/// vanished from it, but never a booking occurrence or a check-in, which the listing contains
/// only inside its time window (`access_sync_platforms::officernd::api`).
#[tokio::test]
async fn a_complete_officernd_listing_ends_only_what_it_lists_in_full() {
    use access_sync_ports::FactStore;
    use access_sync_rules::Facts;
    use access_sync_rules::mapping::Mappings;

    let now: Instant = "2026-12-03T12:00:00Z".parse().unwrap();
    let rec = |collection: &str, id: &str, body: serde_json::Value| SourceRecord {
        collection: collection.into(),
        id: id.into(),
        modified_at: None,
        body,
    };
    let membership = |id: &str, member: &str| {
        json!({"_id": id, "status": "approved", "calculatedStatus": "active", "plan": "P1",
            "member": member, "startDate": "2026-11-01T00:00:00.000Z"})
    };
    let listed = vec![
        rec("locations", "L1", json!({"_id": "L1", "name": "Main"})),
        rec("members", "M1", json!({"_id": "M1", "email": "a@x.io"})),
        rec("members", "M2", json!({"_id": "M2", "email": "b@x.io"})),
        rec("memberships", "S1", membership("S1", "M1")),
    ];
    // What webhooks told us before: also a membership since deleted on the platform, a
    // weekly booking's occurrence next week, and today's check-in.
    let mut before = listed.clone();
    before.extend([
        rec("memberships", "S9", membership("S9", "M2")),
        rec(
            "bookings/occurrences",
            "B1@2026-12-10T09:00:00Z",
            json!({"_id": "B1", "member": "M2", "resource": "R1",
                "start": "2026-12-10T09:00:00.000Z", "end": "2026-12-10T10:00:00.000Z",
                "recurrence": {"rrule": "FREQ=WEEKLY"}}),
        ),
        rec(
            "checkins",
            "K1",
            json!({"_id": "K1", "member": "M2", "location": "L1",
                "start": "2026-12-03T08:00:00.000Z"}),
        ),
    ]);
    let store = MemoryStore::default();
    let api: Vec<ApiRecord<'_>> = before
        .iter()
        .map(|r| ApiRecord {
            collection: &r.collection,
            id: &r.id,
            body: &r.body,
        })
        .collect();
    let seeded = Platform::Officernd
        .events_from_records(&api, now - chrono::Duration::days(1))
        .unwrap();
    assert!(seeded.unmapped.is_empty(), "{:?}", seeded.unmapped);
    for ev in &seeded.events {
        let loaded = store.load_for_event(&ev.body).await.unwrap();
        let mut facts = Facts::from_records(loaded.records.clone());
        if let Some(r) = facts.apply(ev, &Mappings::default()).record {
            store.save(&loaded, &r).await.unwrap();
        }
    }

    let source = MemorySource::new(
        Platform::Officernd,
        &[
            "locations",
            "members",
            "memberships",
            "bookings/occurrences",
            "checkins",
        ],
        &["members"],
        10,
    );
    for r in listed {
        source.put(r);
    }
    let (state, bus) = (MemorySyncState::default(), MemoryPublisher::default());
    let sync = PlatformSync {
        source: &source,
        state: &state,
        facts: &store,
        publisher: &bus,
        mapping: PlatformMapping::Spec(Platform::Officernd),
        encode,
        settings: SyncConfig::default().sync,
    };
    let (req, _) = SyncRequest::parse(json!({"platform": "officernd", "full": true})).unwrap();
    let out = handle(&sync, &req, now, &|| true).await.unwrap();
    assert_eq!(out["held"], false, "{out}");
    let cancels: Vec<String> = bus
        .published()
        .iter()
        .filter_map(
            |o| match Event::parse(&o.detail.to_string()).unwrap().body {
                Body::Cancel(id) => Some(id.to_string()),
                _ => None,
            },
        )
        .collect();
    assert_eq!(
        cancels,
        vec!["officernd:membership:S9".to_string()],
        "{out}"
    );
}

/// The issue 17 review's OfficeRnD fixes, end to end through the handler: records as the v2
/// API lists them (fields cited in `events/officernd/README.md`; R =
/// `../shared/reference/platform-apis/officernd.md`) are first stored as the webhooks would
/// have stored them, then a complete full listing of the changed space is synced.
mod officernd_review {
    use super::*;
    use access_sync_ports::FactStore;
    use access_sync_rules::Facts;
    use access_sync_rules::mapping::Mappings;
    use serde_json::Value;

    /// The client's collection order (`access_sync_sources::officernd`), those used here.
    const COLLECTIONS: [&str; 6] = [
        "resources",
        "companies",
        "members",
        "memberships",
        "passes",
        "assignments",
    ];

    pub(super) fn rec(collection: &str, body: Value) -> SourceRecord {
        SourceRecord {
            collection: collection.into(),
            id: body["_id"].as_str().unwrap().into(),
            modified_at: None,
            body,
        }
    }

    fn now() -> Instant {
        "2026-12-03T12:00:00Z".parse().unwrap()
    }

    /// Stores what `records` mean, as applied events (the webhooks of the day before).
    async fn seed(store: &MemoryStore, records: &[SourceRecord]) {
        let api: Vec<ApiRecord<'_>> = records
            .iter()
            .map(|r| ApiRecord {
                collection: &r.collection,
                id: &r.id,
                body: &r.body,
            })
            .collect();
        let seeded = Platform::Officernd
            .events_from_records(&api, now() - chrono::Duration::days(1))
            .unwrap();
        assert!(seeded.unmapped.is_empty(), "{:?}", seeded.unmapped);
        apply(store, &seeded.events).await;
    }

    async fn apply(store: &MemoryStore, events: &[Event]) {
        for ev in events {
            let loaded = store.load_for_event(&ev.body).await.unwrap();
            let mut facts = Facts::from_records(loaded.records.clone());
            if let Some(r) = facts.apply(ev, &Mappings::default()).record {
                store.save(&loaded, &r).await.unwrap();
            }
        }
    }

    fn published(bus: &MemoryPublisher) -> Vec<Event> {
        bus.published()
            .iter()
            .map(|o| Event::parse(&o.detail.to_string()).unwrap())
            .collect()
    }

    fn cancels(events: &[Event]) -> Vec<String> {
        events
            .iter()
            .filter_map(|e| match &e.body {
                Body::Cancel(id) => Some(id.to_string()),
                _ => None,
            })
            .collect()
    }

    fn teams(events: &[Event]) -> Vec<String> {
        events
            .iter()
            .filter_map(|e| match &e.body {
                Body::Team(t) => Some(format!(
                    "{}=[{}]",
                    t.id,
                    t.members
                        .iter()
                        .map(|m| m.as_str())
                        .collect::<Vec<_>>()
                        .join(",")
                )),
                _ => None,
            })
            .collect()
    }

    /// Seeds `before`, lists `after` in full with the default brake, and returns the answer
    /// and what was published (the sync state, to confirm).
    async fn sync(
        before: &[SourceRecord],
        after: Vec<SourceRecord>,
    ) -> (
        Value,
        Vec<Event>,
        MemoryStore,
        MemorySyncState,
        MemorySource,
    ) {
        let store = MemoryStore::default();
        seed(&store, before).await;
        let source = MemorySource::new(Platform::Officernd, &COLLECTIONS, &["members"], 50);
        for r in after {
            source.put(r);
        }
        let (state, bus) = (MemorySyncState::default(), MemoryPublisher::default());
        let out = {
            let sync = PlatformSync {
                source: &source,
                state: &state,
                facts: &store,
                publisher: &bus,
                mapping: PlatformMapping::Spec(Platform::Officernd),
                encode,
                settings: SyncConfig::default().sync,
            };
            let (req, _) =
                SyncRequest::parse(json!({"platform": "officernd", "full": true})).unwrap();
            handle(&sync, &req, now(), &|| true).await.unwrap()
        };
        (out, published(&bus), store, state, source)
    }

    /// A company's private-office membership (R §2.3: `isPersonal: false`, `company`, no
    /// `member`) and the office assigned to it (R §2.6: `resource`, `membership`,
    /// `startDate`; the resource's `type` `team_room`).
    fn office() -> Vec<SourceRecord> {
        vec![
            rec("resources", json!({"_id": "R1", "type": "team_room"})),
            rec("companies", json!({"_id": "C1", "name": "Acme"})),
            rec(
                "members",
                json!({"_id": "M1", "email": "a@x.io", "company": "C1"}),
            ),
            rec(
                "memberships",
                json!({"_id": "S1", "isPersonal": false, "company": "C1", "plan": "P1",
                    "status": "approved", "calculatedStatus": "active",
                    "startDate": "2026-11-01T00:00:00.000Z"}),
            ),
            rec(
                "assignments",
                json!({"_id": "A1", "resource": "R1", "membership": "S1",
                    "startDate": "2026-11-01T00:00:00.000Z"}),
            ),
        ]
    }

    /// Item 1: the membership is deleted (R §2.3 "hard delete", §3 "Deletions") and its
    /// assignment is still listed: the office access it gave ends with the membership.
    #[tokio::test]
    async fn a_deleted_membership_ends_the_office_assignment_that_came_with_it() {
        let before = office();
        let after: Vec<_> = office()
            .into_iter()
            .filter(|r| r.collection != "memberships")
            .collect();
        let (out, events, ..) = sync(&before, after).await;
        assert_eq!(out["held"], false, "{out}");
        let mut got = cancels(&events);
        got.sort();
        assert_eq!(
            got,
            ["officernd:assignment:A1", "officernd:membership:S1"],
            "{out}"
        );
    }

    /// Item 3: the membership is listed but cannot be read (a `calculatedStatus` outside the
    /// R §2.3 enum), so it and its assignment are reported, not ended, and the brake counts
    /// nothing.
    #[tokio::test]
    async fn a_listed_record_that_cannot_be_read_is_not_ended() {
        let before = office();
        let mut after = office();
        after[3].body["calculatedStatus"] = json!("sleeping");
        let (out, events, ..) = sync(&before, after).await;
        assert_eq!(out["unmapped"], 2, "{out}");
        assert_eq!(out["endings"], 0, "{out}");
        assert_eq!(out["held"], false, "{out}");
        assert!(cancels(&events).is_empty(), "{events:?}");
    }

    /// Item 2: M1 moves from Acme to Beta (R §2.1 member `company`), M2 leaves its company
    /// (the key is gone: a listed record is whole). Acme's company membership and company
    /// pass (R §2.4 `company`, `isPersonal: false`, `resourceType`, `count`/`usedCount`,
    /// `validFrom`/`validTo`, `status`) no longer reach them; Beta's reaches M1.
    #[tokio::test]
    async fn a_member_who_leaves_a_company_leaves_its_plan_and_pass() {
        let space = |m1: Option<&str>, m2: Option<&str>| {
            let member = |id: &str, email: &str, company: Option<&str>| {
                let mut b = json!({"_id": id, "email": email});
                if let Some(c) = company {
                    b["company"] = json!(c);
                }
                rec("members", b)
            };
            vec![
                rec("companies", json!({"_id": "C1", "name": "Acme"})),
                rec("companies", json!({"_id": "C2", "name": "Beta"})),
                member("M1", "a@x.io", m1),
                member("M2", "b@x.io", m2),
                member("M3", "c@x.io", Some("C1")),
                rec(
                    "memberships",
                    json!({"_id": "S1", "isPersonal": false, "company": "C1", "plan": "P1",
                        "status": "approved", "calculatedStatus": "active",
                        "startDate": "2026-11-01T00:00:00.000Z"}),
                ),
                rec(
                    "memberships",
                    json!({"_id": "S2", "isPersonal": false, "company": "C2", "plan": "P1",
                        "status": "approved", "calculatedStatus": "active",
                        "startDate": "2026-11-01T00:00:00.000Z"}),
                ),
                rec(
                    "passes",
                    json!({"_id": "X1", "isPersonal": false, "company": "C1",
                        "resourceType": "hotdesk", "count": 15, "usedCount": 5,
                        "status": "valid", "validFrom": "2026-11-06T00:00:00.000Z",
                        "validTo": "2026-12-06T00:00:00.000Z"}),
                ),
            ]
        };
        let (out, events, store, ..) =
            sync(&space(Some("C1"), Some("C1")), space(Some("C2"), None)).await;
        assert_eq!(out["held"], false, "{out}");
        let mut got = teams(&events);
        got.sort();
        assert_eq!(got, ["C1=[M3]", "C2=[M1]"], "{out}");
        apply(&store, &events).await;
        let facts = Facts::from_records(store.all_records().await.unwrap());
        let teams_of = |m: &str| facts.teams_of(&MemberId(m.into())).to_vec();
        assert_eq!(teams_of("M1"), [access_sync_rules::TeamId("C2".into())]);
        assert!(teams_of("M2").is_empty());
        assert_eq!(teams_of("M3"), [access_sync_rules::TeamId("C1".into())]);
    }

    /// Item 4: nine of Acme's ten members leave it at once (their `company` is gone): the
    /// shrink ends nine people's access through the company plan — 9 of 10 active grants,
    /// over the default brake (10 %, floor 5) — so it is held, then published on confirm.
    #[tokio::test]
    async fn a_mass_company_shrink_is_held_by_the_brake() {
        let space = |staying: usize| {
            let mut v = vec![
                rec("companies", json!({"_id": "C1", "name": "Acme"})),
                rec(
                    "memberships",
                    json!({"_id": "S1", "isPersonal": false, "company": "C1", "plan": "P1",
                        "status": "approved", "calculatedStatus": "active",
                        "startDate": "2026-11-01T00:00:00.000Z"}),
                ),
            ];
            for i in 0..10 {
                let mut b = json!({"_id": format!("M{i}"), "email": format!("m{i}@x.io")});
                if i < staying {
                    b["company"] = json!("C1");
                }
                v.push(rec("members", b));
            }
            v
        };
        let (out, events, store, state, source) = sync(&space(10), space(1)).await;
        assert_eq!(out["held"], true, "{out}");
        assert!(
            teams(&events).is_empty(),
            "nothing of the shrink published: {events:?}"
        );
        let held = state.progress("officernd").await.unwrap().held.unwrap();
        assert_eq!((held.ended, held.active), (9, 10));

        let bus = MemoryPublisher::default();
        let sync = PlatformSync {
            source: &source,
            state: &state,
            facts: &store,
            publisher: &bus,
            mapping: PlatformMapping::Spec(Platform::Officernd),
            encode,
            settings: SyncConfig::default().sync,
        };
        let (confirm, _) =
            SyncRequest::parse(json!({"platform": "officernd", "action": "confirm"})).unwrap();
        handle(&sync, &confirm, now(), &|| true).await.unwrap();
        assert_eq!(teams(&published(&bus)), ["C1=[M0]"]);
    }
}
