//! The live question for one (e-mail, group) pair at `now`: is it open, until when, and when
//! does the answer next change (the edge to schedule)?
//!
//! The answer is computed from the latest facts (see [`crate::facts`]): every entitlement that
//! reaches the address — held by a member with that address, by a team such a member is in, or
//! naming it as a guest — contributes its windows through every mapping of the group, each
//! clipped so it starts no earlier than the facts it depends on (rule 3). Windows are united and
//! touching ones merged (rule 8), so Kisi sees one open and one close, never a flicker.

use crate::event::Holder;
use crate::facts::{Direct, Facts, Resolve, groups_of_version};
use crate::ids::{EntitlementId, GroupId, Pair};
use crate::mapping::Mappings;
use crate::time::Instant;
use crate::windows::Window;
use chrono::Duration;
use std::collections::BTreeSet;

/// How far ahead weekly blocks are expanded. A pair whose answer depends on blocks beyond this
/// is re-checked [`RECHECK_BEFORE`] before the end of it.
pub const LOOKAHEAD: Duration = Duration::days(62);
/// See [`LOOKAHEAD`].
pub const RECHECK_BEFORE: Duration = Duration::days(2);

/// The access of one pair at one instant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Access {
    /// Whether the person may open the group's doors now.
    pub open: bool,
    /// When open: the end of the current open interval (`None`: open-ended). This is the
    /// `valid_until` given to Kisi, so Kisi closes the door even if everything else fails.
    pub until: Option<Instant>,
    /// The next instant at which the answer may change: when to converge again.
    pub next_change: Option<Instant>,
    /// Start of the next open interval after now, if one is known: a reason to make sure the
    /// Kisi user exists (and is invited) before the door matters.
    pub next_open: Option<Instant>,
    /// Entitlements that make up the current open interval (empty when closed).
    pub reasons: BTreeSet<EntitlementId>,
    /// The windows that make up the current open interval, with their entitlements, as the
    /// facts stand now (a later version may still change the parts that lie ahead).
    pub parts: Vec<(Window, EntitlementId)>,
}

/// A merged interval with the entitlements behind it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Merged {
    /// The interval.
    pub window: Window,
    /// Every entitlement that contributed any part of it, including parts that only touch it.
    pub reasons: BTreeSet<EntitlementId>,
}

/// Unites windows: overlapping or touching ones merge (rule 8). Input in any order.
pub fn merge(mut parts: Vec<(Window, EntitlementId)>) -> Vec<Merged> {
    parts.sort_by_key(|a| a.0.from);
    let mut out: Vec<Merged> = Vec::new();
    for (w, id) in parts {
        if w.is_empty() {
            continue;
        }
        if let Some(last) = out.last_mut()
            && last.window.until.is_none_or(|u| w.from <= u)
        {
            last.window.until = match (last.window.until, w.until) {
                (Some(a), Some(b)) => Some(a.max(b)),
                _ => None,
            };
            last.reasons.insert(id);
            continue;
        }
        out.push(Merged {
            window: w,
            reasons: BTreeSet::from([id]),
        });
    }
    out
}

/// [`Access`] without the entitlements: the current open interval is `parts[current]` of the
/// buffer it was computed into.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Answer {
    pub(crate) open: bool,
    pub(crate) until: Option<Instant>,
    pub(crate) next_change: Option<Instant>,
    pub(crate) next_open: Option<Instant>,
    pub(crate) current: std::ops::Range<usize>,
}

impl Answer {
    /// The [`Access`] this answer describes, with no reasons or parts (what [`decide`] reads).
    ///
    /// [`decide`]: crate::converge::decide
    pub(crate) fn bare(&self) -> Access {
        Access {
            open: self.open,
            until: self.until,
            next_change: self.next_change,
            next_open: self.next_open,
            reasons: BTreeSet::new(),
            parts: Vec::new(),
        }
    }
}

impl Facts {
    /// Every window that reaches `pair`, clipped by what it depends on, that may intersect
    /// `[lo, hi)`; and whether any was cut off at `hi` (weekly blocks that go on).
    pub fn contributions(
        &self,
        mappings: &Mappings,
        pair: &Pair,
        lo: Instant,
        hi: Instant,
    ) -> (Vec<(Window, EntitlementId)>, bool) {
        let mut parts = Vec::new();
        let email = self.email_index(&pair.email);
        let cut = self.parts_into(&Direct(mappings), email, pair.group, lo, hi, &mut parts);
        (
            parts
                .into_iter()
                .map(|(w, i)| (w, self.entitlement_id(i).clone()))
                .collect(),
            cut,
        )
    }

