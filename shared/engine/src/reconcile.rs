//! The 15-minute reconcile: the safety net under the event and edge paths.
//!
//! One run:
//! 1. walks every pair we own (the ownership index, shard by shard — no table scan);
//! 2. reads what Kisi actually has in every managed group (paged listings that must prove
//!    themselves complete — **any incomplete read aborts the run before anything is revoked**);
//! 3. finds drift: an assignment of ours that is gone from Kisi (deleted by hand) or has another
//!    `valid_until`; an assignment someone added by hand to a managed group (handed to converge,
//!    which leaves it alone: recorded as held by hand if the rules grant that person the group,
//!    recognised as ours only if an intent of ours asked for its exact `valid_until`);
//! 4. re-decides every owned pair from the stored facts (so a mapping change, a member whose
//!    e-mail changed, or a missed event is caught) and counts the revokes that would follow —
//!    except those the brake holds for the operator (or the operator discarded);
//! 5. the **one brake** ([`crate::brake`]) applies in converge, as for every other trigger:
//!    reconcile only drops holds that no longer apply, reports the ones waiting (the
//!    `BrakeHeld` metric) and keeps the brake's count of managed pairs current;
//! 6. repairs lost grants ([`crate::repair`]): every pair the repair index says should be open
//!    now with no assignment in Kisi, and every pair an event changed that no converge saw;
//! 7. returns what needs converging — the caller hands it to the converge worker, the only
//!    function that writes Kisi — and re-asserts the edge schedules of pairs whose next edge
//!    falls before the next run.
//!
//! Reconcile itself never writes Kisi: it reads it (group listings, a user's e-mail) and writes
//! only DynamoDB (forgetting assignments Kisi no longer has, audit) and Scheduler.
//!
//! Cost: Kisi is read per group (up to 250 assignments a page), so 100k pairs are ~400 list
//! calls (~80 s at 5 requests/s); Kisi is written only for drift. DynamoDB reads are one query
//! per e-mail plus the ownership, repair-index and hold pages; the shards are read side by
//! side and the e-mails' facts [`FACTS_READS_IN_FLIGHT`] at a time, so a run waits for about
//! one round trip per shard page and per 8 e-mails instead of one per read.

use crate::brake::left_to_hold;
use crate::engine::{Engine, EngineError, Store};
use access_sync_ports::{AccessControl, Assignment};
use access_sync_ports::{
    AuditAction, AuditEntry, Edge, EdgeScheduler, OWNERSHIP_SHARDS, Ownership, OwnershipChange,
    Versioned,
};
use access_sync_rules::converge::{Decision, Owned};
use access_sync_rules::facts::Facts;
use access_sync_rules::{Email, GroupId, Instant, Pair};
use chrono::Duration;
use futures_util::StreamExt;
use futures_util::future::try_join_all;
use futures_util::stream::FuturesOrdered;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// How many e-mails' facts reconcile reads at once.
const FACTS_READS_IN_FLIGHT: usize = 8;

/// Reconcile settings (the brake's are the engine's: [`crate::Settings::brake`]).
#[derive(Clone, Debug)]
pub struct ReconcileConfig {
    /// How long a pair an event changed may wait for its converge before reconcile repairs it.
    pub dirty_grace: Duration,
    /// Ownership page size.
    pub page: u32,
    /// How far ahead edges are re-asserted (the time to the next run, with margin).
    pub edge_horizon: Duration,
}

impl Default for ReconcileConfig {
    fn default() -> Self {
        ReconcileConfig {
            dirty_grace: Duration::minutes(5),
            page: 500,
            edge_horizon: Duration::minutes(20),
        }
    }
}

/// What one run found and did.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ReconcileReport {
    /// Pairs we own.
    pub managed: usize,
    /// Kisi groups read.
    pub groups_read: usize,
    /// Our assignments that Kisi no longer has (deleted outside access-sync).
    pub missing_in_kisi: usize,
    /// Our assignments whose window Kisi holds differently.
    pub window_drift: usize,
    /// Assignments in managed groups that we did not create.
    pub not_ours: usize,
    /// Revokes the rules call for.
    pub revokes_wanted: usize,
    /// Revokes the brake holds for the operator (`access-sync brake status`).
    pub held: usize,
    /// Some are held (`held > 0`).
    pub braked: bool,
    /// Pairs that should be open now but hold no assignment in Kisi (a lost grant).
    pub lost_grants: usize,
    /// Pairs an event changed that no converge has seen since (a lost converge request).
    pub unconverged: usize,
    /// Pairs handed to converge.
    pub converge_requested: usize,
    /// What to converge, per e-mail: the caller sends these to the converge worker (the only
    /// Kisi writer), or converges them itself where there is no queue (tests, local runs).
    pub to_converge: BTreeMap<Email, BTreeSet<GroupId>>,
    /// Why the run stopped early, if it did (nothing was revoked).
    pub aborted: Option<String>,
}

