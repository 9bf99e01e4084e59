//! The reference reading: a [`Simulation`] is the live engine in memory, on a virtual clock. It
//! applies each event to the facts, converges every pair the event can change, and fires the
//! scheduled edges that fall due before the next event. Its Kisi is a map of owned role
//! assignments; every grant and revoke is recorded, and those records are the printed timeline.
//! It shares [`Facts::apply`], [`Facts::access`] and [`decide`] with production.

use super::timeline::{Interval, Preview};
use crate::access::LOOKAHEAD;
use crate::converge::{Decision, Owned, decide};
use crate::event::{Event, Ref};
use crate::facts::{Facts, Resolve, Warning, lookup};
use crate::ids::{EntitlementId, GroupId, Pair};
use crate::mapping::{MappingEntry, Mappings};
use crate::short_list::ShortList;
use crate::time::Instant;
use crate::windows::Window;
use chrono::Duration;
use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};
use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap};
use std::sync::OnceLock;

/// What one converge did, for observers (tests, the demo).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    /// When.
    pub at: Instant,
    /// Which pair.
    pub pair: Pair,
    /// What was decided.
    pub decision: Decision,
}

/// One recorded open interval of a pair.
#[derive(Clone, Debug, Default)]
struct Span {
    from: Instant,
    until: Option<Instant>,
    /// Indices of the entitlements behind it, each once.
    reasons: ShortList<u32>,
}

/// Per-pair state of the simulation; pairs are interned to small ids so that the edge queue and
/// the logs do not copy e-mail addresses around.
#[derive(Debug, Default)]
struct PairState {
    owned: Option<Owned>,
    log: ShortList<Span>,
    /// When the pair was last converged while open; `pending` then holds the windows that kept
    /// it open. Those facts hold until the pair's next converge, so that is when reasons are
    /// settled.
    pending_since: Option<Instant>,
    pending: ShortList<(Window, u32)>,
}

/// The edge queue: pair ids by the instant they are due. Edges cluster on a few instants
/// (bookings start on the hour), so a heap of distinct instants stays small. A pair converged
/// again before its edge queues the same instant again; the repeats go when the instant is due.
#[derive(Debug, Default)]
struct Edges {
    times: BinaryHeap<Reverse<Instant>>,
    due: HashMap<Instant, Vec<u32>>,
}

impl Edges {
    fn push(&mut self, at: Instant, id: u32) {
        let ids = self.due.entry(at).or_default();
        if ids.is_empty() {
            self.times.push(Reverse(at));
        }
        ids.push(id);
    }

    /// The earliest instant with edges due at or before `t`, and their pair ids in order, each
    /// once.
    fn pop_due(&mut self, t: Instant) -> Option<(Instant, Vec<u32>)> {
        let &Reverse(at) = self.times.peek()?;
        if at > t {
            return None;
        }
        self.times.pop();
        let mut ids = self.due.remove(&at).unwrap_or_default();
        ids.sort_unstable();
        ids.dedup();
        Some((at, ids))
    }
}

/// `now + LOOKAHEAD` for the last `now` asked: converges come in runs at one instant (the
/// events of one `at`, the edges due together), and the sum walks chrono's calendar.
#[derive(Debug, Default)]
struct Lookahead(Option<(Instant, Instant)>);

impl Lookahead {
    fn of(&mut self, now: Instant) -> (Instant, Instant) {
        match self.0 {
            Some((at, hi)) if at == now => (now, hi),
            _ => {
                let hi = now + LOOKAHEAD;
                self.0 = Some((now, hi));
                (now, hi)
            }
        }
    }
}

/// Looks up the mapping of an interned ref in the simulation's cache, filled as refs appear.
struct Cached<'a> {
    mappings: &'a Mappings,
    table: &'a [Option<usize>],
}

impl Resolve for Cached<'_> {
    fn mappings(&self) -> &Mappings {
        self.mappings
    }

    fn entry(&self, refs: &[Ref], r: u32) -> Option<&MappingEntry> {
        match self.table.get(r as usize) {
            Some(&i) => i.map(|i| &self.mappings.entries[i]),
            None => lookup(self.mappings, refs, r),
        }
    }
}

