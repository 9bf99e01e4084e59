//! Converge decisions: desired access for one pair against the role assignment we own in Kisi.
//!
//! This is the only place that decides a Kisi write. The shell (the Lambdas, and `preview` on its
//! virtual Kisi) carries the decision out, schedules [`Access::next_change`] and records it.

use crate::access::Access;
use crate::time::Instant;
use serde::{Deserialize, Serialize};

/// What we hold in Kisi for a pair: a role assignment we created.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Owned {
    /// The assignment's `valid_until` (`None`: no end).
    pub valid_until: Option<Instant>,
}

/// What converge must do for a pair.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Kisi is already right.
    Keep,
    /// Create a role assignment valid until `valid_until`.
    Grant {
        /// End of the current open interval.
        valid_until: Option<Instant>,
    },
    /// Replace our assignment with one valid until `valid_until`, without a new invitation.
    Replace {
        /// End of the current open interval.
        valid_until: Option<Instant>,
    },
    /// Delete our assignment (never one we did not create, never the user).
    Revoke,
}

/// Decides what makes Kisi match `access` at `now`, given what we own. An owned assignment whose
/// `valid_until` has passed no longer opens anything: it is replaced when access is wanted and
/// cleaned up otherwise.
pub fn decide(access: &Access, owned: Option<&Owned>, now: Instant) -> Decision {
    match (access.open, owned) {
        (true, None) => Decision::Grant {
            valid_until: access.until,
        },
        (true, Some(o)) => {
            let live = o.valid_until.is_none_or(|u| u > now);
            if live && o.valid_until == access.until {
                Decision::Keep
            } else {
                Decision::Replace {
                    valid_until: access.until,
                }
            }
        }
        (false, Some(_)) => Decision::Revoke,
        (false, None) => Decision::Keep,
    }
}

/// Whether the person should have a Kisi user now: they have access, or access is coming, so the
/// invitation arrives before the door matters.
pub fn wants_user(access: &Access) -> bool {
    access.open || access.next_open.is_some()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::parse_instant;
    use std::collections::BTreeSet;

    fn at(s: &str) -> Instant {
        parse_instant(s).unwrap()
    }

    fn open_until(u: Option<&str>) -> Access {
        Access {
            open: true,
            until: u.map(at),
            next_change: u.map(at),
            next_open: None,
            reasons: BTreeSet::new(),
            parts: vec![],
        }
    }

    fn closed() -> Access {
        Access {
            open: false,
            until: None,
            next_change: None,
            next_open: None,
            reasons: BTreeSet::new(),
            parts: vec![],
        }
    }

    const NOW: &str = "2026-12-07T10:00:00Z";

    #[test]
    fn open_without_an_assignment_grants_until_the_end_of_the_interval() {
        assert_eq!(
            decide(&open_until(Some("2026-12-07T11:05:00Z")), None, at(NOW)),
            Decision::Grant {
                valid_until: Some(at("2026-12-07T11:05:00Z"))
            }
        );
    }

    #[test]
    fn an_assignment_that_already_matches_is_kept() {
        let o = Owned {
            valid_until: Some(at("2026-12-07T11:05:00Z")),
        };
        assert_eq!(
            decide(&open_until(Some("2026-12-07T11:05:00Z")), Some(&o), at(NOW)),
            Decision::Keep
        );
    }

    #[test]
    fn an_extended_interval_replaces_the_assignment() {
        let o = Owned {
            valid_until: Some(at("2026-12-07T11:05:00Z")),
        };
        assert_eq!(
            decide(&open_until(Some("2026-12-07T12:05:00Z")), Some(&o), at(NOW)),
            Decision::Replace {
                valid_until: Some(at("2026-12-07T12:05:00Z"))
            }
        );
    }

    #[test]
    fn closed_with_an_assignment_revokes_it() {
        let o = Owned { valid_until: None };
        assert_eq!(decide(&closed(), Some(&o), at(NOW)), Decision::Revoke);
    }

    #[test]
    fn closed_without_an_assignment_does_nothing() {
        assert_eq!(decide(&closed(), None, at(NOW)), Decision::Keep);
    }

    #[test]
    fn an_expired_assignment_is_replaced_when_access_is_wanted() {
        let o = Owned {
            valid_until: Some(at("2026-12-07T09:00:00Z")),
        };
        assert_eq!(
            decide(&open_until(None), Some(&o), at(NOW)),
            Decision::Replace { valid_until: None }
        );
    }
}
