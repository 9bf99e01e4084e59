//! A TeamUp `/api/v2` simulator (issue 20): a real HTTP server (axum) answering the reads
//! access-sync's TeamUp client sends, the way `../shared/reference/platform-apis/teamup.md`
//! (§n below) says TeamUp does, and posting TeamUp's unsigned webhooks on demand.
//!
//! - Auth (§1, §7): `Authorization: Bearer <token>` or `Token <token>`; anything else, or an
//!   expired token, is 401 `{"code":"authentication_failed",…}` (§4). An optional
//!   `TeamUp-Provider-ID` naming another provider is 403 `provider_invalid`.
//! - Lists `GET /api/v2/<collection>` (§3): `page` (1-based), `page_size` (≤ 100; `/events`
//!   ≤ 250), envelope `{count, next, previous, results}` with absolute URLs, sorted by id.
//!   Filters (§2): `ids`, `customer` (ids), `family`, `event`, `status`, `is_active`,
//!   `owned_or_shared_with_customer`, `deleted` (soft-deleted customers are hidden without
//!   it), and the windows `starts_at_gte/lte`, `event_starts_at_gte/lte`,
//!   `course_session_starts_at_gte/lte`; `expand=membership|event|course_session` inlines
//!   the related record. Unknown parameters are ignored.
//! - By id `GET /api/v2/<collection>/<id>` (404 `{"code":"not_found"}` when absent);
//!   `GET /api/v2/customer_memberships/<id>/share_status` → `{customer, family, shared}`.
//! - Reports `GET /api/v2/reports/{customer_memberships,attendances}/data` (§3): CSV unless
//!   `format=json`; `updated_at_gte/lte`, `page`/`page_size` (≤ 100) or `limit`/`offset`;
//!   `{total, column_headers, rows}` with the row shapes §3 lists.
//! - Budget (§4): [`SimConfig::requests_per_minute`] (250) per token per rolling minute, then
//!   429 with no headers (TeamUp documents none).
//! - Faults ([`Faults`]): the next *n* requests 5xx, the next *n* 429 (with `Retry-After` when
//!   asked), the next *n* non-last pages short, the token expired.
//! - Records are stamped `updated_at` (the simulator's clock) when put.
//! - Webhooks (§5): [`Sim::deliver`] posts `{"feed_items":[item]}` with a `TEAMUP-WEBHOOK-ID`
//!   header (the same on a resend of one delivery), unsigned, to a URL (ingest's
//!   `/teamup/<installation secret>`). The item's body beyond `object`/`id`/`timestamp` is the
//!   caller's: TeamUp does not publish it (§5, §6).
//!
//! The admin API under `/__admin/` (no auth, never faulted, not counted): `POST seed`,
//! `POST records/<collection>` (put), `DELETE records/<collection>/<id>`, `POST faults`,
//! `POST clock`, `POST deliver` (`{url, webhook_id?, item}`), `GET requests`. The same
//! operations are methods of [`Sim`].

pub mod generate;
mod http;

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sim_common::{Clock, Server, Window};

pub use generate::generate;
pub use sim_common::InputError;

/// The collections the simulator serves (§2).
pub const COLLECTIONS: [&str; 12] = [
    "venues",
    "memberships",
    "customers",
    "customer_memberships",
    "customer_membership_holds",
    "customer_registration_blocks",
    "events",
    "attendances",
    "courses",
    "course_sessions",
    "course_session_attendances",
    "providers",
];

/// How the simulator is set up.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Where to listen (port 0: a free one).
    pub bind: SocketAddr,
    /// The M2M token it accepts.
    pub token: String,
    /// The provider the token belongs to.
    pub provider_id: i64,
    /// Requests per token per rolling minute; `None`: unlimited (benches).
    pub requests_per_minute: Option<usize>,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            token: "sim-m2m-token".into(),
            provider_id: 123,
            requests_per_minute: Some(250),
        }
    }
}

/// Fault switches: counted faults fire on the next N API requests (after authentication) and
/// switch themselves off.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Faults {
    /// Answer the next N requests with `error_status` (500 when 0).
    pub error_requests: u32,
    /// The status of injected errors.
    pub error_status: u16,
    /// Answer the next N requests 429.
    pub throttle_requests: u32,
    /// `Retry-After` seconds on injected 429s (TeamUp documents none: off by default).
    pub retry_after_secs: Option<u64>,
    /// The next N list pages that are not the last come back short (half their rows).
    pub short_page_requests: u32,
    /// The token is expired: every request is 401 until this is cleared.
    pub token_expired: bool,
}

/// One counted API request.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Logged {
    /// The path.
    pub path: String,
    /// The query string.
    pub query: String,
    /// The `Authorization` scheme used (`Bearer`, `Token`, or empty).
    pub scheme: String,
    /// The status answered.
    pub status: u16,
}

