//! An OfficeRnD Flex API v2 simulator: a real HTTP server (axum) that answers the read API a
//! platform sync uses, the way `shared/reference/platform-apis/officernd.md` says OfficeRnD
//! does — the OAuth2 client-credentials token endpoint, the v2 collections under
//! `/api/v2/organizations/{orgSlug}` with cursor paging, documented filters, NestJS error
//! bodies and OfficeRnD's status quirks — and sends OfficeRnD's signed webhooks on demand.
//!
//! Tests start it in-process on a free port with [`spawn`]; people run the `officernd-sim`
//! binary. The admin API under `/__admin/` (no auth, never faulted, not counted) seeds the
//! organisation from a fixture or the [`generate`] generator, changes records (stamping
//! `modifiedAt` from the simulator's clock), builds and sends the matching webhook, sets fault
//! switches ([`Faults`]), readings ([`Readings`]) and the clock, and lists the requests the API
//! received. The same operations are methods of [`Sim`].
//!
//! Layout: `model` holds collections and records, `listing` the v2 list mechanics, `recur` the
//! expansion of recurring bookings, `api` the token endpoint and the v2 endpoints, `webhooks`
//! the signed deliveries, `admin` the test endpoints, `faults` the switches, `generate` the
//! deterministic organisation generator; this file holds the shared state and the server.

mod admin;
mod api;
mod faults;
pub mod generate;
mod listing;
pub mod model;
mod recur;
pub mod webhooks;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sim_common::{Clock, Server, Window};

pub use faults::{Faults, Readings};
pub use generate::generate;
pub use model::{Change, Collection, Fixture, InputError, Record};
pub use webhooks::{Delivery, Sent};

/// Every read scope a resync needs, plus the webhook scopes (reference §1 "Scopes (v2)").
pub const ALL_SCOPES: [&str; 14] = [
    "flex.community.members.read",
    "flex.community.companies.read",
    "flex.community.memberships.read",
    "flex.community.checkins.read",
    "flex.space.passes.read",
    "flex.space.bookings.read",
    "flex.space.assignments.read",
    "flex.space.resources.read",
    "flex.space.locations.read",
    "flex.space.floors.read",
    "flex.billing.plans.read",
    "flex.settings.webhooks.read",
    "flex.settings.webhooks.create",
    "flex.settings.webhooks.delete",
];

/// Token lifetime (reference §1: "All tokens valid 3600 s; `expires_in` is the remaining
/// time", example 3599).
pub const TOKEN_LIFETIME_SECS: i64 = 3600;

/// Token requests per minute per client (reference §1, [O]: about five).
pub const TOKEN_LIMIT_PER_MIN: u32 = 5;

/// An OAuth application an admin created in OfficeRnD: the credentials and the scopes it was
/// granted.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ClientApp {
    /// `client_id`.
    pub client_id: String,
    /// `client_secret`.
    pub client_secret: String,
    /// The scopes a token of this application may carry.
    pub scopes: Vec<String>,
}

impl ClientApp {
    /// An application granted every scope in [`ALL_SCOPES`].
    pub fn with_all_scopes(id: &str, secret: &str) -> ClientApp {
        ClientApp {
            client_id: id.to_owned(),
            client_secret: secret.to_owned(),
            scopes: ALL_SCOPES.iter().map(|s| (*s).to_owned()).collect(),
        }
    }
}

