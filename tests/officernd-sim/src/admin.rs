//! The test-only admin API under `/__admin/` (no auth, no rate limit, no faults, not counted).
//!
//! | method & path | body | answer |
//! |---|---|---|
//! | `GET /__admin/state` | | [`crate::StateSnapshot`] |
//! | `POST /__admin/reset` | | 204 |
//! | `GET /__admin/fixture` | | the organisation as a [`crate::Fixture`] |
//! | `PUT /__admin/fixture` | [`crate::Fixture`] | 204; 400 `{"error"}` and nothing changed on bad input |
//! | `POST /__admin/generate` | `{"members","seed","anchor"?}` | record counts per collection |
//! | `GET /__admin/records/{collection}` | | every record of the collection |
//! | `POST /__admin/records/{collection}` | record (`_id` optional) | [`crate::ChangeOutcome`] |
//! | `GET /__admin/records/{collection}/{id}` | | the record |
//! | `PATCH /__admin/records/{collection}/{id}` | JSON merge patch | [`crate::ChangeOutcome`] |
//! | `DELETE /__admin/records/{collection}/{id}` | | [`crate::ChangeOutcome`] |
//! | `POST /__admin/webhooks/emit` | `{"eventType","id"}` | `{"deliveries"}` for the record as it is |
//! | `POST /__admin/webhooks/send` | `{"deliveries":[…]}` | `{"sent":[…]}` (replay or late delivery) |
//! | `GET`/`PUT /__admin/webhook-target` | `{"url","secret"?}` | the target (secret not shown) |
//! | `GET`/`POST`/`DELETE /__admin/faults` | [`crate::Faults`] (partial JSON) | current faults |
//! | `GET`/`POST`/`DELETE /__admin/readings` | [`crate::Readings`] (partial JSON) | current readings |
//! | `GET`/`POST /__admin/clock` | `{"now":"RFC 3339"}` or `{"now":null}` | `{"now"}` |
//! | `POST /__admin/tokens/expire` | | 204; every token issued so far is expired |
//! | `GET`/`DELETE /__admin/requests` | | the request log / 204 (log and counters cleared) |
//! | `GET /__admin/counters` | | [`crate::Counters`] |
//!
//! Record changes take `?webhook=none|return|send` (default `return`): `return` puts the
//! signed deliveries in the answer without sending them, `send` also sends them and adds
//! `"sent"` with the receivers' statuses.

// Helpers return a ready `Response` as their error so handlers can `?` straight into the
// answer; its size does not matter in a test server.
#![allow(clippy::result_large_err)]

use axum::Json;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Value, json};
use sim_common::{RequestLog, requests_route};

use crate::{AdminError, ChangeOutcome, Collection, Delivery, Faults, Fixture, Readings, Sim};

pub(crate) fn routes() -> Router<Sim> {
    Router::new()
        .route("/state", get(state))
        .route("/reset", post(reset))
        .route("/fixture", get(get_fixture).put(put_fixture))
        .route("/generate", post(generate))
        .route("/records/{collection}", get(list_records).post(create))
        .route(
            "/records/{collection}/{id}",
            get(get_record).patch(update).delete(delete),
        )
        .route("/webhooks/emit", post(emit))
        .route("/webhooks/send", post(send))
        .route("/webhook-target", get(get_target).put(put_target))
        .route(
            "/faults",
            get(get_faults).post(set_faults).delete(clear_faults),
        )
        .route(
            "/readings",
            get(get_readings).post(set_readings).delete(clear_readings),
        )
        .route("/clock", get(get_clock).post(set_clock))
        .route("/tokens/expire", post(expire_tokens))
        .route("/requests", requests_route::<Sim>())
        .route("/counters", get(counters))
}

fn error(status: StatusCode, msg: &str) -> Response {
    (status, Json(json!({"error": msg}))).into_response()
}

fn admin_error(e: AdminError) -> Response {
    match e {
        AdminError::NotFound(m) => error(StatusCode::NOT_FOUND, &m),
        AdminError::Input(e) => error(StatusCode::BAD_REQUEST, &e.0),
    }
}

fn collection(key: &str) -> Result<Collection, Response> {
    Collection::from_key(key).ok_or_else(|| {
        error(
            StatusCode::NOT_FOUND,
            &format!("unknown collection {key:?}"),
        )
    })
}

fn json_body<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, Response> {
    serde_json::from_slice(body).map_err(|e| error(StatusCode::BAD_REQUEST, &e.to_string()))
}

