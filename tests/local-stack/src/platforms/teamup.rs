//! TeamUp in the local stack (issue 20): the `teamup-sim` API simulator on a loopback port, its
//! clock on the stack's, and the M2M-token secret the TeamUp client reads
//! (`{"token", "api_url", "provider_id"}`, `shared/sources/src/teamup`). The
//! [`PlatformAdmin`] face changes its records in process and answers the delivery TeamUp would
//! send for the change: unsigned (TeamUp signs nothing), addressed to ingest's
//! `/teamup/<installation secret>` with a `TEAMUP-WEBHOOK-ID` header, the body
//! `{"feed_items":[{"object":"feed_item","id","timestamp","type","data"}]}` built by the
//! simulator. TeamUp publishes neither its feed-item types nor their fields
//! (`events/teamup/README.md`): the `type` (`<entity>.created|updated|deleted`) and `data`
//! (`id`, and the `customer` / `customer_membership` the record names) are ours. Ingest reads
//! only the ids and `platform_reread` re-reads them from the simulator, so a webhook grants
//! only what the API holds.

use super::{Backend, PlatformAdmin, PlatformOptions, RunningPlatform, Webhook, read_fixture};
use crate::names::local_webhook_secret;
use access_sync_platforms::Platform;
use access_sync_rules::Instant;
use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

/// Starts the TeamUp simulator, seeded from `opts.fixture` (`teamup_sim::Fixture`:
/// `{collections, shares}`) if any.
pub(super) async fn start(opts: &PlatformOptions) -> Result<RunningPlatform> {
    let config = teamup_sim::SimConfig {
        bind: ([127, 0, 0, 1], opts.port).into(),
        // TeamUp allows 250 requests a minute of real time; the virtual clock runs a day in
        // seconds, so the limit would only slow the stack down (the client's own budget is
        // measured by the `teamup_sync` bench).
        requests_per_minute: None,
        ..teamup_sim::SimConfig::default()
    };
    let (token, provider) = (config.token.clone(), config.provider_id);
    let sim = teamup_sim::Sim::new(config);
    let admin = PlatformAdmin::in_process(Platform::Teamup, "", Backend::Teamup(sim.clone()));
    if let Some(fixture) = read_fixture(opts)? {
        admin.put_fixture(&fixture).await?;
    }
    let handle = teamup_sim::spawn_sim(sim)
        .await
        .with_context(|| format!("starting the TeamUp simulator on port {}", opts.port))?;
    let credentials = json!({
        "token": token,
        "api_url": handle.api_url(),
        "provider_id": provider,
    })
    .to_string();
    Ok(RunningPlatform {
        platform: Platform::Teamup,
        base_url: handle.base_url.clone(),
        credentials,
        admin: PlatformAdmin {
            base: handle.base_url.clone(),
            ..admin
        },
        _server: Box::new(handle),
    })
}

/// Seeds the simulator: `{collections, shares}`, or the map of collections itself.
pub(super) fn put_fixture(sim: &teamup_sim::Sim, fixture: &Value) -> Result<()> {
    let f: teamup_sim::Fixture = if fixture.get("collections").is_some() {
        serde_json::from_value(fixture.clone()).context("a TeamUp fixture")?
    } else {
        teamup_sim::Fixture {
            collections: serde_json::from_value(fixture.clone())
                .context("a TeamUp fixture's collections")?,
            shares: Default::default(),
        }
    };
    sim.seed(&f)
        .map_err(|e| anyhow::anyhow!("the TeamUp fixture: {e}"))
}

/// The business as it is now, collection → records.
pub(super) fn fixture(sim: &teamup_sim::Sim) -> Result<Value> {
    Ok(serde_json::to_value(sim.snapshot().collections)?)
}

/// Replaces the business with `teamup_sim::generate`'s of `customers` customers around
/// `anchor` (the generator is deterministic: it has no seed).
pub(super) fn generate(sim: &teamup_sim::Sim, customers: usize, anchor: Instant) -> Result<Value> {
    sim.seed(&teamup_sim::generate(customers, anchor))
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(json!({"members": customers}))
}

