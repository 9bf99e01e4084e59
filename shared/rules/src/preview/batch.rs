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

use super::records::{Arena, Rec, RecBody, RecHolder};
use super::timeline::{Interval, Preview};
use crate::event::Event;
use crate::facts::{Facts, Warning};
use crate::ids::{Email, EntitlementId, GroupId, MemberId, TeamId};
use crate::mapping::Mappings;
use crate::time::Instant;
use crate::windows::{Shape, Timing, Window, for_each_window_of};
use chrono::Duration;
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
fn intern_email<'e>(emails: &mut Ids<'e>, addresses: &mut Vec<&'e Email>, e: &'e Email) -> u32 {
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

/// Pairs `(hash, index)` ordered by hash, indices increasing within one hash (given in
/// increasing order): two stable counting passes on the top 16 bits, then each short run of
/// equal top bits sorted in place. Hashing with a sort keeps the memory walked sequential, where
/// a hash table of every id would miss the cache at each event.
fn by_hash(keys: Vec<(u64, u32)>) -> Vec<(u64, u32)> {
    let mut from = keys;
    let mut to = vec![(0u64, 0u32); from.len()];
    for shift in [48, 56] {
        let digit = |k: u64| ((k >> shift) & 0xff) as usize;
        let mut count = [0usize; 257];
        for &(h, _) in &from {
            count[digit(h) + 1] += 1;
        }
        for d in 0..256 {
            count[d + 1] += count[d];
        }
        for &k in &from {
            let at = &mut count[digit(k.0)];
            to[*at] = k;
            *at += 1;
        }
        std::mem::swap(&mut from, &mut to);
    }
    let mut i = 0;
    while i < from.len() {
        let top = from[i].0 >> 48;
        let mut j = i + 1;
        while j < from.len() && from[j].0 >> 48 == top {
            j += 1;
        }
        // Stable: equal hashes keep their indices in order.
        from[i..j].sort_by_key(|&(h, _)| h);
        i = j;
    }
    from
}

/// Calls `f` with each group of indices whose `text` is the same, in increasing order, from
/// [`by_hash`]'s pairs (ids whose hashes clash are told apart by their text).
fn for_each_group<'a>(
    sorted: &[(u64, u32)],
    text: impl Fn(u32) -> &'a str,
    mut f: impl FnMut(&[u32]),
) {
    let mut group = Vec::new();
    let mut rest = Vec::new();
    let mut i = 0;
    while i < sorted.len() {
        let h = sorted[i].0;
        let mut j = i + 1;
        while j < sorted.len() && sorted[j].0 == h {
            j += 1;
        }
        if j == i + 1 {
            // Alone with its hash (nearly always): no need to read its text.
            f(&[sorted[i].1]);
            i = j;
            continue;
        }
        rest.clear();
        rest.extend(sorted[i..j].iter().map(|&(_, x)| x));
        while let Some(&first) = rest.first() {
            let key = text(first);
            group.clear();
            group.extend(rest.iter().copied().filter(|&x| text(x) == key));
            rest.retain(|&x| text(x) != key);
            f(&group);
        }
        i = j;
    }
}

fn hash(s: &str) -> u64 {
    use std::hash::BuildHasher;
    rustc_hash::FxBuildHasher.hash_one(s)
}

/// The preview of `events` as the engine records it, or `None` when some version has weekly
/// blocks (see the module documentation).
pub(super) fn preview(
    mappings: &Mappings,
    events: &[Event],
    until: Option<Instant>,
) -> Option<Preview> {
    let mut arena = Arena::default();
    let recs = events
        .iter()
        .map(|e| Rec::of_event(e, &mut arena))
        .collect::<Option<Vec<_>>>()?;
    Some(timeline(mappings, &recs, &arena, until))
}