async fn state(State(sim): State<Sim>) -> Response {
    Json(sim.snapshot()).into_response()
}

async fn reset(State(sim): State<Sim>) -> StatusCode {
    sim.reset();
    StatusCode::NO_CONTENT
}

async fn get_fixture(State(sim): State<Sim>) -> Response {
    Json(sim.fixture()).into_response()
}

async fn put_fixture(State(sim): State<Sim>, body: axum::body::Bytes) -> Response {
    let fixture: Fixture = match std::str::from_utf8(&body)
        .map_err(|e| e.to_string())
        .and_then(|t| Fixture::from_json(t).map_err(|e| e.0))
    {
        Ok(f) => f,
        Err(e) => return error(StatusCode::BAD_REQUEST, &e),
    };
    match sim.load_fixture(&fixture) {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => error(StatusCode::BAD_REQUEST, &e.0),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GenerateReq {
    members: usize,
    #[serde(default)]
    seed: u64,
    #[serde(default)]
    anchor: Option<DateTime<Utc>>,
}

async fn generate(State(sim): State<Sim>, body: axum::body::Bytes) -> Response {
    let req: GenerateReq = match json_body(&body) {
        Ok(r) => r,
        Err(r) => return r,
    };
    if req.members > crate::generate::MAX_MEMBERS {
        return error(
            StatusCode::BAD_REQUEST,
            &format!("members must be at most {}", crate::generate::MAX_MEMBERS),
        );
    }
    let anchor = req
        .anchor
        .unwrap_or_else(|| crate::generate::default_anchor(sim.now()));
    let fixture = crate::generate(req.members, req.seed, anchor);
    match sim.load_fixture(&fixture) {
        Ok(()) => {
            let counts: serde_json::Map<String, Value> = crate::model::ALL
                .into_iter()
                .map(|c| (c.key().to_owned(), json!(sim.count(c))))
                .collect();
            Json(Value::Object(counts)).into_response()
        }
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, &e.0),
    }
}

async fn list_records(State(sim): State<Sim>, Path(key): Path<String>) -> Response {
    match collection(&key) {
        Ok(c) => Json(sim.fixture().records.remove(c.key()).unwrap_or_default()).into_response(),
        Err(r) => r,
    }
}

async fn get_record(State(sim): State<Sim>, Path((key, id)): Path<(String, String)>) -> Response {
    let c = match collection(&key) {
        Ok(c) => c,
        Err(r) => return r,
    };
    match sim.record(c, &id) {
        Some(r) => Json(r).into_response(),
        None => error(StatusCode::NOT_FOUND, &format!("{c} {id}")),
    }
}

#[derive(Deserialize, Default)]
struct WebhookMode {
    #[serde(default)]
    webhook: Option<String>,
}

/// Turns a change into the answer, sending its deliveries if asked.
async fn answer(
    sim: &Sim,
    mode: &WebhookMode,
    outcome: Result<ChangeOutcome, AdminError>,
) -> Response {
    let mut outcome = match outcome {
        Ok(o) => o,
        Err(e) => return admin_error(e),
    };
    // The mode was checked before the change was made.
    match mode.webhook.as_deref() {
        Some("none") => {
            outcome.deliveries.clear();
            Json(outcome).into_response()
        }
        Some("send") => {
            let sent = sim.send(&outcome.deliveries).await;
            let mut v = json!(outcome);
            v["sent"] = json!(sent);
            Json(v).into_response()
        }
        _ => Json(outcome).into_response(),
    }
}

fn check_mode(mode: &WebhookMode) -> Result<(), Response> {
    match mode.webhook.as_deref() {
        None | Some("none" | "return" | "send") => Ok(()),
        Some(other) => Err(error(
            StatusCode::BAD_REQUEST,
            &format!("webhook={other:?}: use none, return or send"),
        )),
    }
}

async fn create(
    State(sim): State<Sim>,
    Path(key): Path<String>,
    Query(mode): Query<WebhookMode>,
    body: axum::body::Bytes,
) -> Response {
    let (c, rec) = match collection(&key)
        .and_then(|c| check_mode(&mode).map(|()| c))
        .and_then(|c| json_body::<crate::Record>(&body).map(|r| (c, r)))
    {
        Ok(x) => x,
        Err(r) => return r,
    };
    answer(&sim, &mode, sim.create(c, rec)).await
}

async fn update(
    State(sim): State<Sim>,
    Path((key, id)): Path<(String, String)>,
    Query(mode): Query<WebhookMode>,
    body: axum::body::Bytes,
) -> Response {
    let (c, patch) = match collection(&key)
        .and_then(|c| check_mode(&mode).map(|()| c))
        .and_then(|c| json_body::<crate::Record>(&body).map(|r| (c, r)))
    {
        Ok(x) => x,
        Err(r) => return r,
    };
    answer(&sim, &mode, sim.update(c, &id, &patch)).await
}

async fn delete(
    State(sim): State<Sim>,
    Path((key, id)): Path<(String, String)>,
    Query(mode): Query<WebhookMode>,
) -> Response {
    let c = match collection(&key).and_then(|c| check_mode(&mode).map(|()| c)) {
        Ok(c) => c,
        Err(r) => return r,
    };
    answer(&sim, &mode, sim.delete(c, &id)).await
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct EmitReq {
    event_type: String,
    id: String,
}

async fn emit(
    State(sim): State<Sim>,
    Query(mode): Query<WebhookMode>,
    body: axum::body::Bytes,
) -> Response {
    if let Err(r) = check_mode(&mode) {
        return r;
    }
    let req: EmitReq = match json_body(&body) {
        Ok(r) => r,
        Err(r) => return r,
    };
    let deliveries = match sim.prepare_webhook(&req.event_type, &req.id) {
        Ok(d) => d,
        Err(e) => return admin_error(e),
    };
    if mode.webhook.as_deref() == Some("send") {
        let sent = sim.send(&deliveries).await;
        Json(json!({"deliveries": deliveries, "sent": sent})).into_response()
    } else {
        Json(json!({"deliveries": deliveries})).into_response()
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SendReq {
    deliveries: Vec<Delivery>,
}

async fn send(State(sim): State<Sim>, body: axum::body::Bytes) -> Response {
    match json_body::<SendReq>(&body) {
        Ok(req) => Json(json!({"sent": sim.send(&req.deliveries).await})).into_response(),
        Err(r) => r,
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TargetReq {
    url: Option<String>,
    #[serde(default)]
    secret: Option<String>,
}

async fn get_target(State(sim): State<Sim>) -> Response {
    Json(json!({"url": sim.lock().webhook_target.clone()})).into_response()
}

async fn put_target(State(sim): State<Sim>, body: axum::body::Bytes) -> Response {
    match json_body::<TargetReq>(&body) {
        Ok(t) => {
            sim.set_webhook_target(t.url, t.secret);
            get_target(State(sim)).await
        }
        Err(r) => r,
    }
}

async fn get_faults(State(sim): State<Sim>) -> Response {
    Json(sim.faults()).into_response()
}

async fn set_faults(State(sim): State<Sim>, body: axum::body::Bytes) -> Response {
    match json_body::<Faults>(&body) {
        Ok(f) => {
            sim.set_faults(f);
            Json(sim.faults()).into_response()
        }
        Err(r) => r,
    }
}

async fn clear_faults(State(sim): State<Sim>) -> Response {
    sim.set_faults(Faults::default());
    Json(sim.faults()).into_response()
}

async fn get_readings(State(sim): State<Sim>) -> Response {
    Json(sim.readings()).into_response()
}

async fn set_readings(State(sim): State<Sim>, body: axum::body::Bytes) -> Response {
    match json_body::<Readings>(&body) {
        Ok(r) => {
            sim.set_readings(r);
            Json(sim.readings()).into_response()
        }
        Err(r) => r,
    }
}

async fn clear_readings(State(sim): State<Sim>) -> Response {
    sim.set_readings(Readings::default());
    Json(sim.readings()).into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ClockSet {
    now: Option<DateTime<Utc>>,
}

async fn get_clock(State(sim): State<Sim>) -> Response {
    Json(json!({"now": sim.now()})).into_response()
}

async fn set_clock(State(sim): State<Sim>, body: axum::body::Bytes) -> Response {
    match json_body::<ClockSet>(&body) {
        Ok(c) => {
            sim.set_now(c.now);
            get_clock(State(sim)).await
        }
        Err(r) => r,
    }
}

async fn expire_tokens(State(sim): State<Sim>) -> StatusCode {
    sim.expire_tokens();
    StatusCode::NO_CONTENT
}

impl RequestLog for Sim {
    type Entry = crate::LoggedRequest;

    fn requests(&self) -> Vec<crate::LoggedRequest> {
        Sim::requests(self)
    }

    fn clear_requests(&self) {
        Sim::clear_requests(self);
    }
}

async fn counters(State(sim): State<Sim>) -> Response {
    Json(sim.counters()).into_response()
}
