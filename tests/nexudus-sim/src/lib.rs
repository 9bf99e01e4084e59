//! A Nexudus admin REST API simulator: a real HTTP server (axum) that answers the reads a
//! platform sync uses, the way `shared/reference/platform-apis/nexudus.md` (R below) says
//! Nexudus does, and sends Nexudus's signed webhooks on demand.
//!
//! - `POST /api/token`, form-encoded `grant_type=password` (`username`, `password`, optional
//!   `client_id`) or `grant_type=refresh_token`; a JSON body is `unsupported_grant_type`; bad
//!   credentials `invalid_grant` (R §1). Tokens live [`SimConfig::token_lifetime_secs`]
//!   (default 604799, R §1); refresh tokens 15 days, and a refresh invalidates that client id's
//!   earlier refresh tokens (R §1).
//! - `GET /api/<module>/<entity>` with `Authorization: Bearer …` or `Basic …` (401 otherwise,
//!   R §1): the list envelope `{Records, CurrentPage, CurrentPageSize, FirstItem, LastItem,
//!   TotalItems, TotalPages, HasNextPage, HasPreviousPage, …}`, `page` (default 1), `size`
//!   (default 25, at most [`SimConfig::max_page_size`]), `orderBy` (default `Id`), `dir`
//!   (`-1`/`descending` → descending), filters `<Entity>_<Field>` (related ids without `Id`:
//!   `CoworkerTimePass_Coworker`), ranges `from_<Entity>_<Field>` / `to_<Entity>_<Field>`
//!   (inclusive, minute precision, UTC), unknown parameters ignored (R §3). List rows are
//!   partial: array fields (`Teams`, `TeamMembers`, `Desks`, …) only on GET by id (R §3).
//!   `?id=[1,2]` is the batch form: a bare array of full records (R §3).
//! - `GET /api/<module>/<entity>/<id>`: the bare full record, 404 when absent (R §3, §4).
//! - Throttling faults answer 409 (documented) or 429 (observed) with `Retry-After` and a
//!   "Wait N seconds" text (R §4); error faults answer 500 "Ooops!" (R §4 [O]).
//! - Webhooks (R §5.1): a POST of a JSON array holding one record, signed in
//!   `X-Nexudus-Hook-Signature` (upper-case hex HMAC-SHA256 of the body, key = the shared
//!   secret), to each URL registered for the action.
//!
//! The admin API under `/__admin/` (no auth, never faulted, not counted) seeds the space,
//! changes and deletes records (stamping `UpdatedOn` from the simulator's clock, a deleted
//! booking moving to `cancelledbookings`, R §2.5), sets faults and the clock, registers webhook
//! URLs and lists the counted requests. The same operations are methods of [`Sim`].

pub mod generate;
mod http;

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use chrono::{DateTime, SecondsFormat, Utc};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::Sha256;
use sim_common::{Clock, Server};

pub use generate::generate;
pub use sim_common::InputError;

/// The entities the simulator serves: (module/collection path, entity name for filters).
pub const ENTITIES: [(&str, &str); 12] = [
    ("spaces/coworkers", "Coworker"),
    ("spaces/teams", "Team"),
    ("billing/coworkercontracts", "CoworkerContract"),
    ("billing/tariffs", "Tariff"),
    ("billing/coworkertimepasses", "CoworkerTimePass"),
    ("spaces/bookings", "Booking"),
    ("spaces/cancelledbookings", "CancelledBooking"),
    ("spaces/bookingvisitors", "BookingVisitor"),
    ("sys/floorplandesks", "FloorPlanDesk"),
    ("spaces/checkins", "Checkin"),
    ("sys/businesses", "Business"),
    ("spaces/resources", "Resource"),
];

/// The entity name of a collection path (`spaces/coworkers` → `Coworker`).
pub fn entity_of(path: &str) -> Option<&'static str> {
    ENTITIES.iter().find(|(p, _)| *p == path).map(|(_, e)| *e)
}

/// Access token lifetime Nexudus answers (R §1 example: 604799 s).
pub const TOKEN_LIFETIME_SECS: i64 = 604_799;

/// Refresh token lifetime (R §1: 15 days).
pub const REFRESH_LIFETIME_SECS: i64 = 15 * 24 * 3600;

/// How the simulator is set up.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Where to listen (port 0: a free one).
    pub bind: SocketAddr,
    /// The admin user's e-mail (the API user).
    pub username: String,
    /// Its password.
    pub password: String,
    /// The webhooks' shared secret.
    pub webhook_secret: String,
    /// Access token lifetime.
    pub token_lifetime_secs: i64,
    /// The largest `size` honoured (R §3: undocumented; 1000 here).
    pub max_page_size: usize,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            username: "admin@space.example".into(),
            password: "sim-password".into(),
            webhook_secret: "sim-webhook-secret".into(),
            token_lifetime_secs: TOKEN_LIFETIME_SECS,
            max_page_size: 1000,
        }
    }
}