    /// Open or closed at `now`, until when, and the next edge.
    pub fn access(&self, mappings: &Mappings, pair: &Pair, now: Instant) -> Access {
        let mut parts = Vec::new();
        let email = self.email_index(&pair.email);
        let a = self.answer(
            &Direct(mappings),
            email,
            pair.group,
            (now, now + LOOKAHEAD),
            &mut parts,
        );
        let current = &parts[a.current.clone()];
        Access {
            reasons: current
                .iter()
                .map(|&(_, i)| self.entitlement_id(i).clone())
                .collect(),
            parts: current
                .iter()
                .map(|&(w, i)| (w, self.entitlement_id(i).clone()))
                .collect(),
            ..a.bare()
        }
    }

    /// [`Facts::access`] for address index `email` (`None`: an address never seen), computed
    /// into `parts` (cleared first), which afterwards holds the windows from `now` on in order
    /// of their start, with their entitlements' indices. `hi` is `now + LOOKAHEAD`, which a
    /// caller converging many pairs at one instant computes once.
    pub(crate) fn answer<R: Resolve>(
        &self,
        res: &R,
        email: Option<u32>,
        group: GroupId,
        (now, hi): (Instant, Instant),
        parts: &mut Vec<(Window, u32)>,
    ) -> Answer {
        debug_assert_eq!(hi, now + LOOKAHEAD);
        parts.clear();
        let cut = self.parts_into(res, email, group, now, hi, parts);
        parts.retain(|(w, _)| w.until.is_none_or(|u| u >= now));
        parts.sort_unstable_by_key(|(w, _)| w.from);
        let recheck = cut.then(|| hi - RECHECK_BEFORE);

        // Walk the united intervals in order: the one holding `now`, and the next one to open.
        let mut current: Option<(usize, usize, Window)> = None; // parts[a..b] make it up
        let mut next_open = None;
        let mut i = 0;
        while i < parts.len() {
            let mut w = parts[i].0;
            let mut j = i + 1;
            while j < parts.len() && w.until.is_none_or(|u| parts[j].0.from <= u) {
                w.until = match (w.until, parts[j].0.until) {
                    (Some(a), Some(b)) => Some(a.max(b)),
                    _ => None,
                };
                j += 1;
            }
            if w.from <= now && w.until.is_none_or(|u| now < u) {
                current = Some((i, j, w));
            } else if w.from > now {
                next_open = Some(w.from);
                break;
            }
            i = j;
        }
        let earliest = |a: Option<Instant>, b: Option<Instant>| match (a, b) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        match current {
            Some((a, b, w)) => Answer {
                open: true,
                until: w.until,
                next_change: earliest(w.until, recheck),
                next_open,
                current: a..b,
            },
            None => Answer {
                open: false,
                until: None,
                next_change: earliest(next_open, recheck),
                next_open,
                current: 0..0,
            },
        }
    }

    /// Every pair any current entitlement can reach: what a full reconcile or a mapping change
    /// must look at.
    pub fn all_pairs(&self, mappings: &Mappings) -> BTreeSet<Pair> {
        let mut out = BTreeSet::new();
        for rec in self.entitlements_iter() {
            let Some(e) = &rec.current else { continue };
            let groups = groups_of_version(e, mappings);
            if groups.is_empty() {
                continue;
            }
            let mut emails: Vec<_> = e.guests.clone();
            let members: Vec<_> = match &e.holder {
                Holder::Member(m) => vec![m.clone()],
                Holder::Team(t) => self.team(t).map(|t| t.members.clone()).unwrap_or_default(),
            };
            emails.extend(
                members
                    .iter()
                    .filter_map(|m| self.member(m).and_then(|r| r.active_email().cloned())),
            );
            for email in emails {
                for &group in &groups {
                    out.insert(Pair {
                        email: email.clone(),
                        group,
                    });
                }
            }
        }
        out
    }
}
