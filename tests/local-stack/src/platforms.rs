//! Platform API simulators in the local stack (`--platform officernd`): each is started on a
//! loopback port, seeded from a fixture, and its credentials are stored where `platform_sync`
//! reads them (`<prefix>/platforms/<platform>` in Secrets Manager: `PLATFORM_SECRETS_PREFIX`
//! is `<prefix>/platforms`, as deployed). Its clock follows the stack's (the [`crate::Driver`] moves
//! both), so `modifiedAt` stamps, token expiry and webhook signatures are on the virtual clock.
//!
//! A platform plugs in with one line in [`start`] (its simulator) and one in
//! [`crate::functions`] (its API client); [`PlatformAdmin`] is the simulator's admin API over
//! HTTP, whose record changes answer the platform's signed webhook for the change.

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
        p @ (Platform::Optix | Platform::Nexudus | Platform::Teamup) => {
            bail!("--platform {}: no API simulator for it yet", p.as_str())
        }
    }
}

/// The platforms [`start`] can start.
pub const SIMULATED: [Platform; 1] = [Platform::Officernd];

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
    if let Some(path) = &opts.fixture {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let fixture: officernd_sim::Fixture =
            serde_json::from_str(&text).with_context(|| format!("{}", path.display()))?;
        sim.load_fixture(&fixture)
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
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

/// A signed webhook as the platform would send it to ingest.
#[derive(Debug, Clone)]
pub struct Webhook {
    /// The platform.
    pub platform: Platform,
    /// Its event type (`membership.updated`, ...).
    pub event_type: String,
    /// The exact body.
    pub body: String,
    /// The signature header's (name, value).
    pub signature: (String, String),
}

impl Webhook {
    /// The ingest path it is posted to.
    pub fn path(&self) -> String {
        format!("/{}", self.platform.as_str())
    }
}

/// A platform simulator's `/__admin/` API.
#[derive(Debug, Clone)]
pub struct PlatformAdmin {
    /// Which platform.
    pub platform: Platform,
    http: reqwest::Client,
    /// The simulator's base URL.
    pub base: String,
}

impl PlatformAdmin {
    /// A client of the simulator at `base`.
    pub fn new(platform: Platform, base: &str) -> PlatformAdmin {
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(60))
            .build()
            .expect("a plain HTTP client");
        PlatformAdmin {
            platform,
            http,
            base: base.to_string(),
        }
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
        self.call(reqwest::Method::POST, "/clock", Some(json!({"now": t})))
            .await
            .map(drop)
    }

    /// Sets fault switches (partial JSON; `{}` keeps them), or clears them with `None`.
    ///
    /// # Errors
    /// The simulator did not answer or refused them.
    pub async fn set_faults(&self, faults: Option<Value>) -> Result<()> {
        match faults {
            Some(f) => self.call(reqwest::Method::POST, "/faults", Some(f)).await,
            None => self.call(reqwest::Method::DELETE, "/faults", None).await,
        }
        .map(drop)
    }

    /// Replaces the organisation.
    ///
    /// # Errors
    /// The simulator refused the fixture.
    pub async fn put_fixture(&self, fixture: &Value) -> Result<()> {
        self.call(reqwest::Method::PUT, "/fixture", Some(fixture.clone()))
            .await
            .map(drop)
    }

    /// The organisation as a fixture.
    ///
    /// # Errors
    /// The simulator did not answer.
    pub async fn fixture(&self) -> Result<Value> {
        self.call(reqwest::Method::GET, "/fixture", None).await
    }

    /// Replaces the organisation with a generated one of `members` members.
    ///
    /// # Errors
    /// The simulator did not answer.
    pub async fn generate(&self, members: usize, seed: u64, anchor: Instant) -> Result<Value> {
        self.call(
            reqwest::Method::POST,
            "/generate",
            Some(json!({"members": members, "seed": seed, "anchor": anchor})),
        )
        .await
    }

    /// Counters of the API (`total`, `byRoute`, ...).
    ///
    /// # Errors
    /// The simulator did not answer.
    pub async fn counters(&self) -> Result<Value> {
        self.call(reqwest::Method::GET, "/counters", None).await
    }

    /// Changes a record as a person would in the platform's admin, and answers the webhook the
    /// platform sends for the change (none when it sends none), signed but not sent.
    /// `change` is `create` (with `body` the record), `update` (a JSON merge patch) or
    /// `remove`.
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
                body: d.body,
                signature: ("officernd-signature".into(), d.signature),
            })
            .collect())
    }
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
    let source = match platform {
        Platform::Officernd => access_sync_sources::officernd::OfficerndSource::new(
            secrets,
            access_sync_sources::officernd::OfficerndConfig::new(
                stack.names.platform_secret(platform),
            ),
        )?
        .with_budget(std::sync::Arc::new(access_sync_kisi::Unlimited)),
        p @ (Platform::Optix | Platform::Nexudus | Platform::Teamup) => {
            bail!("{}: no API client yet", p.as_str())
        }
    };
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
    //! Changes a person makes in OfficeRnD's admin, generated from an organisation (the
    //! simulator's fixture), for the demo and the acceptance tests.

    use access_sync_rules::Instant;
    use serde_json::{Value, json};

    /// One change a person makes in OfficeRnD.
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
