//! The sync with the OfficeRnD client against the OfficeRnD simulator over real HTTP (the
//! stores in memory; the records → events mapping a hand-written one for members only, until
//! the OfficeRnD mapping lands): a complete listing publishes every member once; a listing
//! whose pages start failing part-way publishes nothing and resumes.

use access_sync_engine::sync::{Mode, PlatformMapping, PlatformSync, SyncOutcome, SyncSettings};
use access_sync_platforms::api::{ApiRecord, Mapped, NoApiMapping};
use access_sync_ports::memory::{MemoryPublisher, MemorySecrets, MemoryStore, MemorySyncState};
use access_sync_ports::{OutboundEvent, SyncStateStore};
use access_sync_rules::event::MemberEvent;
use access_sync_rules::{Body, Email, EntitlementId, Event, Instant, MemberId};
use access_sync_sources::RetryPolicy;
use access_sync_sources::officernd::{OfficerndConfig, OfficerndSource};
use officernd_sim::{Faults, Sim, SimConfig};
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

const SECRET: &str = "officernd/credentials";

fn map(records: &[ApiRecord<'_>], at: Instant) -> Result<Mapped, NoApiMapping> {
    let events = records
        .iter()
        .filter(|r| r.collection == "members")
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

#[tokio::test(flavor = "multi_thread")]
async fn the_officernd_client_feeds_the_sync_and_a_failure_part_way_publishes_nothing() {
    let anchor: Instant = "2026-11-30T00:00:00Z".parse().unwrap();
    let sim = Sim::new(SimConfig::default());
    sim.load_fixture(&officernd_sim::generate(30, 7, anchor))
        .unwrap();
    sim.set_now(Some(anchor + chrono::Duration::hours(2)));
    let h = officernd_sim::spawn_sim(sim).await.unwrap();
    let secrets = Arc::new(MemorySecrets::default());
    secrets.set(
        SECRET,
        &json!({
            "client_id": "sim-client",
            "client_secret": "sim-secret",
            "org_slug": h.org_slug(),
            "token_url": h.token_url(),
            "api_url": format!("{}/api/v2/organizations", h.base_url),
        })
        .to_string(),
    );
    let source = OfficerndSource::new(
        secrets,
        OfficerndConfig {
            retry: RetryPolicy {
                max_attempts: 2,
                base_delay: Duration::from_millis(5),
                max_delay: Duration::from_millis(20),
                rate_limit_floor: Duration::from_millis(20),
                deadline: Duration::from_secs(10),
            },
            reads_per_second: 1000,
            page_size: 10,
            ..OfficerndConfig::new(SECRET)
        },
    )
    .unwrap();
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
        settings: SyncSettings::default(),
    };
    let now = anchor + chrono::Duration::hours(2);

    // Pages start failing after the second page.
    let pages = AtomicUsize::new(0);
    let break_after_two = || {
        if pages.fetch_add(1, Ordering::SeqCst) == 2 {
            h.set_faults(Faults {
                error_requests: 1000,
                error_status: 503,
                ..Faults::default()
            });
        }
        true
    };
    let err = sync
        .run(Mode::Full, now, &break_after_two)
        .await
        .unwrap_err();
    assert!(err.is_retryable(), "{err}");
    assert!(bus.published().is_empty(), "nothing published");
    let full = state.progress("officernd").await.unwrap().full.unwrap();
    // The two pages read before the failure are buffered, with the cursor after them.
    assert!(full.records > 0 && full.records <= 20, "{full:?}");
    assert!(full.collection > 0 || full.cursor.is_some(), "{full:?}");

    h.set_faults(Faults::default());
    let SyncOutcome::Done(r) = sync.run(Mode::Auto, now, &|| true).await.unwrap() else {
        panic!("not done")
    };
    let members = bus.published().len();
    assert!(members >= 30, "{members}");
    assert_eq!(r.changes.len(), members);
    assert!(
        r.records > members,
        "every collection listed: {}",
        r.records
    );
    let ids: std::collections::BTreeSet<String> = bus
        .published()
        .iter()
        .map(|o| o.detail["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids.len(), members, "one delivery per member");

    // Dated collections are listed in windows around the sync's `now` (a virtual day days away
    // from the system's), never the system clock: check-ins from midnight two days back.
    let checkins: Vec<String> = h
        .requests()
        .into_iter()
        .filter(|r| r.route.starts_with("GET /checkins"))
        .filter_map(|r| r.query)
        .collect();
    assert!(!checkins.is_empty());
    for q in &checkins {
        assert!(
            q.contains("2026-11-28T00") && q.contains("2026-12-01T00"),
            "the check-in window follows the sync's now: {q}"
        );
    }
    let occurrences: Vec<String> = h
        .requests()
        .into_iter()
        .filter(|r| r.route.starts_with("GET /bookings/occurrences"))
        .filter_map(|r| r.query)
        .collect();
    assert!(!occurrences.is_empty());
    for q in &occurrences {
        assert!(
            q.contains("2026-11-29T00") && q.contains("2026-12-31T00"),
            "the occurrence window follows the sync's now: {q}"
        );
    }
}