/// Sets fault switches: `faults` is merged into the current ones (`teamup_sim::Faults`'
/// names: `error_requests`, `error_status`, `throttle_requests`, `retry_after_secs`,
/// `short_page_requests`, `token_expired`); `None` clears them.
pub(super) fn set_faults(sim: &teamup_sim::Sim, faults: Option<Value>) -> Result<()> {
    let f = match faults {
        None => teamup_sim::Faults::default(),
        Some(patch) => {
            let mut now = serde_json::to_value(sim.faults())?;
            if let (Some(n), Some(p)) = (now.as_object_mut(), patch.as_object()) {
                for (k, v) in p {
                    n.insert(k.clone(), v.clone());
                }
            }
            serde_json::from_value(now).context("TeamUp faults")?
        }
    };
    sim.set_faults(f);
    Ok(())
}

/// `total` requests, and the `not_found` paths (reads of records TeamUp does not hold).
pub(super) fn counters(sim: &teamup_sim::Sim) -> Value {
    let requests = sim.requests();
    let not_found: Vec<&str> = requests
        .iter()
        .filter(|r| r.status == 404)
        .map(|r| r.path.as_str())
        .collect();
    json!({"total": requests.len(), "not_found": not_found})
}

impl PlatformAdmin {
    /// [`PlatformAdmin::change`] for TeamUp: an update sets the patch's top-level fields (a
    /// `null` is stored as `null`, as TeamUp's records carry them, not removed); every change
    /// answers one delivery.
    pub(super) fn change_teamup(
        &self,
        sim: &teamup_sim::Sim,
        change: &str,
        collection: &str,
        id: Option<&str>,
        body: Option<&Value>,
    ) -> Result<Vec<Webhook>> {
        let record = super::in_process::change_record(sim, change, collection, id, body)?;
        let verb = match change {
            "create" => "created",
            "update" => "updated",
            _ => "deleted",
        };
        let mut data = json!({"id": record["id"]});
        for key in ["customer", "customer_membership"] {
            if let Some(v) = record.get(key).filter(|v| !v.is_null()) {
                data[key] = v.clone();
            }
        }
        let item = json!({"type": format!("{}.{verb}", entity(collection)), "data": data});
        Ok(vec![self.teamup_webhook(&item)?])
    }

    /// The delivery TeamUp would post for one feed item (`item`'s keys beyond `object`, `id`
    /// and `timestamp`, which the simulator sets): unsigned, to ingest's
    /// `/teamup/<installation secret>` under a fresh `TEAMUP-WEBHOOK-ID`. Also for a body
    /// the API does not back (a forged or mistaken claim).
    ///
    /// # Errors
    /// The admin is not TeamUp's.
    pub fn teamup_webhook(&self, item: &Value) -> Result<Webhook> {
        let Backend::Teamup(sim) = &self.backend else {
            bail!("{}: not the TeamUp simulator", self.platform.as_str());
        };
        let body = sim.webhook_body(item);
        let feed: Value = serde_json::from_str(&body)?;
        let webhook_id = format!("sim-wh-{}", feed["feed_items"][0]["id"]);
        let event_type = item["type"].as_str().unwrap_or("feed_item").to_string();
        Ok(Webhook {
            platform: Platform::Teamup,
            event_type,
            word: Some(webhook_id.clone()),
            body,
            path: format!("/teamup/{}", local_webhook_secret(Platform::Teamup)),
            headers: vec![
                ("content-type".into(), "application/json".into()),
                (access_sync_platforms::teamup::ID_HEADER.into(), webhook_id),
            ],
        })
    }
}

/// The feed-item entity of a collection (ours: TeamUp publishes none beyond `customer` and
/// `event_registration`).
fn entity(collection: &str) -> &str {
    match collection {
        "customers" => "customer",
        "customer_memberships" => "customer_membership",
        "attendances" => "event_registration",
        "customer_registration_blocks" => "customer_registration_block",
        "customer_membership_holds" => "customer_membership_hold",
        "course_session_attendances" => "course_session_attendance",
        other => other.strip_suffix('s').unwrap_or(other),
    }
}

