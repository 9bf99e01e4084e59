//! The pure half of the safety net around converge: which decisions take access away (and so
//! count against the one brake), the brake's budget over a sliding window, and which pairs
//! should be open (the index reconcile uses to repair grants that were lost).
//!
//! Nothing here reads a clock or a store: `now` is a parameter and the budget is plain data the
//! shell loads, changes with [`Budget::take`] and writes back (with a version check, so every
//! process shares one budget).

use crate::access::Access;
use crate::converge::{Decision, Owned};
use crate::facts::Record;
use crate::time::Instant;
use chrono::Duration;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The brake's settings (`BRAKE_SHARE_PER_HOUR`, `BRAKE_FLOOR`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BrakeConfig {
    /// Share of managed pairs that may lose access (revoke or shorter window) per window.
    pub share: f64,
    /// Reductions always allowed per window, however few pairs are managed.
    pub floor: u32,
    /// The sliding window (one hour).
    pub window: Duration,
}

impl Default for BrakeConfig {
    fn default() -> Self {
        BrakeConfig {
            share: 0.10,
            floor: 20,
            window: Duration::hours(1),
        }
    }
}

/// A decision that takes access away: what the brake counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Reduction {
    /// Our assignment is deleted while it still opens the door.
    Revoke,
    /// Our assignment is replaced by one that ends earlier (`None`: open-ended).
    Shorten {
        /// The `valid_until` Kisi holds now.
        from: Option<Instant>,
        /// The earlier one converge wants.
        to: Option<Instant>,
    },
}

/// Whether carrying out `decision` takes access away at `now`. Cleaning up an assignment whose
/// `valid_until` has passed takes nothing away (Kisi no longer honours it), nor does a
/// replacement that ends later or that revives an expired assignment.
pub fn reduction(decision: &Decision, owned: Option<&Owned>, now: Instant) -> Option<Reduction> {
    let held = owned?.valid_until;
    let live = held.is_none_or(|u| u > now);
    if !live {
        return None;
    }
    match *decision {
        Decision::Revoke => Some(Reduction::Revoke),
        Decision::Replace { valid_until } => {
            let earlier = match (valid_until, held) {
                (Some(new), Some(old)) => new < old,
                (Some(_), None) => true,
                (None, _) => false,
            };
            earlier.then_some(Reduction::Shorten {
                from: held,
                to: valid_until,
            })
        }
        Decision::Keep | Decision::Grant { .. } => None,
    }
}

/// When a pair should be open, as the repair index remembers it: from `from` (at or before
/// `now` when it is open now) until `until` (`None`: open-ended, or not known yet for an
/// interval that has not started).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Wanted {
    /// Start (at or before the converge that wrote it when it was open then).
    pub from: Instant,
    /// End, if known.
    pub until: Option<Instant>,
}

impl Wanted {
    /// Whether this says the pair should be open at `now`.
    pub fn open_at(&self, now: Instant) -> bool {
        self.from <= now && self.until.is_none_or(|u| now < u)
    }
}

/// What the repair index should hold for a pair whose access at `now` is `access`: the current
/// open interval, else the start of the next one, else nothing.
pub fn wanted(access: &Access, now: Instant) -> Option<Wanted> {
    if access.open {
        Some(Wanted {
            from: now,
            until: access.until,
        })
    } else {
        access.next_open.map(|t| Wanted {
            from: t,
            until: None,
        })
    }
}

/// Whether a stored index entry still says what [`wanted`] says at `now` (so nothing needs
/// writing): an open entry written earlier in the same interval is the same entry.
pub fn same_wanted(stored: Option<&Wanted>, want: Option<&Wanted>, now: Instant) -> bool {
    match (stored, want) {
        (None, None) => true,
        (Some(s), Some(w)) if w.from <= now => s.from <= now && s.until == w.until,
        (Some(s), Some(w)) => s == w,
        _ => false,
    }
}

/// The brake's budget: reductions carried out per minute, over the last window, and the number
/// of managed pairs the share applies to (counted by reconcile).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Budget {
    /// Managed pairs when last counted (0: not counted yet; only the floor applies).
    pub managed: u64,
    /// Reductions carried out, by minute (Unix seconds ÷ 60).
    pub used: BTreeMap<i64, u32>,
}

fn minute(t: Instant) -> i64 {
    t.timestamp().div_euclid(60)
}

impl Budget {
    /// The most reductions allowed in one window.
    pub fn limit(&self, cfg: &BrakeConfig) -> u32 {
        let share = (cfg.share * self.managed as f64).floor();
        let share = if share >= f64::from(u32::MAX) {
            u32::MAX
        } else {
            share as u32
        };
        share.max(cfg.floor)
    }

    /// Reductions carried out in the window that ends at `now` (whole minutes: the minute of
    /// `now` and the ones before it that lie inside the window).
    pub fn used(&self, now: Instant, cfg: &BrakeConfig) -> u32 {
        let first = minute(now - cfg.window) + 1;
        self.used
            .range(first..)
            .filter(|(m, _)| **m <= minute(now))
            .map(|(_, n)| *n)
            .sum()
    }

    /// Takes up to `wanted` reductions at `now`; returns how many were granted (the rest must
    /// be held). Minutes that have left the window are forgotten.
    pub fn take(&mut self, now: Instant, cfg: &BrakeConfig, wanted: u32) -> u32 {
        let first = minute(now - cfg.window) + 1;
        self.used = self.used.split_off(&first);
        let room = self.limit(cfg).saturating_sub(self.used(now, cfg));
        let granted = room.min(wanted);
        if granted > 0 {
            *self.used.entry(minute(now)).or_default() += granted;
        }
        granted
    }
}

