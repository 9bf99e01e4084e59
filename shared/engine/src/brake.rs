//! The one brake, and the notes converge keeps so reconcile can repair what was lost.
//!
//! **The brake.** Every revoke and every shortened window, whatever asked for it (an event, an
//! edge, reconcile, a mapping change), is taken from one budget shared by every process: at
//! most `max(BRAKE_FLOOR, BRAKE_SHARE_PER_HOUR × managed pairs)` in any sliding hour (a record
//! in the store, updated with a version check). Past it, converge does not carry the revoke out:
//! it records a **hold** (and an audit entry), logs the `BrakeHeld` metric, and answers success
//! — a held revoke is not a failure to retry; grants still flow. Held pairs stay held until the
//! operator looks and runs `access-sync brake release` (converge with the brake bypassed for
//! them) or `access-sync brake discard` (keep the access as it is until the person's facts or
//! the mapping change). A hold never touches Kisi, so an assignment with a `valid_until` still
//! ends there: the brake can delay a revoke, never extend access.
//!
//! **The repair notes.** Converge writes, per pair, whether it should be open now (or from when):
//! the repair index reconcile walks to find pairs that should be open but have no assignment
//! (a converge request or an opening edge that dead-lettered). Event handling marks the pairs
//! an event can change as **dirty** before it saves the facts (so a delivery that dies right
//! after the save and is then dead-lettered still leaves them), and again once they are saved;
//! converge clears the marks it has seen, so a mark that stays means no converge ran after the
//! event: reconcile converges it.

use crate::engine::{Engine, EngineError, Step, Store, Trigger};
use access_sync_ports::{
    AccessControl, AuditAction, AuditEntry, Dirty, Discarded, EdgeScheduler, Hold, NoteChange,
    Notes, StoreError, Versioned,
};
use access_sync_rules::brake::{Budget, Reduction, fingerprint, reduction, same_wanted, wanted};
use access_sync_rules::converge::{Decision, Owned};
use access_sync_rules::facts::Record;
use access_sync_rules::time::format_instant;
use access_sync_rules::{Access, Email, GroupId, Instant, Pair};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// Dirty marks read per page by [`Engine::marked_by`].
const MARKS_PAGE: u32 = 500;

/// What one converge learns for the notes and the brake, written when it is done.
pub(crate) struct Gate {
    notes: Notes,
    trigger: Trigger,
    fingerprint: Option<String>,
    wanted: BTreeMap<GroupId, Option<access_sync_rules::brake::Wanted>>,
    changes: Vec<NoteChange>,
    audit: Vec<AuditEntry>,
}

/// The brake's state for the operator.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct BrakeStatus {
    /// Every hold, held or discarded, in pair order.
    pub holds: Vec<Hold>,
    /// Reductions carried out in the last window.
    pub used: u32,
    /// The most allowed in one window.
    pub limit: u32,
    /// Managed pairs as last counted by reconcile.
    pub managed: u64,
}

/// What releasing or discarding did to one pair.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Outcome {
    /// Which pair.
    pub pair: Pair,
    /// What was done, for a human.
    pub done: String,
}

/// The mark an event's dirty marks carry while its facts are being saved; rewritten under the
/// event's own id once they are. A converge clears only the mark it read (a conditional
/// delete), so one that read this mark — possibly before the facts it read were saved — never
/// clears the mark written after the save.
pub(crate) fn saving_mark(event: &str) -> String {
    format!("{event}#saving")
}

fn trigger_name(t: Trigger) -> &'static str {
    match t {
        Trigger::Event => "event",
        Trigger::Edge => "edge",
        Trigger::Reconcile => "reconcile",
        Trigger::Mapping => "mapping",
        Trigger::Operator => "operator",
        Trigger::Release => "release",
        Trigger::Erasure => "erasure",
    }
}

fn until_text(u: Option<Instant>) -> String {
    u.map(format_instant).unwrap_or_else(|| "open-ended".into())
}

impl<S: Store, K: AccessControl, E: EdgeScheduler> Engine<S, K, E> {
    /// Reads a person's notes at the start of a converge (before the facts, so a dirty mark
    /// it sees was written after facts it will read).
    pub(crate) async fn open_gate(
        &self,
        email: &Email,
        trigger: Trigger,
    ) -> Result<Gate, EngineError> {
        Ok(Gate {
            notes: self.store().notes(email.as_str()).await?,
            trigger,
            fingerprint: None,
            wanted: BTreeMap::new(),
            changes: Vec::new(),
            audit: Vec::new(),
        })
    }

    /// Lets the gate see the facts converge reads (for a discarded hold's fingerprint).
    pub(crate) fn gate_facts(&self, gate: &mut Gate, records: &[Record]) {
        if gate.notes.holds.iter().any(|h| h.discarded.is_some()) {
            gate.fingerprint = Some(fingerprint(records, self.mapping_version()));
        }
    }

