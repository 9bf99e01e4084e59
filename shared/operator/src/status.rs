//! The installation at a glance: the brake and its held revokes, events held for a member not
//! yet described, dead letters, each platform's last sync, exclusions and the Kisi key's
//! health.

use crate::dead_letters::{DeadLetterQueue, DeadLetters, PEEK};
use crate::kisi::{KeyHealth, KisiLookup};
use crate::{Operator, OperatorError};
use access_sync_engine::{BrakeStatus, Store};
use access_sync_ports::{
    AccessControl, AuditAction, EdgeScheduler, Exclusion, ExclusionList, HeldSync, RunLog,
    RunRecord, SyncStateStore, entitlement_key, member_key, team_key,
};
use access_sync_rules::facts::Record;
use access_sync_rules::{EntitlementId, Holder, Instant};
use serde::Serialize;
use std::collections::BTreeSet;

/// A reconcile older than this (two missed 15-minute runs) is a problem.
pub const RECONCILE_LATE_MINUTES: i64 = 35;
/// How many system-wide audit entries are read to find held events.
const HOLD_SCAN: u32 = 500;
/// The most exclusions listed.
const EXCLUSIONS: u32 = 1000;

/// An entitlement stored and held because its holder has not been described yet (no e-mail
/// known): applied the moment the member or team event arrives.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct HeldEvent {
    /// When it was held.
    pub at: Instant,
    /// The entitlement.
    pub entitlement: String,
    /// `member:<id>` or `team:<id>` it waits for.
    pub waiting_for: String,
}

/// One platform's sync state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PlatformSync {
    /// The platform.
    pub platform: String,
    /// When the last complete full listing started.
    pub last_full: Option<Instant>,
    /// Incremental listings ask for changes since this instant.
    pub high_water: Option<Instant>,
    /// When the full listing in progress started, if one is.
    pub in_progress: Option<Instant>,
    /// Endings held by the sync's brake, waiting for an operator.
    pub held: Option<HeldSync>,
}

/// The installation at a glance.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Status {
    /// When it was read.
    pub at: Instant,
    /// The brake: held and discarded revokes, the budget used.
    pub brake: BrakeStatus,
    /// Events held for a member not yet described.
    pub held_events: Vec<HeldEvent>,
    /// Every dead-letter queue, fullest first.
    pub dead_letters: Vec<DeadLetterQueue>,
    /// Why the dead-letter queues could not be read, if so.
    pub dead_letters_error: Option<String>,
    /// The platforms that were ever synced through their API.
    pub platforms: Vec<PlatformSync>,
    /// E-mails whose Kisi user a person deleted (left alone).
    pub exclusions: Vec<Exclusion>,
    /// Whether Kisi accepts the key.
    pub kisi: KeyHealth,
    /// The last reconcile run and its result (`None`: it never ran, or ran before runs were
    /// recorded).
    pub last_reconcile: Option<RunRecord>,
}

impl Status {
    /// Problems first: whether anything needs the operator (held revokes, held events, dead
    /// letters, a rejected or unreachable Kisi key, held sync endings).
    pub fn problems(&self) -> Vec<String> {
        let mut p = Vec::new();
        match &self.last_reconcile {
            None => p.push("reconcile has not run (or not since runs are recorded)".into()),
            Some(r) if self.at - r.at > chrono::Duration::minutes(RECONCILE_LATE_MINUTES) => {
                p.push(format!(
                    "reconcile last ran {} ({} minutes ago)",
                    access_sync_rules::time::format_instant(r.at),
                    (self.at - r.at).num_minutes()
                ));
            }
            Some(r) if r.outcome != "ok" => {
                p.push(format!("the last reconcile was {}", r.outcome));
            }
            Some(_) => {}
        }
        let held = self
            .brake
            .holds
            .iter()
            .filter(|h| h.discarded.is_none())
            .count();
        if held > 0 {
            p.push(format!(
                "{held} revoke(s) held by the brake (access-sync brake status)"
            ));
        }
        if !self.held_events.is_empty() {
            p.push(format!(
                "{} event(s) held for a member not yet described",
                self.held_events.len()
            ));
        }
        let dead: u64 = self.dead_letters.iter().map(|q| q.depth).sum();
        if dead > 0 {
            p.push(format!("{dead} dead-lettered message(s)"));
        }
        if let Some(e) = &self.dead_letters_error {
            p.push(format!("dead-letter queues not read: {e}"));
        }
        match &self.kisi {
            KeyHealth::Ok(_) => {}
            KeyHealth::Rejected(e) => p.push(format!("Kisi rejected the API key: {e}")),
            KeyHealth::Unavailable(e) => p.push(format!("Kisi unavailable: {e}")),
        }
        for s in &self.platforms {
            if let Some(h) = &s.held {
                p.push(format!(
                    "{}: sync held {} ending(s) for an operator",
                    s.platform, h.ended
                ));
            }
        }
        p
    }
}

