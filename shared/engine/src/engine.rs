//! The engine: the one converge path and the handling of platform events, over the ports.
//!
//! Every writer of Kisi state goes through [`Engine::converge`]: desired access (the rules over
//! the stored facts) against the role assignments we own, one decision per (e-mail, group),
//! carried out on Kisi, recorded as ownership and audit in one transaction, and the next edge
//! scheduled. Events, edges, reconcile and mapping changes only say *when* to converge.
//!
//! Safe to run twice, concurrently, or late:
//! - an intent (pair + exact `valid_until`) is written before every create; a grant that Kisi
//!   already has (a crash after the Kisi call, a lost answer, a concurrent converge) comes back
//!   as a 409 and is ours only if an intent asked for its `valid_until` — otherwise it is held
//!   by hand and never touched (see [`crate::claims`]); a revoke of something already gone is
//!   success;
//! - every `valid_until` is bounded by the lease and renewed at the pair's next edge;
//! - a remembered Kisi user that a person deleted is not re-created: the e-mail is excluded
//!   until an operator lifts it ([`crate::exclusions`]);
//! - ownership is written with optimistic concurrency: a converge that lost the race re-reads
//!   and decides again;
//! - schedules have deterministic names, so re-scheduling an edge is a no-op, and an edge that
//!   is already due converges at once.

use crate::brake::saving_mark;
use crate::claims::{Claimed, is_ours};
use access_sync_ports::{AccessControl, AccessError, Assignment, Granted};
use access_sync_ports::{
    AuditAction, AuditEntry, AuditLog, Begin, Edge, EdgeScheduler, Exclusion, FactStore,
    GrantIntent, HeldByHand, Idempotency, IdempotencyError, IdempotencyKey, Ownership,
    OwnershipChange, OwnershipStore, SafetyStore, ScheduleError, ScheduleOutcome, StoreError,
    Version, Versioned,
};
use access_sync_rules::brake::BrakeConfig;
use access_sync_rules::converge::{Decision, Owned, wants_user};
use access_sync_rules::event::{Body, Holder};
use access_sync_rules::facts::{Facts, Warning};
use access_sync_rules::lease::Lease;
use access_sync_rules::mapping::{Mappings, NotifyPolicy};
use access_sync_rules::time::format_instant;
use access_sync_rules::{Access, Email, Event, GroupId, Instant, Pair};
use chrono::Duration;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

/// Everything converge and event handling need to persist: facts, ownership, audit,
/// idempotency. One DynamoDB table in production.
pub trait Store: FactStore + OwnershipStore + AuditLog + Idempotency + SafetyStore {}
impl<T: FactStore + OwnershipStore + AuditLog + Idempotency + SafetyStore> Store for T {}

/// Why converge runs (recorded in the audit cause; an event may also create the Kisi user
/// early so the invitation arrives before the door matters).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    /// A platform event changed facts.
    Event,
    /// A scheduled open/close edge.
    Edge,
    /// The 15-minute reconcile found drift.
    Reconcile,
    /// The operator changed the mapping file.
    Mapping,
    /// An operator command (e.g. lifting an exclusion).
    Operator,
    /// The operator released held revokes (`access-sync brake release`): the brake is
    /// bypassed for the pairs of this converge.
    Release,
    /// The operator erased the person's records (`access-sync erase --force`).
    Erasure,
}

/// Engine settings.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Name of the function handling events: part of the idempotency key.
    pub function: String,
    /// How long an event's idempotency lock is held while it is handled.
    pub lock_for: Duration,
    /// How long a loaded mapping file is reused before it is read again.
    pub mapping_ttl: Duration,
    /// The one brake on revokes and shortened windows (see [`crate::brake`]).
    pub brake: BrakeConfig,
    /// The longest `valid_until` of any assignment, renewed while access lasts.
    pub lease: Lease,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            function: "access-sync".into(),
            lock_for: Duration::seconds(60),
            mapping_ttl: Duration::seconds(60),
            brake: BrakeConfig::default(),
            lease: Lease::default(),
        }
    }
}