/// How the simulator is set up at start.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// The organisation slug served (a fixture's `orgSlug` replaces it).
    pub org_slug: String,
    /// The OAuth applications.
    pub clients: Vec<ClientApp>,
    /// Token lifetime in seconds on the simulator's clock.
    pub token_lifetime_secs: i64,
    /// Token requests allowed per client in a sliding minute (0: no limit).
    pub token_limit_per_min: u32,
    /// API reads (GET) allowed per client in a sliding minute (0: no limit). OfficeRnD
    /// publishes no number (reference §4), so the default is no limit.
    pub read_limit_per_min: u32,
    /// API writes allowed per client in a sliding minute (0: no limit), counted apart from
    /// reads ("independent read and write tracking", §4).
    pub write_limit_per_min: u32,
    /// Where admin-triggered webhooks go (registered `/webhooks` receive theirs as well).
    pub webhook_target: Option<String>,
    /// The secret those webhooks are signed with.
    pub webhook_secret: String,
    /// The most requests kept in the request log (older ones are dropped and counted).
    pub request_log_cap: usize,
    /// Address to bind; port 0 picks a free port.
    pub bind: SocketAddr,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            org_slug: "sim-coworking".into(),
            clients: vec![ClientApp::with_all_scopes("sim-client", "sim-secret")],
            token_lifetime_secs: TOKEN_LIFETIME_SECS,
            token_limit_per_min: TOKEN_LIMIT_PER_MIN,
            read_limit_per_min: 0,
            write_limit_per_min: 0,
            webhook_target: None,
            webhook_secret: "sim-webhook-secret".into(),
            request_log_cap: 200_000,
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
        }
    }
}

/// One request the simulator received (token endpoint and API; admin excluded).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct LoggedRequest {
    /// 1-based sequence number.
    pub seq: u64,
    /// The simulator's clock when it arrived.
    pub at: DateTime<Utc>,
    /// HTTP method.
    pub method: String,
    /// The route with ids and the slug replaced, e.g. `GET /members/{id}`.
    pub route: String,
    /// The path as sent.
    pub path: String,
    /// The query string as sent.
    pub query: Option<String>,
    /// The answer's status.
    pub status: u16,
    /// The OAuth client the request authenticated as, if it did.
    pub client_id: Option<String>,
}

/// Counts of requests the simulator answered.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Counters {
    /// Every token and API request.
    pub total: u64,
    /// Token requests.
    pub token_requests: u64,
    /// Tokens issued.
    pub tokens_issued: u64,
    /// Answered 401.
    pub unauthorized: u64,
    /// Answered 429 (limit or fault).
    pub rate_limited: u64,
    /// Answered 5xx by a fault switch.
    pub injected_errors: u64,
    /// Short pages served by the fault switch.
    pub short_pages: u64,
    /// Webhook deliveries sent.
    pub webhooks_sent: u64,
    /// Webhook deliveries the receiver did not take with a 2xx.
    pub webhooks_failed: u64,
    /// Requests dropped from the request log because it was full.
    pub log_dropped: u64,
    /// Per route (`GET /members`).
    pub by_route: BTreeMap<String, u64>,
    /// Per status.
    pub by_status: BTreeMap<u16, u64>,
}

/// The whole state, as `GET /__admin/state` serves it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StateSnapshot {
    /// The simulator's clock.
    pub now: DateTime<Utc>,
    /// All records, as a fixture.
    pub fixture: Fixture,
    /// Registered webhooks (`POST /webhooks`).
    pub webhooks: Vec<Record>,
    /// Counters.
    pub counters: Counters,
    /// Fault switches.
    pub faults: Faults,
    /// Readings.
    pub readings: Readings,
    /// Deliveries sent so far (the last 1000).
    pub sent: Vec<Sent>,
}

#[derive(Debug, Clone)]
pub(crate) struct Token {
    pub(crate) client_id: String,
    pub(crate) scopes: Vec<String>,
    pub(crate) expires_at: DateTime<Utc>,
}