    /// The brake, for one pair converge is about to act on: `decision` as it stands, or `Keep`
    /// when a reduction is held (or was discarded and nothing changed since).
    pub(crate) async fn gate(
        &self,
        gate: &mut Gate,
        pair: &Pair,
        decision: Decision,
        owned: Option<&Owned>,
        access: &Access,
        now: Instant,
    ) -> Result<Decision, EngineError> {
        gate.wanted.insert(pair.group, wanted(access, now));
        let red = reduction(&decision, owned, now);
        let hold = gate.notes.holds.iter().find(|h| h.pair == *pair).cloned();
        let Some(red) = red else {
            if hold.is_some() {
                gate.changes.push(NoteChange::Release(pair.clone()));
                gate.audit.push(AuditEntry {
                    at: now,
                    pair: Some(pair.clone()),
                    action: AuditAction::Skip,
                    cause: format!(
                        "hold dropped: nothing to take away any more ({})",
                        trigger_name(gate.trigger)
                    ),
                });
            }
            return Ok(decision);
        };
        // An operator's own command for these pairs (release, or `erase --force` of one
        // person) is not braked.
        if matches!(gate.trigger, Trigger::Release | Trigger::Erasure) {
            if hold.is_some() {
                gate.changes.push(NoteChange::Release(pair.clone()));
            }
            return Ok(decision);
        }
        if let Some(h) = &hold {
            match &h.discarded {
                Some(d) if gate.fingerprint.as_deref() == Some(d.fingerprint.as_str()) => {
                    return Ok(Decision::Keep);
                }
                Some(_) => {} // the facts changed since the discard: decide afresh
                None => {
                    if h.reduction != red {
                        gate.changes.push(NoteChange::Hold(Hold {
                            reduction: red,
                            ..h.clone()
                        }));
                    }
                    return Ok(Decision::Keep);
                }
            }
        }
        let (granted, used, limit) = self.take_budget(now).await?;
        if granted {
            if hold.is_some() {
                gate.changes.push(NoteChange::Release(pair.clone()));
            }
            return Ok(decision);
        }
        let what = match red {
            Reduction::Revoke => "revoke".to_string(),
            Reduction::Shorten { to, .. } => format!("shortening to {}", until_text(to)),
        };
        gate.changes.push(NoteChange::Hold(Hold {
            pair: pair.clone(),
            at: now,
            reduction: red,
            trigger: trigger_name(gate.trigger).into(),
            discarded: None,
        }));
        gate.audit.push(AuditEntry {
            at: now,
            pair: Some(pair.clone()),
            action: AuditAction::Hold,
            cause: format!(
                "{what} held by the brake ({}): {used} of {limit} reductions allowed per hour already used; Kisi keeps the assignment until {} unless `access-sync brake release` carries it out",
                trigger_name(gate.trigger),
                until_text(owned.and_then(|o| o.valid_until)),
            ),
        });
        Ok(Decision::Keep)
    }