/// A seed: records by collection, plus share statuses by customer membership id.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Fixture {
    /// The records of each collection (each with an integer `id`).
    pub collections: BTreeMap<String, Vec<Value>>,
    /// `share_status` answers, by customer membership id (absent: not shared).
    #[serde(default)]
    pub shares: BTreeMap<String, Value>,
}

/// The UTC text TeamUp writes (`2026-12-07T10:00:00Z`).
pub fn stamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

pub(crate) fn id_of(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        Value::Object(o) => o.get("id").and_then(id_of),
        _ => None,
    }
}

#[derive(Debug, Default)]
pub(crate) struct State {
    pub(crate) collections: BTreeMap<String, BTreeMap<i64, Value>>,
    pub(crate) shares: BTreeMap<i64, Value>,
    pub(crate) faults: Faults,
    pub(crate) requests: Vec<Logged>,
    pub(crate) clock: Clock,
    pub(crate) base_url: String,
    pub(crate) recent: Window,
    pub(crate) webhook_seq: u64,
}

/// The simulator (cheap to clone: shared state).
#[derive(Clone, Debug)]
pub struct Sim {
    pub(crate) state: Arc<Mutex<State>>,
    pub(crate) config: Arc<SimConfig>,
    http: reqwest::Client,
}

/// A delivered webhook.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Sent {
    /// The `TEAMUP-WEBHOOK-ID` header sent.
    pub webhook_id: String,
    /// The body sent.
    pub body: String,
    /// The status the receiver answered (0: not reached).
    pub status: u16,
}

