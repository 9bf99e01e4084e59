//! The test-only admin API under `/__admin/` (no auth, no rate limit, no faults, not counted):
//! read the whole state, reset it, seed places/groups/users, set fault switches and the clock.
//!
//! | method & path | body | answer |
//! |---|---|---|
//! | `GET /__admin/state` | | [`crate::StateSnapshot`] |
//! | `GET /__admin/exchanges` | | recorded request/response pairs |
//! | `GET /__admin/timeline` | | assignment history |
//! | `GET /__admin/emails` | | e-mails Kisi would have sent |
//! | `POST /__admin/reset` | | 204 |
//! | `POST /__admin/places` | `{"id"?,"name","address"?}` | `{"id"}` |
//! | `POST /__admin/groups` | `{"name","place_id"?}` | `{"id"}` |
//! | `POST /__admin/users` | `{"email","name"?,"notes"?}` | `{"id"}` |
//! | `DELETE /__admin/users/{id}` | | 204, or 404 (a person deletes the user and its access) |
//! | `POST /__admin/role_assignments` | `{"user_id","group_id","role_id"?,"valid_until"?}` | `{"id"}`, or 422 (access shared by hand) |
//! | `POST /__admin/place_role_assignments` | `{"user_id","place_id","role_id"?}` | `{"id"}`, or 422 (a place role given by hand) |
//! | `GET`/`POST`/`DELETE /__admin/faults` | [`crate::Faults`] (partial JSON) | current faults |
//! | `POST /__admin/clock` | `{"now":"RFC 3339"}` or `{"now":null}` | `{"now"}` |

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::json;

use crate::{Faults, Sim};

pub(crate) fn routes() -> Router<Sim> {
    Router::new()
        .route("/state", get(state))
        .route("/exchanges", get(exchanges))
        .route("/timeline", get(timeline))
        .route("/emails", get(emails))
        .route("/reset", post(reset))
        .route("/places", post(seed_place))
        .route("/groups", post(seed_group))
        .route("/users", post(seed_user))
        .route("/users/{id}", axum::routing::delete(delete_user))
        .route("/role_assignments", post(assign_by_hand))
        .route("/place_role_assignments", post(assign_place_by_hand))
        .route(
            "/faults",
            get(get_faults).post(set_faults).delete(clear_faults),
        )
        .route("/clock", get(get_clock).post(set_clock))
}

async fn state(State(sim): State<Sim>) -> Response {
    Json(sim.snapshot()).into_response()
}

async fn exchanges(State(sim): State<Sim>) -> Response {
    Json(sim.exchanges()).into_response()
}

async fn timeline(State(sim): State<Sim>) -> Response {
    Json(sim.snapshot().timeline).into_response()
}

async fn emails(State(sim): State<Sim>) -> Response {
    Json(sim.snapshot().emails).into_response()
}

async fn reset(State(sim): State<Sim>) -> StatusCode {
    sim.reset();
    StatusCode::NO_CONTENT
}

#[derive(Deserialize)]
struct PlaceSeed {
    /// A chosen id (like an operator's existing place); the next free one if absent.
    #[serde(default)]
    id: Option<u64>,
    name: String,
    #[serde(default)]
    address: Option<String>,
}

async fn seed_place(State(sim): State<Sim>, Json(p): Json<PlaceSeed>) -> Response {
    let id = sim.seed_place_with_id(
        p.id,
        &p.name,
        p.address.as_deref().unwrap_or("1 Simulated Street"),
    );
    Json(json!({"id": id})).into_response()
}

#[derive(Deserialize)]
struct GroupSeed {
    /// A chosen id (like an operator's existing group); the next free one if absent.
    #[serde(default)]
    id: Option<u64>,
    name: String,
    #[serde(default)]
    place_id: Option<u64>,
}

async fn seed_group(State(sim): State<Sim>, Json(g): Json<GroupSeed>) -> Response {
    let id = sim.seed_group_with_id(g.id, &g.name, g.place_id);
    Json(json!({"id": id})).into_response()
}

#[derive(Deserialize)]
struct UserSeed {
    email: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    notes: Option<String>,
}

async fn seed_user(State(sim): State<Sim>, Json(u): Json<UserSeed>) -> Response {
    let id = sim.seed_user(
        &u.email,
        u.name.as_deref().unwrap_or(""),
        u.notes.as_deref(),
    );
    Json(json!({"id": id})).into_response()
}

async fn delete_user(State(sim): State<Sim>, Path(id): Path<u64>) -> StatusCode {
    if sim.delete_user_by_hand(id) {
        StatusCode::NO_CONTENT
    } else {
        StatusCode::NOT_FOUND
    }
}

#[derive(Deserialize)]
struct HandAssignment {
    user_id: u64,
    group_id: u64,
    #[serde(default)]
    role_id: Option<String>,
    #[serde(default)]
    valid_until: Option<DateTime<Utc>>,
}

async fn assign_by_hand(State(sim): State<Sim>, Json(a): Json<HandAssignment>) -> Response {
    match sim.assign_by_hand(
        a.user_id,
        a.group_id,
        a.role_id.as_deref().unwrap_or("group_basic"),
        a.valid_until,
    ) {
        Some(id) => Json(json!({"id": id})).into_response(),
        None => StatusCode::UNPROCESSABLE_ENTITY.into_response(),
    }
}

#[derive(Deserialize)]
struct HandPlaceAssignment {
    user_id: u64,
    place_id: u64,
    #[serde(default)]
    role_id: Option<String>,
}

async fn assign_place_by_hand(
    State(sim): State<Sim>,
    Json(a): Json<HandPlaceAssignment>,
) -> Response {
    match sim.assign_place_by_hand(
        a.user_id,
        a.place_id,
        a.role_id.as_deref().unwrap_or("place_basic"),
    ) {
        Some(id) => Json(json!({"id": id})).into_response(),
        None => StatusCode::UNPROCESSABLE_ENTITY.into_response(),
    }
}

async fn get_faults(State(sim): State<Sim>) -> Response {
    Json(sim.snapshot().faults).into_response()
}

async fn set_faults(State(sim): State<Sim>, Json(f): Json<Faults>) -> Response {
    sim.set_faults(f);
    Json(sim.snapshot().faults).into_response()
}

async fn clear_faults(State(sim): State<Sim>) -> Response {
    sim.set_faults(Faults::default());
    Json(sim.snapshot().faults).into_response()
}

#[derive(Deserialize)]
struct ClockSet {
    now: Option<DateTime<Utc>>,
}

async fn get_clock(State(sim): State<Sim>) -> Response {
    Json(json!({"now": sim.now()})).into_response()
}

async fn set_clock(State(sim): State<Sim>, Json(c): Json<ClockSet>) -> Response {
    sim.set_now(c.now);
    Json(json!({"now": sim.now()})).into_response()
}