/// Fault switches. Counted faults fire on the next N API requests (after authentication) and
/// switch themselves off. Every field defaults to off.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Faults {
    /// Answer the next N API requests with `error_status` (500 when 0).
    pub error_requests: u32,
    /// The status of injected errors.
    pub error_status: u16,
    /// Answer the next N API requests as throttled.
    pub throttle_requests: u32,
    /// The throttle status: 409 (documented, the default when 0) or 429 (observed).
    pub throttle_status: u16,
    /// `Retry-After` seconds on throttled answers (and "Wait N seconds" in the 429 text);
    /// `None`: no header (the text still says 1 second on a 429).
    pub retry_after_secs: Option<u64>,
    /// The next N list pages that are not the last come back short (half their records, as
    /// when records vanish between two page reads).
    pub short_page_requests: u32,
    /// One-shot: every access token issued so far expires now. Reads back as `false`.
    pub expire_tokens_now: bool,
}

/// One counted API request.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Logged {
    /// `GET` or `POST`.
    pub method: String,
    /// The path.
    pub path: String,
    /// The query string.
    pub query: String,
    /// The status answered.
    pub status: u16,
}

#[derive(Debug, Default)]
struct State {
    collections: BTreeMap<String, BTreeMap<i64, Value>>,
    /// access token → expiry.
    tokens: HashMap<String, DateTime<Utc>>,
    /// refresh token → (client id, expiry).
    refresh: HashMap<String, (String, DateTime<Utc>)>,
    faults: Faults,
    requests: Vec<Logged>,
    clock: Clock,
    counter: u64,
    /// action name → URLs.
    hooks: BTreeMap<String, Vec<String>>,
}

/// The simulator (cheap to clone: shared state).
#[derive(Clone, Debug)]
pub struct Sim {
    state: Arc<Mutex<State>>,
    config: Arc<SimConfig>,
    http: reqwest::Client,
}

/// A delivered webhook.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Sent {
    /// The URL.
    pub url: String,
    /// The status the receiver answered (0: not reached).
    pub status: u16,
}

/// A seed: records by collection path (`spaces/coworkers`, …).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Fixture {
    /// The records of each collection.
    pub collections: BTreeMap<String, Vec<Value>>,
}

/// The UTC text Nexudus writes (`2026-12-07T10:00:00Z`).
pub fn stamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// The upper-case hex HMAC-SHA256 of `body` under `secret` (R §5.1).
pub fn sign(secret: &str, body: &[u8]) -> String {
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(m) => m,
        Err(_) => return String::new(),
    };
    mac.update(body);
    hex::encode_upper(mac.finalize().into_bytes())
}

