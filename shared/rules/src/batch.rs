//! `preview`'s batch reading of the timeline: the intervals, reasons and warnings the live
//! engine on its virtual clock ([`crate::preview::Simulation`]) records, computed from the whole
//! history at once instead of converge by converge.
//!
//! Why the two agree. Between two of its converges a pair's facts do not change (every event
//! that can change them converges the pair: [`crate::facts::Facts`] reports the pairs before and
//! after), and a converge happens at every instant the pair opens or closes (the edge it
//! scheduled, or the event that changed it). So the engine records, for each (e-mail, group),
//! the maximal runs of the instants `t` that some window of the facts *as they stand at `t`*
//! covers, touching runs joined; an interval with opposite changes at one instant is dropped.
//! The clipping of rule 3 never matters for that question: every fact in force at `t` is dated
//! at or before `t`. A reason is credited when its window, as the facts stood at a converge,
//! meets the time up to the next converge; since those facts hold until then, that is: the
//! entitlement covered some instant of the interval with the facts of that instant.
//!
//! That is what is computed here. Every version of every entitlement is in force for a period
//! `[at, next version's at)`; within it, it reaches each address through its guests, its member
//! holder's address periods, or its team's list periods and their members' address periods; each
//! such piece (window ∩ periods) counts for every group of the ref's mapping. Pieces of one
//! (e-mail, group) sorted by start and united give the intervals; the entitlements of the pieces
//! of an interval are its reasons. `tests/batch.rs` compares the two readings byte for byte on
//! generated inputs.
//!
//! Weekly blocks are the exception: the engine expands them only up to its look-ahead from each
//! converge, so the reasons of an interval still open at the end can depend on when the pair was
//! last converged. Event sets with weekly blocks therefore run the engine itself.

use crate::event::{Body, Event, Holder};
use crate::facts::{Facts, Warning};
use crate::ids::{Email, EntitlementId, GroupId, MemberId, TeamId};
use crate::mapping::Mappings;
use crate::preview::Interval;
use crate::time::Instant;
use crate::windows::{Timing, Window, for_each_window};
use rustc_hash::FxHashMap as HashMap;
use std::collections::BTreeSet;

/// No index (an address, an event).
const NONE: u32 = u32::MAX;
/// Marks a holder index as a team's.
const TEAM: u32 = 1 << 31;

/// Dense indices of ids borrowed from the events.
struct Ids<'a> {
    ix: HashMap<&'a str, u32>,
    text: Vec<&'a str>,
}

impl<'a> Ids<'a> {
    fn with_capacity(n: usize) -> Self {
        Ids {
            ix: HashMap::with_capacity_and_hasher(n, Default::default()),
            text: Vec::with_capacity(n),
        }
    }

    fn intern(&mut self, id: &'a str) -> u32 {
        let next = self.text.len() as u32;
        let i = *self.ix.entry(id).or_insert(next);
        if i == next {
            self.text.push(id);
        }
        i
    }

    fn len(&self) -> usize {
        self.text.len()
    }
}

/// A member event: the member's active address from `at` on (`NONE`: none, or removed).
#[derive(Clone, Copy)]
struct MemberAt {
    member: u32,
    email: u32,
    at: Instant,
}

/// A team event: its list from `at` on, `team_lists[from..to]`.
#[derive(Clone, Copy)]
struct TeamAt {
    team: u32,
    from: u32,
    to: u32,
    at: Instant,
}

/// An entitlement event: the version in force from `at` on (`event` is `NONE` for a cancel),
/// with its holder (a member index, or a team index with [`TEAM`] set).
#[derive(Clone, Copy)]
struct VersionAt {
    entitlement: u32,
    event: u32,
    holder: u32,
    at: Instant,
}

/// A window of one entitlement reaching one (address, group): `key` orders by address, then
/// group (the rank of the address in text order, and the group's rank, in its two halves).
#[derive(Clone, Copy)]
struct Piece {
    key: u64,
    from: Instant,
    until: Option<Instant>,
    entitlement: u32,
}

/// Records grouped by an index, stably: `recs[offsets[i]..offsets[i + 1]]` are index `i`'s, in
/// their original (time) order.
struct Grouped<T> {
    offsets: Vec<u32>,
    recs: Vec<T>,
}

impl<T: Copy> Grouped<T> {
    fn new(n: usize, recs: &[T], key: impl Fn(&T) -> u32) -> Self {
        let mut offsets = vec![0u32; n + 1];
        for r in recs {
            offsets[key(r) as usize + 1] += 1;
        }
        for i in 0..n {
            offsets[i + 1] += offsets[i];
        }
        let mut next = offsets.clone();
        let mut out = Vec::with_capacity(recs.len());
        // Every slot is written once below: filled with copies first to stay safe.
        out.extend_from_slice(recs);
        for r in recs {
            let at = &mut next[key(r) as usize];
            out[*at as usize] = *r;
            *at += 1;
        }
        Grouped { offsets, recs: out }
    }

    fn of(&self, i: u32) -> &[T] {
        &self.recs[self.offsets[i as usize] as usize..self.offsets[i as usize + 1] as usize]
    }
}

