//! A faithful Kisi API simulator: a real HTTP server (axum) that answers the endpoints the
//! access-sync Kisi client uses, the way the published OpenAPI files and observed behaviour say
//! Kisi does (bare arrays with `X-Collection-Range`, per-endpoint limit clamping, 200 on create,
//! 204 on patch/delete, 401/404/409/422/429 with Kisi's error shapes).
//!
//! Tests start it in-process on a free port with [`spawn`]; people run it with the `kisi-sim`
//! binary (`cargo run -p kisi-sim -- --port 8089 --api-key demo`). Either way the admin API under
//! `/__admin/` (no auth) exposes the whole state as JSON, resets it, seeds groups/places/users,
//! sets fault switches ([`Faults`]) and the simulator's clock. The same operations are available
//! in-process on [`SimHandle`].
//!
//! Layout: `model` holds the organisation and its JSON rendering, `api` the Kisi endpoints,
//! `admin` the test endpoints, `faults` the fault switches; this file wires the server, the auth
//! and rate-limit middleware, the clock and the request log.

mod admin;
mod api;
mod by_hand;
mod faults;
mod model;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Value, json};

pub use faults::Faults;
pub use model::{
    EmailKind, Group, Place, PlaceRoleAssignment, RoleAssignment, SentEmail, TimelineAction,
    TimelineEntry, User,
};

/// One access interval of an (e-mail, group): `until = None` still open.
pub type Interval = (String, u64, DateTime<Utc>, Option<DateTime<Utc>>);

/// The access intervals Kisi granted, from the assignment history (`GET /__admin/timeline`),
/// per lower-cased e-mail and group: a replacement (deleted and created at the same instant)
/// continues an interval, an assignment created and deleted at the same instant never opened,
/// and intervals are cut at `horizon` (nothing from it on; an end after it is open), as
/// `access-sync preview` prints them. Sorted by e-mail, group, start.
pub fn access_intervals(timeline: &[TimelineEntry], horizon: DateTime<Utc>) -> Vec<Interval> {
    type Spans = Vec<(DateTime<Utc>, Option<DateTime<Utc>>)>;
    let mut open: BTreeMap<(String, u64), Spans> = BTreeMap::new();
    for e in timeline {
        let spans = open
            .entry((e.email.to_lowercase(), e.group_id))
            .or_default();
        match e.action {
            TimelineAction::Created => match spans.last_mut() {
                Some(last) if last.1 == Some(e.at) => last.1 = None,
                Some(last) if last.1.is_none() => {}
                _ => spans.push((e.at, None)),
            },
            TimelineAction::Deleted => {
                if let Some(last) = spans.last_mut()
                    && last.1.is_none()
                {
                    if last.0 == e.at {
                        spans.pop();
                    } else {
                        last.1 = Some(e.at);
                    }
                }
            }
        }
    }
    let mut out = Vec::new();
    for ((email, group), spans) in open {
        for (from, until) in spans.into_iter().filter(|(f, _)| *f < horizon) {
            out.push((email.clone(), group, from, until.filter(|&u| u <= horizon)));
        }
    }
    out
}

/// Kisi's documented limit: 5 requests per second per user.
pub const DEFAULT_RATE_LIMIT_PER_SEC: u32 = 5;

/// How the simulator is set up at start.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// API keys accepted in `Authorization: KISI-LOGIN <key>`.
    pub api_keys: Vec<String>,
    /// Requests per second allowed per key (sliding one-second window); 0 disables the limit.
    pub rate_limit_per_sec: u32,
    /// Keep every API request and response (method, route, status, bodies) for contract tests.
    pub record_exchanges: bool,
    /// Address to bind; port 0 picks a free port.
    pub bind: SocketAddr,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            api_keys: vec!["test-key".into()],
            rate_limit_per_sec: DEFAULT_RATE_LIMIT_PER_SEC,
            record_exchanges: false,
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
        }
    }
}

impl SimConfig {
    /// A config accepting one key, on a free local port.
    pub fn with_key(key: &str) -> Self {
        Self {
            api_keys: vec![key.to_owned()],
            ..Self::default()
        }
    }
}

/// One API request and the answer the simulator gave, kept when `record_exchanges` is on.
#[derive(Debug, Clone, Serialize)]
pub struct Exchange {
    /// HTTP method.
    pub method: String,
    /// The route template as in the OpenAPI files, e.g. `/users/{id}`.
    pub route: String,
    /// Query string, if any.
    pub query: Option<String>,
    /// Request body parsed as JSON (`None` when empty or not JSON).
    pub request_body: Option<Value>,
    /// Response status.
    pub status: u16,
    /// `X-Collection-Range`, when present.
    pub collection_range: Option<String>,
    /// Response body parsed as JSON (`None` when empty).
    pub response_body: Option<Value>,
}

