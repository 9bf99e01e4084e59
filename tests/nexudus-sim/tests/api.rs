//! The simulator's own behaviour over real HTTP: auth, the envelope and paging, partial rows,
//! filters, batch and by-id reads, throttling, and signed webhooks.

use axum::Router;
use axum::body::Bytes;
use axum::http::HeaderMap;
use axum::routing::post;
use nexudus_sim::{Faults, Fixture, Sim, SimConfig, sign};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};

/// (query, signature, body) of one delivery.
type Received = (String, String, Vec<u8>);

async fn small() -> nexudus_sim::SimHandle {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/small-space.json"
    ))
    .unwrap();
    let fixture: Fixture = serde_json::from_str(&text).unwrap();
    let sim = Sim::new(SimConfig::default());
    sim.seed(&fixture).unwrap();
    nexudus_sim::spawn_sim(sim).await.unwrap()
}

async fn token(h: &nexudus_sim::SimHandle) -> String {
    let r = reqwest::Client::new()
        .post(format!("{}/token", h.api_url()))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=password&username=admin%40space.example&password=sim-password")
        .send()
        .await
        .unwrap();
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["token_type"], json!("bearer"));
    assert_eq!(v["expires_in"], json!(604_799));
    v["access_token"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn token_needs_a_form_and_the_right_password() {
    let h = small().await;
    let c = reqwest::Client::new();
    let json_body = c
        .post(format!("{}/token", h.api_url()))
        .json(&json!({"grant_type": "password"}))
        .send()
        .await
        .unwrap();
    assert_eq!(json_body.status(), 400);
    let v: Value = json_body.json().await.unwrap();
    assert_eq!(v["error"], json!("unsupported_grant_type"));
    let wrong = c
        .post(format!("{}/token", h.api_url()))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=password&username=admin%40space.example&password=nope")
        .send()
        .await
        .unwrap();
    let v: Value = wrong.json().await.unwrap();
    assert_eq!(v["error"], json!("invalid_grant"));
    let unauth = c
        .get(format!("{}/spaces/coworkers", h.api_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(unauth.status(), 401);
    h.stop().await;
}

#[tokio::test]
async fn lists_are_paged_partial_and_filtered_and_by_id_is_full() {
    let h = small().await;
    let t = token(&h).await;
    let c = reqwest::Client::new();
    let get = |path: String| c.get(path).bearer_auth(&t).send();
    let v: Value = get(format!(
        "{}/spaces/coworkers?size=1&page=2&PageNumber=9",
        h.api_url()
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(v["TotalItems"], json!(2));
    assert_eq!(v["TotalPages"], json!(2));
    assert_eq!(v["CurrentPage"], json!(2));
    assert_eq!(v["FirstItem"], json!(2));
    assert_eq!(v["HasNextPage"], json!(false));
    assert_eq!(v["Records"][0]["Id"], json!(1415604544));
    // List rows drop collections (Teams); GET by id has them.
    assert!(v["Records"][0].get("Teams").is_none());
    let one: Value = get(format!("{}/spaces/coworkers/1415604544", h.api_url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(one["Teams"], json!([1419001]));
    let missing = get(format!("{}/spaces/coworkers/1", h.api_url()))
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    // Filters: related id without `Id`, ranges with minute precision.
    let v: Value = get(format!(
        "{}/billing/coworkertimepasses?CoworkerTimePass_Coworker=1415604544&from_CoworkerTimePass_UpdatedOn=2025-01-15T10:30",
        h.api_url()
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(v["TotalItems"], json!(1));
    let v: Value = get(format!(
        "{}/billing/coworkertimepasses?from_CoworkerTimePass_UpdatedOn=2025-01-15T10:31",
        h.api_url()
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(v["TotalItems"], json!(0));
    // Batch form: a bare array of full records.
    let v: Value = get(format!("{}/spaces/teams?id=[1419001,5]", h.api_url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v[0]["TeamMembers"], json!([1415604543, 1415604544]));
    h.stop().await;
}

#[tokio::test]
async fn throttled_answers_are_409_or_429_with_the_wait() {
    let h = small().await;
    let t = token(&h).await;
    let c = reqwest::Client::new();
    h.sim.set_faults(Faults {
        throttle_requests: 1,
        retry_after_secs: Some(3),
        ..Faults::default()
    });
    let r = c
        .get(format!("{}/spaces/coworkers", h.api_url()))
        .bearer_auth(&t)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 409);
    assert_eq!(r.headers()["retry-after"], "3");
    h.sim.set_faults(Faults {
        throttle_requests: 1,
        throttle_status: 429,
        retry_after_secs: Some(4),
        ..Faults::default()
    });
    let r = c
        .get(format!("{}/spaces/coworkers", h.api_url()))
        .bearer_auth(&t)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    assert!(r.text().await.unwrap().contains("Wait 4 seconds"));
    let r = c
        .get(format!("{}/spaces/coworkers", h.api_url()))
        .bearer_auth(&t)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    h.stop().await;
}

#[tokio::test]
async fn webhooks_are_a_signed_array_of_one_record_sent_to_the_action_url() {
    let got: Arc<Mutex<Vec<Received>>> = Arc::default();
    let sink = got.clone();
    let app = Router::new().route(
        "/nexudus",
        post(
            move |q: axum::extract::RawQuery, headers: HeaderMap, body: Bytes| {
                let sink = sink.clone();
                async move {
                    let sig = headers["X-Nexudus-Hook-Signature"]
                        .to_str()
                        .unwrap()
                        .to_string();
                    sink.lock()
                        .unwrap()
                        .push((q.0.unwrap_or_default(), sig, body.to_vec()));
                    axum::http::StatusCode::ACCEPTED
                }
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let h = small().await;
    h.sim
        .subscribe("CoworkerUpdate", &format!("http://{addr}/nexudus"));
    let rec = h
        .sim
        .upsert(
            "spaces/coworkers",
            &json!({"Id": 1415604544, "Active": false}),
        )
        .unwrap();
    let sent = h.sim.emit("CoworkerUpdate", &rec).await;
    assert_eq!(sent[0].status, 202);
    let (query, sig, body) = got.lock().unwrap()[0].clone();
    assert_eq!(query, "action=CoworkerUpdate");
    assert_eq!(sig, sign("sim-webhook-secret", &body));
    assert_eq!(sig, sig.to_uppercase());
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 1);
    assert_eq!(v[0]["Active"], json!(false));
    assert_eq!(v[0]["Email"], json!("bob@example.com"));
    h.stop().await;
}