/// The periods `[at, next at)` of a history, with the record in force; empty ones (several
/// records at one instant: the last one holds) left out.
fn periods<T>(
    hist: &[T],
    at: impl Fn(&T) -> Instant,
) -> impl Iterator<Item = (Instant, Option<Instant>, &T)> {
    hist.iter().enumerate().filter_map(move |(i, r)| {
        let from = at(r);
        let until = hist.get(i + 1).map(&at);
        (until != Some(from)).then_some((from, until, r))
    })
}

/// The index of an address, and the address itself kept by index.
fn intern_email<'a>(emails: &mut Ids<'a>, addresses: &mut Vec<&'a Email>, e: &'a Email) -> u32 {
    let ix = emails.intern(e.as_str());
    if ix as usize == addresses.len() {
        addresses.push(e);
    }
    ix
}

/// `w` within `[from, until)`, if anything is left.
fn clip(w: Window, from: Instant, until: Option<Instant>) -> Option<Window> {
    let w = w.not_before(from).not_after(until);
    (!w.is_empty()).then_some(w)
}

/// The timeline and warnings of `events` (first deliveries only, in `at` order, stably) up to
/// `horizon`, exactly as the engine records them; `None` when some version has weekly blocks
/// (see the module documentation).
pub(crate) fn timeline(
    mappings: &Mappings,
    events: &[Event],
    horizon: Instant,
) -> Option<(Vec<Interval>, BTreeSet<Warning>)> {
    if events
        .iter()
        .any(|e| matches!(&e.body, Body::Entitlement(x) if !x.blocks.is_empty()))
    {
        return None;
    }
    let mut warnings = BTreeSet::new();

    // The histories, in event order (so in time order).
    let mut members = Ids::with_capacity(events.len() / 8);
    let mut teams = Ids::with_capacity(0);
    let mut entitlements = Ids::with_capacity(events.len());
    let mut emails = Ids::with_capacity(events.len() / 8);
    let mut addresses: Vec<&Email> = Vec::with_capacity(events.len() / 8);
    let mut member_at = Vec::with_capacity(events.len() / 8);
    let mut team_at = Vec::new();
    let mut team_lists = Vec::new();
    let mut version_at = Vec::with_capacity(events.len());
    let mut first_seen: Vec<Option<Instant>> = Vec::with_capacity(events.len());
    let mut described_member = Vec::with_capacity(events.len() / 8);
    let mut described_team = Vec::new();
    for (i, ev) in events.iter().enumerate() {
        match &ev.body {
            Body::Member(m) => {
                let member = members.intern(m.id.as_str());
                described_member.resize(members.len(), false);
                described_member[member as usize] = true;
                if m.email.is_none() && !m.removed {
                    warnings.insert(Warning::MemberWithoutEmail(m.id.clone()));
                }
                let email = match (&m.email, m.removed) {
                    (Some(e), false) => intern_email(&mut emails, &mut addresses, e),
                    _ => NONE,
                };
                member_at.push(MemberAt {
                    member,
                    email,
                    at: ev.at,
                });
            }
            Body::Team(t) => {
                let team = teams.intern(t.id.as_str());
                described_team.resize(teams.len(), false);
                described_team[team as usize] = true;
                let from = team_lists.len() as u32;
                for m in &t.members {
                    team_lists.push(members.intern(m.as_str()));
                }
                team_at.push(TeamAt {
                    team,
                    from,
                    to: team_lists.len() as u32,
                    at: ev.at,
                });
            }
            Body::Entitlement(x) => {
                let entitlement = entitlements.intern(x.id.as_str());
                first_seen.resize(entitlements.len(), None);
                first_seen[entitlement as usize].get_or_insert(ev.at);
                let holder = match &x.holder {
                    Holder::Member(m) => members.intern(m.as_str()),
                    Holder::Team(t) => teams.intern(t.as_str()) | TEAM,
                };
                for g in &x.guests {
                    intern_email(&mut emails, &mut addresses, g);
                }
                version_at.push(VersionAt {
                    entitlement,
                    event: i as u32,
                    holder,
                    at: ev.at,
                });
            }
            Body::Cancel(id) => {
                let entitlement = entitlements.intern(id.as_str());
                first_seen.resize(entitlements.len(), None);
                if first_seen[entitlement as usize].is_none() {
                    warnings.insert(Warning::CancelOfUnknown(id.clone()));
                }
                version_at.push(VersionAt {
                    entitlement,
                    event: NONE,
                    holder: NONE,
                    at: ev.at,
                });
            }
        }
    }
    described_member.resize(members.len(), false);
    described_team.resize(teams.len(), false);
    let member_at = Grouped::new(members.len(), &member_at, |r| r.member);
    let team_at = Grouped::new(teams.len(), &team_at, |r| r.team);
    let version_at = Grouped::new(entitlements.len(), &version_at, |r| r.entitlement);

    // Holders of current versions that nothing described (the engine's `Facts::dangling`).
    for x in 0..entitlements.len() as u32 {
        let Some(last) = version_at.of(x).last() else {
            continue;
        };
        match last.holder {
            NONE => {}
            h if h & TEAM != 0 => {
                if !described_team[(h & !TEAM) as usize] {
                    let id = teams.text[(h & !TEAM) as usize];
                    warnings.insert(Warning::TeamNeverDescribed(TeamId::from(id)));
                }
            }
            m => {
                if !described_member[m as usize] {
                    let id = members.text[m as usize];
                    warnings.insert(Warning::MemberWithoutEmail(MemberId::from(id)));
                }
            }
        }
    }

    // Groups by rank, and each mapping's groups as ranks.
    let mut groups: Vec<GroupId> = mappings
        .entries
        .iter()
        .flat_map(|e| e.groups.iter().copied())
        .collect();
    groups.sort_unstable();
    groups.dedup();
    let rank_of = |g: GroupId| groups.binary_search(&g).unwrap_or(0) as u64;
    let entry_groups: Vec<Vec<u64>> = mappings
        .entries
        .iter()
        .map(|e| e.groups.iter().map(|&g| rank_of(g)).collect())
        .collect();
    // Addresses by rank in text order (the order of the output).
    let mut by_rank: Vec<u32> = (0..emails.len() as u32).collect();
    by_rank.sort_unstable_by(|&a, &b| emails.text[a as usize].cmp(emails.text[b as usize]));
    let mut rank = vec![0u64; emails.len()];
    for (r, &e) in by_rank.iter().enumerate() {
        rank[e as usize] = (r as u64) << 32;
    }

    // Every piece: a version's window within its period, reaching an address within the
    // periods that connect the two.
    let mut pieces: Vec<Piece> = Vec::with_capacity(version_at.recs.len());
    let mut hits: Vec<(u32, Window)> = Vec::new();
    for x in 0..entitlements.len() as u32 {
        for (vf, vu, v) in periods(version_at.of(x), |r| r.at) {
            if v.event == NONE {
                continue;
            }
            let Body::Entitlement(e) = &events[v.event as usize].body else {
                continue;
            };
            if !Facts::grants(e.status, mappings) {
                continue;
            }
            let start = e.start.or(first_seen[x as usize]).unwrap_or(vf);
            for r in &e.refs {
                let Some(m) = mappings.position(r.source, &r.id) else {
                    continue;
                };
                let entry = &mappings.entries[m];
                let timing = Timing {
                    lead: entry.lead(),
                    lag: entry.lag(),
                    default_tz: mappings.defaults.timezone,
                };
                hits.clear();
                for_each_window(e, start, timing, vf, vf, |w| {
                    let Some(w) = clip(w, vf, vu) else { return };
                    for g in &e.guests {
                        if let Some(&ix) = emails.ix.get(g.as_str()) {
                            hits.push((ix, w));
                        }
                    }
                    let mut reach = |member: u32, w: Window| {
                        for (pf, pu, p) in periods(member_at.of(member), |r| r.at) {
                            if p.email != NONE
                                && let Some(x) = clip(w, pf, pu)
                            {
                                hits.push((p.email, x));
                            }
                        }
                    };
                    if v.holder & TEAM == 0 {
                        reach(v.holder, w);
                    } else {
                        for (tf, tu, t) in periods(team_at.of(v.holder & !TEAM), |r| r.at) {
                            let Some(wt) = clip(w, tf, tu) else { continue };
                            for &member in &team_lists[t.from as usize..t.to as usize] {
                                reach(member, wt);
                            }
                        }
                    }
                });
                for &(email, w) in &hits {
                    for &g in &entry_groups[m] {
                        pieces.push(Piece {
                            key: rank[email as usize] | g,
                            from: w.from,
                            until: w.until,
                            entitlement: x,
                        });
                    }
                }
            }
        }
    }
    pieces.sort_unstable_by(|a, b| a.key.cmp(&b.key).then(a.from.cmp(&b.from)));

    // United per (address, group): touching pieces join (rule 8).
    let mut out = Vec::new();
    let mut reasons: Vec<u32> = Vec::new();
    let mut i = 0;
    while i < pieces.len() {
        let key = pieces[i].key;
        let from = pieces[i].from;
        let mut until = pieces[i].until;
        reasons.clear();
        reasons.push(pieces[i].entitlement);
        let mut j = i + 1;
        while j < pieces.len() && pieces[j].key == key && until.is_none_or(|u| pieces[j].from <= u)
        {
            until = match (until, pieces[j].until) {
                (Some(a), Some(b)) => Some(a.max(b)),
                _ => None,
            };
            reasons.push(pieces[j].entitlement);
            j += 1;
        }
        i = j;
        if from >= horizon {
            continue;
        }
        reasons.sort_unstable();
        reasons.dedup();
        let mut ids: Vec<EntitlementId> = reasons
            .iter()
            .map(|&x| EntitlementId::from(entitlements.text[x as usize]))
            .collect();
        ids.sort_unstable();
        out.push(Interval {
            email: addresses[by_rank[(key >> 32) as usize] as usize].clone(),
            group: groups[(key & u64::from(u32::MAX)) as usize],
            from,
            until: until.filter(|&u| u <= horizon),
            reasons: ids,
        });
    }
    Some((out, warnings))
}