/// Counts of API requests the simulator saw.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RequestCounts {
    /// All API requests (admin excluded).
    pub total: u64,
    /// Answered 401.
    pub unauthorized: u64,
    /// Answered 429 (limit or storm).
    pub rate_limited: u64,
    /// Answered 5xx by the fault switch.
    pub injected_errors: u64,
    /// Connections dropped by the fault switch.
    pub dropped_connections: u64,
    /// Per `METHOD /route` (all outcomes).
    pub by_route: BTreeMap<String, u64>,
    /// Per status code.
    pub by_status: BTreeMap<u16, u64>,
}

/// The whole state, as served by `GET /__admin/state`.
#[derive(Debug, Clone, Serialize)]
pub struct StateSnapshot {
    /// The simulator's clock right now.
    pub now: DateTime<Utc>,
    /// Users.
    pub users: Vec<User>,
    /// Groups.
    pub groups: Vec<Group>,
    /// Places.
    pub places: Vec<Place>,
    /// Role assignments (with `valid_from`, `valid_until`, `notify`).
    pub role_assignments: Vec<RoleAssignment>,
    /// Place role assignments (`applies_to_type: Place`; not in `timeline`).
    pub place_role_assignments: Vec<PlaceRoleAssignment>,
    /// E-mails Kisi would have sent.
    pub emails: Vec<SentEmail>,
    /// Assignment history.
    pub timeline: Vec<TimelineEntry>,
    /// Request counts.
    pub requests: RequestCounts,
    /// Current fault switches.
    pub faults: Faults,
}

pub(crate) struct Inner {
    pub(crate) org: model::Org,
    pub(crate) faults: faults::FaultState,
    pub(crate) counts: RequestCounts,
    pub(crate) exchanges: Vec<Exchange>,
    /// Accepted request times per key, for the sliding-window limit.
    windows: HashMap<String, VecDeque<Instant>>,
    /// A fixed "now" set by a test; `None` means system time.
    fixed_now: Option<DateTime<Utc>>,
}

/// Shared simulator state; cheap to clone.
#[derive(Clone)]
pub struct Sim {
    inner: Arc<Mutex<Inner>>,
    config: Arc<SimConfig>,
}

impl Sim {
    /// A fresh, empty simulator.
    pub fn new(config: SimConfig) -> Self {
        Self {
            inner: Arc::new(Mutex::new(Inner {
                org: model::Org::default(),
                faults: faults::FaultState::default(),
                counts: RequestCounts::default(),
                exchanges: Vec::new(),
                windows: HashMap::new(),
                fixed_now: None,
            })),
            config: Arc::new(config),
        }
    }

    /// Locks the state. A panic while holding the lock would only poison a test server, so
    /// the poison is ignored rather than turned into a second panic.
    pub(crate) fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The simulator's clock: the time a test set, or system time.
    pub fn now(&self) -> DateTime<Utc> {
        self.lock().fixed_now.unwrap_or_else(Utc::now)
    }

    /// Sets the clock used for `created_at`, e-mails and the timeline (`None`: system time).
    pub fn set_now(&self, now: Option<DateTime<Utc>>) {
        self.lock().fixed_now = now;
    }

    /// Replaces the fault switches.
    pub fn set_faults(&self, faults: Faults) {
        self.lock().faults.set(faults);
    }

    /// Clears all records, counters, faults and the clock.
    pub fn reset(&self) {
        let mut g = self.lock();
        g.org = model::Org::default();
        g.faults = faults::FaultState::default();
        g.counts = RequestCounts::default();
        g.exchanges.clear();
        g.windows.clear();
        g.fixed_now = None;
    }

    /// Adds a place and returns its id.
    pub fn seed_place(&self, name: &str, address: &str) -> u64 {
        self.seed_place_with_id(None, name, address)
    }

    /// Adds a place with a chosen id (as an operator's existing Kisi places have; a
    /// `[[place]]` names them), or the next free one. An existing place with that id is
    /// replaced.
    pub fn seed_place_with_id(&self, id: Option<u64>, name: &str, address: &str) -> u64 {
        let now = self.now();
        let mut g = self.lock();
        let id = match id {
            Some(id) => {
                g.org.reserve_place_id(id);
                id
            }
            None => g.org.next_place_id(),
        };
        g.org.places.insert(
            id,
            Place {
                id,
                name: name.into(),
                address: address.into(),
                time_zone: "Europe/Berlin".into(),
                created_at: now,
            },
        );
        id
    }

