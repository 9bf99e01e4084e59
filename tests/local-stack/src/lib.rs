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
//! - [`stack`] starts and stops the processes (moto, `cargo lambda watch`) for the
//!   `local-stack` command.

pub mod functions;
pub mod names;
pub mod native;
pub mod provision;
pub mod pumps;
pub mod sim;
pub mod stack;
pub mod timeline;

use access_sync_rules::{Event, Instant};
use anyhow::{Result, bail};
use functions::Functions;
use pumps::Pumps;
use sim::SimAdmin;

/// Plays time and events through a stack.
pub struct Driver<F> {
    /// The pumps (and through them the functions).
    pub pumps: Pumps<F>,
    /// The simulator, whose clock the functions read.
    pub sim: SimAdmin,
}

impl<F: Functions> Driver<F> {
    /// Moves the clock to `t`: delivers what is queued, fires every edge due up to `t` at its
    /// own instant (draining after each), then sets the clock to `t`.
    ///
    /// # Errors
    /// A part of the stack could not be reached.
    pub async fn advance(&self, t: Instant) -> Result<()> {
        self.pumps.drain().await?;
        self.pumps.fire_due(t).await?;
        self.sim.set_clock(t).await?;
        self.pumps.drain().await?;
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
