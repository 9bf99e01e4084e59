//! # The local stack
//!
//! The whole access-sync pipeline on one machine, without an AWS or a Kisi account:
//!
//! ```text
//!  POST /events ─▶ ingest ─▶ EventBridge bus ─▶ rules ─▶ SQS queues ─▶ on_booking / on_plan_change / on_checkin
//!                  (moto)                                  ▲ pump              │ converge requests
//!                                                          └── converge queue ◀┘ (bus → rule → SQS)
//!                                                                 │ pump
//!  Scheduler (moto stores edges) ── scheduler pump at each edge ──▶ on_edge ─▶ Kisi simulator
//! ```
//!
//! - [`provision`] creates the table, bus, rules, queues, schedule group and Kisi secret on
//!   moto, as the CDK app does in AWS.
//! - [`functions`] reaches the real handlers: in process ([`functions::InProcess`], for
//!   end-to-end tests and benchmarks) or under `cargo lambda watch` ([`functions::Watch`]).
//! - [`pumps`] does what moto does not: delivers queue messages to the functions and fires
//!   edge schedules when their instant comes.
//! - The functions read `now` from the Kisi simulator's admin clock (`ACCESS_SYNC_CLOCK_URL`),
//!   so a [`Driver`] can play a day in seconds and still open and close on the exact minute.
//! - [`logs`] captures the functions' logs and checks them for personal data and secrets.
//! - [`stack`] starts and stops the processes (moto, `cargo lambda watch`) for the
//!   `local-stack` command.
//! - [`platforms`] starts platform API simulators (`--platform officernd|nexudus|optix`)
//!   whose credentials `platform_sync` reads; a [`Driver`] runs `platform_sync` on the virtual
//!   clock every sync interval ([`Tick`]) and on demand ([`Driver::sync`]).

pub mod functions;
pub mod logs;
pub mod names;
pub mod native;
pub mod platforms;
pub mod provision;
pub mod pumps;
pub mod sim;
pub mod stack;
pub mod timeline;

use access_sync_platforms::Platform;
use access_sync_rules::{Event, Instant};
use anyhow::{Result, bail};
use functions::Functions;
use platforms::{PlatformAdmin, Webhook};
use pumps::Pumps;
use serde_json::{Value, json};
use sim::SimAdmin;
use std::sync::Mutex;

/// Plays time and events through a stack.
pub struct Driver<F> {
    /// The pumps (and through them the functions).
    pub pumps: Pumps<F>,
    /// The simulator, whose clock the functions read.
    pub sim: SimAdmin,
    /// Platform simulators whose clocks follow the stack's.
    pub platforms: Vec<PlatformAdmin>,
    /// Scheduled invocations on the virtual clock (`platform_sync` every sync interval).
    pub ticks: Vec<Tick>,
    /// What each tick answered, in order.
    pub tick_log: Mutex<Vec<TickRun>>,
}

/// The default sync interval (the deployed schedule's).
pub const SYNC_INTERVAL_MINUTES: i64 = 15;

/// A function invoked on a fixed grid of the virtual clock, as an EventBridge schedule
/// (`rate(15 minutes)`) invokes it: at every multiple of `every` since the Unix epoch.
#[derive(Debug, Clone)]
pub struct Tick {
    /// The function.
    pub function: String,
    /// Its input.
    pub payload: Value,
    /// The interval.
    pub every: chrono::Duration,
}

impl Tick {
    /// `platform_sync` for `platform` every `minutes` minutes.
    pub fn platform_sync(platform: Platform, minutes: i64) -> Tick {
        Tick {
            function: "platform_sync".into(),
            payload: json!({"platform": platform.as_str()}),
            every: chrono::Duration::minutes(minutes.max(1)),
        }
    }

    /// The first instant of its grid after `t`.
    pub fn next_after(&self, t: Instant) -> Instant {
        let step = self.every.num_seconds().max(1);
        let n = t.timestamp().div_euclid(step) + 1;
        chrono::DateTime::from_timestamp(n * step, 0).unwrap_or(t)
    }
}

/// One tick's invocation.
#[derive(Debug, Clone)]
pub struct TickRun {
    /// When it ran.
    pub at: Instant,
    /// The function.
    pub function: String,
    /// Its answer, or its failure.
    pub result: Result<Value, String>,
}

impl<F: Functions> Driver<F> {
    /// A driver of the stack's pumps and clock, without platforms or ticks.
    pub fn new(pumps: Pumps<F>, sim: SimAdmin) -> Driver<F> {
        Driver {
            pumps,
            sim,
            platforms: Vec::new(),
            ticks: Vec::new(),
            tick_log: Mutex::new(Vec::new()),
        }
    }

    /// Adds platform simulators (their clocks follow the stack's) and runs `platform_sync` for
    /// each every `minutes` virtual minutes.
    pub fn with_platforms(mut self, platforms: &[PlatformAdmin], minutes: i64) -> Driver<F> {
        for p in platforms {
            self.ticks.push(Tick::platform_sync(p.platform, minutes));
            self.platforms.push(p.clone());
        }
        self
    }

    /// Sets the clock of the functions and of every platform simulator.
    ///
    /// # Errors
    /// A simulator did not answer.
    pub async fn set_clock(&self, t: Instant) -> Result<()> {
        self.sim.set_clock(t).await?;
        for p in &self.platforms {
            p.set_clock(t).await?;
        }
        Ok(())
    }