/// A failure of the engine; [`EngineError::is_retryable`] decides whether the trigger is
/// retried (SQS redelivery, Scheduler retry) or dead-lettered.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Kisi failed.
    #[error(transparent)]
    Access(#[from] AccessError),
    /// The scheduler failed.
    #[error(transparent)]
    Schedule(#[from] ScheduleError),
    /// Idempotency records failed (or another invocation holds the event).
    #[error(transparent)]
    Idempotency(#[from] IdempotencyError),
    /// The stored mapping file does not parse.
    #[error("the stored mapping file is invalid: {0}")]
    Mapping(String),
    /// Lost optimistic-concurrency races too many times in a row.
    #[error("gave up after repeated write conflicts: {0}")]
    Contended(String),
}

impl EngineError {
    /// Whether retrying the trigger later may succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            EngineError::Store(e) => e.is_retryable(),
            EngineError::Access(e) => e.is_retryable(),
            EngineError::Schedule(e) => e.is_retryable(),
            EngineError::Idempotency(e) => e.is_retryable(),
            EngineError::Contended(_) => true,
            EngineError::Mapping(_) => false,
        }
    }
}

/// One pair's outcome in a converge.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    /// Which pair.
    pub pair: Pair,
    /// What was done.
    pub decision: Decision,
    /// When converge will run again for it.
    pub next_edge: Option<Instant>,
}

/// What applying one event did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Handled {
    /// The pairs whose access the event can change: converge these.
    pub pairs: Vec<Pair>,
    /// The delivery id was handled before: nothing was done again.
    #[serde(default)]
    pub duplicate: bool,
    /// The event was older than what is stored: ignored.
    #[serde(default)]
    pub stale: bool,
    /// Warnings for the operator.
    #[serde(default)]
    pub warnings: Vec<String>,
}

impl Handled {
    /// The pairs grouped by e-mail: one converge each.
    pub fn by_email(&self) -> BTreeMap<Email, BTreeSet<GroupId>> {
        let mut out: BTreeMap<Email, BTreeSet<GroupId>> = BTreeMap::new();
        for p in &self.pairs {
            out.entry(p.email.clone()).or_default().insert(p.group);
        }
        out
    }
}

struct CachedMapping {
    version: Option<Version>,
    mappings: Arc<Mappings>,
    loaded_at: Instant,
}

/// The engine, generic over its ports.
pub struct Engine<S, K, E> {
    store: S,
    kisi: K,
    edges: E,
    settings: Settings,
    mapping: Mutex<Option<CachedMapping>>,
}

pub(crate) fn closed_access() -> Access {
    Access {
        open: false,
        until: None,
        next_change: None,
        next_open: None,
        reasons: BTreeSet::new(),
        parts: Vec::new(),
    }
}

fn cause(trigger: Trigger, access: &Access, what: &str) -> String {
    let reasons: Vec<&str> = access.reasons.iter().map(|r| r.as_str()).collect();
    let trig = match trigger {
        Trigger::Event => "event",
        Trigger::Edge => "edge",
        Trigger::Reconcile => "reconcile",
        Trigger::Mapping => "mapping",
        Trigger::Operator => "operator",
        Trigger::Release => "release",
        Trigger::Erasure => "erasure",
    };
    if reasons.is_empty() {
        format!("{what} ({trig})")
    } else {
        format!("{what} ({trig}; {})", reasons.join(", "))
    }
}

pub(crate) fn until_text(u: Option<Instant>) -> String {
    u.map(format_instant).unwrap_or_else(|| "open-ended".into())
}

impl<S: Store, K: AccessControl, E: EdgeScheduler> Engine<S, K, E> {
    /// An engine over its ports.
    pub fn new(store: S, kisi: K, edges: E, settings: Settings) -> Self {
        Engine {
            store,
            kisi,
            edges,
            settings,
            mapping: Mutex::new(None),
        }
    }

    /// The settings.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The Kisi port.
    pub fn kisi(&self) -> &K {
        &self.kisi
    }

    /// The edge scheduler.
    pub fn edges(&self) -> &E {
        &self.edges
    }

    /// The lease every assignment is granted under.
    pub fn lease(&self) -> Lease {
        self.settings.lease
    }

