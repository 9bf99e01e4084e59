//! What `ingest` checks of an authenticated request's events before publishing them, and the
//! replay ledger around the publishing (issue 15, "trust at the door"):
//!
//! 1. bounds and time ([`Limits`]): 400 naming the event (its line on the canonical route),
//!    the field and the limit; nothing published, nothing stored;
//! 2. the delivery is claimed in the ledger ([`DeliveryLedger`]): a delivery accepted before
//!    answers 200 `{"duplicate": true}` and publishes nothing (a platform retrying something we
//!    accepted must not see an error); one being published by another attempt right now
//!    answers 503 with `Retry-After`;
//! 3. publish (503 on failure: the claim lapses after [`CLAIM_SECS`], so the retry goes
//!    through);
//! 4. the delivery is marked done, remembered for `REPLAY_DAYS`.
//!
//! Settings (ingest's environment; every bad value is named at cold start):
//!
//! | variable | default | |
//! |---|---|---|
//! | `WEBHOOK_SECRET_CANONICAL` | unset: canonical route closed (404) | Secrets Manager name of the canonical route's secret |
//! | `REPLAY_DAYS` | `7` | how long an accepted signed delivery is remembered (1 to 90) |
//! | `MAX_FUTURE_SKEW_SECS` | `300` | how far an event's `at` may lie ahead of the clock |
//! | `MAX_EVENTS_PER_REQUEST` | `500` | |
//! | `MAX_GUESTS` | `50` | guests per entitlement |
//! | `MAX_REFS` | `50` | refs per entitlement |
//! | `MAX_BLOCKS` | `100` | weekly blocks per entitlement |
//! | `MAX_TEAM_MEMBERS` | `200` | members per team |
//! | `MAX_ID_BYTES` | `128` | any id |
//! | `MAX_EMAIL_BYTES` | `254` | any e-mail |
//! | `MAX_NAME_BYTES` | `128` | a member's name |
//!
//! Limits under which a stored item could exceed DynamoDB's 400 KB are refused at cold start
//! ([`access_sync_aws::dynamo::item_size`]).

use crate::routes::{publish, reply, retry_later};
use access_sync_ports::{Claim, DeliveryLedger, EventPublisher, OutboundEvent};
use access_sync_rules::limits::Limits;
use access_sync_rules::{Event, Instant};
use access_sync_runtime::messages::canonical_event;
use chrono::Duration;
use lambda_http::http::{StatusCode, header};
use lambda_http::{Body, Response};
use serde_json::json;

/// How long a claim holds before another attempt may take it over (seconds).
pub const CLAIM_SECS: i64 = 60;

/// The variable naming the canonical route's secret.
pub const CANONICAL_SECRET_VARIABLE: &str = "WEBHOOK_SECRET_CANONICAL";

/// Bounds and replay settings.
#[derive(Clone, Debug, PartialEq)]
pub struct TrustSettings {
    /// The bounds.
    pub limits: Limits,
    /// How long an accepted delivery is remembered (`REPLAY_DAYS`).
    pub replay_for: Duration,
}

impl Default for TrustSettings {
    fn default() -> Self {
        TrustSettings {
            limits: Limits::default(),
            replay_for: Duration::days(7),
        }
    }
}

impl TrustSettings {
    /// Reads the settings through `get` (the environment, or pairs in tests).
    ///
    /// # Errors
    /// One line per bad variable, and limits that would not fit a DynamoDB item.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<TrustSettings, Vec<String>> {
        let mut problems = Vec::new();
        let mut number =
            |name: &str, default: usize, range: std::ops::RangeInclusive<usize>| match get(name)
                .filter(|v| !v.trim().is_empty())
            {
                None => default,
                Some(v) => match v.trim().parse::<usize>() {
                    Ok(n) if range.contains(&n) => n,
                    _ => {
                        problems.push(format!(
                            "{name}={v:?} is not a whole number from {} to {}",
                            range.start(),
                            range.end()
                        ));
                        default
                    }
                },
            };
        let d = Limits::default();
        let limits = Limits {
            events_per_request: number("MAX_EVENTS_PER_REQUEST", d.events_per_request, 1..=10_000),
            guests: number("MAX_GUESTS", d.guests, 0..=1_000),
            refs: number("MAX_REFS", d.refs, 1..=1_000),
            blocks: number("MAX_BLOCKS", d.blocks, 0..=1_000),
            team_members: number("MAX_TEAM_MEMBERS", d.team_members, 1..=100_000),
            id_bytes: number("MAX_ID_BYTES", d.id_bytes, 8..=1_024),
            email_bytes: number("MAX_EMAIL_BYTES", d.email_bytes, 16..=1_024),
            name_bytes: number("MAX_NAME_BYTES", d.name_bytes, 0..=1_024),
            max_future_skew: Duration::seconds(number(
                "MAX_FUTURE_SKEW_SECS",
                d.max_future_skew.num_seconds() as usize,
                0..=86_400,
            ) as i64),
        };
        let replay_for = Duration::days(number("REPLAY_DAYS", 7, 1..=90) as i64);
        if let Err(e) = access_sync_aws::dynamo::item_size::check(&limits) {
            problems.push(e);
        }
        if problems.is_empty() {
            Ok(TrustSettings { limits, replay_for })
        } else {
            Err(problems)
        }
    }
}

