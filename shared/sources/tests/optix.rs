//! The Optix client against the Optix simulator over real HTTP: paging, batching, the budget,
//! throttling, token expiry and replacement through the webhook, reads by id, and the webhook
//! hint path (a forged body under a captured signature reads the API and grants nothing).

use access_sync_kisi::{SlidingWindow, Unlimited};
use access_sync_platforms::api::ApiRecord;
use access_sync_platforms::{Delivery, Platform};
use access_sync_ports::memory::MemoryApiTokens;
use access_sync_ports::{ApiTokens, ListRequest, PlatformSource, SecretValue, SourceError};
use access_sync_rules::{Body, Event, Instant};
use access_sync_sources::RetryPolicy;
use access_sync_sources::optix::{OptixConfig, OptixSource};
use optix_sim::{Faults, Sim, SimConfig, spawn};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

fn fixture() -> Value {
    serde_json::from_str(include_str!("../../../events/optix/api/records.json")).unwrap()
}

/// The fixture's bookings and check-ins lie in March 2026.
fn window() -> Option<(Instant, Instant)> {
    Some((
        "2026-03-01T00:00:00Z".parse().unwrap(),
        "2026-05-01T00:00:00Z".parse().unwrap(),
    ))
}

/// The clock of the fixture's reads (Optix embeds nothing dated in a record read by id).
fn fixture_now() -> Instant {
    "2026-03-20T12:00:00Z".parse().unwrap()
}

fn fast_retries() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 6,
        base_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(40),
        rate_limit_floor: Duration::from_millis(20),
        deadline: Duration::from_secs(20),
    }
}

fn client(
    endpoint: &str,
    tokens: Arc<MemoryApiTokens>,
    page_size: u32,
) -> OptixSource<Arc<MemoryApiTokens>> {
    let mut c = OptixConfig::new(Some("456".into()));
    c.endpoint = endpoint.into();
    c.page_size = page_size;
    c.retry = fast_retries();
    OptixSource::new(tokens, c).unwrap()
}

async fn sim(config: SimConfig) -> optix_sim::Running {
    let sim = Sim::new(config);
    sim.load(&fixture());
    spawn(sim).await.unwrap()
}

fn tokens(t: &str) -> Arc<MemoryApiTokens> {
    Arc::new(MemoryApiTokens::with(Platform::Optix, t))
}

fn map(records: &[(String, Value)], at: Instant) -> Vec<Event> {
    let refs: Vec<ApiRecord<'_>> = records
        .iter()
        .map(|(c, b)| ApiRecord {
            collection: c,
            id: "",
            body: b,
        })
        .collect();
    Platform::Optix
        .events_from_records(&refs, at)
        .unwrap()
        .events
}

fn fixture_records() -> Vec<(String, Value)> {
    let f = fixture();
    access_sync_platforms::optix::records::COLLECTIONS
        .iter()
        .flat_map(|c| {
            f[*c]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| (c.to_string(), r.clone()))
        })
        .collect()
}

#[tokio::test]
async fn a_full_read_pages_and_batches_everything_including_deleted_and_cancelled_records() {
    let s = sim(SimConfig::default()).await;
    // One record per page: every list needs paging (§3: loop until page * limit >= total).
    let c = client(&s.endpoint, tokens("tok-1-o"), 1);
    let got = c.read_all(window()).await.unwrap();
    let n = |col: &str| got.iter().filter(|r| r.collection == col).count();
    assert_eq!(
        [
            n("users"),
            n("accountPlans"),
            n("bookings"),
            n("checkins"),
            n("assignments")
        ],
        [4, 4, 3, 2, 1],
        "soft-deleted users, cancelled/ended plans, cancelled and unreviewed bookings are all read"
    );
    assert_eq!(got.len(), fixture_records().len());
    let st = c.stats();
    // 18 pages of one record plus one empty-list check per collection at most, 3 per request.
    assert!(st.root_fields >= 18, "{st:?}");
    assert!(
        st.requests * 3 >= st.root_fields && st.requests < st.root_fields,
        "{st:?}"
    );
    assert_eq!(s.sim.counters().too_complex, 0);
    // What the client read means what the fixture means, event for event.
    let at: Instant = "2026-03-20T12:00:00Z".parse().unwrap();
    let read: Vec<(String, Value)> = got.into_iter().map(|r| (r.collection, r.body)).collect();
    let mut a: Vec<String> = map(&read, at).iter().map(|e| e.id.clone()).collect();
    let mut b: Vec<String> = map(&fixture_records(), at)
        .iter()
        .map(|e| e.id.clone())
        .collect();
    a.sort();
    b.sort();
    assert_eq!(a, b);
}

