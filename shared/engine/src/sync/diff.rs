//! The pure half of `platform_sync`: the stored facts and the canonical events a listing of
//! the platform's API means → the events to publish. No I/O, no clock.
//!
//! - a record the listing shows differently from the stored one (or that is not stored) →
//!   its event, re-identified by content ([`sync_delivery_id`]);
//! - a record the listing shows as stored → nothing;
//! - only when the listing was **full and complete** ([`Listing::CompleteFull`]): an active
//!   entitlement of this platform ([`SyncScope::covers`]) missing from it → a cancel; a member
//!   of this platform missing from it → a removal; a team of this platform missing from it →
//!   an empty member list. An incremental or incomplete listing never ends anything.
//! - a record the listing contains but the mapping could not read ([`SyncScope::kept`]) is not
//!   missing: what it stands for is neither ended nor counted by the brake.
//!
//! # Which stored records are this platform's
//! Stored facts do not record where they came from. Entitlements: the platform's normaliser
//! names them `<platform>:…`, and its [`access_sync_platforms`] spec says which of those a
//! complete listing covers (the caller passes that as `covers`). Members and teams keep the
//! platform's raw ids, so a member (team) is this platform's when it holds, or is in a team
//! that holds, a stored active entitlement the listing covers: exactly the members whose
//! removal can change access granted by this platform. A member that holds nothing of it is
//! left alone (its removal would change nothing this platform granted).
//!
//! Endings are returned apart from changes so that the caller can hold them (the brake,
//! [`Brake`]) while publishing the rest. A team list that loses members is an ending too (its
//! lost members lose the team's entitlements), whether or not it also gains some.
//!
//! # What the brake counts
//! **Grants**: one person's access through one active entitlement of this platform — a
//! member-held entitlement is one grant, a team-held one is one per stored member of the team
//! (at least one). The active grants are the brake's base ([`SyncScope::active_grants`]); the
//! endings' grants ([`SyncDiff::ended_grants`]) are what it weighs: a cancel ends all of an
//! entitlement's grants, a member's removal the member's own and those it had through its
//! teams, an emptied or shrunk team those of the members it loses. So a company plan shared by
//! fifty people that loses them all weighs fifty, as fifty personal plans would.

use access_sync_platforms::api::Kept;
use access_sync_rules::event::{MemberEvent, TeamEvent};
use access_sync_rules::{Body, EntitlementId, Event, Facts, Holder, Instant, MemberId, TeamId};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};

/// How the records compared were listed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Listing {
    /// Only records changed since a high-water mark: nothing can be inferred from absence.
    Incremental,
    /// Every record of every collection, every page read: absence means gone.
    CompleteFull,
}

/// What the sync must publish.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SyncDiff {
    /// New or changed members, teams and entitlements (including e-mail changes): safe to
    /// publish at once.
    pub changes: Vec<Event>,
    /// Cancels of active entitlements, removals of members, teams emptied or losing members: what the brake
    /// may hold.
    pub endings: Vec<Event>,
    /// Records the listing shows exactly as stored.
    pub unchanged: usize,
    /// The stored active entitlements the endings end (directly, or through a removed holder).
    pub ended_entitlements: BTreeSet<EntitlementId>,
    /// The grants the endings end (module docs, "What the brake counts"): what the brake
    /// weighs against [`SyncScope::active_grants`].
    pub ended_grants: BTreeSet<Grant>,
}

/// One person's access through one entitlement: `(entitlement, None)` for a member-held one
/// (or a team-held one whose team has no stored members), `(entitlement, Some(member))` for
/// each member of a holder team.
pub type Grant = (EntitlementId, Option<MemberId>);

/// The brake on endings: a sync that would end more than `share` of the platform's active
/// grants (entitlements, a team's counted once per member: module docs), and more than
/// `floor` of them, is held until an operator confirms.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Brake {
    /// Largest share of active grants a sync may end unconfirmed (default 0.10).
    pub share: f64,
    /// Up to this many endings never engage the brake (default 5), so a small space can
    /// lose a member without an operator.
    pub floor: usize,
}

impl Default for Brake {
    fn default() -> Self {
        Brake {
            share: 0.10,
            floor: 5,
        }
    }
}

impl Brake {
    /// Whether ending `ended` of `active` entitlements must wait for an operator.
    pub fn holds(&self, ended: usize, active: usize) -> bool {
        ended > self.floor && (ended as f64) > self.share * active as f64
    }
}

/// Which stored facts a platform's listing speaks for.
pub struct SyncScope<'a> {
    /// The platform's name (`officernd`): the prefix of the delivery ids.
    pub platform: &'a str,
    /// Whether a complete full listing would contain entitlement `id` if it still existed.
    pub covers: &'a (dyn Fn(&EntitlementId) -> bool + Sync),
    /// What records the listing contains but the mapping could not read stand for: not gone.
    pub kept: &'a Kept,
}

