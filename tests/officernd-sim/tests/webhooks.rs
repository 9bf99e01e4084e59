//! Webhooks over real HTTP: a local receiver gets what the simulator sends and checks the
//! signature with its own implementation of the documented algorithm (header
//! `officernd-signature: t=<unix>,signature=<hex>`, HMAC-SHA256 keyed with the secret over
//! `rawBody + "." + t`), not the simulator's signer.

mod common;

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::http::HeaderMap;
use chrono::{DateTime, Utc};
use common::*;
use hmac::{Hmac, Mac};
use officernd_sim::Readings;
use reqwest::Method;
use serde_json::{Value, json};
use sha2::Sha256;

const SECRET: &str = "whsec-test-1";

/// One delivery as received: the signature header and the raw body.
type Got = (Option<String>, Vec<u8>);

#[derive(Clone, Default)]
struct Received(Arc<Mutex<Vec<Got>>>);

impl Received {
    fn all(&self) -> Vec<Got> {
        self.0.lock().unwrap().clone()
    }
}

/// A receiver on a free loopback port; returns its URL and what it got.
async fn receiver() -> (String, Received) {
    let got = Received::default();
    let store = got.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: Bytes| {
            let store = store.clone();
            async move {
                let sig = headers
                    .get("officernd-signature")
                    .map(|v| v.to_str().unwrap().to_owned());
                store.0.lock().unwrap().push((sig, body.to_vec()));
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, got)
}

fn hmac_hex(secret: &str, parts: &[&[u8]]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    for p in parts {
        mac.update(p);
    }
    hex::encode(mac.finalize().into_bytes())
}

/// Reads the header positionally, as OfficeRnD's demo does: `t=<unix>` first, then the
/// signature after the `=` of the second part whatever its key. Returns `t`.
fn verify(secret: &str, header: &str, body: &[u8]) -> Result<i64, String> {
    let mut parts = header.split(',');
    let t = parts
        .next()
        .and_then(|p| p.strip_prefix("t="))
        .ok_or("no t=")?;
    let sig = parts
        .next()
        .and_then(|p| p.split_once('=').map(|(_, v)| v))
        .ok_or("no signature")?;
    let want = hmac_hex(secret, &[body, b".", t.as_bytes()]);
    if sig == want {
        t.parse().map_err(|_| "bad t".to_owned())
    } else {
        Err("mismatch".into())
    }
}

fn at(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

async fn sim_with_target(url: &str) -> officernd_sim::SimHandle {
    let sim = start(Some(&small_org())).await;
    sim.set_webhook_target(Some(url.to_owned()), Some(SECRET.to_owned()));
    sim
}

#[tokio::test]
async fn a_membership_change_sends_a_webhook_that_verifies_with_the_documented_signature() {
    let (url, got) = receiver().await;
    let sim = sim_with_target(&url).await;
    let now = at("2026-03-02T12:00:00Z");
    sim.set_now(Some(now));
    let r = admin(
        &sim,
        Method::PATCH,
        "/records/memberships/6600aa00bb00cc00dd00ee03?webhook=send",
        Some(json!({"endDate": "2026-03-15T00:00:00.000Z"})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["sent"][0]["status"], 200);
    let all = got.all();
    assert_eq!(all.len(), 1);
    let (header, body) = &all[0];
    let header = header.as_deref().expect("signature header");
    assert!(
        header.starts_with("t=") && header.contains(",signature="),
        "{header}"
    );
    assert_eq!(verify(SECRET, header, body), Ok(now.timestamp()));
    assert!(verify("another-secret", header, body).is_err());
    // The timestamp-first order of the broken n8n version does not verify.
    let t = now.timestamp().to_string();
    let time_first = hmac_hex(SECRET, &[t.as_bytes(), b".", body]);
    assert!(!header.ends_with(&time_first));

    let env: Value = serde_json::from_slice(body).unwrap();
    assert_eq!(env["eventType"], "membership.updated");
    assert_eq!(env["createdAt"], "2026-03-02T12:00:00.000Z");
    assert_eq!(env["event"].as_str().unwrap().len(), 24);
    let obj = &env["data"]["object"];
    assert_eq!(obj["_id"], "6600aa00bb00cc00dd00ee03");
    assert_eq!(obj["plan"], "5e0000000000000000000001");
    assert_eq!(obj["endDate"], "2026-03-15T00:00:00.000Z");
    assert_eq!(obj["modifiedAt"], "2026-03-02T12:00:00.000Z");
    assert_eq!(
        env["data"]["previousAttributes"]["endDate"],
        "2026-10-31T00:00:00.000Z"
    );
    assert_eq!(sim.counters().webhooks_sent, 1);
}

#[tokio::test]
async fn a_returned_delivery_is_not_sent_and_can_be_replayed_later() {
    let (url, got) = receiver().await;
    let sim = sim_with_target(&url).await;
    let r = admin(
        &sim,
        Method::PATCH,
        "/records/members/64b1a0c0e4b0a1a1a1a1a102?webhook=return",
        Some(json!({"status": "former"})),
    )
    .await;
    assert_eq!(r.body["eventType"], "member.updated");
    let deliveries = r.body["deliveries"].clone();
    assert_eq!(deliveries.as_array().unwrap().len(), 1);
    assert_eq!(deliveries[0]["url"], url.as_str());
    assert!(got.all().is_empty(), "returned, not sent");

    for _ in 0..2 {
        let s = admin(
            &sim,
            Method::POST,
            "/webhooks/send",
            Some(json!({"deliveries": deliveries})),
        )
        .await;
        assert_eq!(s.body["sent"][0]["status"], 200);
    }
    let all = got.all();
    assert_eq!(all.len(), 2);
    assert_eq!(all[0], all[1], "a replay is byte for byte the same");
    verify(SECRET, all[0].0.as_deref().unwrap(), &all[0].1).unwrap();

    let none = admin(
        &sim,
        Method::PATCH,
        "/records/members/64b1a0c0e4b0a1a1a1a1a102?webhook=none",
        Some(json!({"status": "active"})),
    )
    .await;
    assert_eq!(none.body["deliveries"], json!([]));
    // Emitting for the record as it is now, without changing it.
    let emitted = admin(
        &sim,
        Method::POST,
        "/webhooks/emit?webhook=send",
        Some(json!({"eventType": "member.updated", "id": "64b1a0c0e4b0a1a1a1a1a102"})),
    )
    .await;
    assert_eq!(emitted.body["sent"][0]["status"], 200, "{}", emitted.body);
    let env: Value = serde_json::from_slice(&got.all()[2].1).unwrap();
    assert_eq!(env["data"]["object"]["status"], "active");
    assert!(env["data"].get("previousAttributes").is_none());
}

#[tokio::test]
async fn a_removal_carries_the_whole_object_and_records_without_events_send_nothing() {
    let (url, got) = receiver().await;
    let sim = sim_with_target(&url).await;
    let r = admin(
        &sim,
        Method::DELETE,
        "/records/members/64b1a0c0e4b0a1a1a1a1a103?webhook=send",
        None,
    )
    .await;
    assert_eq!(r.body["eventType"], "member.removed");
    let env: Value = serde_json::from_slice(&got.all()[0].1).unwrap();
    assert_eq!(env["eventType"], "member.removed");
    assert_eq!(env["data"]["object"]["email"], "cat@example.com");

    // OfficeRnD has no pass.removed, and no check-in or assignment events.
    for path in [
        "/records/passes/608000000000000000000052?webhook=send",
        "/records/checkins/6620aa00bb00cc00dd00ee01?webhook=send",
        "/records/assignments/6610aa00bb00cc00dd00ee01?webhook=send",
    ] {
        let r = admin(&sim, Method::DELETE, path, None).await;
        assert_eq!(r.status, 200);
        assert_eq!(r.body["eventType"], Value::Null, "{path}");
        assert_eq!(r.body["deliveries"], json!([]), "{path}");
    }
    assert_eq!(got.all().len(), 1);
    let r = admin(
        &sim,
        Method::POST,
        "/webhooks/emit",
        Some(json!({"eventType": "pass.removed", "id": "608000000000000000000052"})),
    )
    .await;
    assert_eq!(r.status, 400);
    // A removed record's event can still be emitted again (a duplicate delivery).
    let again = admin(
        &sim,
        Method::POST,
        "/webhooks/emit?webhook=send",
        Some(json!({"eventType": "member.removed", "id": "64b1a0c0e4b0a1a1a1a1a103"})),
    )
    .await;
    assert_eq!(again.body["sent"][0]["status"], 200);
}

#[tokio::test]
async fn webhooks_registered_through_the_api_get_their_events_signed_with_their_own_secret() {
    let (url, got) = receiver().await;
    let sim = start(Some(&small_org())).await;
    let tok = token(&sim).await;
    let created = reply(
        http()
            .post(format!("{}/webhooks", sim.api_base()))
            .bearer_auth(&tok)
            .json(&json!({"url": url, "eventTypes": ["booking.created"], "description": "test"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(created.status, 201);
    let secret = created.body["secret"].as_str().unwrap().to_owned();
    let id = created.body["_id"].as_str().unwrap().to_owned();
    assert_eq!(
        get(&sim, &tok, &format!("/webhooks/{id}")).await.body["url"],
        url.as_str()
    );
    assert_eq!(
        get(&sim, &tok, "/webhooks").await.body["results"][0]["_id"],
        id.as_str()
    );

    admin(
        &sim,
        Method::PATCH,
        "/records/members/64b1a0c0e4b0a1a1a1a1a101?webhook=send",
        Some(json!({"phone": "+44 1"})),
    )
    .await;
    assert!(got.all().is_empty(), "not subscribed to member.updated");
    let booking = json!({"timezone": "Europe/London", "start": "2026-03-05T10:00:00.000Z",
        "end": "2026-03-05T11:00:00.000Z", "member": "64b1a0c0e4b0a1a1a1a1a101",
        "resource": "5f0000000000000000000101", "isCancelled": false});
    let r = admin(
        &sim,
        Method::POST,
        "/records/bookings?webhook=send",
        Some(booking),
    )
    .await;
    assert_eq!(r.body["sent"][0]["status"], 200, "{}", r.body);
    let all = got.all();
    assert_eq!(all.len(), 1);
    verify(&secret, all[0].0.as_deref().unwrap(), &all[0].1).unwrap();
    assert!(verify(SECRET, all[0].0.as_deref().unwrap(), &all[0].1).is_err());

    let del = http()
        .delete(format!("{}/webhooks/{id}", sim.api_base()))
        .bearer_auth(&tok)
        .send()
        .await
        .unwrap();
    assert_eq!(del.status(), 200);
    assert_eq!(
        get(&sim, &tok, &format!("/webhooks/{id}")).await.status,
        404
    );
}

#[tokio::test]
async fn the_other_readings_rename_fields_to_v1_and_sign_with_the_v1_key() {
    let (url, got) = receiver().await;
    let sim = sim_with_target(&url).await;
    sim.set_readings(Readings {
        webhook_v1_field_names: true,
        webhook_signature_key_v1: true,
        ..Readings::default()
    });
    admin(
        &sim,
        Method::PATCH,
        "/records/members/64b1a0c0e4b0a1a1a1a1a101?webhook=send",
        Some(json!({"phone": "+44 2"})),
    )
    .await;
    let (header, body) = &got.all()[0];
    let header = header.as_deref().unwrap();
    assert!(header.contains(",v1="), "{header}");
    verify(SECRET, header, body).unwrap();
    let env: Value = serde_json::from_slice(body).unwrap();
    let obj = &env["data"]["object"];
    assert_eq!(obj["team"], "64b1a0c0e4b0c0c0c0c0c001");
    assert_eq!(obj["office"], "5d2a9f3e1c4b7a0012345601");
    assert!(obj.get("company").is_none() && obj.get("location").is_none());
}

#[tokio::test]
async fn a_receiver_that_is_down_is_reported_not_fatal() {
    let sim = sim_with_target("http://127.0.0.1:9/nothing-listens").await;
    let r = admin(
        &sim,
        Method::PATCH,
        "/records/members/64b1a0c0e4b0a1a1a1a1a101?webhook=send",
        Some(json!({"phone": "+44 3"})),
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["sent"][0]["status"], Value::Null);
    assert!(r.body["sent"][0]["error"].is_string());
    assert_eq!(sim.counters().webhooks_failed, 1);
}
