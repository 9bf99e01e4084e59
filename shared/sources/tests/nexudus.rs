//! The Nexudus client against the Nexudus simulator over real HTTP (a free loopback port):
//! complete listings of a generated space, partial team rows completed, incremental reads,
//! windows, reads and deletions (id-set diff, 404), token refresh, Basic auth, throttling as
//! 409 and 429, server errors, pages that move under the reader, and the coworker re-read; and
//! the records → events mapping of what was read.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use access_sync_kisi::Unlimited;
use access_sync_platforms::Platform;
use access_sync_platforms::api::ApiRecord;
use access_sync_ports::memory::MemorySecrets;
use access_sync_ports::{ListRequest, PlatformSource, SourceError, SourceRecord};
use access_sync_rules::Instant as At;
use access_sync_sources::RetryPolicy;
use access_sync_sources::nexudus::{NexudusConfig, NexudusSource};
use chrono::{DateTime, Utc};
use nexudus_sim::{Faults, Sim, SimConfig, SimHandle};
use serde_json::json;

const SECRET: &str = "nexudus/credentials";

fn anchor() -> At {
    DateTime::parse_from_rfc3339("2026-11-30T00:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

async fn space(coworkers: usize) -> SimHandle {
    let sim = Sim::new(SimConfig::default());
    sim.seed(&nexudus_sim::generate(coworkers, 7, anchor()))
        .unwrap();
    sim.set_clock(Some(anchor() + chrono::Duration::hours(2)));
    nexudus_sim::spawn_sim(sim).await.unwrap()
}

fn config(max_attempts: u32, page_size: u32) -> NexudusConfig {
    NexudusConfig {
        retry: RetryPolicy {
            max_attempts,
            base_delay: Duration::from_millis(5),
            max_delay: Duration::from_millis(50),
            rate_limit_floor: Duration::from_millis(50),
            deadline: Duration::from_secs(30),
        },
        page_size,
        ..NexudusConfig::new(SECRET)
    }
}

fn client_auth(
    h: &SimHandle,
    auth: &str,
    password: &str,
    cfg: NexudusConfig,
) -> NexudusSource<Arc<MemorySecrets>> {
    let secrets = Arc::new(MemorySecrets::default());
    secrets.set(
        SECRET,
        &json!({"username": "admin@space.example", "password": password, "auth": auth,
            "api_url": h.api_url()})
        .to_string(),
    );
    NexudusSource::new(secrets, cfg)
        .unwrap()
        .with_budget(Arc::new(Unlimited))
}

fn client(h: &SimHandle, page_size: u32) -> NexudusSource<Arc<MemorySecrets>> {
    client_auth(h, "bearer", "sim-password", config(5, page_size))
}

/// A window covering every generated booking and check-in.
fn window() -> Option<(At, At)> {
    Some((
        anchor() - chrono::Duration::days(3),
        anchor() + chrono::Duration::days(10),
    ))
}

fn request(collection: &str, changed_since: Option<At>) -> ListRequest {
    ListRequest {
        collection: collection.into(),
        changed_since,
        window: window(),
        cursor: None,
    }
}

async fn list_all<S: PlatformSource>(
    c: &S,
    collection: &str,
    changed_since: Option<At>,
) -> Result<Vec<SourceRecord>, SourceError> {
    let mut req = request(collection, changed_since);
    let mut out = Vec::new();
    loop {
        let page = c.list(&req).await?;
        out.extend(page.records);
        match page.next {
            Some(n) => req.cursor = Some(n),
            None => return Ok(out),
        }
    }
}

fn ids(records: &[SourceRecord]) -> BTreeSet<String> {
    records.iter().map(|r| r.id.clone()).collect()
}

fn sim_ids(sim: &Sim, path: &str) -> BTreeSet<String> {
    // The generator gives each kind its own id range from a base (nexudus_sim::generate).
    let mut out = BTreeSet::new();
    for base in [
        1_000_000i64,
        2_000_000,
        3_000_000,
        4_000_000,
        5_000_000,
        6_000_000,
        7_000_000,
        8_000_000,
    ] {
        for i in 0..1000 {
            if sim.get(path, base + i).is_some() {
                out.insert((base + i).to_string());
            }
        }
    }
    out
}

#[tokio::test]
async fn a_full_listing_reads_every_record_of_every_collection_across_pages() {
    let h = space(230).await;
    let c = client(&h, 25);
    for name in c.collections() {
        let got = list_all(&c, name, None).await.unwrap();
        let path = nexudus_sim::ENTITIES
            .iter()
            .find(|(p, _)| p.ends_with(&format!("/{name}")))
            .unwrap()
            .0;
        assert_eq!(got.len(), h.sim.count(path), "{name}");
        assert_eq!(ids(&got).len(), got.len(), "{name}: duplicates");
        if !["businesses", "tariffs"].contains(name) {
            assert_eq!(ids(&got), sim_ids(&h.sim, path), "{name}");
        }
    }
    // 230 coworkers at 25 a page: 10 pages.
    let before = c.stats().pages;
    list_all(&c, "coworkers", None).await.unwrap();
    assert_eq!(c.stats().pages - before, 10);
    h.stop().await;
}

#[tokio::test]
async fn team_rows_are_completed_with_their_members_by_one_batch_read_per_page() {
    let h = space(60).await;
    let c = client(&h, 4);
    let before = h.sim.requests().len();
    let teams = list_all(&c, "teams", None).await.unwrap();
    assert_eq!(teams.len(), 6);
    for t in &teams {
        let members = t.body["TeamMembers"].as_array().unwrap();
        assert_eq!(members.len(), 10, "{}", t.id);
    }
    // 2 pages, each a list and a batch read (and the one token request).
    let all = h.sim.requests();
    let reqs: Vec<_> = all[before..].iter().filter(|r| r.method == "GET").collect();
    assert_eq!(reqs.iter().filter(|r| r.query.contains("id=")).count(), 2);
    assert_eq!(reqs.len(), 4);
    // And the mapping makes team events of them.
    let recs: Vec<ApiRecord<'_>> = teams
        .iter()
        .map(|r| ApiRecord {
            collection: &r.collection,
            id: &r.id,
            body: &r.body,
        })
        .collect();
    let mapped = Platform::Nexudus
        .events_from_records(&recs, anchor())
        .unwrap();
    assert_eq!(mapped.events.len(), 6);
    h.stop().await;
}

#[tokio::test]
async fn incremental_reads_return_what_changed_and_the_zone_margin_never_misses_it() {
    let h = space(100).await;
    let c = client(&h, 50);
    let now = anchor() + chrono::Duration::hours(2);
    // Nothing was updated in the last day of the generated data.
    let quiet = list_all(&c, "coworkers", Some(now)).await.unwrap();
    assert!(quiet.is_empty(), "{}", quiet.len());
    h.sim.set_clock(Some(now + chrono::Duration::minutes(5)));
    h.sim
        .upsert(
            "spaces/coworkers",
            &json!({"Id": 1_000_003, "Active": false}),
        )
        .unwrap();
    h.sim
        .upsert(
            "billing/coworkertimepasses",
            &json!({"Id": 4_000_900, "CoworkerId": 1_000_003,
            "TimePassId": 5001, "RemainingUses": 2, "ExpireDate": "2026-12-31T00:00:00Z"}),
        )
        .unwrap();
    // Asked from the minute of the change: the 14-hour margin includes it whatever the zone.
    let changed = list_all(&c, "coworkers", Some(now + chrono::Duration::minutes(5)))
        .await
        .unwrap();
    assert_eq!(ids(&changed), BTreeSet::from(["1000003".to_string()]));
    assert_eq!(changed[0].body["Active"], json!(false));
    let passes = list_all(&c, "coworkertimepasses", Some(now)).await.unwrap();
    assert_eq!(ids(&passes), BTreeSet::from(["4000900".to_string()]));
    let q = h.sim.requests().last().unwrap().query.clone();
    assert!(
        q.contains("from_CoworkerTimePass_UpdatedOn=2026-11-29T11%3A59"),
        "{q}"
    );
    h.stop().await;
}

#[tokio::test]
async fn deletions_show_as_missing_ids_in_a_full_listing_and_404_on_read() {
    let h = space(50).await;
    let c = client(&h, 20);
    let before = ids(&list_all(&c, "coworkercontracts", None).await.unwrap());
    let gone = before.iter().next().unwrap().clone();
    assert!(
        c.read("coworkercontracts", &gone, anchor())
            .await
            .unwrap()
            .is_some()
    );
    h.sim
        .delete("billing/coworkercontracts", gone.parse().unwrap())
        .unwrap();
    let after = ids(&list_all(&c, "coworkercontracts", None).await.unwrap());
    assert_eq!(
        before.difference(&after).cloned().collect::<Vec<_>>(),
        vec![gone.clone()]
    );
    assert_eq!(
        c.read("coworkercontracts", &gone, anchor()).await.unwrap(),
        None
    );
    assert_eq!(
        c.read("coworkercontracts", "not-a-number", anchor())
            .await
            .unwrap(),
        None
    );
    // A deleted booking moves to cancelledbookings, which cancels it in the mapping.
    let booking = ids(&list_all(&c, "bookings", None).await.unwrap())
        .into_iter()
        .next()
        .unwrap();
    h.sim
        .delete("spaces/bookings", booking.parse().unwrap())
        .unwrap();
    let cancelled = list_all(&c, "cancelledbookings", None).await.unwrap();
    assert_eq!(cancelled.len(), 1);
    let recs: Vec<ApiRecord<'_>> = cancelled
        .iter()
        .map(|r| ApiRecord {
            collection: &r.collection,
            id: &r.id,
            body: &r.body,
        })
        .collect();
    let mapped = Platform::Nexudus
        .events_from_records(&recs, anchor())
        .unwrap();
    assert!(matches!(&mapped.events[0].body,
        access_sync_rules::Body::Cancel(id) if id.as_str() == format!("nexudus:booking:{booking}")));
    h.stop().await;
}

#[tokio::test]
async fn an_expired_token_is_refreshed_once_and_the_request_resent() {
    let h = space(10).await;
    let c = client(&h, 100);
    list_all(&c, "coworkers", None).await.unwrap();
    assert_eq!(c.stats().token_requests, 1);
    h.sim.set_faults(Faults {
        expire_tokens_now: true,
        ..Faults::default()
    });
    let again = list_all(&c, "coworkers", None).await.unwrap();
    assert_eq!(again.len(), 10);
    let s = c.stats();
    assert_eq!((s.unauthorized, s.token_requests, s.refreshes), (1, 2, 1));
    h.stop().await;
}

#[tokio::test]
async fn wrong_credentials_are_unauthorized_and_basic_auth_works() {
    let h = space(10).await;
    let bad = client_auth(&h, "bearer", "wrong", config(3, 100));
    let e = list_all(&bad, "coworkers", None).await.unwrap_err();
    assert!(matches!(e, SourceError::Unauthorized { .. }), "{e}");
    assert!(!e.to_string().contains("wrong"));
    let basic = client_auth(&h, "basic", "sim-password", config(3, 100));
    assert_eq!(list_all(&basic, "coworkers", None).await.unwrap().len(), 10);
    assert_eq!(basic.stats().token_requests, 0);
    let bad_basic = client_auth(&h, "basic", "wrong", config(3, 100));
    let e = list_all(&bad_basic, "coworkers", None).await.unwrap_err();
    assert!(matches!(e, SourceError::Unauthorized { .. }), "{e}");
    h.stop().await;
}

#[tokio::test]
async fn throttling_as_409_or_429_is_waited_out_and_retried() {
    let h = space(30).await;
    for (status, retry_after) in [(409u16, Some(1u64)), (429, None)] {
        let c = client(&h, 100);
        h.sim.set_faults(Faults {
            throttle_requests: 2,
            throttle_status: status,
            retry_after_secs: retry_after,
            ..Faults::default()
        });
        let started = std::time::Instant::now();
        let got = list_all(&c, "coworkers", None).await.unwrap();
        assert_eq!(got.len(), 30, "{status}");
        assert_eq!(c.stats().throttled, 2, "{status}");
        // The wait asked for (1 s by header for 409, "Wait 1 seconds" in the 429 text) was
        // honoured: two throttled answers cost at least one wait each.
        assert!(started.elapsed() >= Duration::from_secs(2), "{status}");
    }
    // Throttled past the budget: unavailable, retryable.
    let c = client_auth(&h, "bearer", "sim-password", config(2, 100));
    list_all(&c, "tariffs", None).await.unwrap();
    h.sim.set_faults(Faults {
        throttle_requests: 5,
        throttle_status: 409,
        retry_after_secs: Some(0),
        ..Faults::default()
    });
    let e = list_all(&c, "coworkers", None).await.unwrap_err();
    assert!(e.is_retryable(), "{e}");
    h.stop().await;
}

#[tokio::test]
async fn server_errors_are_retried_and_an_outage_is_unavailable() {
    let h = space(30).await;
    let c = client(&h, 10);
    h.sim.set_faults(Faults {
        error_requests: 2,
        ..Faults::default()
    });
    assert_eq!(list_all(&c, "coworkers", None).await.unwrap().len(), 30);
    assert_eq!(c.stats().server_errors, 2);
    h.sim.set_faults(Faults {
        error_requests: 50,
        error_status: 503,
        ..Faults::default()
    });
    let e = list_all(&c, "coworkers", None).await.unwrap_err();
    assert!(matches!(e, SourceError::Unavailable { .. }), "{e}");
    h.stop().await;
}

#[tokio::test]
async fn a_page_that_moved_under_the_reader_is_read_again_never_taken_as_the_end() {
    let h = space(100).await;
    let c = client(&h, 10);
    h.sim.set_faults(Faults {
        short_page_requests: 3,
        ..Faults::default()
    });
    let got = list_all(&c, "coworkers", None).await.unwrap();
    assert_eq!(got.len(), 100);
    assert_eq!(ids(&got).len(), 100);
    assert_eq!(c.stats().server_errors, 3);
    // A record deleted between two pages: TotalItems changes, the page is refused, and the
    // listing fails rather than skip a record that would then look deleted.
    let c = client_auth(&h, "bearer", "sim-password", config(2, 10));
    let mut req = request("coworkers", None);
    let first = c.list(&req).await.unwrap();
    h.sim.delete("spaces/coworkers", 1_000_000).unwrap();
    req.cursor = first.next;
    let e = c.list(&req).await.unwrap_err();
    assert!(e.is_retryable(), "{e}");
    assert!(e.to_string().contains("TotalItems"), "{e}");
    h.stop().await;
}

#[tokio::test]
async fn the_coworker_re_read_brings_everything_of_one_coworker() {
    let h = space(200).await;
    let c = client(&h, 50);
    // A coworker holding a contract, a booking with a visitor: find one in the seed.
    let visitors = list_all(&c, "bookingvisitors", None).await.unwrap();
    let booking_id = visitors[0].body["BookingId"].as_i64().unwrap();
    let booking = h.sim.get("spaces/bookings", booking_id).unwrap();
    let who = booking["CoworkerId"].as_i64().unwrap().to_string();
    let recs = c.coworker_records(&who, window()).await.unwrap().unwrap();
    let kinds: BTreeSet<&str> = recs.iter().map(|r| r.collection.as_str()).collect();
    assert!(
        kinds.contains("coworkers")
            && kinds.contains("bookings")
            && kinds.contains("bookingvisitors"),
        "{kinds:?}"
    );
    for r in &recs {
        if r.collection != "coworkers" && r.collection != "bookingvisitors" {
            assert_eq!(r.body["CoworkerId"].to_string(), who, "{}", r.collection);
        }
    }
    let api: Vec<ApiRecord<'_>> = recs
        .iter()
        .map(|r| ApiRecord {
            collection: &r.collection,
            id: &r.id,
            body: &r.body,
        })
        .collect();
    let mapped = Platform::Nexudus
        .events_from_records(&api, anchor())
        .unwrap();
    assert!(mapped.unmapped.is_empty(), "{:?}", mapped.unmapped);
    let guest = format!("v{}@guest.example", booking_id - 5_000_000);
    assert!(mapped.events.iter().any(|e| matches!(&e.body,
        access_sync_rules::Body::Entitlement(x) if x.guests.iter().any(|g| g.as_str() == guest))));
    assert_eq!(c.coworker_records("999", None).await.unwrap(), None);
    h.stop().await;
}

#[tokio::test]
async fn a_generated_space_maps_without_unmapped_records() {
    let h = space(300).await;
    let c = client(&h, 100);
    let mut all = Vec::new();
    for name in c.collections() {
        all.extend(list_all(&c, name, None).await.unwrap());
    }
    let api: Vec<ApiRecord<'_>> = all
        .iter()
        .map(|r| ApiRecord {
            collection: &r.collection,
            id: &r.id,
            body: &r.body,
        })
        .collect();
    let mapped = Platform::Nexudus
        .events_from_records(&api, anchor())
        .unwrap();
    assert!(
        mapped.unmapped.is_empty(),
        "{:?}",
        &mapped.unmapped[..mapped.unmapped.len().min(3)]
    );
    let removed = mapped
        .events
        .iter()
        .filter(|e| matches!(&e.body, access_sync_rules::Body::Member(m) if m.removed))
        .count();
    let inactive = all
        .iter()
        .filter(|r| {
            r.collection == "coworkers"
                && (r.body["Active"] == json!(false) || r.body["Archived"] == json!(true))
        })
        .count();
    assert_eq!(removed, inactive);
    assert!(inactive > 0);
    h.stop().await;
}