impl SyncScope<'_> {
    /// The stored active entitlements the listing covers.
    pub fn active(&self, stored: &Facts) -> BTreeSet<EntitlementId> {
        stored
            .entitlements_iter()
            .filter(|e| e.current.is_some() && (self.covers)(&e.id))
            .map(|e| e.id.clone())
            .collect()
    }

    /// The grants of the stored active entitlements the listing covers: the brake's base.
    pub fn active_grants(&self, stored: &Facts) -> usize {
        self.active(stored)
            .iter()
            .map(|id| grants(stored, id).len())
            .sum()
    }
}

/// Every grant of stored entitlement `id` (module docs, "What the brake counts").
fn grants(stored: &Facts, id: &EntitlementId) -> Vec<Grant> {
    let holder = stored
        .entitlement(id)
        .and_then(|r| r.current.as_ref())
        .map(|c| &c.holder);
    let members = match holder {
        Some(Holder::Team(t)) => stored.team(t).map(|r| r.members.clone()),
        _ => None,
    }
    .unwrap_or_default();
    if members.is_empty() {
        return vec![(id.clone(), None)];
    }
    members.into_iter().map(|m| (id.clone(), Some(m))).collect()
}

/// Records that `id` ends, with all its grants.
fn end_entitlement(stored: &Facts, id: &EntitlementId, out: &mut SyncDiff) {
    out.ended_entitlements.insert(id.clone());
    out.ended_grants.extend(grants(stored, id));
}

/// A delivery id that is a function of the record, the stored version it replaces and the
/// new content: the same sync run twice (before its events are applied) yields the same ids,
/// so the idempotency store drops the repeat; content that flips back (A → B → A) gets a new
/// id because the version it replaces differs.
pub fn sync_delivery_id(platform: &str, event: &Event, replaces: Option<Instant>) -> String {
    let content = Event {
        id: String::new(),
        at: Instant::UNIX_EPOCH,
        body: event.body.clone(),
    }
    .to_json();
    let replaces = replaces.map(|t| t.to_rfc3339()).unwrap_or_default();
    let mut h = Sha256::new();
    for part in [platform, replaces.as_str(), content.as_str()] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part.as_bytes());
    }
    let digest = hex::encode(h.finalize());
    format!("sync:{platform}:{}", &digest[..32])
}

fn stored_at(stored: &Facts, body: &Body) -> Option<Instant> {
    match body {
        Body::Member(m) => stored.member(&m.id).map(|r| r.at),
        Body::Team(t) => stored.team(&t.id).map(|r| r.at),
        Body::Entitlement(e) => stored.entitlement(&e.id).map(|r| r.at),
        Body::Cancel(id) => stored.entitlement(id).map(|r| r.at),
    }
}

fn key(body: &Body) -> String {
    match body {
        Body::Member(m) => format!("m:{}", m.id),
        Body::Team(t) => format!("t:{}", t.id),
        Body::Entitlement(e) => format!("e:{}", e.id),
        Body::Cancel(id) => format!("e:{id}"),
    }
}

/// The events a listing's canonical events (`fresh`, all at the sync's instant `at`) call for.
pub fn diff(
    scope: &SyncScope<'_>,
    stored: &Facts,
    fresh: &[Event],
    listing: Listing,
    at: Instant,
) -> SyncDiff {
    // One event per record: the last one a listing yields wins.
    let mut latest: BTreeMap<String, &Body> = BTreeMap::new();
    for ev in fresh {
        latest.insert(key(&ev.body), &ev.body);
    }
    let active = scope.active(stored);
    let mut out = SyncDiff::default();
    let mut seen_members = BTreeSet::new();
    let mut seen_teams = BTreeSet::new();
    let mut seen_entitlements = BTreeSet::new();
    for body in latest.values() {
        match body {
            Body::Member(m) => {
                seen_members.insert(m.id.clone());
                let same = stored
                    .member(&m.id)
                    .map(|r| r.email == m.email && r.name == m.name && r.removed == m.removed);
                match (same, m.removed) {
                    (Some(true), _) | (None, true) => out.unchanged += 1,
                    (Some(false), true) => {
                        end_member(stored, &m.id, &active, &mut out);
                        out.endings.push(event(scope, stored, (*body).clone(), at));
                    }
                    _ => out.changes.push(event(scope, stored, (*body).clone(), at)),
                }
            }
            Body::Team(t) => {
                seen_teams.insert(t.id.clone());
                // A member whose record is listed but unreadable stays where it is stored.
                let mut t = t.clone();
                if let Some(r) = stored.team(&t.id) {
                    for m in &r.members {
                        if scope.kept.members.contains(m) && !t.members.contains(m) {
                            t.members.push(m.clone());
                        }
                    }
                }
                let fresh_set: BTreeSet<&MemberId> = t.members.iter().collect();
                let body = &Body::Team(t.clone());
                match stored.team(&t.id) {
                    Some(r) if r.members.iter().collect::<BTreeSet<_>>() == fresh_set => {
                        out.unchanged += 1;
                    }
                    None if t.members.is_empty() => out.unchanged += 1,
                    Some(r) if r.members.iter().any(|m| !fresh_set.contains(m)) => {
                        // Members leave: they lose the team's entitlements, an ending.
                        for m in r.members.iter().filter(|m| !fresh_set.contains(m)) {
                            leave_team(stored, &t.id, m, &active, &mut out.ended_grants);
                        }
                        out.endings.push(event(scope, stored, (*body).clone(), at));
                    }
                    _ => out.changes.push(event(scope, stored, (*body).clone(), at)),
                }
            }
            Body::Entitlement(e) => {
                seen_entitlements.insert(e.id.clone());
                match stored.entitlement(&e.id) {
                    Some(r) if r.current.as_ref() == Some(e) => out.unchanged += 1,
                    _ => out.changes.push(event(scope, stored, (*body).clone(), at)),
                }
            }
            Body::Cancel(id) => {
                seen_entitlements.insert(id.clone());
                if stored.entitlement(id).is_some_and(|r| r.current.is_some()) {
                    if active.contains(id) {
                        end_entitlement(stored, id, &mut out);
                    }
                    out.endings.push(event(scope, stored, (*body).clone(), at));
                } else {
                    out.unchanged += 1;
                }
            }
        }
    }
    if listing == Listing::CompleteFull {
        vanished(
            scope,
            stored,
            &active,
            at,
            &seen_entitlements,
            &seen_members,
            &seen_teams,
            &mut out,
        );
    }
    out
}