    /// Adds a group (in a place, or organisation-wide) and returns its id.
    pub fn seed_group(&self, name: &str, place_id: Option<u64>) -> u64 {
        self.seed_group_with_id(None, name, place_id)
    }

    /// Adds a group with a chosen id (as an operator's existing Kisi groups have; a mapping
    /// file names them), or the next free one. An existing group with that id is replaced.
    pub fn seed_group_with_id(&self, id: Option<u64>, name: &str, place_id: Option<u64>) -> u64 {
        let now = self.now();
        let mut g = self.lock();
        let id = match id {
            Some(id) => {
                g.org.reserve_group_id(id);
                id
            }
            None => g.org.next_group_id(),
        };
        g.org.groups.insert(
            id,
            Group {
                id,
                name: name.into(),
                description: None,
                place_id,
                login_enabled: true,
                created_at: now,
            },
        );
        id
    }

    /// Adds a user as if created in the Kisi UI (no e-mails recorded) and returns its id.
    pub fn seed_user(&self, email: &str, name: &str, notes: Option<&str>) -> u64 {
        let now = self.now();
        let mut g = self.lock();
        let id = g.org.next_user_id();
        g.org.users.insert(
            id,
            User {
                id,
                name: name.into(),
                email: email.into(),
                notes: notes.map(Into::into),
                send_emails: true,
                confirmed: true,
                access_enabled: true,
                password_flow_enabled: false,
                metadata: json!({}),
                created_at: now,
                updated_at: now,
            },
        );
        id
    }

    /// The whole state.
    pub fn snapshot(&self) -> StateSnapshot {
        let now = self.now();
        let g = self.lock();
        StateSnapshot {
            now,
            users: g.org.users.values().cloned().collect(),
            groups: g.org.groups.values().cloned().collect(),
            places: g.org.places.values().cloned().collect(),
            role_assignments: g.org.role_assignments.values().cloned().collect(),
            place_role_assignments: g.org.place_assignments.values().cloned().collect(),
            emails: g.org.emails.clone(),
            timeline: g.org.timeline.clone(),
            requests: g.counts.clone(),
            faults: g.faults.faults.clone(),
        }
    }

    /// Every recorded exchange (empty unless `record_exchanges` is on).
    pub fn exchanges(&self) -> Vec<Exchange> {
        self.lock().exchanges.clone()
    }

    /// The axum router: Kisi API plus `/__admin/`.
    pub fn router(&self) -> Router {
        let api = api::routes()
            .route_layer(axum::middleware::from_fn_with_state(self.clone(), gate))
            .fallback(unknown_endpoint);
        Router::new()
            .nest("/__admin", admin::routes())
            .merge(api)
            .with_state(self.clone())
    }

    /// Sliding one-second window per key; only accepted requests count, so a client that
    /// backs off is let through again after a second.
    fn admit(&self, key: &str) -> bool {
        let limit = self.config.rate_limit_per_sec as usize;
        if limit == 0 {
            return true;
        }
        let now = Instant::now();
        let mut g = self.lock();
        let window = g.windows.entry(key.to_owned()).or_default();
        while window
            .front()
            .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(1))
        {
            window.pop_front();
        }
        if window.len() >= limit {
            false
        } else {
            window.push_back(now);
            true
        }
    }
}

/// Kisi's `{"code","error"}` error body.
pub(crate) fn kisi_error(status: StatusCode, code: &str, message: &str) -> Response {
    (status, axum::Json(json!({"code": code, "error": message}))).into_response()
}

async fn unknown_endpoint() -> Response {
    kisi_error(
        StatusCode::NOT_FOUND,
        "000404",
        "The endpoint does not exist, please check your request.",
    )
}

fn with_retry_after(mut resp: Response, secs: Option<u64>) -> Response {
    if let Some(s) = secs
        && let Ok(v) = HeaderValue::from_str(&s.to_string())
    {
        resp.headers_mut().insert(header::RETRY_AFTER, v);
    }
    resp
}