/// The ledger and the settings, as ingest holds them.
pub struct Door<L> {
    /// Where accepted deliveries are remembered.
    pub ledger: L,
    /// Bounds and replay settings.
    pub settings: TrustSettings,
}

/// Checks `evs` against the bounds, then publishes them once per signed delivery `key`.
/// `lines` gives each event's line in the body (canonical route); `None` for a platform's.
pub async fn admit<P: EventPublisher, L: DeliveryLedger>(
    events: &P,
    door: &Door<L>,
    key: &str,
    evs: &[Event],
    lines: Option<&[usize]>,
    now: Instant,
) -> Response<Body> {
    if let Err(r) = door.settings.limits.check_all(evs, now) {
        let line = lines.and_then(|l| l.get(r.index - 1).copied());
        tracing::warn!(event = r.index, field = %r.field, limit = ?r.limit, "refused over a bound");
        let mut body = json!({
            "error": if r.field == "at" { "invalid event" } else { "over a limit" },
            "field": r.field,
            "reason": r.reason,
        });
        match line {
            Some(l) => body["line"] = json!(l),
            None if lines.is_some() => body["line"] = json!(r.index),
            None => body["event"] = json!(r.index),
        }
        if let Some(limit) = r.limit {
            body["limit"] = json!(limit);
        }
        return reply(StatusCode::BAD_REQUEST, body);
    }
    let out: Vec<OutboundEvent> = evs.iter().map(canonical_event).collect();
    let ids: Vec<&str> = evs.iter().map(|e| e.id.as_str()).collect();
    publish_once(events, door, key, &out, &ids, now).await
}

/// Publishes `out` once per signed delivery `key` (steps 2 to 4 of the module docs); `ids`
/// name the entries in an answer that says which were not delivered.
pub async fn publish_once<P: EventPublisher, L: DeliveryLedger>(
    events: &P,
    door: &Door<L>,
    key: &str,
    out: &[OutboundEvent],
    ids: &[&str],
    now: Instant,
) -> Response<Body> {
    let hold = now + Duration::seconds(CLAIM_SECS);
    match door.ledger.claim(key, now, hold).await {
        Ok(Claim::Fresh) => {}
        Ok(Claim::Done) => {
            tracing::info!("a signed delivery received before: nothing published");
            return reply(
                StatusCode::OK,
                json!({"accepted": 0, "duplicate": true,
                       "note": "this signed delivery was accepted before: nothing done again"}),
            );
        }
        Ok(Claim::InFlight { until }) => {
            let wait = (until - now).num_seconds().clamp(1, CLAIM_SECS);
            let mut r = reply(
                StatusCode::SERVICE_UNAVAILABLE,
                json!({"error": "this signed delivery is being processed: retry later"}),
            );
            r.headers_mut().insert(
                header::RETRY_AFTER,
                wait.to_string()
                    .parse()
                    .expect("a number is a valid header"),
            );
            return r;
        }
        Err(e) => {
            tracing::error!(error = %e, "the delivery ledger did not answer");
            return retry_later(json!({"error": "temporarily unavailable"}));
        }
    }
    let r = publish(events, out, ids).await;
    if r.status() == StatusCode::ACCEPTED
        && let Err(e) = door.ledger.done(key, now + door.settings.replay_for).await
    {
        // Published: answer so. The claim lapses; a replay after that is caught by the
        // events' own ids (recorded once each by the engine).
        tracing::error!(error = %e, "could not mark a published delivery done");
    }
    r
}
