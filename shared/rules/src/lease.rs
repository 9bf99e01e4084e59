//! The lease: every role assignment access-sync creates ends on a known date, even for
//! open-ended access, so an installation that stops entirely fails closed.
//!
//! An assignment's `valid_until` is the end of the open interval or `now + length`, whichever
//! comes first. While access stays open, converge renews a lease-bounded assignment once less
//! than `renew_before` of it remains (Kisi cannot reliably change a window in place, so renewal
//! is the usual replace: delete and create again with `notify: false`, no second invitation).
//! The renewal instant is part of the pair's next edge, so it happens without any event.
//!
//! This is an extension of the shell around [`crate::converge::decide`], which keeps the
//! access model's plain decision: `preview` models the access, the lease only when Kisi ends it.

use crate::access::Access;
use crate::converge::{Decision, Owned, decide};
use crate::ids::GroupId;
use crate::time::Instant;
use chrono::{DurationRound, TimeDelta};

/// How long an assignment may run without being renewed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lease {
    /// The longest `valid_until` from now.
    pub length: TimeDelta,
    /// Renew once less than this remains (less than `length`).
    pub renew_before: TimeDelta,
}

impl Default for Lease {
    /// 30 days, renewed when fewer than 10 remain.
    fn default() -> Self {
        Lease::days(30)
    }
}

impl Lease {
    /// A lease of `days` (at least 1), renewed when less than a third remains.
    pub fn days(days: u32) -> Lease {
        let length = TimeDelta::days(i64::from(days.max(1)));
        Lease {
            length,
            renew_before: length / 3,
        }
    }

    /// The `valid_until` to give Kisi for access open until `until` (`None`: open-ended):
    /// whichever comes first of the interval's end and the lease's, to the whole second.
    pub fn until(&self, until: Option<Instant>, now: Instant) -> Instant {
        let end = now + self.length;
        let end = end.duration_trunc(TimeDelta::seconds(1)).unwrap_or(end);
        match until {
            Some(u) if u < end => u,
            _ => end,
        }
    }

    /// When an assignment valid until `held` must be renewed for access open until `until`:
    /// `None` when `held` is the interval's own end (nothing to renew).
    pub fn renew_at(&self, held: Instant, until: Option<Instant>) -> Option<Instant> {
        until
            .is_none_or(|u| held < u)
            .then(|| held - self.renew_before)
    }

    /// [`crate::converge::decide`] with the lease: what makes Kisi match `access` at `now`,
    /// given what we own. An owned assignment is kept while it is live, ends no later than the
    /// interval, and either ends with it or has more than `renew_before` left.
    pub fn decide(&self, access: &Access, owned: Option<&Owned>, now: Instant) -> Decision {
        let valid_until = Some(self.until(access.until, now));
        match (access.open, owned) {
            (true, None) => Decision::Grant { valid_until },
            (true, Some(o)) => {
                let keep = o.valid_until.is_some_and(|held| {
                    held > now
                        && (Some(held) == access.until
                            || (access.until.is_none_or(|u| held < u)
                                && held - now > self.renew_before))
                });
                if keep {
                    Decision::Keep
                } else {
                    Decision::Replace { valid_until }
                }
            }
            (false, Some(_)) => Decision::Revoke,
            (false, None) => Decision::Keep,
        }
    }

    /// [`Lease::decide`] for any converge target. A place ([`GroupId::place`]) has no window in
    /// Kisi (a place role assignment carries no `valid_until`), so it takes no lease: it is
    /// granted open-ended while access lasts, kept as it is, and revoked when access ends.
    pub fn decide_for(
        &self,
        target: GroupId,
        access: &Access,
        owned: Option<&Owned>,
        now: Instant,
    ) -> Decision {
        if target.is_place() {
            let open_only = Access {
                until: None,
                ..access.clone()
            };
            let held = owned.map(|_| Owned { valid_until: None });
            decide(&open_only, held.as_ref(), now)
        } else {
            self.decide(access, owned, now)
        }
    }

    /// [`Lease::next_edge`] for any converge target: a place has no lease to renew, so its
    /// next edge is the next change of access.
    pub fn next_edge_for(
        &self,
        target: GroupId,
        access: &Access,
        held: Option<Instant>,
    ) -> Option<Instant> {
        if target.is_place() {
            access.next_change
        } else {
            self.next_edge(access, held)
        }
    }