pub(crate) struct Inner {
    pub(crate) store: model::Store,
    pub(crate) org_slug: String,
    pub(crate) clock: Clock,
    pub(crate) faults: faults::FaultState,
    pub(crate) readings: Readings,
    pub(crate) tokens: HashMap<String, Token>,
    windows: HashMap<(&'static str, String), Window>,
    pub(crate) log: VecDeque<LoggedRequest>,
    pub(crate) counters: Counters,
    seq: u64,
    pub(crate) webhook_target: Option<String>,
    pub(crate) webhook_secret: String,
    pub(crate) registered: BTreeMap<String, Record>,
    pub(crate) sent: VecDeque<Sent>,
}

/// Shared simulator state; cheap to clone.
#[derive(Clone)]
pub struct Sim {
    inner: Arc<Mutex<Inner>>,
    pub(crate) config: Arc<SimConfig>,
    pub(crate) http: reqwest::Client,
}

/// A NestJS error answer (`{"statusCode","message","error"}`, reference §4), used as the `Err`
/// of helpers so handlers can `?` into the answer.
pub(crate) type ApiError = Response;

/// OfficeRnD's error body for `status` with `message`.
pub(crate) fn api_error(status: StatusCode, message: &str) -> Response {
    let error = status.canonical_reason().unwrap_or("Error");
    (
        status,
        axum::Json(json!({"statusCode": status.as_u16(), "message": message, "error": error})),
    )
        .into_response()
}

/// The outcome of an admin change.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChangeOutcome {
    /// The record after the change (before it, for a removal).
    pub record: Record,
    /// The fields an update changed, with their old values.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous_attributes: Option<Record>,
    /// The webhook event type OfficeRnD sends for this change, if it has one.
    pub event_type: Option<String>,
    /// The signed deliveries for it: the configured target first, then each registered
    /// webhook subscribed to the event.
    pub deliveries: Vec<Delivery>,
}

/// Why an admin change was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdminError {
    /// No such record.
    NotFound(String),
    /// Bad input; nothing was changed.
    Input(InputError),
}