    /// Moves the clock to `t`: delivers what is queued, fires every edge and every tick due up
    /// to `t` at its own instant (edges first at a shared instant, draining after each), then
    /// sets the clock to `t`.
    ///
    /// # Errors
    /// A part of the stack could not be reached (a tick's own failure is logged, not an
    /// error: the next tick runs again, as a schedule would).
    pub async fn advance(&self, t: Instant) -> Result<()> {
        self.pumps.drain().await?;
        if !self.ticks.is_empty() {
            let mut now = self.sim.now().await?;
            loop {
                let due = self
                    .ticks
                    .iter()
                    .map(|k| k.next_after(now))
                    .filter(|&n| n <= t)
                    .min();
                let Some(at) = due else { break };
                self.pumps.fire_due(at).await?;
                self.set_clock(at).await?;
                self.pumps.drain().await?;
                for k in self.ticks.iter().filter(|k| k.next_after(now) == at) {
                    self.run_tick(k, at).await;
                }
                now = at;
            }
        }
        self.pumps.fire_due(t).await?;
        self.set_clock(t).await?;
        self.pumps.drain().await?;
        Ok(())
    }

    async fn run_tick(&self, k: &Tick, at: Instant) {
        let result = self
            .pumps
            .functions
            .invoke(&k.function, k.payload.clone())
            .await
            .map_err(|e| format!("{e:#}"));
        if let Err(e) = self.pumps.drain().await {
            tracing::warn!(error = %e, "drain after a tick");
        }
        if let Ok(mut log) = self.tick_log.lock() {
            log.push(TickRun {
                at,
                function: k.function.clone(),
                result,
            });
        }
    }

    /// Runs `platform_sync` for `platform` now (on demand: `{"platform", "full"?, "action"?}`)
    /// and delivers what it published; answers its summary.
    ///
    /// # Errors
    /// The sync failed, or the stack could not be reached.
    pub async fn sync(&self, platform: Platform, extra: Value) -> Result<Value> {
        let mut payload = json!({"platform": platform.as_str()});
        if let (Some(p), Some(e)) = (payload.as_object_mut(), extra.as_object()) {
            p.extend(e.clone());
        }
        let out = self.pumps.functions.invoke("platform_sync", payload).await;
        self.pumps.drain().await?;
        out
    }

    /// Posts a platform's signed webhook to its ingest route; fails unless ingest accepted it
    /// (202, or 200 for a delivery it had accepted before).
    ///
    /// # Errors
    /// Ingest refused it or could not be reached.
    pub async fn deliver(&self, w: &Webhook) -> Result<()> {
        let headers: Vec<(&str, &str)> = w
            .headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let (status, text) = self
            .pumps
            .functions
            .post(&w.path, &headers, w.body.clone().into_bytes())
            .await?;
        if status != 202 && status != 200 {
            bail!(
                "ingest answered {status} to a {} webhook: {text}",
                w.event_type
            );
        }
        Ok(())
    }

    /// Posts canonical events to ingest as JSON Lines at `/events`, signed with the local
    /// stack's canonical secret at the clock's `now` (as `access-sync post` signs); fails
    /// unless ingest accepted them (202, or 200 for a signed delivery it had accepted before).
    ///
    /// # Errors
    /// Ingest refused them or could not be reached.
    pub async fn post(&self, events: &[&Event]) -> Result<()> {
        let mut body = String::new();
        for e in events {
            body.push_str(&serde_json::to_string(e)?);
            body.push('\n');
        }
        let (status, text) = self.post_canonical(body.into_bytes()).await?;
        if status != 202 && status != 200 {
            bail!("ingest answered {status}: {text}");
        }
        Ok(())
    }

    /// Posts a canonical body to `/events` signed with the local stack's canonical secret at
    /// the clock's `now`; answers ingest's status and body.
    ///
    /// # Errors
    /// Ingest could not be reached.
    pub async fn post_canonical(&self, body: Vec<u8>) -> Result<(u16, String)> {
        let now = self.sim.now().await?;
        let sig = access_sync_platforms::canonical::sign(
            names::LOCAL_CANONICAL_SECRET.as_bytes(),
            &body,
            now.timestamp(),
        );
        self.pumps
            .functions
            .post(
                "/events",
                &[
                    ("content-type", "application/x-ndjson"),
                    (access_sync_platforms::canonical::CANONICAL_HEADER, &sig),
                ],
                body,
            )
            .await
    }

    /// Posts a platform's native webhook, signed as the platform would at the clock's `now`;
    /// fails unless ingest accepted it (202, or 200 for a delivery it had accepted before).
    ///
    /// # Errors
    /// Ingest refused it or could not be reached.
    pub async fn post_native(&self, n: &native::Native, now: Instant) -> Result<()> {
        let (path, headers, body) = n.request(now);
        let headers: Vec<(&str, &str)> = headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let (status, text) = self.pumps.functions.post(&path, &headers, body).await?;
        if status != 202 && status != 200 {
            bail!("ingest answered {status} to {path}: {text}");
        }
        Ok(())
    }

    /// Plays `events` in `at` order — the clock moved to each event's instant, edges fired in
    /// between — and runs the clock on to `horizon`. `on_step` is called after each event
    /// (the demo prints there).
    ///
    /// # Errors
    /// A part of the stack could not be reached, or ingest refused an event.
    pub async fn play(&self, events: &[Event], horizon: Instant) -> Result<()> {
        let mut evs: Vec<&Event> = events.iter().collect();
        evs.sort_by_key(|e| e.at);
        for ev in evs.into_iter().take_while(|e| e.at <= horizon) {
            self.advance(ev.at).await?;
            self.post(&[ev]).await?;
            self.pumps.drain().await?;
        }
        self.advance(horizon).await
    }
}
