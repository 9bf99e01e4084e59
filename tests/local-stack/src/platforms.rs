//! Platform API simulators in the local stack (`--platform officernd|nexudus|optix|teamup`): each is started on a
//! loopback port, seeded from a fixture, and its credentials are stored where `platform_sync`
//! reads them (`<prefix>/platforms/<platform>` in Secrets Manager: `PLATFORM_SECRETS_PREFIX`
//! is `<prefix>/platforms`, as deployed). Its clock follows the stack's (the [`crate::Driver`] moves
//! both), so `modifiedAt` stamps, token expiry and webhook signatures are on the virtual clock.
//!
//! A platform plugs in with its simulator in [`start`] and its API client in
//! `access_sync_sources::connect` (the registry `platform_sync` uses); [`PlatformAdmin`] is one
//! face over every simulator (OfficeRnD's admin API over HTTP, Nexudus's, Optix's and TeamUp's
//! ([`teamup`]) in process), whose record changes answer the platform's webhook for the change
//! (signed as the platform signs it; TeamUp's unsigned), so the
//! demo and the acceptance tests run one code path for any platform with an API simulator.

use crate::names::local_webhook_secret;
use access_sync_platforms::Platform;
use access_sync_rules::Instant;
use anyhow::{Context, Result, bail};
use serde_json::{Value, json};
use std::path::PathBuf;

/// How to start a platform's simulator.
#[derive(Debug, Clone)]
pub struct PlatformOptions {
    /// Which platform.
    pub platform: Platform,
    /// The organisation to seed (the simulator's fixture format); `None`: empty.
    pub fixture: Option<PathBuf>,
    /// The port (0: a free one).
    pub port: u16,
    /// Where its webhooks are addressed (the ingest route of the platform).
    pub webhook_url: String,
}

/// A running platform simulator. Dropping it stops it.
pub struct RunningPlatform {
    /// Which platform.
    pub platform: Platform,
    /// The simulator's base URL.
    pub base_url: String,
    /// The credentials secret's value, as the platform's client reads it.
    pub credentials: String,
    /// Its admin API.
    pub admin: PlatformAdmin,
    _server: Box<dyn std::any::Any + Send + Sync>,
}

/// Starts the simulator of `opts.platform`: one line per platform.
///
/// # Errors
/// The platform has no simulator yet, the fixture is unreadable, or the port is taken.
pub async fn start(opts: &PlatformOptions) -> Result<RunningPlatform> {
    match opts.platform {
        Platform::Officernd => officernd(opts).await,
        Platform::Nexudus => nexudus(opts).await,
        Platform::Optix => optix(opts).await,
        Platform::Teamup => teamup::start(opts).await,
    }
}

/// The platforms [`start`] can start.
pub const SIMULATED: [Platform; 4] = [
    Platform::Officernd,
    Platform::Nexudus,
    Platform::Optix,
    Platform::Teamup,
];

mod in_process;
pub mod teamup;

fn read_fixture(opts: &PlatformOptions) -> Result<Option<Value>> {
    let Some(path) = &opts.fixture else {
        return Ok(None);
    };
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    Ok(Some(
        serde_json::from_str(&text).with_context(|| format!("{}", path.display()))?,
    ))
}

async fn officernd(opts: &PlatformOptions) -> Result<RunningPlatform> {
    let config = officernd_sim::SimConfig {
        // The virtual clock runs a day in seconds: OfficeRnD's token limit (5 a minute of
        // real time) would only slow the stack down; the API's own limit is off by default.
        token_limit_per_min: 0,
        webhook_target: Some(opts.webhook_url.clone()),
        webhook_secret: local_webhook_secret(Platform::Officernd),
        bind: ([127, 0, 0, 1], opts.port).into(),
        ..officernd_sim::SimConfig::default()
    };
    let sim = officernd_sim::Sim::new(config);
    if let Some(fixture) = read_fixture(opts)? {
        let fixture: officernd_sim::Fixture =
            serde_json::from_value(fixture).context("the OfficeRnD fixture")?;
        sim.load_fixture(&fixture)
            .map_err(|e| anyhow::anyhow!("the OfficeRnD fixture: {e}"))?;
    }
    let handle = officernd_sim::spawn_sim(sim)
        .await
        .with_context(|| format!("starting the OfficeRnD simulator on port {}", opts.port))?;
    let credentials = json!({
        "client_id": "sim-client",
        "client_secret": "sim-secret",
        "org_slug": handle.org_slug(),
        "token_url": handle.token_url(),
        "api_url": format!("{}/api/v2/organizations", handle.base_url),
    })
    .to_string();
    Ok(RunningPlatform {
        platform: Platform::Officernd,
        base_url: handle.base_url.clone(),
        credentials,
        admin: PlatformAdmin::new(Platform::Officernd, &handle.base_url),
        _server: Box::new(handle),
    })
}

async fn nexudus(opts: &PlatformOptions) -> Result<RunningPlatform> {
    let config = nexudus_sim::SimConfig {
        bind: ([127, 0, 0, 1], opts.port).into(),
        webhook_secret: local_webhook_secret(Platform::Nexudus),
        ..nexudus_sim::SimConfig::default()
    };
    let (username, password) = (config.username.clone(), config.password.clone());
    let sim = nexudus_sim::Sim::new(config);
    let admin = PlatformAdmin::in_process(Platform::Nexudus, "", Backend::Nexudus(sim.clone()));
    if let Some(fixture) = read_fixture(opts)? {
        admin.put_fixture(&fixture).await?;
    }
    let handle = nexudus_sim::spawn_sim(sim)
        .await
        .with_context(|| format!("starting the Nexudus simulator on port {}", opts.port))?;
    let credentials = json!({
        "username": username,
        "password": password,
        "auth": "bearer",
        "api_url": handle.api_url(),
    })
    .to_string();
    Ok(RunningPlatform {
        platform: Platform::Nexudus,
        base_url: handle.base_url.clone(),
        credentials,
        admin: PlatformAdmin {
            base: handle.base_url.clone(),
            ..admin
        },
        _server: Box::new(handle),
    })
}