impl std::fmt::Display for AdminError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AdminError::NotFound(m) => write!(f, "not found: {m}"),
            AdminError::Input(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for AdminError {}

impl From<InputError> for AdminError {
    fn from(e: InputError) -> Self {
        AdminError::Input(e)
    }
}

impl Sim {
    /// A simulator with an empty organisation.
    pub fn new(config: SimConfig) -> Self {
        let inner = fresh_inner(&config);
        Self {
            inner: Arc::new(Mutex::new(inner)),
            config: Arc::new(config),
            http: reqwest::Client::new(),
        }
    }

    /// Locks the state. A panic while holding the lock would only poison a test server, so
    /// the poison is ignored rather than turned into a second panic.
    pub(crate) fn lock(&self) -> MutexGuard<'_, Inner> {
        sim_common::lock(&self.inner)
    }

    /// The simulator's clock: the time a test set, or system time.
    pub fn now(&self) -> DateTime<Utc> {
        self.lock().clock.now()
    }

    /// Sets the clock used for `modifiedAt`, token expiry and webhook timestamps (`None`:
    /// system time).
    pub fn set_now(&self, now: Option<DateTime<Utc>>) {
        self.lock().clock.set(now);
    }

    /// The organisation slug served.
    pub fn org_slug(&self) -> String {
        self.lock().org_slug.clone()
    }

    /// Replaces the fault switches; `expire_tokens_now` expires every token issued so far.
    pub fn set_faults(&self, faults: Faults) {
        let expire = faults.expire_tokens_now;
        let mut g = self.lock();
        g.faults.set(faults);
        if expire {
            g.tokens.clear();
        }
    }

    /// The current fault switches.
    pub fn faults(&self) -> Faults {
        self.lock().faults.faults.clone()
    }

    /// Replaces the readings.
    pub fn set_readings(&self, readings: Readings) {
        self.lock().readings = readings;
    }

    /// The current readings.
    pub fn readings(&self) -> Readings {
        self.lock().readings.clone()
    }

    /// Every token issued so far stops working (401 until a new one is fetched).
    pub fn expire_tokens(&self) {
        self.lock().tokens.clear();
    }

    /// Sets where admin-triggered webhooks go and the secret they are signed with.
    pub fn set_webhook_target(&self, url: Option<String>, secret: Option<String>) {
        let mut g = self.lock();
        g.webhook_target = url;
        if let Some(s) = secret {
            g.webhook_secret = s;
        }
    }

    /// Replaces the organisation with a fixture's (validated first: on error nothing
    /// changes). Counters, the request log, faults and tokens are kept.
    pub fn load_fixture(&self, fixture: &Fixture) -> Result<(), InputError> {
        let store = model::Store::from_fixture(fixture)?;
        let mut g = self.lock();
        g.store = store;
        if let Some(slug) = &fixture.org_slug {
            g.org_slug = slug.clone();
        }
        if let Some(now) = fixture.now {
            g.clock.set(Some(now));
        }
        Ok(())
    }

    /// The organisation as a fixture.
    pub fn fixture(&self) -> Fixture {
        let g = self.lock();
        g.store.to_fixture(&g.org_slug, g.clock.fixed())
    }

    /// One record by collection and id.
    pub fn record(&self, c: Collection, id: &str) -> Option<Record> {
        self.lock().store.get(c, id).cloned()
    }

    /// The number of records of a collection.
    pub fn count(&self, c: Collection) -> usize {
        self.lock().store.len(c)
    }

    /// Adds a record. `_id` is generated when absent; `createdAt`/`modifiedAt` are set from
    /// the clock on collections that carry them (a given `createdAt` is kept).
    pub fn create(&self, c: Collection, mut rec: Record) -> Result<ChangeOutcome, AdminError> {
        let now = self.now();
        let mut g = self.lock();
        if !rec.contains_key("_id") {
            let id = g.store.new_id(now);
            rec.insert("_id".into(), Value::String(id));
        }
        if c.has_timestamps() {
            rec.entry("createdAt")
                .or_insert_with(|| Value::String(model::iso(now)));
            rec.insert("modifiedAt".into(), Value::String(model::iso(now)));
        }
        model::validate(c, &rec)?;
        let id = rec
            .get("_id")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        if g.store.get(c, &id).is_some() {
            return Err(InputError(format!("{c}: _id {id} exists already")).into());
        }
        g.store.put(c, rec.clone());
        let deliveries = self.prepare_locked(&mut g, c, Change::Created, &rec, None, now);
        Ok(ChangeOutcome {
            record: rec,
            previous_attributes: None,
            event_type: c.event_type(Change::Created),
            deliveries,
        })
    }

    /// Applies a JSON merge patch to a record and bumps its `modifiedAt` to the clock.
    pub fn update(
        &self,
        c: Collection,
        id: &str,
        patch: &Record,
    ) -> Result<ChangeOutcome, AdminError> {
        if patch.get("_id").is_some_and(|v| v.as_str() != Some(id)) {
            return Err(InputError("\"_id\" cannot change".into()).into());
        }
        let now = self.now();
        let mut g = self.lock();
        let before = g
            .store
            .get(c, id)
            .cloned()
            .ok_or_else(|| AdminError::NotFound(format!("{c} {id}")))?;
        let mut after = before.clone();
        model::merge_patch(&mut after, patch);
        if c.has_timestamps() {
            after.insert("modifiedAt".into(), Value::String(model::iso(now)));
        }
        model::validate(c, &after)?;
        g.store.put(c, after.clone());
        let prev = webhooks::previous_attributes(&before, &after);
        let deliveries = self.prepare_locked(&mut g, c, Change::Updated, &after, Some(&prev), now);
        Ok(ChangeOutcome {
            record: after,
            previous_attributes: Some(prev),
            event_type: c.event_type(Change::Updated),
            deliveries,
        })
    }

    /// Hard-deletes a record: it 404s by id and leaves every list (reference §3 "Deletions").
    pub fn delete(&self, c: Collection, id: &str) -> Result<ChangeOutcome, AdminError> {
        let now = self.now();
        let mut g = self.lock();
        let rec = g
            .store
            .remove(c, id)
            .ok_or_else(|| AdminError::NotFound(format!("{c} {id}")))?;
        let deliveries = self.prepare_locked(&mut g, c, Change::Removed, &rec, None, now);
        Ok(ChangeOutcome {
            record: rec,
            previous_attributes: None,
            event_type: c.event_type(Change::Removed),
            deliveries,
        })
    }

    /// Builds the webhook for a record's current state (its last state if it was removed)
    /// without changing it, e.g. to send a second `membership.updated`.
    pub fn prepare_webhook(&self, event_type: &str, id: &str) -> Result<Vec<Delivery>, AdminError> {
        let (prefix, suffix) = event_type
            .split_once('.')
            .ok_or_else(|| InputError(format!("event type {event_type:?} has no '.'")))?;
        let change = Change::parse(suffix)
            .ok_or_else(|| InputError(format!("event type {event_type:?} is not simulated")))?;
        let c = model::ALL
            .into_iter()
            .find(|c| c.event_prefix() == Some(prefix) && c.event_type(change).is_some())
            .ok_or_else(|| InputError(format!("OfficeRnD has no {event_type:?} event")))?;
        let now = self.now();
        let mut g = self.lock();
        let rec = match change {
            Change::Removed => g.store.removed(c, id).cloned(),
            _ => g.store.get(c, id).cloned(),
        }
        .ok_or_else(|| AdminError::NotFound(format!("{c} {id}")))?;
        Ok(self.prepare_locked(&mut g, c, change, &rec, None, now))
    }

    fn prepare_locked(
        &self,
        g: &mut Inner,
        c: Collection,
        change: Change,
        rec: &Record,
        previous: Option<&Record>,
        now: DateTime<Utc>,
    ) -> Vec<Delivery> {
        let Some(event_type) = c.event_type(change) else {
            return Vec::new();
        };
        let event_id = g.store.new_id(now);
        let body = webhooks::envelope(
            &event_id,
            &event_type,
            rec,
            previous.filter(|p| !p.is_empty()),
            now,
            g.readings.webhook_v1_field_names,
        )
        .to_string();
        let t = now.timestamp();
        let key_v1 = g.readings.webhook_signature_key_v1;
        let mut targets: Vec<(String, String)> = Vec::new();
        if let Some(url) = &g.webhook_target {
            targets.push((url.clone(), g.webhook_secret.clone()));
        }
        for hook in g.registered.values() {
            let enabled = hook.get("isEnabled").and_then(Value::as_bool) != Some(false);
            let wants = hook
                .get("eventTypes")
                .and_then(Value::as_array)
                .is_some_and(|a| a.iter().any(|e| e.as_str() == Some(&event_type)));
            if let (true, true, Some(url), Some(secret)) = (
                enabled,
                wants,
                hook.get("url").and_then(Value::as_str),
                hook.get("secret").and_then(Value::as_str),
            ) {
                targets.push((url.to_owned(), secret.to_owned()));
            }
        }
        targets
            .into_iter()
            .map(|(url, secret)| Delivery {
                url,
                event_type: event_type.clone(),
                signature: webhooks::signature_header(
                    secret.as_bytes(),
                    body.as_bytes(),
                    t,
                    key_v1,
                ),
                body: body.clone(),
            })
            .collect()
    }

    /// Sends deliveries (in order) and records the outcomes.
    pub async fn send(&self, deliveries: &[Delivery]) -> Vec<Sent> {
        let mut out = Vec::new();
        for d in deliveries {
            let sent = webhooks::send(&self.http, d).await;
            let mut g = self.lock();
            g.counters.webhooks_sent += 1;
            if !sent.status.is_some_and(|s| (200..300).contains(&s)) {
                g.counters.webhooks_failed += 1;
            }
            if g.sent.len() >= 1000 {
                g.sent.pop_front();
            }
            g.sent.push_back(sent.clone());
            out.push(sent);
        }
        out
    }

    /// The requests received, oldest first.
    pub fn requests(&self) -> Vec<LoggedRequest> {
        self.lock().log.iter().cloned().collect()
    }

    /// The counters.
    pub fn counters(&self) -> Counters {
        self.lock().counters.clone()
    }

    /// Empties the request log and zeroes the counters.
    pub fn clear_requests(&self) {
        let mut g = self.lock();
        g.log.clear();
        g.counters = Counters::default();
    }

    /// Clears records, tokens, faults, readings, counters, the log, registered webhooks and
    /// the clock; the slug and webhook target return to the configured ones.
    pub fn reset(&self) {
        let fresh = fresh_inner(&self.config);
        *self.lock() = fresh;
    }

    /// The whole state.
    pub fn snapshot(&self) -> StateSnapshot {
        let now = self.now();
        let g = self.lock();
        StateSnapshot {
            now,
            fixture: g.store.to_fixture(&g.org_slug, g.clock.fixed()),
            webhooks: g.registered.values().cloned().collect(),
            counters: g.counters.clone(),
            faults: g.faults.faults.clone(),
            readings: g.readings.clone(),
            sent: g.sent.iter().cloned().collect(),
        }
    }

    /// The axum router: token endpoint, v2 API and `/__admin/`.
    pub fn router(&self) -> Router {
        Router::new()
            .nest("/__admin", admin::routes())
            .merge(api::routes())
            .with_state(self.clone())
    }

    /// Appends to the request log and the counters.
    pub(crate) fn log_request(&self, mut entry: LoggedRequest) {
        let mut g = self.lock();
        g.seq += 1;
        entry.seq = g.seq;
        g.counters.total += 1;
        *g.counters.by_route.entry(entry.route.clone()).or_default() += 1;
        *g.counters.by_status.entry(entry.status).or_default() += 1;
        match entry.status {
            401 => g.counters.unauthorized += 1,
            429 => g.counters.rate_limited += 1,
            _ => {}
        }
        if g.log.len() >= self.config.request_log_cap.max(1) {
            g.log.pop_front();
            g.counters.log_dropped += 1;
        }
        g.log.push_back(entry);
    }

    /// A sliding one-minute window per (kind, client): `Ok` admits, `Err(secs)` is the wait
    /// until a slot frees. Only admitted requests count, so a client that backs off gets in.
    pub(crate) fn admit(&self, kind: &'static str, client: &str, per_min: u32) -> Result<(), u64> {
        if per_min == 0 {
            return Ok(());
        }
        let mut g = self.lock();
        g.windows
            .entry((kind, client.to_owned()))
            .or_default()
            .admit(Instant::now(), Duration::from_secs(60), per_min as usize)
            .map(drop)
            .map_err(|wait| wait.as_secs().max(1))
    }
}