impl Sim {
    /// An empty business.
    pub fn new(config: SimConfig) -> Sim {
        Sim {
            state: Arc::new(Mutex::new(State::default())),
            config: Arc::new(config),
            http: reqwest::Client::new(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &SimConfig {
        &self.config
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        sim_common::lock(&self.state)
    }

    /// The simulator's now: the set clock, else the wall clock.
    pub fn now(&self) -> DateTime<Utc> {
        self.lock().clock.now()
    }

    /// Sets (or clears) the clock.
    pub fn set_clock(&self, now: Option<DateTime<Utc>>) {
        self.lock().clock.set(now);
    }

    /// Replaces every record.
    ///
    /// # Errors
    /// An unknown collection or a record without an integer `id`.
    pub fn seed(&self, fixture: &Fixture) -> Result<(), InputError> {
        let now = stamp(self.now());
        let mut collections = BTreeMap::new();
        for (name, records) in &fixture.collections {
            if !COLLECTIONS.contains(&name.as_str()) {
                return Err(InputError(format!("unknown collection {name:?}")));
            }
            let mut m = BTreeMap::new();
            for r in records {
                let id = r
                    .get("id")
                    .and_then(id_of)
                    .ok_or_else(|| InputError(format!("a {name} record has no integer id")))?;
                let mut r = r.clone();
                if r.get("updated_at").is_none() {
                    r["updated_at"] = Value::from(now.clone());
                }
                m.insert(id, r);
            }
            collections.insert(name.clone(), m);
        }
        let mut shares = BTreeMap::new();
        for (k, v) in &fixture.shares {
            let id: i64 = k
                .parse()
                .map_err(|_| InputError(format!("share key {k:?} is not an id")))?;
            shares.insert(id, v.clone());
        }
        let mut s = self.lock();
        s.collections = collections;
        s.shares = shares;
        Ok(())
    }

    /// Every record and share status as they are now, in the seed's format (records sorted
    /// by id): what [`Sim::seed`] would put back.
    pub fn snapshot(&self) -> Fixture {
        let s = self.lock();
        Fixture {
            collections: s
                .collections
                .iter()
                .map(|(name, m)| (name.clone(), m.values().cloned().collect()))
                .collect(),
            shares: s
                .shares
                .iter()
                .map(|(id, v)| (id.to_string(), v.clone()))
                .collect(),
        }
    }

    /// How many records a collection holds.
    pub fn count(&self, collection: &str) -> usize {
        self.lock()
            .collections
            .get(collection)
            .map_or(0, BTreeMap::len)
    }

    /// One record.
    pub fn get(&self, collection: &str, id: i64) -> Option<Value> {
        self.lock().collections.get(collection)?.get(&id).cloned()
    }

    /// Puts a record: merges `fields` into the record with its `id` (or creates it) and
    /// stamps `updated_at` with the clock. Answers the stored record.
    ///
    /// # Errors
    /// An unknown collection, or `fields` without an integer `id`.
    pub fn put(&self, collection: &str, fields: &Value) -> Result<Value, InputError> {
        if !COLLECTIONS.contains(&collection) {
            return Err(InputError(format!("unknown collection {collection:?}")));
        }
        let id = fields
            .get("id")
            .and_then(id_of)
            .ok_or_else(|| InputError("the record has no integer id".into()))?;
        let Some(fields) = fields.as_object() else {
            return Err(InputError("the record is not an object".into()));
        };
        let now = stamp(self.now());
        let mut s = self.lock();
        let rec = s
            .collections
            .entry(collection.to_owned())
            .or_default()
            .entry(id)
            .or_insert_with(|| json!({}));
        for (k, v) in fields {
            rec[k] = v.clone();
        }
        rec["updated_at"] = Value::from(now);
        Ok(rec.clone())
    }

    /// Removes a record (TeamUp deletes little for real, §3 "Deletions": for tests).
    pub fn remove(&self, collection: &str, id: i64) -> Option<Value> {
        self.lock().collections.get_mut(collection)?.remove(&id)
    }

    /// Sets the `share_status` of a customer membership (`None`: not shared).
    pub fn set_share(&self, membership: i64, share: Option<Value>) {
        let mut s = self.lock();
        match share {
            Some(v) => s.shares.insert(membership, v),
            None => s.shares.remove(&membership),
        };
    }

    /// Sets the faults.
    pub fn set_faults(&self, faults: Faults) {
        self.lock().faults = faults;
    }

    /// The faults as they are now.
    pub fn faults(&self) -> Faults {
        self.lock().faults.clone()
    }

    /// The counted requests.
    pub fn requests(&self) -> Vec<Logged> {
        self.lock().requests.clone()
    }

    /// Forgets the counted requests and the rate window.
    pub fn reset_requests(&self) {
        let mut s = self.lock();
        s.requests.clear();
        s.recent.clear();
    }

    /// The body TeamUp would post for one feed item: `{"feed_items":[{"object":"feed_item",
    /// "id":…,"timestamp":…, …item}]}` (§5 [C]; the rest of the item is the caller's).
    pub fn webhook_body(&self, item: &Value) -> String {
        let mut s = self.lock();
        s.webhook_seq += 1;
        let seq = s.webhook_seq;
        drop(s);
        let mut it =
            json!({"object": "feed_item", "id": 13_553_000 + seq, "timestamp": stamp(self.now())});
        if let Some(o) = item.as_object() {
            for (k, v) in o {
                it[k] = v.clone();
            }
        }
        json!({"feed_items": [it]}).to_string()
    }

    /// Posts `body` to `url` with `TEAMUP-WEBHOOK-ID: webhook_id` (unsigned, §5).
    pub async fn deliver(&self, url: &str, webhook_id: &str, body: &str) -> Sent {
        let status = match self
            .http
            .post(url)
            .header("content-type", "application/json")
            .header("TEAMUP-WEBHOOK-ID", webhook_id)
            .body(body.to_owned())
            .send()
            .await
        {
            Ok(r) => r.status().as_u16(),
            Err(_) => 0,
        };
        Sent {
            webhook_id: webhook_id.to_owned(),
            body: body.to_owned(),
            status,
        }
    }

    /// A new feed item for `item` delivered to `url` under a fresh webhook id.
    pub async fn emit(&self, url: &str, item: &Value) -> Sent {
        let body = self.webhook_body(item);
        let id = {
            let s = self.lock();
            format!("sim-wh-{}", s.webhook_seq)
        };
        self.deliver(url, &id, &body).await
    }
}

/// A running simulator.
pub struct SimHandle {
    /// The simulator (change records, faults, clock).
    pub sim: Sim,
    /// `http://127.0.0.1:<port>`.
    pub base_url: String,
    server: Server,
}

impl SimHandle {
    /// The API base (`…/api/v2`), what the client's `api_url` is.
    pub fn api_url(&self) -> String {
        format!("{}/api/v2", self.base_url)
    }

    /// Stops the server.
    pub async fn stop(mut self) {
        self.server.stop().await;
    }
}

/// Starts a simulator.
///
/// # Errors
/// The address cannot be bound.
pub async fn spawn(config: SimConfig) -> std::io::Result<SimHandle> {
    spawn_sim(Sim::new(config)).await
}

/// Starts an already set-up simulator.
///
/// # Errors
/// The address cannot be bound.
pub async fn spawn_sim(sim: Sim) -> std::io::Result<SimHandle> {
    let server = Server::start(sim.config.bind, |addr| {
        // The list envelopes' `next`/`previous` are absolute URLs.
        sim.lock().base_url = format!("http://{addr}");
        http::router(sim.clone())
    })
    .await?;
    Ok(SimHandle {
        sim,
        base_url: server.base_url(),
        server,
    })
}

pub(crate) type Rows = HashMap<String, String>;
