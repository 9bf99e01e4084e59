//! `preview`: the live engine on a virtual clock (ACCESS-MODEL §4).
//!
//! A [`Simulation`] does exactly what production does, in memory: it applies each event to the
//! facts, converges every pair the event can change, and fires the scheduled edges that fall due
//! before the next event. Its Kisi is a map of owned role assignments; every grant and revoke is
//! recorded, and those records are the printed timeline. So preview and production cannot
//! disagree: they share [`Facts::apply`], [`Facts::access`] and [`decide`].

use crate::converge::{Decision, Owned, decide};
use crate::event::Event;
use crate::facts::{Facts, Warning};
use crate::ids::{Email, EntitlementId, GroupId, Pair};
use crate::mapping::Mappings;
use crate::time::{Instant, format_instant};
use crate::windows::Window;
use chrono::Duration;
use serde::Serialize;
use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap, HashMap, HashSet};

/// One interval of the printed timeline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Interval {
    /// Who.
    pub email: Email,
    /// Which Kisi group.
    pub group: GroupId,
    /// Opened at.
    pub from: Instant,
    /// Closed at; `None` still open at the horizon.
    pub until: Option<Instant>,
    /// Every entitlement that contributed to it.
    pub reasons: BTreeSet<EntitlementId>,
}

#[derive(Serialize)]
struct IntervalLine<'a> {
    email: &'a str,
    group: u64,
    from: String,
    until: Option<String>,
    reasons: Vec<&'a str>,
}

impl Interval {
    /// The `preview` output line (JSON).
    pub fn to_json(&self) -> String {
        serde_json::to_string(&IntervalLine {
            email: self.email.as_str(),
            group: self.group.get(),
            from: format_instant(self.from),
            until: self.until.map(format_instant),
            reasons: self.reasons.iter().map(EntitlementId::as_str).collect(),
        })
        .unwrap_or_default()
    }
}

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

/// The live engine in memory, on a virtual clock.
#[derive(Debug)]
pub struct Simulation {
    mappings: Mappings,
    facts: Facts,
    kisi: HashMap<Pair, Owned>,
    edges: BinaryHeap<Reverse<(Instant, Pair)>>,
    scheduled: HashSet<(Instant, Pair)>,
    log: HashMap<Pair, Vec<Interval>>,
    /// Per open pair: when it was last converged and the windows that kept it open then. Those
    /// facts hold until the pair's next converge, so that is when their reasons are settled.
    pending: HashMap<Pair, (Instant, Vec<(Window, EntitlementId)>)>,
    warnings: BTreeSet<Warning>,
    now: Option<Instant>,
    steps: Option<Vec<Step>>,
}