/// The live engine in memory, on a virtual clock.
#[derive(Debug)]
pub struct Simulation {
    mappings: Mappings,
    facts: Facts,
    /// Per interned ref of the facts: its entry in `mappings`.
    resolved: Vec<Option<usize>>,
    /// The pairs as [`Pair`]s, for [`Simulation::kisi`]: built on first use after a new pair.
    pairs: OnceLock<Vec<Pair>>,
    /// Per pair id: (address index in the facts, group).
    keys: Vec<(u32, GroupId)>,
    /// Per address index: its pairs, as (group, pair id).
    by_email: Vec<ShortList<(GroupId, u32)>>,
    state: Vec<PairState>,
    edges: Edges,
    warnings: BTreeSet<Warning>,
    steps: Option<Vec<Step>>,
    /// Scratch buffers, kept to save allocations.
    parts: Vec<(Window, u32)>,
    horizon: Lookahead,
    touched: Vec<(u32, GroupId)>,
}

impl Simulation {
    /// A simulation with no facts and an empty Kisi.
    pub fn new(mappings: Mappings) -> Self {
        Simulation {
            mappings,
            facts: Facts::new(),
            resolved: Vec::new(),
            pairs: OnceLock::new(),
            keys: Vec::new(),
            by_email: Vec::new(),
            state: Vec::new(),
            edges: Edges::default(),
            warnings: BTreeSet::new(),
            steps: None,
            parts: Vec::new(),
            horizon: Lookahead::default(),
            touched: Vec::new(),
        }
    }

    /// Makes room for about `events` more events' facts and pairs (a capacity hint: memory is
    /// only reserved, and taken as it is used).
    fn reserve(&mut self, events: usize) {
        self.facts.reserve(events);
        self.keys.reserve(events);
        self.state.reserve(events);
    }

    /// Records every non-trivial converge step (for tests and the demo).
    pub fn record_steps(&mut self) {
        self.steps = Some(Vec::new());
    }

    /// The recorded steps.
    pub fn steps(&self) -> &[Step] {
        self.steps.as_deref().unwrap_or(&[])
    }

    /// The facts as they stand.
    pub fn facts(&self) -> &Facts {
        &self.facts
    }

    /// The virtual Kisi: what we own, per pair.
    pub fn kisi(&self) -> impl Iterator<Item = (&Pair, &Owned)> {
        self.pairs
            .get_or_init(|| {
                (0..self.keys.len() as u32)
                    .map(|id| self.pair(id))
                    .collect()
            })
            .iter()
            .zip(&self.state)
            .filter_map(|(p, s)| s.owned.as_ref().map(|o| (p, o)))
    }

    /// Pair `id`.
    fn pair(&self, id: u32) -> Pair {
        let (email, group) = self.keys[id as usize];
        Pair {
            email: self.facts.email(email).clone(),
            group,
        }
    }

    fn intern(&mut self, email: u32, group: GroupId) -> u32 {
        let e = email as usize;
        if e >= self.by_email.len() {
            self.by_email.resize_with(e + 1, ShortList::default);
        }
        if let Some(&(_, id)) = self.by_email[e].iter().find(|(g, _)| *g == group) {
            return id;
        }
        let id = self.keys.len() as u32;
        self.pairs.take();
        self.keys.push((email, group));
        self.by_email[e].push((group, id));
        self.state.push(PairState::default());
        id
    }

    /// Fires every scheduled edge at or before `t`, in time order (pairs due at the same
    /// instant in order of their ids).
    pub fn advance_to(&mut self, t: Instant) {
        // A converge schedules edges strictly after its instant, so none joins the batch.
        while let Some((at, ids)) = self.edges.pop_due(t) {
            for id in ids {
                self.converge_id(id, at);
            }
        }
    }

    /// Delivers one event at its `at`: first the edges due by then, then apply and converge.
    pub fn deliver(&mut self, ev: &Event) {
        self.deliver_owned(ev.clone());
    }

    fn deliver_owned(&mut self, ev: Event) {
        let at = ev.at;
        self.advance_to(at);
        let mut touched = std::mem::take(&mut self.touched);
        touched.clear();
        let mut warnings = Vec::new();
        let res = Cached {
            mappings: &self.mappings,
            table: &self.resolved,
        };
        self.facts.apply_with(ev, &res, &mut touched, &mut warnings);
        self.warnings.extend(warnings);
        let refs = self.facts.refs();
        for r in &refs[self.resolved.len()..] {
            self.resolved.push(self.mappings.position(r.source, &r.id));
        }
        // In pair order, as the live handler converges them.
        let facts = &self.facts;
        touched.sort_unstable_by(|a, b| facts.email(a.0).cmp(facts.email(b.0)).then(a.1.cmp(&b.1)));
        touched.dedup();
        for &(email, group) in &touched {
            let id = self.intern(email, group);
            self.converge_id(id, at);
        }
        self.touched = touched;
    }