async fn optix(opts: &PlatformOptions) -> Result<RunningPlatform> {
    if opts.port != 0 {
        bail!(
            "the Optix simulator takes a free port (asked for {})",
            opts.port
        );
    }
    let config = optix_sim::SimConfig {
        secret: local_webhook_secret(Platform::Optix),
        // Optix allows 60 requests a minute of real time; the virtual clock runs a day in
        // seconds, so the limit would only slow the stack down (the client's own budget is
        // what is measured, BENCHMARKS.md "Optix").
        per_minute: 1_000_000,
        ..optix_sim::SimConfig::default()
    };
    let organization = config.organization_id.clone();
    let sim = optix_sim::Sim::new(config);
    let admin = PlatformAdmin::in_process(Platform::Optix, "", Backend::Optix(sim.clone()));
    if let Some(fixture) = read_fixture(opts)? {
        admin.put_fixture(&fixture).await?;
    }
    let running = optix_sim::spawn(sim.clone())
        .await
        .context("starting the Optix simulator")?;
    let credentials = json!({
        "token": sim.token(),
        "organization_id": organization,
        "endpoint": running.endpoint,
    })
    .to_string();
    let base = format!("http://{}", running.addr);
    Ok(RunningPlatform {
        platform: Platform::Optix,
        base_url: base.clone(),
        credentials,
        admin: PlatformAdmin { base, ..admin },
        _server: Box::new(running),
    })
}

/// A signed webhook as the platform would send it to ingest.
#[derive(Debug, Clone)]
pub struct Webhook {
    /// The platform.
    pub platform: Platform,
    /// Its event type (`membership.updated`, `BookingCreate`, `new_member_booking`, ...).
    pub event_type: String,
    /// The fixture word that goes with the body (Nexudus's action), if any.
    pub word: Option<String>,
    /// The exact body.
    pub body: String,
    /// The ingest path it is posted to, with its query (`/nexudus?action=BookingCreate`).
    pub path: String,
    /// Its headers (content type and signature).
    pub headers: Vec<(String, String)>,
}

impl Webhook {
    /// The ingest path it is posted to.
    pub fn path(&self) -> String {
        self.path.clone()
    }

    /// The delivery it stands for, unsigned (what `normalize` reads).
    pub fn line(&self) -> access_sync_platforms::FixtureLine<'_> {
        access_sync_platforms::FixtureLine {
            word: self.word.as_deref(),
            payload: &self.body,
        }
    }
}

/// How a [`PlatformAdmin`] reaches its simulator.
#[derive(Clone)]
enum Backend {
    /// OfficeRnD's `/__admin/` API over HTTP.
    Http,
    /// The Nexudus simulator in this process.
    Nexudus(nexudus_sim::Sim),
    /// The Optix simulator in this process (it has no clock: the admin keeps the stack's, to
    /// date the webhooks it signs).
    Optix(optix_sim::Sim),
    /// The TeamUp simulator in this process (`teamup`).
    Teamup(teamup_sim::Sim),
}

impl std::fmt::Debug for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Backend::Http => "Http",
            Backend::Nexudus(_) => "Nexudus",
            Backend::Optix(_) => "Optix",
            Backend::Teamup(_) => "Teamup",
        })
    }
}

/// A platform simulator's admin: OfficeRnD's `/__admin/` API over HTTP, or the Nexudus or
/// Optix simulator in this process, behind one set of methods.
#[derive(Debug, Clone)]
pub struct PlatformAdmin {
    /// Which platform.
    pub platform: Platform,
    http: reqwest::Client,
    /// The simulator's base URL.
    pub base: String,
    backend: Backend,
    /// In-process simulators: the organisation as generated or put, with every change made
    /// through [`PlatformAdmin::change`] (collection → records), and the clock.
    mirror: std::sync::Arc<std::sync::Mutex<(Value, Option<Instant>)>>,
}

impl PlatformAdmin {
    /// A client of the OfficeRnD simulator's admin API at `base`.
    pub fn new(platform: Platform, base: &str) -> PlatformAdmin {
        PlatformAdmin::in_process(platform, base, Backend::Http)
    }