impl<S: Store, K: AccessControl, E: EdgeScheduler> Engine<S, K, E> {
    /// One reconcile run at `now`.
    ///
    /// # Errors
    /// Store and scheduler failures. An incomplete or failed Kisi read is *not* an error: the
    /// run stops with `aborted` set and nothing revoked.
    pub async fn reconcile(
        &self,
        now: Instant,
        cfg: &ReconcileConfig,
    ) -> Result<ReconcileReport, EngineError> {
        let mut report = ReconcileReport::default();
        let mapping = self.mapping(now).await?;

        // 1. Every pair we own: the shards are walked side by side (each page by page), and
        // joined in shard order.
        let shards = (0..OWNERSHIP_SHARDS).map(|shard| async move {
            let mut owned: Vec<Versioned<Ownership>> = Vec::new();
            let mut cursor: Option<String> = None;
            loop {
                let page = self
                    .store()
                    .owned_page(shard, cursor.as_deref(), cfg.page)
                    .await?;
                owned.extend(page.items);
                match page.next {
                    Some(n) => cursor = Some(n),
                    None => return Ok::<_, EngineError>(owned),
                }
            }
        });
        let owned: Vec<Versioned<Ownership>> = try_join_all(shards).await?.concat();
        report.managed = owned.len();

        // 2. What Kisi has, group by group; any failed read stops the run here.
        let mut groups: BTreeSet<GroupId> = mapping.managed_targets();
        groups.extend(owned.iter().map(|o| o.value.pair.group));
        let mut actual: HashMap<u64, Assignment> = HashMap::new();
        for &g in &groups {
            match self.kisi().group_assignments(g).await {
                Ok(list) => actual.extend(list.into_iter().map(|a| (a.id, a))),
                Err(e) => {
                    let why = format!("reading Kisi group {g}: {e}");
                    tracing::warn!(group = %g, error = %e, "reconcile aborted: nothing revoked");
                    self.store()
                        .record(&[AuditEntry {
                            at: now,
                            pair: None,
                            action: AuditAction::Skip,
                            cause: format!("reconcile aborted, nothing revoked: {why}"),
                        }])
                        .await?;
                    report.aborted = Some(why);
                    return Ok(report);
                }
            }
            report.groups_read += 1;
        }

        // 3. Drift between what we own and what Kisi has.
        let mut todo: BTreeSet<Pair> = BTreeSet::new();
        let mut vanished = Vec::new();
        let ours: BTreeSet<u64> = owned.iter().map(|o| o.value.assignment_id).collect();
        // Pairs that hold an assignment in Kisi (ours, or added by hand).
        let mut in_kisi: BTreeSet<Pair> = BTreeSet::new();
        for o in &owned {
            match actual.get(&o.value.assignment_id) {
                None => {
                    report.missing_in_kisi += 1;
                    vanished.push(OwnershipChange::Delete {
                        pair: o.value.pair.clone(),
                        expected: o.version,
                    });
                    todo.insert(o.value.pair.clone());
                }
                Some(a) if a.valid_until != o.value.valid_until => {
                    report.window_drift += 1;
                    in_kisi.insert(o.value.pair.clone());
                    todo.insert(o.value.pair.clone());
                }
                Some(_) => {
                    in_kisi.insert(o.value.pair.clone());
                }
            }
        }
        let known: HashMap<u64, Email> = owned
            .iter()
            .map(|o| (o.value.user_id, o.value.pair.email.clone()))
            .collect();
        for a in actual.values().filter(|a| !ours.contains(&a.id)) {
            if !mapping.managed_targets().contains(&a.group) {
                continue;
            }
            report.not_ours += 1;
            let email = match known.get(&a.user) {
                Some(e) => Some(e.clone()),
                None => match self.kisi().user_email(a.user).await {
                    Ok(e) => e,
                    Err(e) => {
                        report.aborted = Some(format!("reading Kisi user {}: {e}", a.user));
                        return Ok(report);
                    }
                },
            };
            // Converge decides: adopted if the rules grant it, left alone otherwise.
            if let Some(email) = email {
                let pair = Pair {
                    email,
                    group: a.group,
                };
                in_kisi.insert(pair.clone());
                todo.insert(pair);
            }
        }
        if !vanished.is_empty() {
            // Kisi no longer has these: forget them so converge grants afresh where wanted.
            let audit: Vec<AuditEntry> = vanished
                .iter()
                .filter_map(|c| match c {
                    OwnershipChange::Delete { pair, .. } => Some(AuditEntry {
                        at: now,
                        pair: Some(pair.clone()),
                        action: AuditAction::Skip,
                        cause: "reconcile: our assignment was removed in Kisi by someone else"
                            .into(),
                    }),
                    _ => None,
                })
                .collect();
            for chunk in vanished.chunks(40).zip(audit.chunks(40)) {
                self.store().apply_ownership(chunk.0, chunk.1).await?;
            }
        }

        // 4. Re-decide every owned pair from the facts.
        let mut by_email: BTreeMap<Email, Vec<&Versioned<Ownership>>> = BTreeMap::new();
        for o in &owned {
            by_email
                .entry(o.value.pair.email.clone())
                .or_default()
                .push(o);
        }
        let holds = self.holds_by_pair().await?;
        let mut revokes = BTreeSet::new();
        let mut edges = Vec::new();
        // The facts of a few e-mails are read at a time (independent reads; a round trip each),
        // and decided in e-mail order as they arrive.
        let mut to_read = by_email.iter();
        let mut reading = FuturesOrdered::new();
        loop {
            while reading.len() < FACTS_READS_IN_FLIGHT {
                let Some((email, list)) = to_read.next() else {
                    break;
                };
                let store = self.store();
                reading.push_back(async move { (email, list, store.facts_for_email(email).await) });
            }
            let Some((email, list, records)) = reading.next().await else {
                break;
            };
            let records = records?;
            let fp = self.discard_fingerprint(&holds, email, &records);
            let facts = Facts::from_records(records);
            for o in list {
                let pair = &o.value.pair;
                let access = if mapping.managed_targets().contains(&pair.group) {
                    facts.access(&mapping, pair, now)
                } else {
                    crate::engine::closed_access()
                };
                let held = Owned {
                    valid_until: o.value.valid_until,
                };
                let decision = self
                    .lease()
                    .decide_for(pair.group, &access, Some(&held), now);
                let decision =
                    if left_to_hold(holds.get(pair), &decision, &held, fp.as_deref(), now) {
                        Decision::Keep
                    } else {
                        decision
                    };
                match decision {
                    Decision::Revoke => {
                        revokes.insert(pair.clone());
                    }
                    Decision::Keep => {}
                    Decision::Grant { .. } | Decision::Replace { .. } => {
                        todo.insert(pair.clone());
                    }
                }
                if let Some(t) =
                    self.lease()
                        .next_edge_for(pair.group, &access, o.value.valid_until)
                    && t <= now + cfg.edge_horizon
                {
                    edges.push(Edge::new(pair, t));
                }
            }
        }
        report.revokes_wanted = revokes.len();

        // 5. The one brake decides in converge, as for every trigger; reconcile tidies its holds.
        todo.extend(revokes.iter().cloned());
        let still_owned: BTreeSet<Pair> = (owned.iter())
            .map(|o| o.value.pair.clone())
            .filter(|p| in_kisi.contains(p))
            .collect();
        report.held = self
            .reconcile_brake(&holds, &still_owned, report.managed)
            .await?;
        report.braked = report.held > 0;

        // 6. Grants that were lost on the way.
        self.repair_lost(now, cfg, &in_kisi, &mut todo, &mut report)
            .await?;

        // 7. Hand what needs converging to the one Kisi writer; re-assert imminent edges.
        for p in &todo {
            report
                .to_converge
                .entry(p.email.clone())
                .or_default()
                .insert(p.group);
        }
        report.converge_requested = todo.len();
        for e in edges {
            if e.edge > now {
                self.edges().schedule(&e, now).await?;
            }
        }
        Ok(report)
    }
}
