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
//! [`Brake`]) while publishing the rest.

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
    /// Cancels of active entitlements, removals of members, emptied teams: what the brake
    /// may hold.
    pub endings: Vec<Event>,
    /// Records the listing shows exactly as stored.
    pub unchanged: usize,
    /// The stored active entitlements the endings end (directly, or through a removed holder):
    /// what the brake counts.
    pub ended_entitlements: BTreeSet<EntitlementId>,
}

/// The brake on endings: a sync that would end more than `share` of the platform's active
/// entitlements, and more than `floor` of them, is held until an operator confirms.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Brake {
    /// Largest share of active entitlements a sync may end unconfirmed (default 0.10).
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
                        end_member(stored, &m.id, &active, &mut out.ended_entitlements);
                        out.endings.push(event(scope, stored, (*body).clone(), at));
                    }
                    _ => out.changes.push(event(scope, stored, (*body).clone(), at)),
                }
            }
            Body::Team(t) => {
                seen_teams.insert(t.id.clone());
                let fresh_set: BTreeSet<&MemberId> = t.members.iter().collect();
                match stored.team(&t.id) {
                    Some(r) if r.members.iter().collect::<BTreeSet<_>>() == fresh_set => {
                        out.unchanged += 1;
                    }
                    None if t.members.is_empty() => out.unchanged += 1,
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
                        out.ended_entitlements.insert(id.clone());
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
        if !seen_entitlements.contains(id) {
            out.ended_entitlements.insert(id.clone());
            out.endings
                .push(event(scope, stored, Body::Cancel(id.clone()), at));
        }
    }
    for m in members.difference(seen_members) {
        let Some(r) = stored.member(m).filter(|r| !r.removed) else {
            continue;
        };
        end_member(stored, m, active, &mut out.ended_entitlements);
        let body = Body::Member(MemberEvent {
            id: m.clone(),
            email: r.email.clone(),
            name: r.name.clone(),
            removed: true,
        });
        out.endings.push(event(scope, stored, body, at));
    }
    for t in teams.difference(seen_teams) {
        if stored.team(t).is_none_or(|r| r.members.is_empty()) {
            continue;
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

/// The active entitlements a member's removal ends: those held directly.
fn end_member(
    stored: &Facts,
    m: &MemberId,
    active: &BTreeSet<EntitlementId>,
    ended: &mut BTreeSet<EntitlementId>,
) {
    // A team's entitlements stay with its other members: only the member's own count.
    for e in stored.held_by_member(m) {
        if active.contains(e) {
            ended.insert(e.clone());
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