#[tokio::test]
async fn the_port_lists_page_by_page_with_page_numbers_as_cursors() {
    let s = sim(SimConfig::default()).await;
    let c = client(&s.endpoint, tokens("tok-1-o"), 3);
    let mut req = ListRequest {
        collection: "users".into(),
        changed_since: None,
        window: None,
        cursor: None,
    };
    let mut ids = Vec::new();
    loop {
        let p = c.list(&req).await.unwrap();
        ids.extend(p.records.into_iter().map(|r| r.id));
        match p.next {
            Some(n) => req.cursor = Some(n),
            None => break,
        }
    }
    assert_eq!(ids, ["301", "302", "303", "304"]);
    assert!(!c.incremental("users"));
    // A dated collection is listed only with a window: the client has no clock.
    let mut bookings = ListRequest {
        collection: "bookings".into(),
        changed_since: None,
        window: None,
        cursor: None,
    };
    let err = c.list(&bookings).await.unwrap_err();
    assert!(matches!(err, SourceError::Unreadable { .. }), "{err}");
    // The default window follows the caller's `now`: around the fixture's March bookings
    // it lists them, a year later it does not.
    let march: Instant = "2026-03-10T12:00:00Z".parse().unwrap();
    bookings.window = c.window("bookings", march);
    assert_eq!(
        bookings.window,
        Some((
            "2026-03-09T00:00:00Z".parse().unwrap(),
            "2026-04-11T00:00:00Z".parse().unwrap()
        ))
    );
    assert!(!c.list(&bookings).await.unwrap().records.is_empty());
    bookings.window = c.window("bookings", "2027-03-10T12:00:00Z".parse().unwrap());
    let p = c.list(&bookings).await.unwrap();
    assert!(p.records.is_empty() && p.next.is_none());
    assert_eq!(c.window("users", march), None);
}

#[tokio::test]
async fn records_are_read_by_id_and_a_missing_or_odd_id_is_none() {
    let s = sim(SimConfig::default()).await;
    let c = client(&s.endpoint, tokens("tok-1-o"), 100);
    let b = c
        .read("bookings", "88002", fixture_now())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(b.body["is_canceled"], true);
    let t = c.read("teams", "41", fixture_now()).await.unwrap().unwrap();
    assert_eq!(t.body["users"].as_array().unwrap().len(), 2);
    assert!(
        c.read("accountPlans", "666", fixture_now())
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        c.read("bookings", "1\") { x }", fixture_now())
            .await
            .unwrap()
            .is_none()
    );
    assert!(matches!(
        c.read("invoices", "1", fixture_now()).await,
        Err(SourceError::Unreadable { .. })
    ));
}

#[tokio::test]
async fn a_budget_as_large_as_optix_s_is_never_throttled_and_throttling_is_retried() {
    // A short window stands for Optix's minute.
    let cfg = SimConfig {
        per_minute: 4,
        window: Duration::from_millis(400),
        ..SimConfig::default()
    };
    let s = sim(cfg).await;
    let budget = Arc::new(SlidingWindow::new(4, Duration::from_millis(450)).unwrap());
    let c = client(&s.endpoint, tokens("tok-1-o"), 1).with_budget(budget);
    c.read_all(window()).await.unwrap();
    assert!(c.stats().requests > 4);
    assert_eq!(
        s.sim.counters().throttled,
        0,
        "the budget kept within Optix's"
    );
    // Without a budget the simulator throttles; the client backs off and finishes.
    let s2 = sim(SimConfig {
        per_minute: 4,
        window: Duration::from_millis(400),
        ..SimConfig::default()
    })
    .await;
    let mut cfg = OptixConfig::new(Some("456".into()));
    cfg.endpoint = s2.endpoint.clone();
    cfg.page_size = 1;
    // Backoff longer than the simulator's window (Optix's minute, shortened).
    cfg.retry = RetryPolicy {
        max_attempts: 10,
        rate_limit_floor: Duration::from_millis(250),
        max_delay: Duration::from_millis(500),
        ..fast_retries()
    };
    let c2 = OptixSource::new(tokens("tok-1-o"), cfg)
        .unwrap()
        .with_budget(Arc::new(Unlimited));
    let all = c2.read_all(window()).await.unwrap();
    assert_eq!(all.len(), fixture_records().len());
    assert!(s2.sim.counters().throttled > 0);
    assert!(c2.stats().rate_limited > 0);
    // Forced faults: 429s and 503s are retried within the policy.
    s2.sim.set_faults(Faults {
        throttle_next: 1,
        fail_next: 1,
    });
    assert!(
        c2.read("bookings", "88001", fixture_now())
            .await
            .unwrap()
            .is_some()
    );
}