    /// The one converge path: desired against owned, carry out the decision on the virtual Kisi,
    /// record it, schedule the next edge.
    pub fn converge(&mut self, pair: &Pair, now: Instant) {
        let email = self.facts.intern_email(&pair.email);
        let id = self.intern(email, pair.group);
        self.converge_id(id, now);
    }

    fn converge_id(&mut self, id: u32, now: Instant) {
        let (email, group) = self.keys[id as usize];
        let res = Cached {
            mappings: &self.mappings,
            table: &self.resolved,
        };
        let answer = self.facts.answer(
            &res,
            Some(email),
            group,
            self.horizon.of(now),
            &mut self.parts,
        );
        let st = &mut self.state[id as usize];
        let decision = decide(&answer.bare(), st.owned.as_ref(), now);
        settle_reasons(st, Some(now));
        match decision {
            Decision::Keep => {}
            Decision::Grant { valid_until } | Decision::Replace { valid_until } => {
                st.owned = Some(Owned { valid_until });
                match st.log.last_mut() {
                    Some(last) if last.until.is_none() => {}
                    // Closed at this very instant: the two touch, so they are one interval.
                    Some(last) if last.until == Some(now) => last.until = None,
                    _ => st.log.push(Span {
                        from: now,
                        until: None,
                        reasons: ShortList::Zero,
                    }),
                }
            }
            Decision::Revoke => {
                st.owned = None;
                if let Some(last) = st.log.last_mut()
                    && last.until.is_none()
                {
                    if last.from == now {
                        st.log.pop();
                    } else {
                        last.until = Some(now);
                    }
                }
            }
        }
        if answer.open {
            st.pending_since = Some(now);
            st.pending.clear();
            st.pending
                .extend_from_slice(&self.parts[answer.current.clone()]);
        }
        if let Some(t) = answer.next_change
            && t > now
        {
            self.edges.push(t, id);
        }
        if self.steps.is_some() && decision != Decision::Keep {
            let pair = self.pair(id);
            if let Some(steps) = &mut self.steps {
                steps.push(Step {
                    at: now,
                    pair,
                    decision,
                });
            }
        }
    }

    /// Settles the reasons of every pair still open: their last facts hold from then on.
    fn settle_all(&mut self) {
        for st in &mut self.state {
            settle_reasons(st, None);
        }
    }

    /// Warnings so far, plus those about the facts as they stand.
    pub fn warnings(&self) -> Vec<String> {
        let mut all = self.warnings.clone();
        all.extend(self.facts.dangling());
        all.iter().map(ToString::to_string).collect()
    }

    /// The timeline recorded so far, cut at `horizon`: intervals that start at or after it are
    /// left out; one still open after it has `until = None`. Sorted by e-mail, group, from.
    pub fn timeline(&self, horizon: Instant) -> Vec<Interval> {
        // Addresses in order, then each one's groups in order: the order of the pairs.
        let mut emails: Vec<u32> = (0..self.by_email.len() as u32)
            .filter(|&e| !self.by_email[e as usize].is_empty())
            .collect();
        emails.sort_unstable_by(|&a, &b| self.facts.email(a).cmp(self.facts.email(b)));
        let mut order = Vec::with_capacity(self.keys.len());
        for e in emails {
            let start = order.len();
            order.extend_from_slice(&self.by_email[e as usize]);
            order[start..].sort_unstable_by_key(|&(g, _)| g);
        }
        let mut out = Vec::with_capacity(self.keys.len());
        for (group, id) in order {
            let email = self.facts.email(self.keys[id as usize].0);
            for s in self.state[id as usize]
                .log
                .as_slice()
                .iter()
                .filter(|s| s.from < horizon)
            {
                out.push(Interval {
                    email: email.clone(),
                    group,
                    from: s.from,
                    until: s.until.filter(|&u| u <= horizon),
                    reasons: self.reasons(&s.reasons),
                });
            }
        }
        out
    }