    fn in_process(platform: Platform, base: &str, backend: Backend) -> PlatformAdmin {
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(60))
            .build()
            .expect("a plain HTTP client");
        PlatformAdmin {
            platform,
            http,
            base: base.to_string(),
            backend,
            mirror: std::sync::Arc::new(std::sync::Mutex::new((json!({}), None))),
        }
    }

    fn mirror(&self) -> std::sync::MutexGuard<'_, (Value, Option<Instant>)> {
        self.mirror.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn now(&self) -> Instant {
        self.mirror().1.unwrap_or_else(chrono::Utc::now)
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value> {
        let url = format!("{}/__admin{path}", self.base);
        let mut req = self.http.request(method, &url);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req
            .send()
            .await
            .with_context(|| format!("{} simulator {path}", self.platform.as_str()))?;
        let status = r.status();
        let text = r.text().await?;
        if !status.is_success() {
            bail!(
                "{} simulator {path} answered {status}: {text}",
                self.platform.as_str()
            );
        }
        Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// Sets the simulator's clock.
    ///
    /// # Errors
    /// The simulator did not answer.
    pub async fn set_clock(&self, t: Instant) -> Result<()> {
        self.mirror().1 = Some(t);
        match &self.backend {
            Backend::Http => self
                .call(reqwest::Method::POST, "/clock", Some(json!({"now": t})))
                .await
                .map(drop),
            Backend::Nexudus(sim) => {
                sim.set_clock(Some(t));
                Ok(())
            }
            Backend::Optix(_) => Ok(()),
            Backend::Teamup(sim) => {
                sim.set_clock(Some(t));
                Ok(())
            }
        }
    }

    /// Sets fault switches (partial JSON in the simulator's own names; `{}` keeps them), or
    /// clears them with `None`. Optix: `{"throttle_next", "fail_next"}`; TeamUp:
    /// `teamup_sim::Faults`' names, merged into the current ones.
    ///
    /// # Errors
    /// The simulator did not answer or refused them.
    pub async fn set_faults(&self, faults: Option<Value>) -> Result<()> {
        match &self.backend {
            Backend::Http => match faults {
                Some(f) => self.call(reqwest::Method::POST, "/faults", Some(f)).await,
                None => self.call(reqwest::Method::DELETE, "/faults", None).await,
            }
            .map(drop),
            Backend::Nexudus(sim) => {
                let f = match faults {
                    Some(f) => serde_json::from_value(f).context("Nexudus faults")?,
                    None => nexudus_sim::Faults::default(),
                };
                sim.set_faults(f);
                Ok(())
            }
            Backend::Optix(sim) => {
                let f = faults.unwrap_or_default();
                let n = |k: &str| f[k].as_u64().unwrap_or(0) as u32;
                sim.set_faults(optix_sim::Faults {
                    throttle_next: n("throttle_next"),
                    fail_next: n("fail_next"),
                });
                Ok(())
            }
            Backend::Teamup(sim) => teamup::set_faults(sim, faults),
        }
    }

    /// Replaces the organisation (the simulator's fixture format; Nexudus: its
    /// `collections`, or the map of collection paths itself; TeamUp: `{collections, shares}`
    /// or the collections).
    ///
    /// # Errors
    /// The simulator refused the fixture.
    pub async fn put_fixture(&self, fixture: &Value) -> Result<()> {
        match &self.backend {
            Backend::Http => {
                return self
                    .call(reqwest::Method::PUT, "/fixture", Some(fixture.clone()))
                    .await
                    .map(drop);
            }
            Backend::Nexudus(sim) => {
                let collections = fixture.get("collections").unwrap_or(fixture);
                let f = nexudus_sim::Fixture {
                    collections: serde_json::from_value(collections.clone())
                        .context("a Nexudus fixture")?,
                };
                sim.seed(&f).map_err(|e| anyhow::anyhow!("{e}"))?;
                self.mirror().0 = serde_json::to_value(&f.collections)?;
            }
            Backend::Optix(sim) => {
                sim.load(fixture);
                self.mirror().0 = fixture.clone();
            }
            Backend::Teamup(sim) => teamup::put_fixture(sim, fixture)?,
        }
        Ok(())
    }

    /// The organisation as a fixture, collection → records (OfficeRnD: as its admin API
    /// answers; in-process simulators: as generated or put, with the changes made since).
    ///
    /// # Errors
    /// The simulator did not answer.
    pub async fn fixture(&self) -> Result<Value> {
        match &self.backend {
            Backend::Http => self.call(reqwest::Method::GET, "/fixture", None).await,
            Backend::Nexudus(_) | Backend::Optix(_) => Ok(self.mirror().0.clone()),
            Backend::Teamup(sim) => teamup::fixture(sim),
        }
    }

    /// Replaces the organisation with a generated one of `members` members dated from
    /// `anchor` (midnight UTC of the day).
    ///
    /// # Errors
    /// The simulator did not answer.
    pub async fn generate(&self, members: usize, seed: u64, anchor: Instant) -> Result<Value> {
        match &self.backend {
            Backend::Http => {
                self.call(
                    reqwest::Method::POST,
                    "/generate",
                    Some(json!({"members": members, "seed": seed, "anchor": anchor})),
                )
                .await
            }
            Backend::Nexudus(_) => {
                let f = nexudus_sim::generate(members, seed, anchor);
                self.put_fixture(&serde_json::to_value(&f.collections)?)
                    .await?;
                Ok(json!({"members": members}))
            }
            Backend::Optix(_) => {
                self.put_fixture(&optix_sim::generate::generate(members, anchor.timestamp()))
                    .await?;
                Ok(json!({"members": members}))
            }
            Backend::Teamup(sim) => teamup::generate(sim, members, anchor),
        }
    }

    /// Counters of the API (`total`, ...).
    ///
    /// # Errors
    /// The simulator did not answer.
    pub async fn counters(&self) -> Result<Value> {
        match &self.backend {
            Backend::Http => self.call(reqwest::Method::GET, "/counters", None).await,
            Backend::Nexudus(sim) => Ok(json!({"total": sim.requests().len()})),
            Backend::Optix(sim) => Ok(json!({"total": sim.counters().requests})),
            Backend::Teamup(sim) => Ok(teamup::counters(sim)),
        }
    }

    /// Changes a record as a person would in the platform's admin, and answers the webhook the
    /// platform sends for the change (none when it sends none), signed but not sent.
    /// `change` is `create` (with `body` the record), `update` (a JSON merge patch) or
    /// `remove`. Collections are the simulator's (OfficeRnD `memberships`, Nexudus
    /// `billing/coworkercontracts`, Optix `accountPlans`, TeamUp `customer_memberships`).
    ///
    /// # Errors
    /// The simulator refused the change.
    pub async fn change(
        &self,
        change: &str,
        collection: &str,
        id: Option<&str>,
        body: Option<&Value>,
    ) -> Result<Vec<Webhook>> {
        match &self.backend {
            Backend::Http => self.change_http(change, collection, id, body).await,
            Backend::Nexudus(sim) => self.change_nexudus(sim, change, collection, id, body),
            Backend::Optix(sim) => self.change_optix(sim, change, collection, id, body),
            Backend::Teamup(sim) => self.change_teamup(sim, change, collection, id, body),
        }
    }

    async fn change_http(
        &self,
        change: &str,
        collection: &str,
        id: Option<&str>,
        body: Option<&Value>,
    ) -> Result<Vec<Webhook>> {
        let (method, path) = match (change, id) {
            ("create", _) => (
                reqwest::Method::POST,
                format!("/records/{collection}?webhook=return"),
            ),
            ("update", Some(id)) => (
                reqwest::Method::PATCH,
                format!("/records/{collection}/{id}?webhook=return"),
            ),
            ("remove", Some(id)) => (
                reqwest::Method::DELETE,
                format!("/records/{collection}/{id}?webhook=return"),
            ),
            _ => bail!("change {change:?} of {collection} needs an id (or is unknown)"),
        };
        let out = self.call(method, &path, body.cloned()).await?;
        let deliveries: Vec<officernd_sim::Delivery> =
            serde_json::from_value(out["deliveries"].clone()).context("deliveries")?;
        Ok(deliveries
            .into_iter()
            // The stack's target only (a webhook registered through the API gets its own).
            .take(1)
            .map(|d| Webhook {
                platform: self.platform,
                event_type: d.event_type,
                word: None,
                path: format!("/{}", self.platform.as_str()),
                headers: vec![
                    ("content-type".into(), "application/json".into()),
                    ("officernd-signature".into(), d.signature),
                ],
                body: d.body,
            })
            .collect())
    }

    /// Records `record` (or its removal) in the mirror.
    fn mirror_put(&self, collection: &str, id_field: &str, id: &str, record: Option<&Value>) {
        let mut m = self.mirror();
        if !m.0.is_object() {
            m.0 = json!({});
        }
        let list = m.0[collection].as_array().cloned().unwrap_or_default();
        let same = |r: &Value| same_id(&r[id_field], id);
        let mut list: Vec<Value> = list.into_iter().filter(|r| !same(r)).collect();
        if let Some(r) = record {
            list.push(r.clone());
        }
        m.0[collection] = Value::Array(list);
    }

    fn mirror_get(&self, collection: &str, id_field: &str, id: &str) -> Option<Value> {
        self.mirror().0[collection]
            .as_array()?
            .iter()
            .find(|r| same_id(&r[id_field], id))
            .cloned()
    }

    fn change_nexudus(
        &self,
        sim: &nexudus_sim::Sim,
        change: &str,
        collection: &str,
        id: Option<&str>,
        body: Option<&Value>,
    ) -> Result<Vec<Webhook>> {
        let entity = nexudus_sim::entity_of(collection)
            .with_context(|| format!("Nexudus has no collection {collection:?}"))?;
        let mut record = in_process::change_record(sim, change, collection, id, body)?;
        if let ("remove", Some(id)) = (change, id) {
            record["UpdatedOn"] = json!(nexudus_sim::stamp(self.now()));
            self.mirror_put(collection, "Id", id, None);
        } else {
            let rid = record["Id"].to_string();
            self.mirror_put(collection, "Id", &rid, Some(&record));
        }
        Ok(nexudus_action(entity, change)
            .map(|a| self.nexudus_webhook(a, &record))
            .into_iter()
            .collect())
    }

    fn nexudus_webhook(&self, action: &str, record: &Value) -> Webhook {
        let payload = json!([record]).to_string();
        self.signed(Some(action), action, payload)
    }

    /// A webhook for `payload` signed as the platform signs it, with the stack's secret, at the
    /// admin's clock (`word`: Nexudus's action).
    pub fn signed(&self, word: Option<&str>, event_type: &str, payload: String) -> Webhook {
        let req = self.platform.spec().send(
            &local_webhook_secret(self.platform),
            access_sync_platforms::FixtureLine {
                word,
                payload: &payload,
            },
            self.now(),
        );
        Webhook {
            platform: self.platform,
            event_type: event_type.to_string(),
            word: word.map(str::to_string),
            body: String::from_utf8_lossy(&req.body).into_owned(),
            path: req.path,
            headers: req.headers,
        }
    }

    fn change_optix(
        &self,
        sim: &optix_sim::Sim,
        change: &str,
        collection: &str,
        id: Option<&str>,
        body: Option<&Value>,
    ) -> Result<Vec<Webhook>> {
        let id_field = optix_sim::LISTS
            .iter()
            .find(|(c, _)| *c == collection)
            .map(|(_, f)| *f)
            .with_context(|| format!("Optix has no collection {collection:?}"))?;
        let (id, record) = match (change, id) {
            ("create", _) => {
                let body = body.context("a created record needs a body")?.clone();
                let id = body[id_field]
                    .as_str()
                    .with_context(|| format!("a created {collection} record needs {id_field}"))?
                    .to_string();
                (id, Some(body))
            }
            ("update", Some(id)) => {
                let mut r = self
                    .mirror_get(collection, id_field, id)
                    .with_context(|| format!("{collection} {id}: no such record"))?;
                merge(&mut r, body.unwrap_or(&Value::Null));
                (id.to_string(), Some(r))
            }
            ("remove", Some(id)) => (id.to_string(), None),
            _ => bail!("change {change:?} of {collection} needs an id (or is unknown)"),
        };
        match &record {
            Some(r) => sim.put(collection, r.clone()),
            None => sim.remove(collection, &id),
        }
        self.mirror_put(collection, id_field, &id, record.as_ref());
        let Some((event, field)) = optix_event(collection, change) else {
            return Ok(Vec::new());
        };
        let body = sim.webhook(event, &[(field, &id)], self.now().timestamp());
        Ok(vec![Webhook {
            platform: Platform::Optix,
            event_type: event.to_string(),
            word: None,
            body,
            path: "/optix".into(),
            headers: vec![(
                "content-type".into(),
                "application/x-www-form-urlencoded".into(),
            )],
        }])
    }
}

/// Whether a record's id field (a string, or Nexudus's integer) is `id`.
fn same_id(v: &Value, id: &str) -> bool {
    match v {
        Value::String(s) => s == id,
        other => other.as_i64().is_some() && other.as_i64() == id.parse().ok(),
    }
}

/// A JSON merge patch (RFC 7396).
fn merge(target: &mut Value, patch: &Value) {
    let Value::Object(p) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = json!({});
    }
    if let Value::Object(t) = target {
        for (k, v) in p {
            if v.is_null() {
                t.remove(k);
            } else {
                merge(t.entry(k.clone()).or_insert(Value::Null), v);
            }
        }
    }
}