/// A fingerprint of the facts one person's access is computed from, and of the mapping
/// version: a revoke the operator discarded stays discarded while it is unchanged ("until the
/// next change"). FNV-1a over the records' canonical JSON, so it is the same in every process.
pub fn fingerprint(records: &[Record], mapping_version: Option<u64>) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |bytes: &[u8]| {
        for b in bytes {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    };
    let mut docs: Vec<String> = records
        .iter()
        .map(|r| serde_json::to_string(r).unwrap_or_default())
        .collect();
    docs.sort();
    for d in &docs {
        eat(d.as_bytes());
        eat(b"\n");
    }
    eat(mapping_version.unwrap_or(0).to_string().as_bytes());
    format!("{h:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::parse_instant;
    use std::collections::BTreeSet;

    fn at(s: &str) -> Instant {
        parse_instant(s).unwrap()
    }

    const NOW: &str = "2026-12-07T10:00:00Z";

    fn owned(u: Option<&str>) -> Owned {
        Owned {
            valid_until: u.map(at),
        }
    }

    #[test]
    fn revoking_a_live_assignment_is_a_reduction_and_cleaning_up_an_expired_one_is_not() {
        let live = owned(Some("2026-12-07T11:00:00Z"));
        let gone = owned(Some("2026-12-07T09:00:00Z"));
        assert_eq!(
            reduction(&Decision::Revoke, Some(&live), at(NOW)),
            Some(Reduction::Revoke)
        );
        assert_eq!(
            reduction(&Decision::Revoke, Some(&owned(None)), at(NOW)),
            Some(Reduction::Revoke)
        );
        assert_eq!(reduction(&Decision::Revoke, Some(&gone), at(NOW)), None);
    }

    #[test]
    fn an_earlier_end_is_a_shortening_and_a_later_one_is_not() {
        let live = owned(Some("2026-12-07T12:00:00Z"));
        let shorter = Decision::Replace {
            valid_until: Some(at("2026-12-07T11:00:00Z")),
        };
        let longer = Decision::Replace {
            valid_until: Some(at("2026-12-07T13:00:00Z")),
        };
        assert_eq!(
            reduction(&shorter, Some(&live), at(NOW)),
            Some(Reduction::Shorten {
                from: Some(at("2026-12-07T12:00:00Z")),
                to: Some(at("2026-12-07T11:00:00Z"))
            })
        );
        assert_eq!(reduction(&longer, Some(&live), at(NOW)), None);
        assert_eq!(
            reduction(
                &Decision::Replace { valid_until: None },
                Some(&live),
                at(NOW)
            ),
            None
        );
        // An open-ended assignment given an end is shortened.
        assert!(reduction(&shorter, Some(&owned(None)), at(NOW)).is_some());
        // Grants and keeps take nothing away.
        assert_eq!(reduction(&Decision::Keep, Some(&live), at(NOW)), None);
        assert_eq!(
            reduction(&Decision::Grant { valid_until: None }, None, at(NOW)),
            None
        );
    }

    #[test]
    fn the_limit_is_the_share_of_managed_pairs_but_never_below_the_floor() {
        let cfg = BrakeConfig::default();
        let mut b = Budget::default();
        assert_eq!(b.limit(&cfg), 20);
        b.managed = 1000;
        assert_eq!(b.limit(&cfg), 100);
        b.managed = 100;
        assert_eq!(b.limit(&cfg), 20);
    }

    #[test]
    fn the_budget_slides_minute_by_minute_over_the_window() {
        let cfg = BrakeConfig {
            share: 0.0,
            floor: 3,
            window: Duration::hours(1),
        };
        let mut b = Budget::default();
        assert_eq!(b.take(at("2026-12-07T10:00:00Z"), &cfg, 2), 2);
        assert_eq!(b.take(at("2026-12-07T10:30:00Z"), &cfg, 5), 1);
        assert_eq!(b.take(at("2026-12-07T10:59:59Z"), &cfg, 1), 0);
        // The two of 10:00 leave the window at 11:00; the one of 10:30 is still in it.
        assert_eq!(b.used(at("2026-12-07T11:00:00Z"), &cfg), 1);
        assert_eq!(b.take(at("2026-12-07T11:00:00Z"), &cfg, 5), 2);
        assert_eq!(b.used.len(), 2, "old minutes forgotten: {:?}", b.used);
    }

    #[test]
    fn the_index_keeps_the_current_interval_or_the_next_start() {
        let open = Access {
            open: true,
            until: Some(at("2026-12-07T11:00:00Z")),
            next_change: Some(at("2026-12-07T11:00:00Z")),
            next_open: None,
            reasons: BTreeSet::new(),
            parts: vec![],
        };
        let w = wanted(&open, at(NOW)).unwrap();
        assert!(w.open_at(at("2026-12-07T10:59:00Z")));
        assert!(!w.open_at(at("2026-12-07T11:00:00Z")));
        let later = Access {
            open: false,
            until: None,
            next_change: Some(at("2026-12-08T09:00:00Z")),
            next_open: Some(at("2026-12-08T09:00:00Z")),
            ..open.clone()
        };
        let w2 = wanted(&later, at(NOW)).unwrap();
        assert!(!w2.open_at(at(NOW)));
        assert!(w2.open_at(at("2026-12-08T09:00:00Z")));
        let closed = Access {
            next_open: None,
            next_change: None,
            ..later
        };
        assert_eq!(wanted(&closed, at(NOW)), None);
        // Written at 10:00, still the same entry at 10:30.
        let again = wanted(&open, at("2026-12-07T10:30:00Z")).unwrap();
        assert!(same_wanted(
            Some(&w),
            Some(&again),
            at("2026-12-07T10:30:00Z")
        ));
        assert!(!same_wanted(Some(&w), Some(&w2), at(NOW)));
        assert!(!same_wanted(Some(&w), None, at(NOW)));
    }
}