/// The preview of `events` (de-duplicated by delivery id, the first line winning; sorted by
/// `at`, stably) up to `until` (or 30 days after the latest event), exactly as the engine
/// records it.
pub(super) fn timeline(
    mappings: &Mappings,
    events: &[Rec<'_>],
    arena: &Arena<'_>,
    until: Option<Instant>,
) -> Preview {
    let n = events.len();

    // First deliveries, in `at` order (stably).
    let mut first = vec![true; n];
    let ids = by_hash(
        events
            .iter()
            .enumerate()
            .map(|(i, e)| (hash(e.id), i as u32))
            .collect(),
    );
    for_each_group(
        &ids,
        |i| events[i as usize].id,
        |g| {
            for &i in &g[1..] {
                first[i as usize] = false;
            }
        },
    );
    drop(ids);
    let mut order: Vec<u32> = (0..n as u32).filter(|&i| first[i as usize]).collect();
    drop(first);
    order.sort_by_key(|&i| events[i as usize].at);
    let event = |p: u32| &events[order[p as usize] as usize];
    let horizon = until.unwrap_or_else(|| {
        order
            .last()
            .map(|&i| events[i as usize].at + Duration::days(30))
            .unwrap_or_default()
    });

    // Members' address periods and teams' lists, in time order; entitlement events by id.
    let mut warnings = BTreeSet::new();
    let mut members = Ids::with_capacity(n / 8);
    let mut teams = Ids::with_capacity(0);
    let mut emails = Ids::with_capacity(n / 8);
    let mut addresses: Vec<&Email> = Vec::with_capacity(n / 8);
    let mut member_at = Vec::with_capacity(n / 8);
    let mut team_at = Vec::new();
    let mut team_lists = Vec::new();
    let mut described_member = Vec::with_capacity(n / 8);
    let mut described_team = Vec::new();
    let mut versions = Vec::with_capacity(n);
    for p in 0..order.len() as u32 {
        let ev = event(p);
        match &ev.body {
            RecBody::Member { id, email, removed } => {
                let member = members.intern(id);
                described_member.resize(members.len(), false);
                described_member[member as usize] = true;
                if email.is_none() && !removed {
                    warnings.insert(Warning::MemberWithoutEmail(MemberId::from(*id)));
                }
                let email = match (email, removed) {
                    (Some(e), false) => intern_email(&mut emails, &mut addresses, e),
                    _ => NONE,
                };
                member_at.push(MemberAt {
                    member,
                    email,
                    at: ev.at,
                });
            }
            RecBody::Team { id, members: list } => {
                let team = teams.intern(id);
                described_team.resize(teams.len(), false);
                described_team[team as usize] = true;
                let from = team_lists.len() as u32;
                for m in &arena.names[list.start as usize..list.end as usize] {
                    team_lists.push(members.intern(m));
                }
                team_at.push(TeamAt {
                    team,
                    from,
                    to: team_lists.len() as u32,
                    at: ev.at,
                });
            }
            RecBody::Entitlement(x) => {
                for g in &arena.emails[x.guests.start as usize..x.guests.end as usize] {
                    intern_email(&mut emails, &mut addresses, g);
                }
                versions.push((hash(x.id), p));
            }
            RecBody::Cancel(id) => versions.push((hash(id), p)),
        }
    }
    described_member.resize(members.len(), false);
    described_team.resize(teams.len(), false);
    let member_at = Grouped::new(members.len(), &member_at, |r| r.member);
    let team_at = Grouped::new(teams.len(), &team_at, |r| r.team);
    let versions = by_hash(versions);

    // Groups by rank, and each mapping's groups as ranks.
    let mut groups: Vec<GroupId> = mappings.entries.iter().flat_map(|e| e.targets()).collect();
    groups.sort_unstable();
    groups.dedup();
    let rank_of = |g: GroupId| groups.binary_search(&g).unwrap_or(0) as u64;
    let entry_groups: Vec<Vec<u64>> = mappings
        .entries
        .iter()
        .map(|e| e.targets().map(rank_of).collect())
        .collect();

    // Each entitlement record's first and next record with the same id (positions in time
    // order), so that the records are read in time order rather than id by id.
    let id_of = |p: u32| match &event(p).body {
        RecBody::Entitlement(x) => x.id,
        RecBody::Cancel(id) => id,
        RecBody::Member { .. } | RecBody::Team { .. } => "",
    };
    let mut head = vec![NONE; order.len()];
    let mut next = vec![NONE; order.len()];
    for_each_group(&versions, id_of, |g| {
        for w in g.windows(2) {
            next[w[0] as usize] = w[1];
        }
        for &p in g {
            head[p as usize] = g[0];
        }
    });
    drop(versions);
    // The records of one id from its first to (not including) `p`.
    let earlier = |p: u32| {
        std::iter::successors(Some(head[p as usize]), |&q| Some(next[q as usize]))
            .take_while(move |&q| q != p)
    };
    let is_version = |p: u32| matches!(event(p).body, RecBody::Entitlement(_));

    // Every piece: a version's window within its period, reaching an address within the
    // periods that connect the two. Keyed by address index for now.
    let mut pieces: Vec<Piece> = Vec::with_capacity(order.len());
    // Entitlements by index (in order of first appearance), and each first record's index.
    let mut entitlements: Vec<&str> = Vec::with_capacity(order.len());
    let mut index_of = vec![NONE; order.len()];
    let mut hits: Vec<(u32, Window)> = Vec::new();
    for p in 0..order.len() as u32 {
        let h = head[p as usize];
        if h == NONE {
            continue; // a member or team event
        }
        let x = if h == p {
            index_of[p as usize] = entitlements.len() as u32;
            entitlements.push(id_of(p));
            entitlements.len() as u32 - 1
        } else {
            index_of[h as usize]
        };
        let vf = event(p).at;
        let RecBody::Entitlement(e) = &event(p).body else {
            if !earlier(p).any(is_version) {
                warnings.insert(Warning::CancelOfUnknown(EntitlementId::from(id_of(p))));
            }
            continue;
        };
        let first_seen = earlier(p)
            .find(|&q| is_version(q))
            .map_or(vf, |q| event(q).at);
        let vu = match next[p as usize] {
            NONE => None,
            q => Some(event(q).at),
        };
        let holder = match e.holder {
            RecHolder::Member(m) => members.ix.get(m).copied(),
            RecHolder::Team(t) => teams.ix.get(t).map(|&t| t | TEAM),
        };
        if vu.is_none() {
            // The current version's holder, if nothing described it (`Facts::dangling`).
            match (e.holder, holder) {
                (RecHolder::Member(m), h) if h.is_none_or(|h| !described_member[h as usize]) => {
                    warnings.insert(Warning::MemberWithoutEmail(MemberId::from(m)));
                }
                (RecHolder::Team(t), h)
                    if h.is_none_or(|h| !described_team[(h & !TEAM) as usize]) =>
                {
                    warnings.insert(Warning::TeamNeverDescribed(TeamId::from(t)));
                }
                _ => {}
            }
        }
        if vu == Some(vf) || !Facts::may_grant(e.status) {
            continue;
        }
        let start = e.start.unwrap_or(first_seen);
        let shape = Shape {
            kind: e.kind,
            end: e.end,
            tz: e.tz,
            blocks: &[],
        };
        let guests = &arena.emails[e.guests.start as usize..e.guests.end as usize];
        for &(source, id) in &arena.refs[e.refs.start as usize..e.refs.end as usize] {
            let Some(m) = mappings.position(source, id) else {
                continue;
            };
            let entry = &mappings.entries[m];
            if !Facts::grants_through(e.status, mappings, entry) {
                continue;
            }
            let timing = Timing {
                lead: entry.lead(),
                lag: entry.lag(),
                default_tz: mappings.defaults.timezone,
            };
            hits.clear();
            for_each_window_of(shape, start, timing, vf, vf, |w| {
                let Some(w) = clip(w, vf, vu) else { return };
                for g in guests {
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
                match holder {
                    None => {}
                    Some(h) if h & TEAM == 0 => reach(h, w),
                    Some(t) => {
                        for (tf, tu, t) in periods(team_at.of(t & !TEAM), |r| r.at) {
                            let Some(wt) = clip(w, tf, tu) else { continue };
                            for &member in &team_lists[t.from as usize..t.to as usize] {
                                reach(member, wt);
                            }
                        }
                    }
                }
            });
            for &(email, w) in &hits {
                for &g in &entry_groups[m] {
                    pieces.push(Piece {
                        key: u64::from(email) << 32 | g,
                        from: w.from,
                        until: w.until,
                        entitlement: x,
                    });
                }
            }
        }
    }
    drop((head, next, index_of));

    // Addresses by rank in text order (the order of the output).
    let mut by_rank: Vec<u32> = (0..emails.len() as u32).collect();
    by_rank.sort_unstable_by(|&a, &b| emails.text[a as usize].cmp(emails.text[b as usize]));
    let mut rank = vec![0u32; emails.len()];
    for (r, &e) in by_rank.iter().enumerate() {
        rank[e as usize] = r as u32;
    }
    for p in &mut pieces {
        p.key = u64::from(rank[(p.key >> 32) as usize]) << 32 | (p.key & u64::from(u32::MAX));
    }
    // By address (a counting sort: an address has a few pieces), then each address's by group
    // and start.
    let pieces = Grouped::new(emails.len(), &pieces, |p| (p.key >> 32) as u32);
    let mut pieces = pieces.recs;
    let mut i = 0;
    while i < pieces.len() {
        let email = pieces[i].key >> 32;
        let mut j = i + 1;
        while j < pieces.len() && pieces[j].key >> 32 == email {
            j += 1;
        }
        pieces[i..j].sort_unstable_by(|a, b| a.key.cmp(&b.key).then(a.from.cmp(&b.from)));
        i = j;
    }

    // United per (address, group): touching pieces join (rule 8).
    let mut out = Vec::with_capacity(pieces.len());
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
            .map(|&x| EntitlementId::from(entitlements[x as usize]))
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
    Preview {
        intervals: out,
        warnings: warnings.iter().map(ToString::to_string).collect(),
        horizon,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_come_out_by_hash_with_indices_in_order() {
        // Hashes that share their top bits, and equal hashes, among many.
        let mut keys: Vec<(u64, u32)> = (0..5_000u32)
            .map(|i| {
                let h = u64::from(i % 97).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ u64::from(i % 3);
                (h, i)
            })
            .collect();
        let got = by_hash(keys.clone());
        keys.sort();
        assert_eq!(got, keys);
    }

    #[test]
    fn ids_whose_hashes_clash_are_told_apart_by_their_text() {
        let text = ["a", "b", "a", "c", "b", "d"];
        // Every id with one hash but the last.
        let sorted: Vec<(u64, u32)> = (0..6).map(|i| (if i < 5 { 7 } else { 9 }, i)).collect();
        let mut groups = Vec::new();
        for_each_group(&sorted, |i| text[i as usize], |g| groups.push(g.to_vec()));
        assert_eq!(groups, vec![vec![0, 2], vec![1, 4], vec![3], vec![5]]);
    }
}
