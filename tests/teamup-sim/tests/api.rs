//! The simulator over HTTP: the fixture file seeds it through the admin API; lists page with
//! absolute `next` URLs and filters; soft-deleted customers are hidden; reports are CSV unless
//! asked for JSON; the 250/minute limit answers 429 without headers; webhooks go out unsigned
//! with a `TEAMUP-WEBHOOK-ID`, the same when a delivery is resent; a snapshot seeds it back.

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::http::HeaderMap;
use axum::routing::post;
use serde_json::{Value, json};
use teamup_sim::{SimConfig, spawn};

const FIXTURE: &str = include_str!("../fixtures/small-business.json");

async fn get(url: &str) -> (u16, String) {
    let r = reqwest::Client::new()
        .get(url)
        .header("authorization", "Bearer sim-m2m-token")
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

#[tokio::test]
async fn the_fixture_seeds_lists_filters_reports_and_the_limit() {
    let h = spawn(SimConfig {
        requests_per_minute: Some(12),
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let admin = reqwest::Client::new();
    let r = admin
        .post(format!("{}/__admin/seed", h.base_url))
        .body(FIXTURE)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 204);
    let api = h.api_url();
    // Three visible customers (Dan is soft-deleted), two to a page.
    let (s, body) = get(&format!("{api}/customers?page_size=2")).await;
    assert_eq!(s, 200);
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["count"], 3);
    let next = v["next"].as_str().unwrap().to_string();
    assert!(next.starts_with(&api) && next.contains("page=2"), "{next}");
    let (_, body) = get(&next).await;
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        (v["results"][0]["id"].clone(), v["next"].clone()),
        (json!(4314), Value::Null)
    );
    let (_, body) = get(&format!("{api}/customers?deleted=true")).await;
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["results"][0]["id"],
        4315
    );
    // Shared with Ben through the family.
    let (_, body) = get(&format!(
        "{api}/customer_memberships?owned_or_shared_with_customer=4313&expand=membership"
    ))
    .await;
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["results"][0]["membership"]["shareable"], true);
    let (_, body) = get(&format!("{api}/customer_memberships/77/share_status")).await;
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap()["family"], 90);
    // Reports: CSV by default, JSON when asked.
    let (_, csv) = get(&format!("{api}/reports/attendances/data")).await;
    assert!(csv.starts_with("id,status"), "{csv}");
    let (_, body) = get(&format!("{api}/reports/attendances/data?format=json")).await;
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["rows"][0]["event"]["starts_at"], "2026-12-07T18:00:00Z");
    assert_eq!(v["rows"][0]["offering_type"], 31);
    // 7 requests so far; 5 more fill the minute's 12; the 13th is throttled, without headers.
    for _ in 0..5 {
        assert_eq!(get(&format!("{api}/venues")).await.0, 200);
    }
    let r = reqwest::Client::new()
        .get(format!("{api}/venues"))
        .header("authorization", "Token sim-m2m-token")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 429);
    assert!(r.headers().get("retry-after").is_none());
    assert_eq!(get(&format!("{api}/venues")).await.0, 429);
    // Authentication comes first: no token is 401 even when throttled.
    let r = reqwest::Client::new()
        .get(format!("{api}/venues"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    h.stop().await;
}

#[tokio::test]
async fn webhooks_go_out_unsigned_with_a_stable_webhook_id() {
    let got: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    let seen = got.clone();
    let app = axum::Router::new().route(
        "/teamup/{secret}",
        post(move |headers: HeaderMap, body: Bytes| {
            let seen = seen.clone();
            async move {
                let id = headers
                    .get("teamup-webhook-id")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_string();
                seen.lock()
                    .unwrap()
                    .push((id, String::from_utf8_lossy(&body).into_owned()));
                axum::http::StatusCode::ACCEPTED
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "http://{}/teamup/install-secret",
        listener.local_addr().unwrap()
    );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let h = spawn(SimConfig::default()).await.unwrap();
    let item = json!({"type": "customer_membership.updated", "data": {"id": 77, "customer": 4312}});
    let sent = h.sim.emit(&url, &item).await;
    assert_eq!(sent.status, 202);
    // A retry is the same delivery: same id, same body.
    let again = h.sim.deliver(&url, &sent.webhook_id, &sent.body).await;
    assert_eq!(again.status, 202);
    let got = got.lock().unwrap().clone();
    assert_eq!(got.len(), 2);
    assert_eq!(got[0], got[1]);
    let v: Value = serde_json::from_str(&got[0].1).unwrap();
    let it = &v["feed_items"][0];
    assert_eq!(it["object"], "feed_item");
    assert!(it["id"].is_number() && it["timestamp"].is_string());
    assert_eq!(it["data"]["id"], 77);
    h.stop().await;
}

#[test]
fn a_snapshot_is_what_the_simulator_holds_and_seeds_it_back() {
    let sim = teamup_sim::Sim::new(SimConfig::default());
    let fixture: teamup_sim::Fixture = serde_json::from_str(FIXTURE).unwrap();
    sim.seed(&fixture).unwrap();
    sim.put(
        "customer_memberships",
        &json!({"id": 77, "status": "cancelled"}),
    )
    .unwrap();
    let snap = sim.snapshot();
    assert_eq!(snap.shares, fixture.shares);
    let memberships = &snap.collections["customer_memberships"];
    assert_eq!(memberships.len(), 3);
    assert_eq!(memberships[0]["id"], 77);
    assert_eq!(memberships[0]["status"], "cancelled");
    let again = teamup_sim::Sim::new(SimConfig::default());
    again.seed(&snap).unwrap();
    assert_eq!(again.snapshot(), snap);
}