fn record_id(v: &Value) -> Option<i64> {
    match v.get("Id")? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

impl Sim {
    /// An empty space.
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

    fn lock(&self) -> MutexGuard<'_, State> {
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
    /// An unknown collection or a record without an integer `Id`.
    pub fn seed(&self, fixture: &Fixture) -> Result<(), InputError> {
        let mut collections = BTreeMap::new();
        for (path, records) in &fixture.collections {
            if entity_of(path).is_none() {
                return Err(InputError(format!("unknown collection {path:?}")));
            }
            let mut map = BTreeMap::new();
            for r in records {
                let id = record_id(r)
                    .ok_or_else(|| InputError(format!("{path}: a record without an integer Id")))?;
                map.insert(id, r.clone());
            }
            collections.insert(path.clone(), map);
        }
        self.lock().collections = collections;
        Ok(())
    }

    /// How many records `path` holds.
    pub fn count(&self, path: &str) -> usize {
        self.lock().collections.get(path).map_or(0, BTreeMap::len)
    }

    /// One record, in full.
    pub fn get(&self, path: &str, id: i64) -> Option<Value> {
        self.lock().collections.get(path)?.get(&id).cloned()
    }

    /// Creates or changes a record: `fields` are merged into the stored record (a new one when
    /// its `Id` is unknown), `UpdatedOn` (and `CreatedOn` for a new one) stamped from the clock.
    /// Returns the record.
    ///
    /// # Errors
    /// An unknown collection, fields that are not an object or lack an integer `Id`.
    pub fn upsert(&self, path: &str, fields: &Value) -> Result<Value, InputError> {
        if entity_of(path).is_none() {
            return Err(InputError(format!("unknown collection {path:?}")));
        }
        let Value::Object(new) = fields else {
            return Err(InputError("want a JSON object".into()));
        };
        let id = record_id(fields).ok_or_else(|| InputError("want an integer Id".into()))?;
        let now = stamp(self.now());
        let mut st = self.lock();
        let coll = st.collections.entry(path.to_string()).or_default();
        let rec = coll
            .entry(id)
            .or_insert_with(|| json!({"Id": id, "CreatedOn": now}));
        if let Value::Object(map) = rec {
            for (k, v) in new {
                map.insert(k.clone(), v.clone());
            }
            map.insert("UpdatedOn".into(), Value::String(now));
        }
        Ok(rec.clone())
    }

    /// Deletes a record (a hard delete: it 404s and leaves listings). A booking moves to
    /// `spaces/cancelledbookings` as a snapshot with `OriginalBookingId` and `CancelledOn` (R
    /// §2.5). Returns the deleted record.
    pub fn delete(&self, path: &str, id: i64) -> Option<Value> {
        let now = self.now();
        let mut st = self.lock();
        let old = st.collections.get_mut(path)?.remove(&id)?;
        if path == "spaces/bookings" {
            st.counter += 1;
            let cid = 900_000_000 + st.counter as i64;
            let mut snap = old.clone();
            if let Value::Object(m) = &mut snap {
                m.insert("Id".into(), json!(cid));
                m.insert("OriginalBookingId".into(), json!(id.to_string()));
                m.insert("CancelledOn".into(), json!(stamp(now)));
                m.insert("CancellationReason".into(), json!(0));
                m.insert("UpdatedOn".into(), json!(stamp(now)));
            }
            st.collections
                .entry("spaces/cancelledbookings".into())
                .or_default()
                .insert(cid, snap);
        }
        Some(old)
    }

    /// Sets the fault switches.
    pub fn set_faults(&self, faults: Faults) {
        let mut st = self.lock();
        if faults.expire_tokens_now {
            let now = st.clock.now();
            let past = now - chrono::Duration::seconds(1);
            for exp in st.tokens.values_mut() {
                *exp = past;
            }
        }
        st.faults = Faults {
            expire_tokens_now: false,
            ..faults
        };
    }

    /// The fault switches as they are now.
    pub fn faults(&self) -> Faults {
        self.lock().faults.clone()
    }

    /// The counted API requests so far.
    pub fn requests(&self) -> Vec<Logged> {
        self.lock().requests.clone()
    }

    /// Forgets the counted requests.
    pub fn reset_requests(&self) {
        self.lock().requests.clear();
    }

    /// Registers `url` for webhooks of `action` (a name of R §5.1's enum).
    pub fn subscribe(&self, action: &str, url: &str) {
        self.lock()
            .hooks
            .entry(action.to_string())
            .or_default()
            .push(url.to_string());
    }

    /// The request a webhook of `action` carrying `record` is: the body (a JSON array holding
    /// the record) and its signature.
    pub fn webhook_body(&self, record: &Value) -> (Vec<u8>, String) {
        let body = serde_json::to_vec(&json!([record])).unwrap_or_default();
        let sig = sign(&self.config.webhook_secret, &body);
        (body, sig)
    }

    /// Sends `record` as a webhook of `action` to every URL registered for it (the URL gets
    /// `?action=<action>` appended, as access-sync's route wants).
    pub async fn emit(&self, action: &str, record: &Value) -> Vec<Sent> {
        let urls = self.lock().hooks.get(action).cloned().unwrap_or_default();
        let (body, sig) = self.webhook_body(record);
        let mut sent = Vec::new();
        for url in urls {
            let sep = if url.contains('?') { '&' } else { '?' };
            let full = format!("{url}{sep}action={action}");
            let status = match self
                .http
                .post(&full)
                .header("content-type", "application/json")
                .header("X-Nexudus-Hook-Signature", &sig)
                .body(body.clone())
                .send()
                .await
            {
                Ok(r) => r.status().as_u16(),
                Err(_) => 0,
            };
            sent.push(Sent { url: full, status });
        }
        sent
    }
}

/// A running simulator.
pub struct SimHandle {
    /// `http://127.0.0.1:<port>`.
    pub base_url: String,
    /// The address.
    pub addr: SocketAddr,
    /// The simulator.
    pub sim: Sim,
    server: Server,
}

impl SimHandle {
    /// The API base (`<base_url>/api`).
    pub fn api_url(&self) -> String {
        format!("{}/api", self.base_url)
    }

    /// Stops the server.
    pub async fn stop(mut self) {
        self.server.stop().await;
    }
}

/// Starts a simulator on `config.bind`.
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
    let server = Server::start(sim.config.bind, |_| http::router(sim.clone())).await?;
    Ok(SimHandle {
        base_url: server.base_url(),
        addr: server.addr(),
        sim,
        server,
    })
}
