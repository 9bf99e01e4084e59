//! An Optix GraphQL API simulator (issue 19): a real HTTP server (axum) answering the queries
//! access-sync's Optix client sends, the way `../shared/reference/platform-apis/optix.md` says
//! Optix does, and making the form-encoded webhooks Optix signs.
//!
//! - `POST /graphql` (§1): the organization token as `Authorization: Bearer` or
//!   `access_token` in the query string; JSON `{"query": …}`; answers `{"data": …}` or
//!   `{"errors": [{"message": …}]}` (§4). Root fields: `users`, `teams`, `accounts`,
//!   `accountPlans`, `bookings`, `assignments`, `checkins`, `locations` (lists with `limit`
//!   default 100, `page` default 1, `{total, data}`, §3), `user(get_by_user_id)`,
//!   `accountPlan(account_plan_id)`, `booking(booking_id)`, `assignment(assignment_id)`,
//!   `checkin(checkin_id)`, and `me { organization { organization_id } }`.
//! - Filters as §2 documents them, with "all" needing to be asked for: `users` without
//!   `include_*` lists active users only; `bookings` without `user_id: -1` lists nothing (an
//!   organization token is no user), without `include_*` approved ones only, and its window
//!   `end_timestamp_from` / `start_timestamp_to` (inclusive); `checkins` without `user_id: []`
//!   lists nothing, window on `start_timestamp`; `accountPlans` and `assignments` without
//!   `status` list `ACTIVE` only. Where the reference says the default is undocumented these
//!   are our choice [I], strict on purpose so a client that forgets a flag misses records.
//! - Budget (§4 [C THROTTLE]): 60 requests per rolling minute per token; over it, HTTP 429 with
//!   `{"errors":[{"message":"Too many requests"}]}` (the real status and body are
//!   undocumented [I]); every answer carries `X-RateLimit-Limit` / `X-RateLimit-Remaining`
//!   (names undocumented [I]).
//! - Complexity (§4 [C]): a document with more than `max_root_fields` root fields, or whose
//!   `limit`s add up to more than `max_cost`, is refused with an error (no cost model is
//!   published: ours [I]).
//! - Tokens (§1 [C USE], [O GOLF]): [`Sim::rotate_token`] makes a new token, the old one then
//!   answers `{"errors":[{"message":"Invalid token"}]}` (HTTP 200, as the one public test
//!   shows [O]), and returns the signed `organization_token_updated` webhook body.
//! - Faults: [`Faults`] (the next *n* requests throttled, the next *n* answered 503).
//! - Webhooks (§5 [C WH]): [`Sim::webhook`] builds a form body with `client_id`,
//!   `created_timestamp`, `organization_id`, `event`, the given fields and
//!   `request_signature = hex(sha1(client_id + secret + created_timestamp))`;
//!   [`Sim::deliver`] posts one to a URL.
//!
//! Tests start it in-process on a free port with [`spawn`]; records are seeded from a fixture
//! shaped as `events/optix/api/records.json` (collection → list of records) and changed with
//! [`Sim::put`] / [`Sim::remove`]. The requests it answered are counted ([`Sim::counters`]).

pub mod generate;
pub mod query;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Map, Value, json};
use sha1::{Digest, Sha1};
use sim_common::{Server, Window, take};
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// The list root fields and the id field of their records.
pub const LISTS: [(&str, &str); 8] = [
    ("users", "user_id"),
    ("teams", "team_id"),
    ("accounts", "account_id"),
    ("accountPlans", "account_plan_id"),
    ("bookings", "booking_id"),
    ("assignments", "assignment_id"),
    ("checkins", "checkin_id"),
    ("locations", "location_id"),
];

/// The single-record root fields: (field, its collection, its id argument).
pub const SINGLES: [(&str, &str, &str); 5] = [
    ("user", "users", "get_by_user_id"),
    ("accountPlan", "accountPlans", "account_plan_id"),
    ("booking", "bookings", "booking_id"),
    ("assignment", "assignments", "assignment_id"),
    ("checkin", "checkins", "checkin_id"),
];

/// Fault switches.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Faults {
    /// The next this many requests are answered 429.
    pub throttle_next: u32,
    /// The next this many requests are answered 503.
    pub fail_next: u32,
}