#[tokio::test]
async fn a_rotated_token_is_taken_from_the_webhook_checked_and_used() {
    let s = sim(SimConfig::default()).await;
    let store = tokens("tok-1-o");
    let c = client(&s.endpoint, store.clone(), 100);
    assert!(
        c.read("users", "301", fixture_now())
            .await
            .unwrap()
            .is_some()
    );
    // Optix replaces the token and says so by webhook (§1); ingest offers what it carries.
    let body = s.sim.rotate_token(1_774_000_000);
    let hints = Platform::Optix
        .spec()
        .hints(&Delivery {
            body: body.as_bytes(),
            ..Delivery::default()
        })
        .unwrap();
    let offered = hints.token.clone().unwrap();
    assert_eq!(offered, s.sim.token());
    store
        .offer(Platform::Optix, SecretValue::new(offered.clone()))
        .await
        .unwrap();
    // The old token is refused; the client checks the candidate with `me` and goes on.
    assert!(
        c.read("users", "301", fixture_now())
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(c.stats().tokens_promoted, 1);
    let cur = store.current(Platform::Optix).await.unwrap().unwrap();
    assert_eq!(cur.expose(), offered);
    assert!(store.candidate(Platform::Optix).await.unwrap().is_none());
}

#[tokio::test]
async fn an_expired_token_without_a_good_replacement_is_unauthorized() {
    let s = sim(SimConfig::default()).await;
    let store = tokens("tok-1-o");
    let c = client(&s.endpoint, store.clone(), 100);
    s.sim.expire_token();
    let e = c.read("users", "301", fixture_now()).await.unwrap_err();
    assert!(
        matches!(e, SourceError::Unauthorized { .. }) && !e.is_retryable(),
        "{e}"
    );
    // A planted candidate (a forged token webhook) is checked with the API and refused.
    store
        .offer(Platform::Optix, SecretValue::new("tok-evil-o"))
        .await
        .unwrap();
    let e = c.read("users", "301", fixture_now()).await.unwrap_err();
    assert!(matches!(e, SourceError::Unauthorized { .. }), "{e}");
    assert_eq!(
        store
            .current(Platform::Optix)
            .await
            .unwrap()
            .unwrap()
            .expose(),
        "tok-1-o"
    );
    let none = Arc::new(MemoryApiTokens::default());
    assert!(matches!(
        client(&s.endpoint, none, 100)
            .read("users", "301", fixture_now())
            .await,
        Err(SourceError::NotConfigured { .. })
    ));
}

#[tokio::test]
async fn a_forged_webhook_body_leads_to_a_re_read_and_the_api_s_word_only() {
    let s = sim(SimConfig::default()).await;
    let c = client(&s.endpoint, tokens("tok-1-o"), 100);
    let ts = chrono::Utc::now().timestamp();
    // A genuine delivery's signature, captured ...
    let genuine = s
        .sim
        .webhook("member_booking_updated", &[("booking_id", "88001")], ts);
    let sig = form_urlencoded::parse(genuine.as_bytes())
        .find(|(k, _)| k == "request_signature")
        .unwrap()
        .1
        .into_owned();
    // ... under a body that claims a plan for mallory and re-opens the cancelled booking.
    let forged = format!(
        "client_id=8e3b7c1d&created_timestamp={ts}&organization_id=456&event=new_plan_subscription&account_plan_id=666&plan_template_id=77&member_email=mallory%40evil.example&booking_id=88002&request_signature={sig}"
    );
    let d = Delivery {
        body: forged.as_bytes(),
        ..Delivery::default()
    };
    let now: Instant = chrono::Utc::now();
    Platform::Optix
        .verify("optix-webhook-secret", &d, now)
        .expect("the captured signature verifies: it does not cover the body");
    let hints = Platform::Optix.spec().hints(&d).unwrap();
    let mut events = Vec::new();
    for h in &hints.records {
        if let Some(r) = c.read(&h.collection, &h.id, now).await.unwrap() {
            events.extend(map(&[(r.collection, r.body)], now));
        }
    }
    // Plan 666 does not exist; booking 88002 is cancelled in Optix: all that comes out is
    // its cancel. Nothing grants, nobody named mallory appears.
    assert_eq!(events.len(), 1, "{events:?}");
    assert!(matches!(&events[0].body, Body::Cancel(id) if id.as_str() == "optix:booking:88002"));
    assert!(!format!("{events:?}").contains("mallory"));
}

#[tokio::test]
async fn webhooks_are_posted_form_encoded_and_signed_as_optix_signs_them() {
    use axum::routing::post;
    let received = Arc::new(std::sync::Mutex::new(Vec::<(String, String)>::new()));
    let keep = received.clone();
    let app = axum::Router::new().route(
        "/optix",
        post(move |headers: axum::http::HeaderMap, body: String| {
            let keep = keep.clone();
            async move {
                let ct = headers
                    .get("content-type")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_string();
                keep.lock().unwrap().push((ct, body));
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let s = sim(SimConfig::default()).await;
    let now = chrono::Utc::now();
    let body = s.sim.webhook(
        "new_member_booking",
        &[("booking_id", "88001")],
        now.timestamp(),
    );
    let status = Sim::deliver(&format!("http://{addr}/optix"), body)
        .await
        .unwrap();
    assert_eq!(status, 200);
    let (ct, got) = received.lock().unwrap()[0].clone();
    assert_eq!(ct, "application/x-www-form-urlencoded");
    let d = Delivery {
        body: got.as_bytes(),
        ..Delivery::default()
    };
    Platform::Optix
        .verify("optix-webhook-secret", &d, now)
        .unwrap();
    assert!(Platform::Optix.verify("another-secret", &d, now).is_err());
    let _ = json!({});
}