/// The action Nexudus sends for a change of an entity (`events/nexudus/README.md`, "Actions");
/// `None` for one it sends none for: time passes have no action (R §2.4, §5.1), so a pass
/// changed here reaches access-sync through the API alone.
fn nexudus_action(entity: &str, change: &str) -> Option<&'static str> {
    Some(match (entity, change) {
        ("Coworker", "create") => "CoworkerCreate",
        ("Coworker", "update") => "CoworkerUpdate",
        ("Coworker", "remove") => "CoworkerDelete",
        ("Team", "create") => "TeamCreated",
        ("Team", "update") => "TeamUpdated",
        ("Team", "remove") => "TeamDeleted",
        ("CoworkerContract", "create") => "CoworkerContractCreate",
        ("CoworkerContract", "update") => "CoworkerContractUpdate",
        ("CoworkerContract", "remove") => "CoworkerContractDelete",
        ("Booking", "create") => "BookingCreate",
        ("Booking", "update") => "BookingUpdate",
        ("Booking", "remove") => "BookingDelete",
        ("Checkin", "create") => "CheckinCreated",
        ("Checkin", "update") => "CheckinUpdated",
        ("Checkin", "remove") => "CheckinDeleted",
        ("FloorPlanDesk", "create") => "FloorPlanDeskCreate",
        ("FloorPlanDesk", "update") => "FloorPlanDeskUpdate",
        ("FloorPlanDesk", "remove") => "FloorPlanDeskDelete",
        _ => return None,
    })
}