    /// The next instant converge must run for the pair: the access's next change or the
    /// renewal of the assignment held after this converge (`held`), whichever comes first.
    pub fn next_edge(&self, access: &Access, held: Option<Instant>) -> Option<Instant> {
        let renew = if access.open {
            held.and_then(|h| self.renew_at(h, access.until))
        } else {
            None
        };
        match (access.next_change, renew) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::parse_instant;
    use std::collections::BTreeSet;

    fn at(s: &str) -> Instant {
        parse_instant(s).unwrap()
    }

    fn open(until: Option<&str>) -> Access {
        Access {
            open: true,
            until: until.map(at),
            next_change: until.map(at),
            next_open: None,
            reasons: BTreeSet::new(),
            parts: vec![],
        }
    }

    const NOW: &str = "2026-12-07T10:00:00Z";

    #[test]
    fn open_ended_access_is_granted_until_the_lease_ends() {
        let l = Lease::default();
        assert_eq!(
            l.decide(&open(None), None, at(NOW)),
            Decision::Grant {
                valid_until: Some(at("2027-01-06T10:00:00Z"))
            }
        );
    }

    #[test]
    fn a_short_window_keeps_its_own_end() {
        let l = Lease::default();
        assert_eq!(
            l.decide(&open(Some("2026-12-07T11:05:00Z")), None, at(NOW)),
            Decision::Grant {
                valid_until: Some(at("2026-12-07T11:05:00Z"))
            }
        );
        let held = Owned {
            valid_until: Some(at("2026-12-07T11:05:00Z")),
        };
        assert_eq!(
            l.decide(&open(Some("2026-12-07T11:05:00Z")), Some(&held), at(NOW)),
            Decision::Keep
        );
        assert_eq!(
            l.next_edge(&open(Some("2026-12-07T11:05:00Z")), held.valid_until),
            Some(at("2026-12-07T11:05:00Z"))
        );
    }

    #[test]
    fn a_lease_is_kept_until_a_third_remains_then_renewed() {
        let l = Lease::default();
        let held = Owned {
            valid_until: Some(at("2027-01-06T10:00:00Z")),
        };
        assert_eq!(
            l.decide(&open(None), Some(&held), at("2026-12-27T09:59:59Z")),
            Decision::Keep
        );
        assert_eq!(
            l.next_edge(&open(None), held.valid_until),
            Some(at("2026-12-27T10:00:00Z"))
        );
        assert_eq!(
            l.decide(&open(None), Some(&held), at("2026-12-27T10:00:00Z")),
            Decision::Replace {
                valid_until: Some(at("2027-01-26T10:00:00Z"))
            }
        );
    }

    #[test]
    fn an_assignment_without_an_end_gets_a_lease() {
        let l = Lease::default();
        assert_eq!(
            l.decide(&open(None), Some(&Owned { valid_until: None }), at(NOW)),
            Decision::Replace {
                valid_until: Some(at("2027-01-06T10:00:00Z"))
            }
        );
    }

    #[test]
    fn a_shortened_window_replaces_a_longer_lease() {
        let l = Lease::default();
        let held = Owned {
            valid_until: Some(at("2027-01-06T10:00:00Z")),
        };
        assert_eq!(
            l.decide(&open(Some("2026-12-08T00:00:00Z")), Some(&held), at(NOW)),
            Decision::Replace {
                valid_until: Some(at("2026-12-08T00:00:00Z"))
            }
        );
    }

    #[test]
    fn the_lease_is_whole_seconds() {
        let l = Lease::days(1);
        let now = at(NOW) + TimeDelta::milliseconds(1500);
        assert_eq!(l.until(None, now), at("2026-12-08T10:00:01Z"));
    }

    #[test]
    fn a_place_takes_no_lease_and_is_kept_while_access_lasts() {
        let l = Lease::default();
        let place = GroupId::place(7).unwrap();
        let group = GroupId::new(7).unwrap();
        let now = at(NOW);
        assert_eq!(
            l.decide_for(place, &open(Some("2026-12-07T11:05:00Z")), None, now),
            Decision::Grant { valid_until: None }
        );
        assert_eq!(
            l.decide_for(group, &open(None), None, now),
            l.decide(&open(None), None, now)
        );
        // Kisi shows no window on a place role: it is kept, never renewed or replaced.
        let held = Owned { valid_until: None };
        for t in [NOW, "2027-03-01T00:00:00Z"] {
            assert_eq!(
                l.decide_for(place, &open(None), Some(&held), at(t)),
                Decision::Keep
            );
        }
        assert_eq!(l.next_edge_for(place, &open(None), None), None);
        assert_eq!(
            l.next_edge_for(place, &open(Some("2026-12-07T11:05:00Z")), None),
            Some(at("2026-12-07T11:05:00Z"))
        );
        let closed = Access {
            open: false,
            until: None,
            next_change: None,
            next_open: None,
            reasons: BTreeSet::new(),
            parts: vec![],
        };
        assert_eq!(
            l.decide_for(place, &closed, Some(&held), now),
            Decision::Revoke
        );
        assert_eq!(l.decide_for(place, &closed, None, now), Decision::Keep);
    }
}