impl Simulation {
    /// A simulation with no facts and an empty Kisi.
    pub fn new(mappings: Mappings) -> Self {
        Simulation {
            mappings,
            facts: Facts::new(),
            kisi: HashMap::new(),
            edges: BinaryHeap::new(),
            scheduled: HashSet::new(),
            log: HashMap::new(),
            pending: HashMap::new(),
            warnings: BTreeSet::new(),
            now: None,
            steps: None,
        }
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
    pub fn kisi(&self) -> &HashMap<Pair, Owned> {
        &self.kisi
    }

    /// Fires every scheduled edge at or before `t`, in time order.
    pub fn advance_to(&mut self, t: Instant) {
        while let Some(Reverse((at, _))) = self.edges.peek() {
            if *at > t {
                break;
            }
            let Some(Reverse((at, pair))) = self.edges.pop() else {
                break;
            };
            self.scheduled.remove(&(at, pair.clone()));
            self.converge(&pair, at);
        }
        self.now = Some(self.now.map_or(t, |n| n.max(t)));
    }

    /// Delivers one event at its `at`: first the edges due by then, then apply and converge.
    pub fn deliver(&mut self, ev: &Event) {
        self.advance_to(ev.at);
        let applied = self.facts.apply(ev, &self.mappings);
        self.warnings.extend(applied.warnings);
        for pair in &applied.pairs {
            self.converge(pair, ev.at);
        }
    }

    /// The one converge path: desired against owned, carry out the decision on the virtual Kisi,
    /// record it, schedule the next edge.
    pub fn converge(&mut self, pair: &Pair, now: Instant) {
        let access = self.facts.access(&self.mappings, pair, now);
        let decision = decide(&access, self.kisi.get(pair), now);
        let log = self.log.entry(pair.clone()).or_default();
        settle_reasons(log, self.pending.remove(pair), Some(now));
        match decision {
            Decision::Keep => {}
            Decision::Grant { valid_until } | Decision::Replace { valid_until } => {
                self.kisi.insert(pair.clone(), Owned { valid_until });
                match log.last_mut() {
                    Some(last) if last.until.is_none() => {}
                    // Closed at this very instant: the two touch, so they are one interval.
                    Some(last) if last.until == Some(now) => last.until = None,
                    _ => log.push(Interval {
                        email: pair.email.clone(),
                        group: pair.group,
                        from: now,
                        until: None,
                        reasons: BTreeSet::new(),
                    }),
                }
            }
            Decision::Revoke => {
                self.kisi.remove(pair);
                if let Some(last) = log.last_mut()
                    && last.until.is_none()
                {
                    if last.from == now {
                        log.pop();
                    } else {
                        last.until = Some(now);
                    }
                }
            }
        }
        if access.open {
            self.pending.insert(pair.clone(), (now, access.parts));
        }
        if let Some(steps) = &mut self.steps
            && decision != Decision::Keep
        {
            steps.push(Step {
                at: now,
                pair: pair.clone(),
                decision,
            });
        }
        if let Some(t) = access.next_change
            && t > now
            && self.scheduled.insert((t, pair.clone()))
        {
            self.edges.push(Reverse((t, pair.clone())));
        }
    }

    /// Settles the reasons of every pair still open: their last facts hold from then on.
    fn settle_all(&mut self) {
        for (pair, pending) in self.pending.drain() {
            if let Some(log) = self.log.get_mut(&pair) {
                settle_reasons(log, Some(pending), None);
            }
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
        let mut out: Vec<Interval> = self
            .log
            .values()
            .flatten()
            .filter(|i| i.from < horizon)
            .map(|i| Interval {
                until: i.until.filter(|&u| u <= horizon),
                ..i.clone()
            })
            .collect();
        out.sort_by(|a, b| (&a.email, a.group, a.from).cmp(&(&b.email, b.group, b.from)));
        out
    }
}

/// Credits the open interval with every entitlement whose window was part of it between the
/// pair's last converge and `until` (the next converge; `None`: from then on).
fn settle_reasons(
    log: &mut [Interval],
    pending: Option<(Instant, Vec<(Window, EntitlementId)>)>,
    until: Option<Instant>,
) {
    let (Some((since, parts)), Some(last)) = (pending, log.last_mut()) else {
        return;
    };
    if last.until.is_some() {
        return;
    }
    for (w, id) in parts {
        let w = w.not_before(since).not_after(until);
        if !w.is_empty() {
            last.reasons.insert(id);
        }
    }
}

/// The result of a preview.
#[derive(Clone, Debug)]
pub struct Preview {
    /// The timeline.
    pub intervals: Vec<Interval>,
    /// Warnings for stderr.
    pub warnings: Vec<String>,
    /// The horizon used.
    pub horizon: Instant,
}

/// Runs a preview: events are de-duplicated by delivery id (the first line wins), sorted by `at`
/// stably, and delivered to a [`Simulation`]; edges fire up to the horizon (`until`, or 30 days
/// after the latest event).
pub fn preview(mappings: &Mappings, events: Vec<Event>, until: Option<Instant>) -> Preview {
    let mut seen = HashSet::new();
    let mut events: Vec<Event> = events
        .into_iter()
        .filter(|e| seen.insert(e.id.clone()))
        .collect();
    events.sort_by_key(|e| e.at);
    let horizon = until.unwrap_or_else(|| {
        events
            .last()
            .map(|e| e.at + Duration::days(30))
            .unwrap_or_default()
    });
    let mut sim = Simulation::new(mappings.clone());
    // Events after the horizon still run: intervals are merged first and cut afterwards, so a
    // later part can add reasons to an interval that is open at the horizon.
    for ev in &events {
        sim.deliver(ev);
    }
    sim.advance_to(horizon);
    sim.settle_all();
    Preview {
        intervals: sim.timeline(horizon),
        warnings: sim.warnings(),
        horizon,
    }
}