/// The event Optix sends for a change of a collection and the form field naming the record
/// (optix.md §5.1); `None` for one it sends none for.
fn optix_event(collection: &str, change: &str) -> Option<(&'static str, &'static str)> {
    Some(match (collection, change) {
        ("bookings", "create") => ("new_member_booking", "booking_id"),
        ("bookings", _) => ("member_booking_updated", "booking_id"),
        ("accountPlans", "create") => ("new_plan_subscription", "account_plan_id"),
        ("accountPlans", "update") => ("plan_subscription_updated", "account_plan_id"),
        ("accountPlans", _) => ("plan_subscription_cancelled", "account_plan_id"),
        ("assignments", "create") => ("new_assignment", "assignment_id"),
        ("assignments", "update") => ("assignment_updated", "assignment_id"),
        ("assignments", _) => ("assignment_cancelled", "assignment_id"),
        ("checkins", _) => ("member_check_in", "checkin_id"),
        ("users", _) => ("user_updated", "user_id"),
        _ => return None,
    })
}

/// Every record the platform's simulator holds, listed in full with the client `platform_sync`
/// uses (its credentials from the stack's Secrets Manager), mapped to canonical events at `at`
/// by the platform's records mapping; each event is dated no earlier than `at`. What
/// `preview` is given for "the platform's state, imported at `at`".
///
/// # Errors
/// The platform could not be listed, or has no records mapping.
pub async fn platform_events(
    stack: &crate::stack::LocalStack,
    platform: Platform,
    at: Instant,
) -> Result<Vec<access_sync_rules::Event>> {
    use access_sync_ports::{ListRequest, PlatformSource};
    let secrets =
        access_sync_aws::SecretsManagerSource::new(aws_sdk_secretsmanager::Client::new(&stack.sdk));
    let source = access_sync_sources::connect_paced(
        platform,
        secrets,
        &stack.names.platform_secret(platform),
        access_sync_sources::Pacing::Unpaced,
    )?;
    let mut records = Vec::new();
    for c in source.collections() {
        let mut cursor = None;
        loop {
            let page = source
                .list(&ListRequest {
                    collection: (*c).to_string(),
                    changed_since: None,
                    window: source.window(c, at),
                    cursor,
                })
                .await?;
            records.extend(page.records);
            cursor = page.next;
            if cursor.is_none() {
                break;
            }
        }
    }
    let api: Vec<access_sync_platforms::api::ApiRecord<'_>> = records
        .iter()
        .map(|r| access_sync_platforms::api::ApiRecord {
            collection: &r.collection,
            id: &r.id,
            body: &r.body,
        })
        .collect();
    let mapped = platform
        .events_from_records(&api, at)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(mapped
        .events
        .into_iter()
        .map(|mut e| {
            e.at = e.at.max(at);
            e
        })
        .collect())
}