    /// The current mapping file (cached for [`Settings::mapping_ttl`]). With none stored yet
    /// every group is unmanaged: facts are still recorded, nothing is granted.
    ///
    /// # Errors
    /// Store failures; a stored mapping that does not parse.
    pub async fn mapping(&self, now: Instant) -> Result<Arc<Mappings>, EngineError> {
        if let Ok(guard) = self.mapping.lock()
            && let Some(c) = guard.as_ref()
            && now >= c.loaded_at
            && now - c.loaded_at < self.settings.mapping_ttl
        {
            return Ok(c.mappings.clone());
        }
        let stored = self.store.mapping().await?;
        let (version, mappings) = match stored {
            None => (None, Mappings::default()),
            Some(v) => (
                Some(v.version),
                Mappings::parse(&v.value).map_err(|e| EngineError::Mapping(e.to_string()))?,
            ),
        };
        let mappings = Arc::new(mappings);
        if let Ok(mut guard) = self.mapping.lock() {
            *guard = Some(CachedMapping {
                version,
                mappings: mappings.clone(),
                loaded_at: now,
            });
        }
        Ok(mappings)
    }

    /// Forgets the cached mapping (after `mappings apply`).
    pub fn forget_mapping(&self) {
        if let Ok(mut guard) = self.mapping.lock() {
            *guard = None;
        }
    }

    /// The version of the cached mapping, if one is loaded.
    pub fn mapping_version(&self) -> Option<Version> {
        self.mapping
            .lock()
            .ok()
            .and_then(|g| g.as_ref().and_then(|c| c.version))
    }

    /// Applies one canonical event to the stored facts, once per delivery id, and returns the
    /// pairs it can change. The caller converges them (directly, or through the converge
    /// queue).
    ///
    /// # Errors
    /// Retryable store and idempotency failures (`InProgress`: another invocation is handling
    /// the same delivery); a stored mapping that does not parse.
    pub async fn handle_event(&self, ev: &Event, now: Instant) -> Result<Handled, EngineError> {
        let key = IdempotencyKey::new(&self.settings.function, &ev.id);
        let lock = match self
            .store
            .begin(&key, now, now + self.settings.lock_for)
            .await?
        {
            Begin::Completed(saved) => {
                let mut h: Handled = serde_json::from_value(saved).unwrap_or_default();
                h.duplicate = true;
                return Ok(h);
            }
            Begin::Proceed(lock) => lock,
        };
        match self.apply_event(ev, now).await {
            Ok(mut h) => {
                if lock.taken_over {
                    // An earlier attempt at this delivery died before completing it, perhaps
                    // after saving the facts: applied again, the event may touch nothing (a
                    // removal already saved has erased the address it touched). Its dirty
                    // marks still name the pairs: converge them now, not at the next
                    // reconcile (which still does, from the same marks, if this read fails).
                    match self.marked_by(&ev.id).await {
                        Ok(marked) => {
                            let mut pairs: BTreeSet<Pair> = h.pairs.drain(..).collect();
                            pairs.extend(marked);
                            h.pairs = pairs.into_iter().collect();
                        }
                        Err(e) => {
                            tracing::warn!(event = %ev.id, error = %e, "dirty marks not read")
                        }
                    }
                }
                let saved = serde_json::to_value(&h).unwrap_or_default();
                self.store.complete(&lock, &saved, now).await?;
                Ok(h)
            }
            Err(e) => {
                // Release so the redelivery runs at once; if this fails too the lock expires.
                let _ = self.store.release(&lock).await;
                Err(e)
            }
        }
    }