/// Auth, rate limit, request-level faults and bookkeeping around every Kisi endpoint.
async fn gate(State(sim): State<Sim>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned())
        .unwrap_or_else(|| req.uri().path().to_owned());
    let method = req.method().to_string();
    let query = req.uri().query().map(str::to_owned);
    {
        let mut g = sim.lock();
        g.counts.total += 1;
        *g.counts
            .by_route
            .entry(format!("{method} {route}"))
            .or_default() += 1;
    }

    let key = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("KISI-LOGIN "))
        .map(str::trim)
        .filter(|k| sim.config.api_keys.iter().any(|a| a == k))
        .map(str::to_owned);

    let record = sim.config.record_exchanges;
    let (parts, body) = req.into_parts();
    let body_bytes = match axum::body::to_bytes(body, 1 << 20).await {
        Ok(b) => b,
        Err(_) => Bytes::new(),
    };
    let request_json: Option<Value> = serde_json::from_slice(&body_bytes).ok();
    let req = Request::from_parts(parts, Body::from(body_bytes));

    let (resp, drop_connection) = match key {
        None => {
            sim.lock().counts.unauthorized += 1;
            (
                kisi_error(
                    StatusCode::UNAUTHORIZED,
                    "afc516",
                    "Unauthorized: invalid or missing login.",
                ),
                false,
            )
        }
        Some(key) => {
            let roll: f64 = rand::random();
            let verdict = sim.lock().faults.next_verdict(roll);
            if verdict.latency_ms > 0 {
                tokio::time::sleep(Duration::from_millis(verdict.latency_ms)).await;
            }
            if verdict.rate_limit_storm || !sim.admit(&key) {
                sim.lock().counts.rate_limited += 1;
                let r = kisi_error(
                    StatusCode::TOO_MANY_REQUESTS,
                    "000429",
                    "Too many requests.",
                );
                (with_retry_after(r, verdict.retry_after_secs), false)
            } else if let Some(status) = verdict.server_error {
                sim.lock().counts.injected_errors += 1;
                let status =
                    StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
                (
                    kisi_error(status, "ffffff", "Something went wrong (injected)."),
                    false,
                )
            } else {
                (next.run(req).await, verdict.drop_connection)
            }
        }
    };

    let status = resp.status();
    let resp = if record {
        let (parts, body) = resp.into_parts();
        let bytes = axum::body::to_bytes(body, 16 << 20)
            .await
            .unwrap_or_default();
        let collection_range = parts
            .headers
            .get("x-collection-range")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let exchange = Exchange {
            method,
            route,
            query,
            request_body: request_json,
            status: status.as_u16(),
            collection_range,
            response_body: serde_json::from_slice(&bytes).ok(),
        };
        sim.lock().exchanges.push(exchange);
        Response::from_parts(parts, Body::from(bytes))
    } else {
        resp
    };
    {
        let mut g = sim.lock();
        *g.counts.by_status.entry(status.as_u16()).or_default() += 1;
    }
    if drop_connection {
        sim.lock().counts.dropped_connections += 1;
        return dropped_connection(status);
    }
    resp
}

/// A response whose body fails after the headers went out: hyper aborts the connection, so the
/// client sees a broken read after the server has already done the work.
fn dropped_connection(status: StatusCode) -> Response {
    let stream = futures_util::stream::once(async {
        Err::<Bytes, std::io::Error>(std::io::Error::other("connection dropped by fault switch"))
    });
    let mut resp = Response::new(Body::from_stream(stream));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

/// A running simulator. Dropping it stops the server.
pub struct SimHandle {
    /// `http://127.0.0.1:<port>`, with no trailing slash.
    pub base_url: String,
    /// The bound address.
    pub addr: SocketAddr,
    sim: Sim,
    server: sim_common::Server,
}

impl std::ops::Deref for SimHandle {
    type Target = Sim;
    fn deref(&self) -> &Sim {
        &self.sim
    }
}

impl SimHandle {
    /// The shared state (also reachable through `Deref`).
    pub fn sim(&self) -> &Sim {
        &self.sim
    }

    /// Stops the server and waits for it.
    pub async fn stop(mut self) {
        self.server.stop().await;
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// Binds `config.bind` (port 0 = a free port), starts serving on the current tokio runtime and
/// returns once the socket is listening, so the first request cannot race the start.
pub async fn spawn(config: SimConfig) -> std::io::Result<SimHandle> {
    let bind = config.bind;
    let sim = Sim::new(config);
    let server = sim_common::Server::start(bind, |_| sim.router()).await?;
    Ok(SimHandle {
        base_url: server.base_url(),
        addr: server.addr(),
        sim,
        server,
    })
}