/// A mapping file that opens one Kisi group per kind of platform thing for every thing the
/// events name (plans 101, allowances 102, passes 103, resources 201, desks 301, offices 401,
/// locations 501, floors 502, check-ins 601, registrations 701): for a generated organisation,
/// whose ids are made afresh.
pub fn mapping_for(events: &[access_sync_rules::Event]) -> String {
    use access_sync_rules::Body;
    let group = |source: &str| match source {
        "plan" => 101,
        "allowance" => 102,
        "pass" => 103,
        "resource" => 201,
        "desk" => 301,
        "office" => 401,
        "location" => 501,
        "floor" => 502,
        "checkin" => 601,
        _ => 701,
    };
    let mut refs = std::collections::BTreeSet::new();
    for e in events {
        if let Body::Entitlement(en) = &e.body {
            for r in &en.refs {
                refs.insert((r.source.as_str(), r.id.clone()));
            }
        }
    }
    let mut toml = String::from(
        "# Generated by the local stack for a generated organisation: one group per kind.\n\
         [defaults]\ntimezone = \"Europe/London\"\n",
    );
    for (source, id) in refs {
        toml.push_str(&format!(
            "\n[[mapping]]\nsource = \"{source}\"\nid = \"{id}\"\ngroups = [{}]\n",
            group(source)
        ));
    }
    toml
}

pub mod script {
    //! Changes a person makes in a platform's admin, generated from an organisation (the
    //! simulator's fixture), for the demo and the acceptance tests: [`for_platform`] picks
    //! the platform's own (OfficeRnD [`changes`], Nexudus [`nexudus`], Optix [`optix`], TeamUp
    //! [`super::teamup::script`]).

    use access_sync_platforms::Platform;
    use access_sync_rules::Instant;
    use serde_json::{Value, json};

    /// The platform's script: `n` changes one every `every` minutes from 10 minutes after
    /// `start`, taken in turn from six kinds that end, grant and change access.
    pub fn for_platform(
        platform: Platform,
        fixture: &Value,
        n: usize,
        seed: u64,
        every: i64,
        start: Instant,
    ) -> Vec<Change> {
        match platform {
            Platform::Officernd => changes(fixture, n, seed, every, start),
            Platform::Nexudus => nexudus(fixture, n, seed, every, start),
            Platform::Optix => optix(fixture, n, seed, every, start),
            Platform::Teamup => super::teamup::script(fixture, n, seed, every, start),
        }
    }

    /// Picks records in turn, never the same twice.
    struct Picker {
        seed: usize,
        used: std::collections::BTreeSet<String>,
    }

    impl Picker {
        fn pick(&mut self, list: &[&Value], k: usize, key: &str) -> Option<Value> {
            (0..list.len())
                .map(|j| list[(k * 7 + self.seed + j) % list.len()])
                .find(|r| self.used.insert(r[key].to_string()))
                .cloned()
        }
    }

    /// Nexudus, in turn: an active contract deleted, an active coworker suspended (`Active:
    /// false`), a time pass used up, a room booked from the next change's instant for two
    /// hours, that booking deleted (while it is open), and a new three-use time pass.
    pub fn nexudus(
        fixture: &Value,
        n: usize,
        seed: u64,
        every: i64,
        start: Instant,
    ) -> Vec<Change> {
        let stamp = |t: Instant| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let coworkers: Vec<&Value> = records(fixture, "spaces/coworkers")
            .into_iter()
            .filter(|c| c["Active"] == true && c["Archived"] != true)
            .collect();
        let live = |id: &Value| coworkers.iter().any(|c| c["Id"] == *id);
        let contracts: Vec<&Value> = records(fixture, "billing/coworkercontracts")
            .into_iter()
            .filter(|c| c["Active"] == true && live(&c["CoworkerId"]))
            .collect();
        let passes: Vec<&Value> = records(fixture, "billing/coworkertimepasses")
            .into_iter()
            .filter(|p| p["RemainingUses"].as_i64().unwrap_or(0) > 0 && live(&p["CoworkerId"]))
            .collect();
        let rooms: Vec<&Value> = records(fixture, "spaces/resources");
        let mut p = Picker {
            seed: seed as usize,
            used: Default::default(),
        };
        let mut out = Vec::new();
        let mut last_booking: Option<String> = None;
        for i in 0..n {
            let minute = 10 + every * i as i64;
            let k = i / 6;
            let uniq = 900_000_000 + seed as i64 * 10_000 + i as i64;
            let c = match i % 6 {
                0 => p.pick(&contracts, k, "Id").map(|c| Change {
                    minute,
                    change: "remove",
                    collection: "billing/coworkercontracts",
                    id: Some(c["Id"].to_string()),
                    body: None,
                }),
                1 => p.pick(&coworkers, k, "Id").map(|c| Change {
                    minute,
                    change: "update",
                    collection: "spaces/coworkers",
                    id: Some(c["Id"].to_string()),
                    body: Some(json!({"Active": false})),
                }),
                2 => p.pick(&passes, k, "Id").map(|t| Change {
                    minute,
                    change: "update",
                    collection: "billing/coworkertimepasses",
                    id: Some(t["Id"].to_string()),
                    body: Some(json!({"RemainingUses": 0, "Used": true,
                        "UsedDate": stamp(start + chrono::Duration::minutes(minute))})),
                }),
                3 => match (
                    rooms.get(i % rooms.len().max(1)),
                    p.pick(&coworkers, k, "Id"),
                ) {
                    (Some(room), Some(member)) => {
                        let from = start + chrono::Duration::minutes(minute + every);
                        let to = from + chrono::Duration::minutes(120);
                        last_booking = Some(uniq.to_string());
                        Some(Change {
                            minute,
                            change: "create",
                            collection: "spaces/bookings",
                            id: None,
                            body: Some(json!({"Id": uniq, "ResourceId": room["Id"],
                                "CoworkerId": member["Id"], "FromTime": stamp(from), "ToTime": stamp(to),
                                "Tentative": false, "Online": true})),
                        })
                    }
                    _ => None,
                },
                4 => last_booking.take().map(|b| Change {
                    minute: minute + 5,
                    change: "remove",
                    collection: "spaces/bookings",
                    id: Some(b),
                    body: None,
                }),
                _ => p.pick(&coworkers, k, "Id").map(|member| Change {
                    minute,
                    change: "create",
                    collection: "billing/coworkertimepasses",
                    id: None,
                    body: Some(json!({"Id": uniq, "CoworkerId": member["Id"],
                        "BusinessId": nexudus_sim::generate::BUSINESS, "TimePassId": 5001,
                        "TimePassName": "Day pass", "Used": false, "CheckedIn": false,
                        "UsedDate": null, "RemainingUses": 3, "TotalUses": 3,
                        "ExpireDate": stamp(start + chrono::Duration::days(30)),
                        "IsFromTariff": false, "IsPayAsYouGo": false})),
                }),
            };
            out.extend(c);
        }
        out
    }