    async fn apply_event(&self, ev: &Event, now: Instant) -> Result<Handled, EngineError> {
        let mapping = self.mapping(now).await?;
        for _ in 0..5 {
            let loaded = self.store.load_for_event(&ev.body).await?;
            let mut facts = Facts::from_records(loaded.records.iter().cloned());
            let applied = facts.apply(ev, &mapping);
            let warnings = applied.warnings.iter().map(Warning::to_string).collect();
            let Some(record) = applied.record else {
                return Ok(Handled {
                    stale: true,
                    warnings,
                    ..Handled::default()
                });
            };
            // The dirty marks go in before the facts: a delivery that stops for good right
            // after the save (the function dies there, then the message is dead-lettered) must
            // still leave reconcile the pairs it changed. A mark whose facts are never saved
            // costs one converge that changes nothing. No mark, no save: the event is retried.
            self.mark_dirty(&applied.pairs, &saving_mark(&ev.id), now)
                .await?;
            match self.store.save(&loaded, &record).await {
                Ok(_) => {
                    // Again under the event's own id: a converge that read the mark above
                    // before this save (so not these facts) clears only that one.
                    if let Err(e) = self.mark_dirty(&applied.pairs, &ev.id, now).await {
                        tracing::warn!(event = %ev.id, error = %e, "dirty marks not rewritten");
                    }
                    if let Some(hold) = held(ev, &facts, now) {
                        // Best effort: the facts are saved, the hold is applied when the
                        // holder arrives whether or not this note is written.
                        if let Err(e) = self.store.record(&[hold]).await {
                            tracing::warn!(event = %ev.id, error = %e, "hold not audited");
                        }
                    }
                    return Ok(Handled {
                        pairs: applied.pairs.into_iter().collect(),
                        warnings,
                        ..Handled::default()
                    });
                }
                Err(StoreError::VersionMismatch { .. }) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(EngineError::Contended(format!("event {}", ev.id)))
    }

    /// Makes Kisi right for `email` in `groups` at `now`: the one converge path.
    ///
    /// # Errors
    /// Retryable store, Kisi and scheduler failures (the trigger is retried; every step is
    /// safe to repeat); repeated write conflicts.
    pub async fn converge(
        &self,
        email: &Email,
        groups: &BTreeSet<GroupId>,
        now: Instant,
        trigger: Trigger,
    ) -> Result<Vec<Step>, EngineError> {
        let mut steps = Vec::new();
        let mut todo = groups.clone();
        // An edge that is already due when scheduled converges again at once; a few rounds are
        // plenty (each round moves past at least one edge).
        for _ in 0..4 {
            if todo.is_empty() {
                break;
            }
            let (done, due) = self.converge_retrying(email, &todo, now, trigger).await?;
            steps.extend(done);
            todo = due;
        }
        Ok(steps)
    }

    async fn converge_retrying(
        &self,
        email: &Email,
        groups: &BTreeSet<GroupId>,
        now: Instant,
        trigger: Trigger,
    ) -> Result<(Vec<Step>, BTreeSet<GroupId>), EngineError> {
        for _ in 0..4 {
            match self.converge_once(email, groups, now, trigger).await {
                Err(EngineError::Store(StoreError::VersionMismatch { .. })) => continue,
                r => return r,
            }
        }
        Err(EngineError::Contended(format!("converge {email}")))
    }

    async fn converge_once(
        &self,
        email: &Email,
        groups: &BTreeSet<GroupId>,
        now: Instant,
        trigger: Trigger,
    ) -> Result<(Vec<Step>, BTreeSet<GroupId>), EngineError> {
        let mapping = self.mapping(now).await?;
        // The notes first: a dirty mark seen here under its event's id was written after the
        // event's facts were saved, so the facts read below include that event and the mark
        // may be cleared. One written before the save (`saving_mark`) may be cleared too: the
        // event rewrites it under its own id once the facts are saved.
        let mut gate = self.open_gate(email, trigger).await?;
        let records = self.store.facts_for_email(email).await?;
        self.gate_facts(&mut gate, &records);
        let facts = Facts::from_records(records);
        let view = self.store.owner_view(email.as_str()).await?;
        let owned: BTreeMap<GroupId, Versioned<Ownership>> = view
            .owned
            .iter()
            .map(|o| (o.value.pair.group, o.clone()))
            .collect();
        let by_hand: BTreeMap<GroupId, HeldByHand> = view
            .by_hand
            .iter()
            .map(|h| (h.pair.group, h.clone()))
            .collect();
        let mut intents: BTreeMap<GroupId, Vec<GrantIntent>> = BTreeMap::new();
        for i in &view.intents {
            intents.entry(i.pair.group).or_default().push(i.clone());
        }
        // An operator removed this person's Kisi user: nothing is granted, nothing re-created.
        let excluded = view.excluded.is_some();
        let lease = self.settings.lease;
        let managed = mapping.managed_targets();
        let notify = mapping.defaults.notify;
        let name = facts
            .members_with_email(email)
            .iter()
            .find_map(|m| facts.member(m).and_then(|r| r.name.clone()));
        // The Kisi user, if we know it: remembered, or from an assignment we own.
        let mut user = view
            .kisi_user
            .or_else(|| owned.values().next().map(|o| o.value.user_id));

        // 1. Decide every pair (the brake's budget is the only I/O: every revoke or shortened
        // window is taken from it, or held).
        let mut plans = Vec::new();
        let mut want_user = false;
        for &group in groups {
            let pair = Pair {
                email: email.clone(),
                group,
            };
            let mine = owned.get(&group);
            // A group in no mapping is never touched, unless it holds an assignment we created
            // (its mapping was removed): that one is ours to take back.
            if !managed.contains(&group) && mine.is_none() {
                continue;
            }
            let access = if managed.contains(&group) && !excluded {
                facts.access(&mapping, &pair, now)
            } else {
                closed_access()
            };
            want_user |= wants_user(&access);
            let held = mine.map(|o| Owned {
                valid_until: o.value.valid_until,
            });
            let decision = lease.decide_for(group, &access, held.as_ref(), now);
            let decision =
                (self.gate(&mut gate, &pair, decision, held.as_ref(), &access, now)).await?;
            plans.push((pair, access, decision));
        }

        // 2. Before any create: the Kisi user, and an intent for every grant, so an answer
        // lost on the way back (or a crash before the ownership write) is still known as ours.
        // A place grant has no `valid_until` and so no intent: Kisi shows no window on a place
        // role that could match one, so a place role we hold no record of is held by hand.
        let creates: Vec<GrantIntent> = plans
            .iter()
            .filter_map(|(pair, _, d)| match d {
                Decision::Grant { valid_until } | Decision::Replace { valid_until } => valid_until
                    .map(|valid_until| GrantIntent {
                        pair: pair.clone(),
                        valid_until,
                        at: now,
                    }),
                Decision::Keep | Decision::Revoke => None,
            })
            .collect();
        let mut before = Vec::new();
        if !creates.is_empty() && user.is_none() {
            let u = self
                .kisi
                .ensure_user(email, name.as_deref(), notify)
                .await?;
            user = Some(u);
            before.push(OwnershipChange::RememberUser {
                email: email.as_str().to_string(),
                user_id: u,
            });
        }
        before.extend(creates.iter().cloned().map(OwnershipChange::Intend));
        if !before.is_empty() {
            self.store.apply_ownership(&before, &[]).await?;
        }

        // 3. Carry the decisions out.
        let mut changes = Vec::new();
        let mut audit = Vec::new();
        let mut steps = Vec::new();
        let mut gone = false;
        for (pair, access, decision) in plans {
            let group = pair.group;
            let mine = owned.get(&group);
            let hand = by_hand.get(&group);
            let mut pending = intents.remove(&group).unwrap_or_default();
            for i in creates.iter().filter(|i| i.pair == pair) {
                // The same intent again (a retry at the same instant) is one record.
                if !pending.iter().any(|p| p.valid_until == i.valid_until) {
                    pending.push(i.clone());
                }
            }
            let forget = |changes: &mut Vec<OwnershipChange>| {
                changes.extend(pending.iter().cloned().map(OwnershipChange::ForgetIntent));
            };
            let mut held_after = mine.and_then(|o| o.value.valid_until);
            let mut done = decision;
            match (decision, mine) {
                (Decision::Keep, None) if !access.open && !pending.is_empty() => {
                    // An earlier grant may have reached Kisi without its answer: undo it.
                    if let Some(u) = user
                        && let Some(id) = self.orphan_of(u, group, &pending).await?
                    {
                        self.kisi.revoke(id).await?;
                        audit.push(AuditEntry {
                            at: now,
                            pair: Some(pair.clone()),
                            action: AuditAction::Revoke,
                            cause: cause(
                                trigger,
                                &access,
                                "revoked an assignment of ours whose grant was never recorded \
                                 (its answer was lost)",
                            ),
                        });
                    }
                    forget(&mut changes);
                }
                (Decision::Keep, _) => {}
                (Decision::Grant { .. } | Decision::Replace { .. }, _) if gone => {
                    done = Decision::Keep;
                }
                (Decision::Grant { valid_until }, _) => {
                    let Some(u) = user else { continue };
                    let claimed = match self.claim(u, group, valid_until, notify, &pending).await {
                        // A place opens no door: Kisi refusing it (an unknown place, a role id
                        // it does not know) is recorded and leaves the person's doors alone.
                        Err(EngineError::Access(AccessError::Refused(why))) if group.is_place() => {
                            audit.push(AuditEntry {
                                at: now,
                                pair: Some(pair.clone()),
                                action: AuditAction::Skip,
                                cause: cause(
                                    trigger,
                                    &access,
                                    &format!("Kisi refused the place role: {why}"),
                                ),
                            });
                            forget(&mut changes);
                            steps.push(Step {
                                pair,
                                decision: Decision::Keep,
                                next_edge: lease.next_edge_for(group, &access, None),
                            });
                            continue;
                        }
                        other => other?,
                    };
                    match claimed {
                        Claimed::Ours { id, confirmed } => {
                            changes.push(OwnershipChange::Create(Ownership {
                                pair: pair.clone(),
                                assignment_id: id,
                                user_id: u,
                                valid_until,
                            }));
                            forget(&mut changes);
                            let mut what = format!("granted until {}", until_text(valid_until));
                            if confirmed {
                                what.push_str(" (found after a lost answer: ours)");
                            }
                            if hand.is_some() {
                                changes.push(OwnershipChange::ReleaseByHand { pair: pair.clone() });
                                what.push_str(" (the hand-made assignment is gone)");
                            }
                            audit.push(AuditEntry {
                                at: now,
                                pair: Some(pair.clone()),
                                action: AuditAction::Grant,
                                cause: cause(trigger, &access, &what),
                            });
                            held_after = valid_until;
                        }
                        Claimed::ByHand(a) => {
                            forget(&mut changes);
                            hold_by_hand(
                                &pair,
                                &a,
                                hand,
                                now,
                                trigger,
                                &access,
                                &mut changes,
                                &mut audit,
                            );
                            done = Decision::Keep;
                            held_after = None;
                        }
                        Claimed::UserGone => {
                            forget(&mut changes);
                            exclude(&pair, u, now, &mut changes, &mut audit);
                            gone = true;
                            done = Decision::Keep;
                            held_after = None;
                        }
                    }
                }
                (Decision::Replace { valid_until }, Some(o)) => {
                    // Kisi holds one assignment per user and group and cannot reliably change
                    // its window: replace it, without a second invitation.
                    self.kisi.revoke(o.value.assignment_id).await?;
                    let u = o.value.user_id;
                    match self
                        .claim(u, group, valid_until, NotifyPolicy::Never, &pending)
                        .await?
                    {
                        Claimed::Ours { id, .. } => {
                            changes.push(OwnershipChange::Update {
                                ownership: Ownership {
                                    pair: pair.clone(),
                                    assignment_id: id,
                                    user_id: u,
                                    valid_until,
                                },
                                expected: o.version,
                            });
                            forget(&mut changes);
                            audit.push(AuditEntry {
                                at: now,
                                pair: Some(pair.clone()),
                                action: AuditAction::Grant,
                                cause: cause(
                                    trigger,
                                    &access,
                                    &format!("now valid until {}", until_text(valid_until)),
                                ),
                            });
                            held_after = valid_until;
                        }
                        other => {
                            // Ours is gone; what holds the pair now is not ours.
                            changes.push(OwnershipChange::Delete {
                                pair: pair.clone(),
                                expected: o.version,
                            });
                            forget(&mut changes);
                            match other {
                                Claimed::ByHand(a) => hold_by_hand(
                                    &pair,
                                    &a,
                                    hand,
                                    now,
                                    trigger,
                                    &access,
                                    &mut changes,
                                    &mut audit,
                                ),
                                _ => {
                                    exclude(&pair, u, now, &mut changes, &mut audit);
                                    gone = true;
                                }
                            }
                            done = Decision::Revoke;
                            held_after = None;
                        }
                    }
                }
                (Decision::Revoke, Some(o)) => {
                    self.kisi.revoke(o.value.assignment_id).await?;
                    changes.push(OwnershipChange::Delete {
                        pair: pair.clone(),
                        expected: o.version,
                    });
                    forget(&mut changes);
                    audit.push(AuditEntry {
                        at: now,
                        pair: Some(pair.clone()),
                        action: AuditAction::Revoke,
                        cause: cause(trigger, &access, "revoked"),
                    });
                    held_after = None;
                }
                // `decide` replaces or revokes only what is owned.
                (Decision::Replace { .. } | Decision::Revoke, None) => {}
            }
            let next_edge = lease.next_edge_for(group, &access, held_after);
            steps.push(Step {
                pair,
                decision: done,
                next_edge,
            });
        }

        // Invite early: the user exists before the door matters (events only, so edges and
        // reconcile do not look the user up again and again).
        if want_user && user.is_none() && trigger == Trigger::Event && !excluded && !gone {
            let u = self
                .kisi
                .ensure_user(email, name.as_deref(), notify)
                .await?;
            changes.insert(
                0,
                OwnershipChange::RememberUser {
                    email: email.as_str().to_string(),
                    user_id: u,
                },
            );
        }
        if !changes.is_empty() || !audit.is_empty() {
            self.store.apply_ownership(&changes, &audit).await?;
        }
        self.close_gate(gate, email, groups, now).await?;

        let mut due = BTreeSet::new();
        for s in &steps {
            if let Some(t) = s.next_edge {
                match self.edges.schedule(&Edge::new(&s.pair, t), now).await? {
                    ScheduleOutcome::Created | ScheduleOutcome::AlreadyScheduled => {}
                    ScheduleOutcome::Immediate => {
                        due.insert(s.pair.group);
                    }
                }
            }
        }
        Ok((steps, due))
    }

    /// Asks Kisi for the grant and says whose assignment holds the pair afterwards: ours
    /// (created, or an earlier attempt of ours found after a 409, with exactly `valid_until`),
    /// a hand-made one (left as it is), or none because the user was deleted in Kisi.
    async fn claim(
        &self,
        user: u64,
        group: GroupId,
        valid_until: Option<Instant>,
        notify: NotifyPolicy,
        intents: &[GrantIntent],
    ) -> Result<Claimed, EngineError> {
        let granted = match self.kisi.grant(user, group, valid_until, notify).await {
            Ok(g) => g,
            // A user deleted in Kisi cannot be granted anything: find out whether that is why.
            // A 404 for the user is believed only once a complete listing of the group has
            // proven that the API answers (a wrong base URL answers 404 to everything).
            Err(AccessError::Refused(why)) => {
                if self.kisi.user_email(user).await?.is_some() {
                    return Err(AccessError::Refused(why).into());
                }
                let listed = self.kisi.group_assignments(group).await?;
                return if listed.iter().any(|a| a.user == user) {
                    Err(AccessError::Refused(why).into())
                } else {
                    Ok(Claimed::UserGone)
                };
            }
            Err(e) => return Err(e.into()),
        };
        match granted {
            Granted::Created(a) => Ok(Claimed::Ours {
                id: a.id,
                confirmed: false,
            }),
            Granted::OtherRole(a) => Ok(Claimed::ByHand(a)),
            Granted::Adopted(a) if !is_ours(&a, intents) => Ok(Claimed::ByHand(a)),
            Granted::Adopted(a) if a.valid_until == valid_until => Ok(Claimed::Ours {
                id: a.id,
                confirmed: true,
            }),
            Granted::Adopted(a) => {
                // An earlier attempt of ours with another window: replace it.
                self.kisi.revoke(a.id).await?;
                match self
                    .kisi
                    .grant(user, group, valid_until, NotifyPolicy::Never)
                    .await?
                {
                    Granted::Created(b) => Ok(Claimed::Ours {
                        id: b.id,
                        confirmed: true,
                    }),
                    Granted::Adopted(b) if b.valid_until == valid_until && is_ours(&b, intents) => {
                        Ok(Claimed::Ours {
                            id: b.id,
                            confirmed: true,
                        })
                    }
                    Granted::Adopted(b) | Granted::OtherRole(b) => Ok(Claimed::ByHand(b)),
                }
            }
        }
    }

    /// The assignment of `user` in `group` that one of `intents` created, if Kisi has one
    /// (a complete read of the group; only after a grant whose answer was lost).
    async fn orphan_of(
        &self,
        user: u64,
        group: GroupId,
        intents: &[GrantIntent],
    ) -> Result<Option<u64>, EngineError> {
        Ok(self
            .kisi
            .group_assignments(group)
            .await?
            .into_iter()
            .find(|a| a.user == user && is_ours(a, intents))
            .map(|a| a.id))
    }
}

/// Records a hand-made assignment for the pair (once per assignment) and says so in the audit.
#[allow(clippy::too_many_arguments)]
fn hold_by_hand(
    pair: &Pair,
    found: &Assignment,
    known: Option<&HeldByHand>,
    now: Instant,
    trigger: Trigger,
    access: &Access,
    changes: &mut Vec<OwnershipChange>,
    audit: &mut Vec<AuditEntry>,
) {
    if known.is_some_and(|h| h.assignment_id == found.id) {
        return;
    }
    changes.push(OwnershipChange::HoldByHand(HeldByHand {
        pair: pair.clone(),
        assignment_id: found.id,
        user_id: found.user,
        since: now,
    }));
    audit.push(AuditEntry {
        at: now,
        pair: Some(pair.clone()),
        action: AuditAction::ByHand,
        cause: cause(
            trigger,
            access,
            &format!(
                "held by hand: Kisi assignment {} (valid until {}) was not made by access-sync; \
                 left exactly as it is, never changed or revoked; ours is granted once it is gone",
                found.id,
                until_text(found.valid_until)
            ),
        ),
    });
}

/// Records that a person deleted the Kisi user we used for this e-mail.
fn exclude(
    pair: &Pair,
    user: u64,
    now: Instant,
    changes: &mut Vec<OwnershipChange>,
    audit: &mut Vec<AuditEntry>,
) {
    changes.push(OwnershipChange::Exclude(Exclusion {
        email: pair.email.clone(),
        user_id: user,
        since: now,
    }));
    audit.push(AuditEntry {
        at: now,
        pair: Some(pair.clone()),
        action: AuditAction::Exclude,
        cause: format!(
            "excluded: Kisi user {user} was deleted in Kisi by a person; access-sync will not \
             create it again nor grant it anything until an operator runs \
             `access-sync kisi include {}`",
            pair.email
        ),
    });
}

/// The audit note for an entitlement whose holder nobody has described yet (an OfficeRnD
/// membership names a member id only): it is stored and held, and applied when the member (or
/// team) event arrives. Nothing is lost; the audit log says why nobody has access yet.
fn held(ev: &Event, facts: &Facts, now: Instant) -> Option<AuditEntry> {
    let Body::Entitlement(e) = &ev.body else {
        return None;
    };
    let dangling = facts.dangling();
    let waiting = match &e.holder {
        Holder::Member(m) => dangling.contains(&Warning::MemberWithoutEmail(m.clone())),
        Holder::Team(t) => dangling.contains(&Warning::TeamNeverDescribed(t.clone())),
    };
    waiting.then(|| AuditEntry {
        at: now,
        pair: None,
        action: AuditAction::Hold,
        cause: format!(
            "entitlement {} held: its holder {:?} has not been described yet (no e-mail known); \
             applied when the member or team event arrives (event {})",
            e.id.as_str(),
            e.holder,
            ev.id
        ),
    })
}