/// The entitlement id an event-hold audit cause names (`entitlement <id> held: …`).
fn held_entitlement(cause: &str) -> Option<&str> {
    cause.strip_prefix("entitlement ")?.split(" held: ").next()
}

impl<S, K, E, Q> Operator<S, K, E, Q>
where
    S: Store + SyncStateStore + ExclusionList + RunLog + Sync,
    K: AccessControl + KisiLookup,
    E: EdgeScheduler + Send + Sync,
    Q: DeadLetters,
{
    /// The installation's status at `now`.
    ///
    /// # Errors
    /// Store failures (the dead-letter queues and Kisi report their failures in the answer).
    pub async fn status(&self, now: Instant) -> Result<Status, OperatorError> {
        let engine = self.engine();
        let brake = engine.brake_status(now).await?;
        let held_events = self.held_events().await?;
        let (dead_letters, dead_letters_error) = match self.dead_letters().queues(PEEK).await {
            Ok(q) => (q, None),
            Err(e) => (Vec::new(), Some(e)),
        };
        let mut platforms = Vec::new();
        for p in access_sync_platforms::Platform::ALL {
            let s = engine.store().progress(p.as_str()).await?;
            if s == Default::default() {
                continue;
            }
            platforms.push(PlatformSync {
                platform: p.as_str().to_string(),
                last_full: s.last_full,
                high_water: s.high_water,
                in_progress: s.full.as_ref().map(|f| f.started),
                held: s.held,
            });
        }
        Ok(Status {
            at: now,
            brake,
            held_events,
            dead_letters,
            dead_letters_error,
            platforms,
            exclusions: engine.store().exclusions(EXCLUSIONS).await?,
            kisi: engine.kisi().health().await,
            last_reconcile: engine.store().last_run("reconcile").await?,
        })
    }

    /// Entitlements held because their holder has not been described yet and still waiting
    /// (the member has no e-mail yet, or the team was never described), newest first.
    ///
    /// # Errors
    /// Store failures.
    pub async fn held_events(&self) -> Result<Vec<HeldEvent>, OperatorError> {
        let store = self.engine().store();
        let entries = store.history("*", HOLD_SCAN).await?;
        let mut seen = BTreeSet::new();
        let mut out = Vec::new();
        for e in entries {
            if e.action != AuditAction::Hold || e.pair.is_some() {
                continue;
            }
            let Some(id) = held_entitlement(&e.cause) else {
                continue;
            };
            if !seen.insert(id.to_string()) {
                continue;
            }
            let key = entitlement_key(&EntitlementId(id.to_string()));
            let Some(Record::Entitlement(rec)) = store.canonical_record(&key).await? else {
                continue;
            };
            let Some(v) = &rec.current else { continue };
            let waiting = match &v.holder {
                Holder::Member(m) => match store.canonical_record(&member_key(m)).await? {
                    Some(Record::Member(r)) => r.email.is_none(),
                    _ => true,
                },
                Holder::Team(t) => store.canonical_record(&team_key(t)).await?.is_none(),
            };
            if waiting {
                out.push(HeldEvent {
                    at: e.at,
                    entitlement: id.to_string(),
                    waiting_for: access_sync_ports::holder_key(&v.holder),
                });
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::held_entitlement;

    #[test]
    fn the_held_entitlement_is_read_from_the_engines_hold_cause() {
        assert_eq!(
            held_entitlement(
                "entitlement officernd:membership:42 held: its holder Member(\"m9\") has not been described yet"
            ),
            Some("officernd:membership:42")
        );
        assert_eq!(held_entitlement("brake: 3 revokes held"), None);
    }
}