/// How the simulator is set up.
#[derive(Clone, Debug)]
pub struct SimConfig {
    /// The organization.
    pub organization_id: String,
    /// The app's `client_id` (webhooks).
    pub client_id: String,
    /// The app's webhook secret.
    pub secret: String,
    /// The first organization token (ends in `o`, §1).
    pub token: String,
    /// Requests per rolling window per token (§4: 60 a minute).
    pub per_minute: usize,
    /// The rolling window (a minute; tests shorten it).
    pub window: Duration,
    /// Most root fields per document [I].
    pub max_root_fields: usize,
    /// Most `limit`s summed over a document [I].
    pub max_cost: i64,
    /// Largest `limit` [I] (§3: undocumented).
    pub max_limit: i64,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            organization_id: "456".into(),
            client_id: "8e3b7c1d".into(),
            secret: "optix-webhook-secret".into(),
            token: "tok-1-o".into(),
            per_minute: 60,
            window: Duration::from_secs(60),
            max_root_fields: 5,
            max_cost: 500,
            max_limit: 200,
        }
    }
}

/// What the API answered.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    /// `POST /graphql` requests received.
    pub requests: u64,
    /// Root fields answered.
    pub root_fields: u64,
    /// Answered 429.
    pub throttled: u64,
    /// Answered with an invalid-token error.
    pub unauthorized: u64,
    /// Refused as too complex.
    pub too_complex: u64,
}

struct State_ {
    config: SimConfig,
    token: String,
    records: BTreeMap<String, Vec<Value>>,
    faults: Faults,
    window: HashMap<String, Window>,
    counters: Counters,
}

/// The simulator's shared state; cheap to clone.
#[derive(Clone)]
pub struct Sim(Arc<Mutex<State_>>);

fn text(v: &Value, key: &str) -> Option<String> {
    match v.get(key)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn id_field(collection: &str) -> &'static str {
    LISTS
        .iter()
        .find(|(c, _)| *c == collection)
        .map_or("id", |(_, f)| f)
}

impl Sim {
    /// A simulator with no records.
    pub fn new(config: SimConfig) -> Sim {
        Sim(Arc::new(Mutex::new(State_ {
            token: config.token.clone(),
            config,
            records: BTreeMap::new(),
            faults: Faults::default(),
            window: HashMap::new(),
            counters: Counters::default(),
        })))
    }