#[allow(clippy::too_many_arguments)]
fn vanished(
    scope: &SyncScope<'_>,
    stored: &Facts,
    active: &BTreeSet<EntitlementId>,
    at: Instant,
    seen_entitlements: &BTreeSet<EntitlementId>,
    seen_members: &BTreeSet<MemberId>,
    seen_teams: &BTreeSet<TeamId>,
    out: &mut SyncDiff,
) {
    let mut members = BTreeSet::new();
    let mut teams = BTreeSet::new();
    for id in active {
        let Some(holder) = stored
            .entitlement(id)
            .and_then(|r| r.current.as_ref())
            .map(|c| &c.holder)
        else {
            continue;
        };
        match holder {
            Holder::Member(m) => {
                members.insert(m.clone());
            }
            Holder::Team(t) => {
                teams.insert(t.clone());
                if let Some(r) = stored.team(t) {
                    members.extend(r.members.iter().cloned());
                }
            }
        }
        // Listed but unreadable is not gone.
        if !seen_entitlements.contains(id) && !scope.kept.entitlement(id) {
            end_entitlement(stored, id, out);
            out.endings
                .push(event(scope, stored, Body::Cancel(id.clone()), at));
        }
    }
    for m in members.difference(seen_members) {
        let Some(r) = stored.member(m).filter(|r| !r.removed) else {
            continue;
        };
        if scope.kept.members.contains(m) {
            continue;
        }
        end_member(stored, m, active, out);
        let body = Body::Member(MemberEvent {
            id: m.clone(),
            email: r.email.clone(),
            name: r.name.clone(),
            removed: true,
        });
        out.endings.push(event(scope, stored, body, at));
    }
    for t in teams.difference(seen_teams) {
        if scope.kept.teams.contains(t) {
            continue;
        }
        let Some(r) = stored.team(t).filter(|r| !r.members.is_empty()) else {
            continue;
        };
        for m in &r.members {
            leave_team(stored, t, m, active, &mut out.ended_grants);
        }
        out.ended_entitlements.extend(
            stored
                .held_by_team(t)
                .iter()
                .filter(|e| active.contains(*e))
                .cloned(),
        );
        let body = Body::Team(TeamEvent {
            id: t.clone(),
            members: Vec::new(),
        });
        out.endings.push(event(scope, stored, body, at));
    }
}

/// What a member's removal ends: the active entitlements it holds itself, and its grants
/// through its teams (the teams' entitlements stay with their other members).
fn end_member(stored: &Facts, m: &MemberId, active: &BTreeSet<EntitlementId>, out: &mut SyncDiff) {
    for e in stored.held_by_member(m) {
        if active.contains(e) {
            end_entitlement(stored, e, out);
        }
    }
    for t in stored.teams_of(m) {
        leave_team(stored, t, m, active, &mut out.ended_grants);
    }
}

/// The grants member `m` loses by leaving team `t`: one per active entitlement `t` holds.
fn leave_team(
    stored: &Facts,
    t: &TeamId,
    m: &MemberId,
    active: &BTreeSet<EntitlementId>,
    ended: &mut BTreeSet<Grant>,
) {
    for e in stored.held_by_team(t) {
        if active.contains(e) {
            ended.insert((e.clone(), Some(m.clone())));
        }
    }
}

fn event(scope: &SyncScope<'_>, stored: &Facts, body: Body, at: Instant) -> Event {
    let mut ev = Event {
        id: String::new(),
        at,
        body,
    };
    ev.id = sync_delivery_id(scope.platform, &ev, stored_at(stored, &ev.body));
    ev
}
