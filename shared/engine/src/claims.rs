//! Telling our Kisi assignments from hand-made ones, and noticing an operator's removal.
//!
//! Kisi lets an integration set no marker on a role assignment (`created_by_*` is Kisi's, and
//! the same for every API key of the organisation), and its `created_at` is Kisi's clock, not
//! ours. So before every create converge writes an intent (pair + the exact `valid_until`
//! asked for) and an assignment found without an ownership record (a 409, an answer lost to a
//! dropped connection) is ours only if its `valid_until` is one we asked for. Every grant
//! carries a `valid_until` (the lease, to the second), which a person granting by hand does
//! not type by chance; a hand-made assignment without an end never matches.

use access_sync_ports::{Assignment, GrantIntent};

/// Whether `found` (an assignment Kisi has for the pair, with no ownership record of ours) is
/// the result of one of our `intents` for that pair.
pub fn is_ours(found: &Assignment, intents: &[GrantIntent]) -> bool {
    found.valid_until.is_some_and(|u| {
        intents
            .iter()
            .any(|i| i.pair.group == found.group && i.valid_until == u)
    })
}

/// What a grant attempt came to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Claimed {
    /// An assignment of ours holds the pair: created now, or one of our earlier attempts
    /// (`confirmed`) found after a 409.
    Ours {
        /// Kisi's id.
        id: u64,
        /// Found after a 409 rather than created by this call.
        confirmed: bool,
    },
    /// Kisi already has an assignment for the pair that we did not make: left as it is.
    ByHand(Assignment),
    /// The remembered Kisi user no longer exists: a person deleted it.
    UserGone,
}

#[cfg(test)]
mod tests {
    use super::*;
    use access_sync_rules::time::parse_instant;
    use access_sync_rules::{Email, GroupId, Pair};

    fn intent(group: i64, until: &str) -> GrantIntent {
        GrantIntent {
            pair: Pair {
                email: Email::parse("joe@example.com").unwrap(),
                group: GroupId::new(group).unwrap(),
            },
            valid_until: parse_instant(until).unwrap(),
            at: parse_instant("2026-12-07T10:00:00Z").unwrap(),
        }
    }

    fn found(group: i64, until: Option<&str>) -> Assignment {
        Assignment {
            id: 1,
            user: 7,
            group: GroupId::new(group).unwrap(),
            valid_until: until.map(|u| parse_instant(u).unwrap()),
        }
    }

    #[test]
    fn an_assignment_is_ours_only_with_an_intent_for_its_exact_end() {
        let intents = [intent(101, "2027-01-06T10:00:00Z")];
        assert!(is_ours(&found(101, Some("2027-01-06T10:00:00Z")), &intents));
        assert!(!is_ours(
            &found(101, Some("2027-01-06T10:00:01Z")),
            &intents
        ));
        assert!(!is_ours(
            &found(102, Some("2027-01-06T10:00:00Z")),
            &intents
        ));
        assert!(!is_ours(&found(101, None), &intents));
        assert!(!is_ours(&found(101, Some("2027-01-06T10:00:00Z")), &[]));
    }
}