    fn lock(&self) -> MutexGuard<'_, State_> {
        sim_common::lock(&self.0)
    }

    /// Seeds records from a fixture (`{collection: [record, …]}`; other keys ignored).
    pub fn load(&self, fixture: &Value) {
        let mut s = self.lock();
        for (c, _) in LISTS {
            if let Some(list) = fixture.get(c).and_then(Value::as_array) {
                s.records.insert(c.to_string(), list.clone());
            }
        }
    }

    /// Adds or replaces (by id) a record.
    pub fn put(&self, collection: &str, record: Value) {
        let f = id_field(collection);
        let id = text(&record, f);
        let mut s = self.lock();
        let list = s.records.entry(collection.to_string()).or_default();
        list.retain(|r| text(r, f) != id);
        list.push(record);
    }

    /// Removes a record.
    pub fn remove(&self, collection: &str, id: &str) {
        let f = id_field(collection);
        if let Some(list) = self.lock().records.get_mut(collection) {
            list.retain(|r| text(r, f).as_deref() != Some(id));
        }
    }

    /// The token in force.
    pub fn token(&self) -> String {
        self.lock().token.clone()
    }

    /// Sets the fault switches.
    pub fn set_faults(&self, f: Faults) {
        self.lock().faults = f;
    }

    /// What was answered.
    pub fn counters(&self) -> Counters {
        self.lock().counters
    }

    /// Expires the token without a replacement (an operator must act).
    pub fn expire_token(&self) {
        self.lock().token = format!("expired-{}", self.token());
    }

    /// Replaces the token (the old one answers "Invalid token" from now on) and returns the
    /// signed `organization_token_updated` webhook body carrying the new one (§1, §5.1).
    pub fn rotate_token(&self, created_timestamp: i64) -> String {
        let new = {
            let mut s = self.lock();
            let n: u32 = s
                .token
                .split('-')
                .nth(1)
                .and_then(|n| n.parse().ok())
                .unwrap_or(1);
            s.token = format!("tok-{}-o", n + 1);
            s.token.clone()
        };
        self.webhook(
            "organization_token_updated",
            &[("organization_token", &new)],
            created_timestamp,
        )
    }

    /// A webhook body as Optix sends it (§5): common fields, `fields`, then the signature.
    pub fn webhook(&self, event: &str, fields: &[(&str, &str)], created_timestamp: i64) -> String {
        let s = self.lock();
        let ts = created_timestamp.to_string();
        let mut f = form_urlencoded::Serializer::new(String::new());
        f.append_pair("client_id", &s.config.client_id)
            .append_pair("created_timestamp", &ts)
            .append_pair("organization_id", &s.config.organization_id)
            .append_pair("event", event);
        for (k, v) in fields {
            f.append_pair(k, v);
        }
        let sig = hex::encode(Sha1::digest(
            format!("{}{}{}", s.config.client_id, s.config.secret, ts).as_bytes(),
        ));
        f.append_pair("request_signature", &sig);
        f.finish()
    }

    /// Posts a webhook body to `url`, form-encoded, as Optix does; answers the HTTP status.
    ///
    /// # Errors
    /// The connection failed.
    pub async fn deliver(url: &str, body: String) -> Result<u16, String> {
        reqwest::Client::new()
            .post(url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .map(|r| r.status().as_u16())
            .map_err(|e| e.without_url().to_string())
    }

    /// Answers one GraphQL request.
    fn answer(&self, token: Option<&str>, body: &Value) -> (StatusCode, Value, usize) {
        let mut s = self.lock();
        s.counters.requests += 1;
        let token = token.unwrap_or("");
        // Budget per token, rolling minute (§4).
        let now = Instant::now();
        let per_minute = s.config.per_minute;
        let span = s.config.window;
        // A forced throttle is not admitted, so it does not count against the budget.
        let admitted = if take(&mut s.faults.throttle_next) {
            None
        } else {
            let w = s.window.entry(token.to_string()).or_default();
            w.admit(now, span, per_minute).ok()
        };
        let Some(remaining) = admitted else {
            s.counters.throttled += 1;
            return (
                StatusCode::TOO_MANY_REQUESTS,
                json!({"errors": [{"message": "Too many requests"}]}),
                0,
            );
        };
        if take(&mut s.faults.fail_next) {
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                json!({"errors": [{"message": "Service unavailable"}]}),
                remaining,
            );
        }
        if token != s.token {
            s.counters.unauthorized += 1;
            return (
                StatusCode::OK,
                json!({"errors": [{"message": "Invalid token"}]}),
                remaining,
            );
        }
        let Some(doc) = body.get("query").and_then(Value::as_str) else {
            return (
                StatusCode::BAD_REQUEST,
                json!({"errors": [{"message": "Must provide query string."}]}),
                remaining,
            );
        };
        let fields = match query::root_fields(doc) {
            Ok(f) => f,
            Err(e) => {
                return (
                    StatusCode::OK,
                    json!({"errors": [{"message": format!("Syntax Error: {e}")}]}),
                    remaining,
                );
            }
        };
        let cost: i64 = fields
            .iter()
            .map(|f| {
                f.args.get("limit").and_then(Value::as_i64).unwrap_or(
                    if LISTS.iter().any(|(c, _)| *c == f.name) {
                        100
                    } else {
                        1
                    },
                )
            })
            .sum();
        if fields.len() > s.config.max_root_fields || cost > s.config.max_cost {
            s.counters.too_complex += 1;
            return (
                StatusCode::OK,
                json!({"errors": [{"message": "Query is too complex"}]}),
                remaining,
            );
        }
        let mut data = Map::new();
        for f in &fields {
            s.counters.root_fields += 1;
            let v = match resolve(&s, f) {
                Ok(v) => v,
                Err(e) => {
                    return (
                        StatusCode::OK,
                        json!({"data": null, "errors": [{"message": e}]}),
                        remaining,
                    );
                }
            };
            data.insert(f.key.clone(), v);
        }
        (StatusCode::OK, json!({ "data": data }), remaining)
    }
}

fn arg_bool(f: &query::RootField, k: &str) -> bool {
    f.args.get(k).and_then(Value::as_bool).unwrap_or(false)
}

fn arg_int(f: &query::RootField, k: &str) -> Option<i64> {
    f.args.get(k).and_then(Value::as_i64)
}

fn statuses(f: &query::RootField) -> Vec<String> {
    match f.args.get("status") {
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
        Some(Value::String(s)) => vec![s.clone()],
        _ => vec!["ACTIVE".into()],
    }
}

