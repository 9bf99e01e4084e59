//! The TeamUp client against the TeamUp simulator over real HTTP (a free loopback port):
//! complete listings of a generated business with the joins (catalogue, shares, blocks,
//! events), incremental reads through the reports, reads by id (the customer view a webhook
//! re-read uses, 404), faults (5xx, 429 with and without Retry-After, short pages, an expired
//! token, another provider), and what the mapping makes of what was read.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use access_sync_kisi::SlidingWindow;
use access_sync_platforms::Platform;
use access_sync_platforms::api::ApiRecord;
use access_sync_ports::memory::MemorySecrets;
use access_sync_ports::{ListRequest, PlatformSource, SourceError, SourceRecord};
use access_sync_rules::{Body, Instant as At, Status};
use access_sync_sources::RetryPolicy;
use access_sync_sources::teamup::{TeamupConfig, TeamupSource};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use teamup_sim::{Faults, Sim, SimConfig, SimHandle};

const SECRET: &str = "teamup/token";

fn anchor() -> At {
    DateTime::parse_from_rfc3339("2026-11-30T00:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

async fn business(customers: usize) -> SimHandle {
    let sim = Sim::new(SimConfig::default());
    sim.set_clock(Some(anchor()));
    sim.seed(&teamup_sim::generate(customers, anchor()))
        .unwrap();
    sim.set_clock(Some(anchor() + chrono::Duration::hours(2)));
    teamup_sim::spawn_sim(sim).await.unwrap()
}

fn config(max_attempts: u32) -> TeamupConfig {
    TeamupConfig {
        retry: RetryPolicy {
            max_attempts,
            base_delay: Duration::from_millis(5),
            max_delay: Duration::from_millis(50),
            rate_limit_floor: Duration::from_millis(50),
            deadline: Duration::from_secs(30),
        },
        ..TeamupConfig::new(SECRET)
    }
}

fn client_with(
    h: &SimHandle,
    secret: Value,
    cfg: TeamupConfig,
) -> TeamupSource<Arc<MemorySecrets>> {
    let secrets = Arc::new(MemorySecrets::default());
    let mut s = secret;
    s["api_url"] = Value::from(h.api_url());
    secrets.set(SECRET, &s.to_string());
    TeamupSource::new(secrets, cfg).unwrap()
}

fn client(h: &SimHandle) -> TeamupSource<Arc<MemorySecrets>> {
    client_with(h, json!({"token": "sim-m2m-token"}), config(4))
}

fn window() -> Option<(At, At)> {
    Some((
        anchor() - chrono::Duration::days(1),
        anchor() + chrono::Duration::days(31),
    ))
}

async fn list_all(
    src: &TeamupSource<Arc<MemorySecrets>>,
    collection: &str,
    since: Option<At>,
) -> Result<Vec<SourceRecord>, SourceError> {
    let mut out = Vec::new();
    let mut cursor = None;
    loop {
        let page = src
            .list(&ListRequest {
                collection: collection.into(),
                changed_since: since,
                window: window(),
                cursor: cursor.take(),
            })
            .await?;
        out.extend(page.records);
        match page.next {
            Some(c) => cursor = Some(c),
            None => return Ok(out),
        }
    }
}

fn ids(records: &[SourceRecord]) -> BTreeSet<String> {
    records.iter().map(|r| r.id.clone()).collect()
}

#[tokio::test]
async fn a_full_listing_reads_every_record_with_its_joins() {
    let h = business(250).await;
    let src = client(&h);
    let customers = list_all(&src, "customers", None).await.unwrap();
    assert_eq!(customers.len(), 250);
    assert_eq!(ids(&customers).len(), 250);
    let ms = list_all(&src, "customer_memberships", None).await.unwrap();
    assert_eq!(ms.len(), 250);
    let family = ms.iter().find(|r| r.id == "200000").unwrap();
    // The catalogue record is inlined; the family plan is shared with customers 100000/100001.
    assert_eq!(family.body["membership"]["shareable"], true);
    assert_eq!(family.body["_shared_with"], json!(["100000", "100001"]));
    // Customer 100007 has an active registration block.
    let blocked = ms.iter().find(|r| r.id == "200007").unwrap();
    assert_eq!(blocked.body["_blocked_customers"], json!(["100007"]));
    let events = list_all(&src, "events", None).await.unwrap();
    assert_eq!(events.len(), 14);
    let att = list_all(&src, "attendances", None).await.unwrap();
    assert_eq!(att.len(), 25);
    assert!(
        att[0].body["event"]["starts_at"].is_string(),
        "event expanded"
    );
    let sessions = list_all(&src, "course_session_attendances", None)
        .await
        .unwrap();
    assert_eq!(sessions.len(), 10);
    assert!(sessions[0].body["course_session"]["starts_at"].is_string());
    for c in src.collections() {
        list_all(&src, c, None).await.unwrap();
    }
    // Every request the simulator counted was authenticated and answered.
    assert!(
        h.sim
            .requests()
            .iter()
            .all(|r| r.status == 200 && r.scheme == "Bearer")
    );
    assert_eq!(h.sim.requests().len() as u64, src.stats().requests);
    h.stop().await;
}

#[tokio::test]
async fn incremental_reads_go_through_the_reports_and_return_full_records() {
    let h = business(120).await;
    let src = client(&h);
    let since = h.sim.now();
    h.sim.set_clock(Some(since + chrono::Duration::minutes(15)));
    h.sim
        .put(
            "customer_memberships",
            &json!({"id": 200010, "status": "cancelled"}),
        )
        .unwrap();
    h.sim
        .put(
            "attendances",
            &json!({"id": 400020, "status": "late_cancelled"}),
        )
        .unwrap();
    assert!(src.incremental("customer_memberships") && src.incremental("attendances"));
    assert!(!src.incremental("customers"));
    let ms = list_all(
        &src,
        "customer_memberships",
        Some(since + chrono::Duration::minutes(5)),
    )
    .await
    .unwrap();
    assert_eq!(ids(&ms), BTreeSet::from(["200010".to_string()]));
    assert_eq!(ms[0].body["status"], "cancelled");
    assert_eq!(
        ms[0].body["membership"]["id"], 1,
        "the same shape as a list row"
    );
    let att = list_all(
        &src,
        "attendances",
        Some(since + chrono::Duration::minutes(5)),
    )
    .await
    .unwrap();
    assert_eq!(ids(&att), BTreeSet::from(["400020".to_string()]));
    assert!(att[0].body["event"]["ends_at"].is_string());
    assert!(
        h.sim
            .requests()
            .iter()
            .any(|r| r.path == "/api/v2/reports/customer_memberships/data"
                && r.query.contains("format=json")
                && r.query.contains("updated_at_gte="))
    );
    h.stop().await;
}

#[tokio::test]
async fn reads_by_id_embed_a_customers_access_and_missing_is_none() {
    let h = business(40).await;
    let src = client(&h);
    // Customer 100001 owns a cancelled membership and shares the family plan of 100000.
    let c = src
        .read("customers", "100001", anchor())
        .await
        .unwrap()
        .unwrap();
    let ms: BTreeSet<String> = c.body["_memberships"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].to_string())
        .collect();
    assert_eq!(ms, BTreeSet::from(["200000".into(), "200001".into()]));
    assert!(c.body["_attendances"].is_array());
    assert!(
        src.read("customers", "999999", anchor())
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        src.read("customers", "../x", anchor())
            .await
            .unwrap()
            .is_none()
    );
    let m = src
        .read("customer_memberships", "200000", anchor())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(m.body["_shared_with"], json!(["100000", "100001"]));
    let a = src
        .read("attendances", "400010", anchor())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(a.body["event"]["id"], 300001);
    assert!(matches!(
        src.read("invoices", "1", anchor()).await,
        Err(SourceError::Unreadable { .. })
    ));
    h.stop().await;
}

#[tokio::test]
async fn a_customer_re_read_carries_the_registrations_of_the_window_at_the_callers_clock() {
    // A business months away from the system clock (as on the local stack's virtual clock):
    // customer 100010 is registered for the class of the anchor's next day (attendance 400010).
    let far = DateTime::parse_from_rfc3339("2031-05-12T09:00:00Z")
        .unwrap()
        .with_timezone(&Utc);
    let sim = Sim::new(SimConfig::default());
    sim.set_clock(Some(far));
    sim.seed(&teamup_sim::generate(40, far)).unwrap();
    let h = teamup_sim::spawn_sim(sim).await.unwrap();
    let src = client(&h);
    let registrations = |c: &SourceRecord| -> BTreeSet<String> {
        c.body["_attendances"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["id"].to_string())
            .collect()
    };
    let c = src.read("customers", "100010", far).await.unwrap().unwrap();
    assert_eq!(registrations(&c), BTreeSet::from(["400010".to_string()]));
    assert!(c.body["_attendances"][0]["event"]["starts_at"].is_string());
    // The window is the listing's at that `now`, not the machine's.
    let (from, to) = src.window("attendances", far).unwrap();
    assert!(
        h.sim
            .requests()
            .iter()
            .any(|r| r.path == "/api/v2/attendances"
                && r.query.contains("customer=100010")
                && r.query.contains(&format!(
                    "event_starts_at_gte={}",
                    from.format("%Y-%m-%dT%H%%3A%M%%3A%SZ")
                ))
                && r.query.contains(&format!(
                    "event_starts_at_lte={}",
                    to.format("%Y-%m-%dT%H%%3A%M%%3A%SZ")
                )))
    );
    // Read on the system clock, the same customer has none of that window's registrations.
    let today = src
        .read("customers", "100010", Utc::now())
        .await
        .unwrap()
        .unwrap();
    assert!(registrations(&today).is_empty(), "{}", today.body);
    h.stop().await;
}

#[tokio::test]
async fn server_errors_throttling_and_short_pages_are_retried() {
    let h = business(230).await;
    // After a 429 the budget starts a fresh window as if it were full (the shared sliding
    // window's rule): a one-second window here, a minute in production.
    let src = client(&h).with_budget(Arc::new(
        SlidingWindow::new(250, Duration::from_secs(1)).unwrap(),
    ));
    h.sim.set_faults(Faults {
        error_requests: 2,
        error_status: 503,
        ..Faults::default()
    });
    assert_eq!(list_all(&src, "customers", None).await.unwrap().len(), 230);
    h.sim.set_faults(Faults {
        throttle_requests: 1,
        retry_after_secs: Some(1),
        ..Faults::default()
    });
    assert_eq!(list_all(&src, "customers", None).await.unwrap().len(), 230);
    h.sim.set_faults(Faults {
        throttle_requests: 2,
        ..Faults::default()
    });
    assert_eq!(list_all(&src, "customers", None).await.unwrap().len(), 230);
    h.sim.set_faults(Faults {
        short_page_requests: 1,
        ..Faults::default()
    });
    assert_eq!(list_all(&src, "customers", None).await.unwrap().len(), 230);
    let s = src.stats();
    assert_eq!((s.throttled, s.server_errors >= 3), (3, true), "{s:?}");
    // A short page that persists past the retries fails the listing: never a partial one.
    h.sim.set_faults(Faults {
        short_page_requests: 50,
        ..Faults::default()
    });
    assert!(matches!(
        list_all(&src, "customers", None).await,
        Err(SourceError::Unavailable { .. })
    ));
    h.stop().await;
}

#[tokio::test]
async fn an_expired_token_another_provider_or_no_token_are_typed() {
    let h = business(5).await;
    let src = client(&h);
    h.sim.set_faults(Faults {
        token_expired: true,
        ..Faults::default()
    });
    let e = list_all(&src, "customers", None).await.unwrap_err();
    assert!(matches!(e, SourceError::Unauthorized { .. }), "{e}");
    assert!(!e.is_retryable());
    // Both documented schemes were tried (§1 "Header"), the token never logged.
    let schemes: Vec<String> = h.sim.requests().iter().map(|r| r.scheme.clone()).collect();
    assert_eq!(schemes, ["Bearer", "Token"]);
    assert!(!e.to_string().contains("sim-m2m-token"));
    h.sim.set_faults(Faults::default());
    let other = client_with(
        &h,
        json!({"token": "sim-m2m-token", "provider_id": 999}),
        config(2),
    );
    assert!(matches!(
        list_all(&other, "customers", None).await,
        Err(SourceError::Unauthorized { .. })
    ));
    let secrets = Arc::new(MemorySecrets::default());
    secrets.set(SECRET, "");
    let none = TeamupSource::new(secrets, config(2)).unwrap();
    assert!(matches!(
        list_all(&none, "customers", None).await,
        Err(SourceError::NotConfigured {
            platform: Platform::Teamup
        })
    ));
    h.stop().await;
}

#[tokio::test]
async fn what_was_read_maps_to_the_access_teamup_describes() {
    let h = business(40).await;
    let src = client(&h);
    let mut records = Vec::new();
    for c in src.collections() {
        records.extend(list_all(&src, c, None).await.unwrap());
    }
    let api: Vec<ApiRecord<'_>> = records
        .iter()
        .map(|r| ApiRecord {
            collection: &r.collection,
            id: &r.id,
            body: &r.body,
        })
        .collect();
    let mapped = Platform::Teamup
        .events_from_records(&api, h.sim.now())
        .unwrap();
    assert!(mapped.unmapped.is_empty(), "{:?}", mapped.unmapped);
    let status_of = |id: &str| {
        mapped.events.iter().find_map(|e| match &e.body {
            Body::Entitlement(x) if x.id.as_str() == id => Some(Some(x.status)),
            Body::Cancel(x) if x.as_str() == id => Some(None),
            _ => None,
        })
    };
    // Active plan; the shared family plan reaches the child too; hold and used-up pack grant
    // nothing; a blocked customer's membership is `blocked`.
    assert_eq!(
        status_of("teamup:membership:200006"),
        Some(Some(Status::Active))
    );
    assert_eq!(
        status_of("teamup:membership:200000"),
        Some(Some(Status::Active))
    );
    assert_eq!(
        status_of("teamup:membership:200000/shared:100001"),
        Some(Some(Status::Active))
    );
    assert_eq!(
        status_of("teamup:membership:200002"),
        Some(Some(Status::Pending))
    );
    assert_eq!(
        status_of("teamup:membership:200003"),
        Some(Some(Status::Exhausted))
    );
    assert_eq!(status_of("teamup:membership:200001"), Some(None));
    assert_eq!(
        status_of("teamup:membership:200007"),
        Some(Some(Status::Blocked))
    );
    assert_eq!(
        status_of("teamup:registration:400010"),
        Some(Some(Status::Active))
    );
    h.stop().await;
}