    /// Takes one reduction from the shared budget: (granted, used, limit) as read.
    async fn take_budget(&self, now: Instant) -> Result<(bool, u32, u32), EngineError> {
        let cfg = self.settings().brake;
        for _ in 0..8 {
            let (mut budget, version) = match self.store().budget().await? {
                Some(Versioned { value, version }) => (value, Some(version)),
                None => (Budget::default(), None),
            };
            let used = budget.used(now, &cfg);
            let limit = budget.limit(&cfg);
            if budget.take(now, &cfg, 1) == 0 {
                return Ok((false, used, limit));
            }
            match self.store().save_budget(&budget, version).await {
                Ok(_) => return Ok((true, used, limit)),
                Err(StoreError::VersionMismatch { .. }) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(EngineError::Contended("the brake's budget".into()))
    }

    /// Writes what the converge of `groups` learnt: the repair index, dirty marks seen, holds,
    /// and their audit; reports held revokes as the `BrakeHeld` metric.
    pub(crate) async fn close_gate(
        &self,
        mut gate: Gate,
        email: &Email,
        groups: &BTreeSet<GroupId>,
        now: Instant,
    ) -> Result<(), EngineError> {
        let stored: BTreeMap<GroupId, _> = (gate.notes.wanted.iter())
            .map(|(p, w)| (p.group, *w))
            .collect();
        for &g in groups {
            let want = gate.wanted.get(&g).copied().flatten();
            let have = stored.get(&g);
            if same_wanted(have, want.as_ref(), now) {
                continue;
            }
            let pair = Pair {
                email: email.clone(),
                group: g,
            };
            gate.changes.push(match want {
                Some(w) => NoteChange::Want(pair, w),
                None => NoteChange::Unwant(pair),
            });
        }
        for d in &gate.notes.dirty {
            if groups.contains(&d.pair.group) {
                gate.changes.push(NoteChange::Clean(d.clone()));
            }
        }
        if !gate.changes.is_empty() {
            self.store().apply_notes(&gate.changes).await?;
        }
        let held = gate
            .audit
            .iter()
            .filter(|a| a.action == AuditAction::Hold)
            .count();
        if !gate.audit.is_empty() {
            self.store().record(&gate.audit).await?;
        }
        if held > 0 {
            tracing::error!(
                metric = "BrakeHeld",
                held,
                trigger = trigger_name(gate.trigger),
                "brake: revokes held; check the platform and the mapping, then `access-sync brake release` or `discard`"
            );
        }
        Ok(())
    }

    /// Marks the pairs an event can change as dirty (under `mark`: see [`saving_mark`]).
    /// Written before the event's facts are saved (required) and again after (best effort):
    /// the converge requests go out either way; the mark lets reconcile repair a pair whose
    /// converge never came (a lost request, or a delivery that died after the save).
    pub(crate) async fn mark_dirty(
        &self,
        pairs: &BTreeSet<Pair>,
        mark: &str,
        now: Instant,
    ) -> Result<(), StoreError> {
        if pairs.is_empty() {
            return Ok(());
        }
        let marks: Vec<Dirty> = pairs
            .iter()
            .map(|p| Dirty {
                pair: p.clone(),
                at: now,
                mark: mark.to_string(),
            })
            .collect();
        self.store().mark_dirty(&marks).await
    }

    /// The pairs still marked dirty by event `event` (under its own id or its saving mark):
    /// what an attempt at it that died part-way had touched. Reads every shard's marks; for
    /// the rare redelivery whose earlier attempt never finished.
    pub(crate) async fn marked_by(&self, event: &str) -> Result<BTreeSet<Pair>, StoreError> {
        let saving = saving_mark(event);
        let mut out = BTreeSet::new();
        for shard in 0..access_sync_ports::OWNERSHIP_SHARDS {
            let mut cursor: Option<String> = None;
            loop {
                let page = self
                    .store()
                    .dirty_page(shard, cursor.as_deref(), MARKS_PAGE)
                    .await?;
                out.extend(
                    (page.items.into_iter())
                        .filter(|d| d.mark == event || d.mark == saving)
                        .map(|d| d.pair),
                );
                match page.next {
                    Some(n) => cursor = Some(n),
                    None => break,
                }
            }
        }
        Ok(out)
    }

    /// Every hold, held or discarded.
    ///
    /// # Errors
    /// Store failures.
    pub async fn holds(&self) -> Result<Vec<Hold>, EngineError> {
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let page = self.store().holds_page(cursor.as_deref(), 500).await?;
            out.extend(page.items);
            match page.next {
                Some(n) => cursor = Some(n),
                None => return Ok(out),
            }
        }
    }

    /// The holds and the budget (`access-sync brake status`).
    ///
    /// # Errors
    /// Store failures.
    pub async fn brake_status(&self, now: Instant) -> Result<BrakeStatus, EngineError> {
        let cfg = self.settings().brake;
        let budget = self.store().budget().await?.map(|b| b.value);
        let budget = budget.unwrap_or_default();
        Ok(BrakeStatus {
            holds: self.holds().await?,
            used: budget.used(now, &cfg),
            limit: budget.limit(&cfg),
            managed: budget.managed,
        })
    }

    async fn chosen(&self, which: Option<&Pair>) -> Result<Vec<Hold>, EngineError> {
        let all = self.holds().await?;
        Ok(match which {
            None => all,
            Some(p) => all.into_iter().filter(|h| h.pair == *p).collect(),
        })
    }

    /// Carries out held revokes (all, or one pair's): converge with the brake bypassed for
    /// them. What the rules no longer take away is simply kept, and the hold dropped.
    ///
    /// # Errors
    /// Store, Kisi and scheduler failures (what was released before stays released).
    pub async fn release_held(
        &self,
        which: Option<&Pair>,
        now: Instant,
    ) -> Result<Vec<Outcome>, EngineError> {
        let mut by_email: BTreeMap<Email, BTreeSet<GroupId>> = BTreeMap::new();
        for h in self.chosen(which).await? {
            by_email
                .entry(h.pair.email.clone())
                .or_default()
                .insert(h.pair.group);
        }
        let mut out = Vec::new();
        for (email, groups) in by_email {
            let steps: Vec<Step> = self
                .converge(&email, &groups, now, Trigger::Release)
                .await?;
            for s in steps.into_iter().filter(|s| groups.contains(&s.pair.group)) {
                let done = match s.decision {
                    Decision::Revoke => "revoked".to_string(),
                    Decision::Replace { valid_until } => {
                        format!("now valid until {}", until_text(valid_until))
                    }
                    Decision::Grant { .. } => "granted".to_string(),
                    Decision::Keep => "kept (the rules no longer take it away)".to_string(),
                };
                out.push(Outcome { pair: s.pair, done });
            }
        }
        Ok(out)
    }

    /// Discards held revokes (all, or one pair's): nothing is done in Kisi, and converge keeps
    /// the access as it is until the person's facts or the mapping change (then the rules
    /// decide afresh, through the brake). Kisi still ends an assignment at its `valid_until`.
    ///
    /// # Errors
    /// Store failures.
    pub async fn discard_held(
        &self,
        which: Option<&Pair>,
        now: Instant,
    ) -> Result<Vec<Outcome>, EngineError> {
        self.mapping(now).await?;
        let mut out = Vec::new();
        for h in self.chosen(which).await? {
            if h.discarded.is_some() {
                continue;
            }
            let records = self.store().facts_for_email(&h.pair.email).await?;
            let fp = fingerprint(&records, self.mapping_version());
            let pair = h.pair.clone();
            self.store()
                .apply_notes(&[NoteChange::Hold(Hold {
                    discarded: Some(Discarded {
                        at: now,
                        fingerprint: fp,
                    }),
                    ..h
                })])
                .await?;
            self.store()
                .record(&[AuditEntry {
                    at: now,
                    pair: Some(pair.clone()),
                    action: AuditAction::Skip,
                    cause: "held revoke discarded by the operator: access kept as it is until the person's facts or the mapping change".into(),
                }])
                .await?;
            out.push(Outcome {
                pair,
                done: "discarded: kept as it is until the next change".into(),
            });
        }
        Ok(out)
    }
}

/// Whether reconcile leaves a pair to its hold: a reduction on a held pair (the operator
/// decides), or on a discarded one whose facts have not changed since.
pub(crate) fn left_to_hold(
    hold: Option<&Hold>,
    decision: &Decision,
    owned: &Owned,
    fingerprint: Option<&str>,
    now: Instant,
) -> bool {
    let Some(h) = hold else { return false };
    if reduction(decision, Some(owned), now).is_none() {
        return false;
    }
    match &h.discarded {
        None => true,
        Some(d) => fingerprint == Some(d.fingerprint.as_str()),
    }
}

impl<S: Store, K: AccessControl, E: EdgeScheduler> Engine<S, K, E> {
    /// Every hold by pair (reconcile reads them once per run).
    pub(crate) async fn holds_by_pair(&self) -> Result<BTreeMap<Pair, Hold>, EngineError> {
        Ok(self
            .holds()
            .await?
            .into_iter()
            .map(|h| (h.pair.clone(), h))
            .collect())
    }