    /// The ids of the entitlements with indices `ids` (each index once, so each id once), in
    /// order.
    fn reasons(&self, ids: &[u32]) -> Vec<EntitlementId> {
        let mut out: Vec<EntitlementId> = ids
            .iter()
            .map(|&i| self.facts.entitlement_id(i).clone())
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }
}

/// Credits the open interval with every entitlement whose window was part of it between the
/// pair's last converge and `until` (the next converge; `None`: from then on), and clears the
/// pending windows.
fn settle_reasons(st: &mut PairState, until: Option<Instant>) {
    let (Some(since), Some(last)) = (st.pending_since.take(), st.log.last_mut()) else {
        return;
    };
    if last.until.is_some() {
        return;
    }
    for &(w, id) in st.pending.as_slice() {
        let w = w.not_before(since).not_after(until);
        if !w.is_empty() && !last.reasons.contains(&id) {
            last.reasons.push(id);
        }
    }
}

/// [`preview`](super::preview()) by the live engine only: every event delivered to a
/// [`Simulation`], edges fired up to the horizon. The reference the batch reading is compared
/// with.
pub fn preview_live(mappings: &Mappings, events: Vec<Event>, until: Option<Instant>) -> Preview {
    let (events, horizon) = in_order(events, until);
    run_live(mappings, events, horizon)
}

/// First deliveries only (by delivery id), sorted by `at` stably; and the horizon.
fn in_order(mut events: Vec<Event>, until: Option<Instant>) -> (Vec<Event>, Instant) {
    let mut seen = HashSet::with_capacity_and_hasher(events.len(), Default::default());
    let first: Vec<bool> = events.iter().map(|e| seen.insert(e.id.as_str())).collect();
    drop(seen);
    let mut first = first.into_iter();
    events.retain(|_| first.next().unwrap_or(false));
    events.sort_by_key(|e| e.at);
    let horizon = until.unwrap_or_else(|| {
        events
            .last()
            .map(|e| e.at + Duration::days(30))
            .unwrap_or_default()
    });
    (events, horizon)
}

fn run_live(mappings: &Mappings, events: Vec<Event>, horizon: Instant) -> Preview {
    let mut sim = Simulation::new(mappings.clone());
    sim.reserve(events.len());
    // Events after the horizon still run: intervals are merged first and cut afterwards, so a
    // later part can add reasons to an interval that is open at the horizon.
    for ev in events {
        sim.deliver_owned(ev);
    }
    sim.advance_to(horizon);
    sim.settle_all();
    Preview {
        intervals: sim.timeline(horizon),
        warnings: sim.warnings(),
        horizon,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::Email;
    use crate::time::parse_instant;

    #[test]
    fn the_virtual_kisi_and_the_steps_name_their_pairs() {
        let m = Mappings::parse("[[mapping]]\nsource = \"plan\"\nid = \"hot\"\ngroups = [1, 2]\n")
            .unwrap();
        let mut sim = Simulation::new(m);
        sim.record_steps();
        for l in [
            r#"{"id":"1","at":"2026-12-07T08:00:00Z","member":{"id":"m1","email":"a@x.io"}}"#,
            r#"{"id":"2","at":"2026-12-07T08:00:00Z","entitlement":{"id":"p","kind":"plan","refs":["plan:hot"],"holder":{"member":"m1"},"end":"2026-12-09T00:00:00Z"}}"#,
        ] {
            sim.deliver(&Event::parse(l).unwrap());
        }
        let pair = |g| Pair {
            email: Email::parse("a@x.io").unwrap(),
            group: GroupId::new(g).unwrap(),
        };
        let end = Some(parse_instant("2026-12-09T00:00:00Z").unwrap());
        let owned: Vec<_> = sim.kisi().map(|(p, o)| (p.clone(), *o)).collect();
        assert_eq!(
            owned,
            vec![
                (pair(1), Owned { valid_until: end }),
                (pair(2), Owned { valid_until: end })
            ]
        );
        let steps: Vec<_> = sim.steps().iter().map(|s| s.pair.clone()).collect();
        assert_eq!(steps, vec![pair(1), pair(2)]);
        // A pair converged from outside joins the list.
        sim.converge(&pair(3), parse_instant("2026-12-08T00:00:00Z").unwrap());
        assert_eq!(sim.kisi().count(), 2);
        sim.advance_to(parse_instant("2026-12-10T00:00:00Z").unwrap());
        assert_eq!(sim.kisi().count(), 0);
        assert_eq!(sim.steps().len(), 4);
    }
}