fn keep(f: &query::RootField, r: &Value) -> bool {
    let b = |k: &str| r.get(k).and_then(Value::as_bool).unwrap_or(false);
    let int = |k: &str| r.get(k).and_then(Value::as_i64);
    match f.name.as_str() {
        "users" => {
            (b("is_deleted") && arg_bool(f, "include_deleted"))
                || (b("is_pending") && arg_bool(f, "include_pending"))
                || (b("is_inactive") && arg_bool(f, "include_inactive"))
                || (b("is_active")
                    && (arg_bool(f, "include_active")
                        || !f.args.keys().any(|k| k.starts_with("include_"))))
        }
        "bookings" => {
            if arg_int(f, "user_id") != Some(-1) {
                return false;
            }
            let any_flag = f.args.keys().any(|k| k.starts_with("include_"));
            let state_ok = (b("is_canceled") && arg_bool(f, "include_canceled"))
                || (b("is_rejected") && arg_bool(f, "include_rejected"))
                || (b("is_new") && !b("is_approved") && arg_bool(f, "include_new"))
                || (b("is_approved")
                    && !b("is_canceled")
                    && (arg_bool(f, "include_approved") || !any_flag));
            let from_ok = arg_int(f, "end_timestamp_from")
                .is_none_or(|t| int("end_timestamp").is_some_and(|e| e >= t));
            let to_ok = arg_int(f, "start_timestamp_to")
                .is_none_or(|t| int("start_timestamp").is_some_and(|s| s <= t));
            state_ok && from_ok && to_ok
        }
        "checkins" => {
            if !matches!(f.args.get("user_id"), Some(Value::Array(a)) if a.is_empty()) {
                return false;
            }
            let s = int("start_timestamp").unwrap_or(0);
            arg_int(f, "timestamp_from").is_none_or(|t| s >= t)
                && arg_int(f, "timestamp_to").is_none_or(|t| s <= t)
        }
        "accountPlans" | "assignments" => {
            let st = r.get("status").and_then(Value::as_str).unwrap_or("");
            statuses(f).iter().any(|s| s == st)
        }
        _ => true,
    }
}

fn resolve(s: &State_, f: &query::RootField) -> Result<Value, String> {
    if f.name == "me" {
        return Ok(json!({"authType": "ORGANIZATION",
            "organization": {"organization_id": s.config.organization_id}}));
    }
    if let Some((_, collection, arg)) = SINGLES.iter().find(|(n, _, _)| *n == f.name) {
        let want = f.args.get(*arg).map(|v| match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        });
        let idf = id_field(collection);
        return Ok(s
            .records
            .get(*collection)
            .and_then(|l| l.iter().find(|r| text(r, idf) == want))
            .cloned()
            .unwrap_or(Value::Null));
    }
    if !LISTS.iter().any(|(c, _)| *c == f.name) {
        return Err(format!(
            "Cannot query field \"{}\" on type \"Query\".",
            f.name
        ));
    }
    let limit = arg_int(f, "limit").unwrap_or(100);
    let page = arg_int(f, "page").unwrap_or(1);
    if limit < 1 || limit > s.config.max_limit || page < 1 {
        return Err(format!(
            "limit must be 1 to {} and page at least 1",
            s.config.max_limit
        ));
    }
    let all: Vec<&Value> = s
        .records
        .get(&f.name)
        .map(|l| l.iter().filter(|r| keep(f, r)).collect())
        .unwrap_or_default();
    let total = all.len();
    let data: Vec<Value> = all
        .into_iter()
        .skip(((page - 1) * limit) as usize)
        .take(limit as usize)
        .cloned()
        .collect();
    Ok(json!({"total": total, "data": data}))
}

async fn graphql(
    State(sim): State<Sim>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: String,
) -> Response {
    let bearer = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_string)
        .or_else(|| q.get("access_token").cloned());
    let body: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    let per_minute = sim.lock().config.per_minute;
    let (status, v, remaining) = sim.answer(bearer.as_deref(), &body);
    let mut r = (status, axum::Json(v)).into_response();
    let h = r.headers_mut();
    h.insert("x-ratelimit-limit", per_minute.into());
    h.insert("x-ratelimit-remaining", remaining.into());
    r
}

/// A running simulator.
pub struct Running {
    /// Its state.
    pub sim: Sim,
    /// `http://127.0.0.1:<port>/graphql`.
    pub endpoint: String,
    /// Its address.
    pub addr: SocketAddr,
    server: Server,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// Starts a simulator on a free loopback port.
///
/// # Errors
/// The port could not be bound.
pub async fn spawn(sim: Sim) -> std::io::Result<Running> {
    let server = Server::start(SocketAddr::from(([127, 0, 0, 1], 0)), |_| {
        Router::new()
            .route("/graphql", post(graphql))
            .with_state(sim.clone())
    })
    .await?;
    Ok(Running {
        sim,
        endpoint: format!("{}/graphql", server.base_url()),
        addr: server.addr(),
        server,
    })
}