    /// Optix, in turn: an active personal plan cancelled, a plan awaiting acceptance accepted
    /// (else another cancelled), an approved booking cancelled, a room booked from the next
    /// change's instant for two hours, that booking cancelled (while it is open), and a user
    /// soft-deleted.
    pub fn optix(fixture: &Value, n: usize, seed: u64, every: i64, start: Instant) -> Vec<Change> {
        let users: Vec<&Value> = records(fixture, "users")
            .into_iter()
            .filter(|u| u["is_active"] == true && u["is_deleted"] != true)
            .collect();
        let personal = |status: &str| -> Vec<&Value> {
            records(fixture, "accountPlans")
                .into_iter()
                .filter(|p| p["status"] == status && p["access_usage_user"].is_object())
                .collect()
        };
        let (active, upcoming) = (personal("ACTIVE"), personal("UPCOMING"));
        let bookings: Vec<&Value> = records(fixture, "bookings")
            .into_iter()
            .filter(|b| b["is_approved"] == true && b["is_canceled"] != true)
            .collect();
        let mut p = Picker {
            seed: seed as usize,
            used: Default::default(),
        };
        let mut out = Vec::new();
        let mut last_booking: Option<String> = None;
        for i in 0..n {
            let minute = 10 + every * i as i64;
            let k = i / 6;
            let update = |collection, id: &Value, key: &str, body| Change {
                minute,
                change: "update",
                collection,
                id: id[key].as_str().map(str::to_string),
                body: Some(body),
            };
            let c = match i % 6 {
                0 => p.pick(&active, k, "account_plan_id").map(|r| {
                    update(
                        "accountPlans",
                        &r,
                        "account_plan_id",
                        json!({"status": "CANCELED"}),
                    )
                }),
                1 => match p.pick(&upcoming, k, "account_plan_id") {
                    Some(r) => Some(update(
                        "accountPlans",
                        &r,
                        "account_plan_id",
                        json!({"status": "ACTIVE"}),
                    )),
                    None => p.pick(&active, k, "account_plan_id").map(|r| {
                        update(
                            "accountPlans",
                            &r,
                            "account_plan_id",
                            json!({"status": "ENDED"}),
                        )
                    }),
                },
                2 => p.pick(&bookings, k, "booking_id").map(|b| {
                    update(
                        "bookings",
                        &b,
                        "booking_id",
                        json!({"is_canceled": true, "is_approved": false}),
                    )
                }),
                3 => p.pick(&users, k, "user_id").map(|u| {
                    let from = (start + chrono::Duration::minutes(minute + every)).timestamp();
                    let id = format!("nb{seed}x{i}");
                    last_booking = Some(id.clone());
                    Change {
                        minute,
                        change: "create",
                        collection: "bookings",
                        id: None,
                        body: Some(json!({"booking_id": id, "start_timestamp": from,
                            "end_timestamp": from + 7200, "is_new": false, "is_approved": true,
                            "is_canceled": false, "is_rejected": false,
                            "user": {"user_id": u["user_id"], "email": u["email"]},
                            "resource": {"resource_id": "310",
                                "location": {"location_id": "11", "timezone": "Europe/London"}},
                            "invitees": []})),
                    }
                }),
                4 => last_booking.take().map(|b| Change {
                    minute: minute + 5,
                    change: "update",
                    collection: "bookings",
                    id: Some(b),
                    body: Some(json!({"is_canceled": true, "is_approved": false})),
                }),
                _ => p.pick(&users, k, "user_id").map(|u| {
                    update(
                        "users",
                        &u,
                        "user_id",
                        json!({"is_deleted": true, "is_active": false}),
                    )
                }),
            };
            out.extend(c);
        }
        out
    }