/// TeamUp, in turn: an active membership cancelled, a customer with an active membership
/// registration-blocked, a pack used up (`completed`), a customer registered for the next
/// class starting over an hour later, that registration cancelled, and a new active
/// "Unlimited" membership for a
/// customer whose own was cancelled. For `teamup_sim::generate`'s business; records are not
/// reused.
pub fn script(
    fixture: &Value,
    n: usize,
    seed: u64,
    every: i64,
    start: Instant,
) -> Vec<super::script::Change> {
    use super::script::{Change, records};
    let memberships = |f: &dyn Fn(&Value) -> bool| -> Vec<&Value> {
        records(fixture, "customer_memberships")
            .into_iter()
            .filter(|m| f(m))
            .collect()
    };
    let unlimited = memberships(&|m| m["status"] == "active" && m["membership"] == 1);
    let packs = memberships(&|m| m["status"] == "active" && m["membership"] == 2);
    let cancelled = memberships(&|m| m["status"] == "cancelled");
    let blocked: Vec<&Value> = records(fixture, "customer_registration_blocks");
    let events: Vec<&Value> = records(fixture, "events");
    let mut used = std::collections::BTreeSet::new();
    let mut pick = |list: &[&Value], k: usize| -> Option<Value> {
        (0..list.len())
            .map(|j| list[(k * 7 + seed as usize + j) % list.len()])
            .find(|r| {
                // One change per customer: a customer blocked here is not also cancelled.
                !blocked.iter().any(|b| b["customer"] == r["customer"])
                    && used.insert(r["customer"].to_string())
            })
            .cloned()
    };
    let mut out = Vec::new();
    let mut last: Option<String> = None;
    for i in 0..n {
        let minute = 10 + every * i as i64;
        let k = i / 6;
        let uniq = 990_000 + seed as i64 * 1_000 + i as i64;
        let update = |r: &Value, body: Value| Change {
            minute,
            change: "update",
            collection: "customer_memberships",
            id: Some(r["id"].to_string()),
            body: Some(body),
        };
        let c = match i % 6 {
            0 => pick(&unlimited, k).map(|m| update(&m, json!({"status": "cancelled"}))),
            1 => pick(&unlimited, k + 1).map(|m| Change {
                minute,
                change: "create",
                collection: "customer_registration_blocks",
                id: None,
                body: Some(
                    json!({"id": uniq, "customer": m["customer"], "is_active": true,
                    "created_at": teamup_sim::stamp(start + chrono::Duration::minutes(minute)),
                    "deactivated_at": null}),
                ),
            }),
            2 => pick(&packs, k).map(|m| update(&m, json!({"status": "completed"}))),
            3 => {
                let soon = start + chrono::Duration::minutes(minute) + chrono::Duration::hours(1);
                let event = events
                    .iter()
                    .find(|e| {
                        e["starts_at"]
                            .as_str()
                            .and_then(|s| s.parse::<Instant>().ok())
                            .is_some_and(|s| s > soon)
                    })
                    .map(|e| e["id"].clone());
                match (event, pick(&unlimited, k + 2)) {
                    (Some(event), Some(m)) => {
                        last = Some(uniq.to_string());
                        Some(Change {
                            minute,
                            change: "create",
                            collection: "attendances",
                            id: None,
                            body: Some(json!({"id": uniq, "object": "attendance",
                                "customer": m["customer"], "event": event,
                                "status": "registered", "customer_membership": m["id"]})),
                        })
                    }
                    _ => None,
                }
            }
            4 => last.take().map(|a| Change {
                minute: minute + 5,
                change: "update",
                collection: "attendances",
                id: Some(a),
                body: Some(json!({"status": "cancelled"})),
            }),
            _ => pick(&cancelled, k).map(|m| Change {
                minute,
                change: "create",
                collection: "customer_memberships",
                id: None,
                body: Some(json!({"id": uniq, "object": "customermembership",
                    "name": "Unlimited", "start_date": start.format("%Y-%m-%d").to_string(),
                    "expiration_date": null, "status": "active", "membership": 1,
                    "customer": m["customer"], "active_hold": null})),
            }),
        };
        out.extend(c);
    }
    out
}