fn fresh_inner(config: &SimConfig) -> Inner {
    Inner {
        store: model::Store::default(),
        org_slug: config.org_slug.clone(),
        clock: Clock::default(),
        faults: faults::FaultState::default(),
        readings: Readings::default(),
        tokens: HashMap::new(),
        windows: HashMap::new(),
        log: VecDeque::new(),
        counters: Counters::default(),
        seq: 0,
        webhook_target: config.webhook_target.clone(),
        webhook_secret: config.webhook_secret.clone(),
        registered: BTreeMap::new(),
        sent: VecDeque::new(),
    }
}

/// A running simulator. Dropping it stops the server.
pub struct SimHandle {
    /// `http://127.0.0.1:<port>`, with no trailing slash.
    pub base_url: String,
    /// The bound address.
    pub addr: SocketAddr,
    sim: Sim,
    server: Server,
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

    /// The token endpoint (`POST`), as a client configures it.
    pub fn token_url(&self) -> String {
        format!("{}/oauth/token", self.base_url)
    }

    /// The v2 API base for the served organisation, as a client configures it.
    pub fn api_base(&self) -> String {
        format!("{}/api/v2/organizations/{}", self.base_url, self.org_slug())
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
    spawn_sim(Sim::new(config)).await
}

/// Like [`spawn`], for a simulator already set up (e.g. seeded before it serves).
pub async fn spawn_sim(sim: Sim) -> std::io::Result<SimHandle> {
    let server = Server::start(sim.config.bind, |_| sim.router()).await?;
    Ok(SimHandle {
        base_url: server.base_url(),
        addr: server.addr(),
        sim,
        server,
    })
}