    /// One change a person makes in a platform's admin.
    #[derive(Debug, Clone)]
    pub struct Change {
        /// Minutes after the start.
        pub minute: i64,
        /// `create`, `update` or `remove`.
        pub change: &'static str,
        /// The collection.
        pub collection: &'static str,
        /// The record changed (none for a creation).
        pub id: Option<String>,
        /// The record created, or the merge patch.
        pub body: Option<Value>,
    }

    /// The records of collection `c` in a fixture.
    pub fn records<'a>(fixture: &'a Value, c: &str) -> Vec<&'a Value> {
        fixture[c]
            .as_array()
            .map(|a| a.iter().collect())
            .unwrap_or_default()
    }

    /// A record's `_id`.
    pub fn id(r: &Value) -> String {
        r["_id"].as_str().unwrap_or_default().to_string()
    }

    /// Whether a membership gives access (approved and active).
    pub fn active(m: &Value) -> bool {
        m["status"] == "approved" && m["calculatedStatus"] == "active"
    }

    /// `n` changes, one every `every` minutes from 10 minutes after `start`, taken in turn from: an active
    /// membership removed, a member leaving their company, a pass used up, a meeting room booked
    /// from the next change's instant for two hours, that booking cancelled (while it is open), and
    /// a new ten-visit pass for a member (open at once). Records are not reused.
    pub fn changes(
        fixture: &Value,
        n: usize,
        seed: u64,
        every: i64,
        start: Instant,
    ) -> Vec<Change> {
        let memberships: Vec<&Value> = records(fixture, "memberships")
            .into_iter()
            .filter(|m| active(m))
            .collect();
        let in_company: Vec<&Value> = records(fixture, "members")
            .into_iter()
            .filter(|m| m["company"].is_string() && m["status"] == "active")
            .collect();
        let passes: Vec<&Value> = records(fixture, "passes")
            .into_iter()
            .filter(|p| p["count"].as_u64().is_some() && p["status"] == "valid")
            .collect();
        let rooms: Vec<&Value> = records(fixture, "resources")
            .into_iter()
            .filter(|r| r["type"] == "meeting_room")
            .collect();
        let members: Vec<&Value> = records(fixture, "members")
            .into_iter()
            .filter(|m| m["status"] == "active")
            .collect();
        let template = records(fixture, "passes")
            .into_iter()
            .find(|p| p["member"].is_string() && p["resourceType"] == "hotdesk")
            .cloned();
        let mut used: std::collections::BTreeSet<String> = std::collections::BTreeSet::new();
        let mut pick = |list: &[&Value], k: usize| -> Option<Value> {
            (0..list.len())
                .map(|j| list[(k * 7 + seed as usize + j) % list.len()])
                .find(|r| used.insert(format!("{}{}", id(r), list.len())))
                .cloned()
        };
        let mut out = Vec::new();
        let mut last_booking: Option<String> = None;
        for i in 0..n {
            let minute = 10 + every * i as i64;
            let k = i / 6;
            let c = match i % 6 {
                0 => pick(&memberships, k).map(|m| Change {
                    minute,
                    change: "remove",
                    collection: "memberships",
                    id: Some(id(&m)),
                    body: None,
                }),
                1 => pick(&in_company, k).map(|m| Change {
                    minute,
                    change: "update",
                    collection: "members",
                    id: Some(id(&m)),
                    body: Some(json!({"company": null})),
                }),
                2 => pick(&passes, k).map(|p| Change {
                    minute,
                    change: "update",
                    collection: "passes",
                    id: Some(id(&p)),
                    body: Some(json!({"usedCount": p["count"]})),
                }),
                3 => match (
                    (!rooms.is_empty()).then(|| rooms[i % rooms.len()].clone()),
                    pick(&members, k),
                ) {
                    (Some(room), Some(member)) => {
                        let from = start + chrono::Duration::minutes(minute + every);
                        let booking = format!("b00c{:020x}", seed * 100_000 + i as u64);
                        last_booking = Some(booking.clone());
                        Some(Change {
                            minute,
                            change: "create",
                            collection: "bookings",
                            id: None,
                            body: Some(json!({
                                "_id": booking,
                                "timezone": "Europe/London",
                                "start": from,
                                "end": from + chrono::Duration::minutes(120),
                                "location": room["location"],
                                "member": member["_id"],
                                "resource": room["_id"],
                            })),
                        })
                    }
                    _ => None,
                },
                4 => last_booking.take().map(|b| Change {
                    minute: minute + 5,
                    change: "update",
                    collection: "bookings",
                    id: Some(b),
                    body: Some(json!({"isCancelled": true})),
                }),
                _ => match (template.clone(), pick(&members, k)) {
                    (Some(mut p), Some(member)) => {
                        let day = |d: i64| {
                            (start + chrono::Duration::days(d))
                                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
                        };
                        for f in ["_id", "createdAt", "modifiedAt"] {
                            p.as_object_mut().map(|o| o.remove(f));
                        }
                        p["_id"] = json!(format!("9a55{:020x}", seed * 100_000 + i as u64));
                        p["member"] = member["_id"].clone();
                        p["count"] = json!(10);
                        p["usedCount"] = json!(0);
                        p["status"] = json!("valid");
                        p["validFrom"] = json!(day(0));
                        p["validTo"] = json!(day(60));
                        Some(Change {
                            minute,
                            change: "create",
                            collection: "passes",
                            id: None,
                            body: Some(p),
                        })
                    }
                    _ => None,
                },
            };
            out.extend(c);
        }
        out
    }
}