    /// The fingerprint of a person's facts, if one of their holds was discarded.
    pub(crate) fn discard_fingerprint(
        &self,
        holds: &BTreeMap<Pair, Hold>,
        email: &Email,
        records: &[Record],
    ) -> Option<String> {
        holds
            .values()
            .any(|h| h.pair.email == *email && h.discarded.is_some())
            .then(|| fingerprint(records, self.mapping_version()))
    }

    /// Reconcile's part of the brake: drops holds whose assignment is no longer ours (gone from
    /// Kisi, or revoked since), counts the held ones (the `BrakeHeld` metric while any wait for
    /// the operator), and keeps the budget's count of managed pairs current.
    pub(crate) async fn reconcile_brake(
        &self,
        holds: &BTreeMap<Pair, Hold>,
        still_owned: &BTreeSet<Pair>,
        managed: usize,
    ) -> Result<usize, EngineError> {
        let stale: Vec<NoteChange> = holds
            .keys()
            .filter(|p| !still_owned.contains(p))
            .map(|p| NoteChange::Release(p.clone()))
            .collect();
        if !stale.is_empty() {
            self.store().apply_notes(&stale).await?;
        }
        let held = holds
            .values()
            .filter(|h| h.discarded.is_none() && still_owned.contains(&h.pair))
            .count();
        if held > 0 {
            tracing::error!(
                metric = "BrakeHeld",
                held,
                "brake: revokes are waiting for the operator (`access-sync brake status`)"
            );
        }
        for _ in 0..4 {
            let (mut budget, version) = match self.store().budget().await? {
                Some(Versioned { value, version }) => (value, Some(version)),
                None => (Budget::default(), None),
            };
            if budget.managed == managed as u64 {
                break;
            }
            budget.managed = managed as u64;
            match self.store().save_budget(&budget, version).await {
                Err(StoreError::VersionMismatch { .. }) => continue,
                r => {
                    r?;
                    break;
                }
            }
        }
        Ok(held)
    }
}
