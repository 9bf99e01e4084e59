//! A platform's API records → canonical events: the seam between a platform's HTTP client
//! (`access_sync_ports::PlatformSource`, which returns records as the API gave them) and the
//! platform-independent sync (`access_sync_engine::sync`), which compares the events with the
//! stored facts.
//!
//! Each platform plugs in its pure mapping by overriding [`crate::PlatformSpec::map_records`]
//! (and, if the ids its complete listing covers are not simply every entitlement id starting
//! `<platform>:`, [`crate::PlatformSpec::covers`]); a platform without one answers
//! [`NoApiMapping`], so its sync and import say so instead of guessing.

use access_sync_rules::{EntitlementId, Event, MemberId, TeamId};
use serde_json::Value;
use std::collections::BTreeSet;
use std::fmt;

/// One record as the platform's API returned it, borrowed.
#[derive(Clone, Copy, Debug)]
pub struct ApiRecord<'a> {
    /// The collection it was listed from, in the platform's words.
    pub collection: &'a str,
    /// The platform's id of the record.
    pub id: &'a str,
    /// The record.
    pub body: &'a Value,
}

/// A record the mapping could not turn into events, and why (shown by `import`, counted by
/// the sync; never silently dropped).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Unmapped {
    /// Its collection.
    pub collection: String,
    /// Its id.
    pub id: String,
    /// Why (no personal data).
    pub reason: String,
}

/// What a complete set of records means.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Mapped {
    /// The canonical events, each with the sync's instant as `at` (their delivery ids are the
    /// sync's to choose: it re-identifies them by content).
    pub events: Vec<Event>,
    /// What could not be mapped.
    pub unmapped: Vec<Unmapped>,
    /// What the records that could not be mapped stand for: listed, so not gone.
    pub kept: Kept,
}

/// The stored facts that records a listing contains, but the mapping could not read, stand
/// for. They are not gone (the platform still lists them), so a complete listing must neither
/// end them nor count them against the sync's brake: they stay as stored until a listing
/// reads them again (or no longer contains them).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Kept {
    /// Entitlement ids: each, and every id under it (`<id>:…`, e.g. a booking's per-member
    /// entitlements), stays as stored.
    pub entitlements: BTreeSet<EntitlementId>,
    /// Members that stay as stored.
    pub members: BTreeSet<MemberId>,
    /// Teams whose stored lists stay as they are.
    pub teams: BTreeSet<TeamId>,
}

impl Kept {
    /// Whether entitlement `id` is kept: named, or under a named id.
    pub fn entitlement(&self, id: &EntitlementId) -> bool {
        let id = id.as_str();
        self.entitlements.iter().any(|k| {
            let k = k.as_str();
            id.strip_prefix(k)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with(':'))
        })
    }

    /// Keeps entitlement `id` (and every id under it), when `id` is not empty.
    pub fn keep_entitlement(&mut self, id: String) {
        if !id.is_empty() && !id.ends_with(':') {
            self.entitlements.insert(EntitlementId(id));
        }
    }

    /// Keeps member `id`, when `id` is not empty.
    pub fn keep_member(&mut self, id: &str) {
        if !id.is_empty() {
            self.members.insert(MemberId(id.to_string()));
        }
    }

    /// Keeps team `id`'s stored lists, when `id` is not empty.
    pub fn keep_team(&mut self, id: String) {
        if !id.is_empty() && !id.ends_with(':') {
            self.teams.insert(TeamId(id));
        }
    }

    /// Whether nothing is kept.
    pub fn is_empty(&self) -> bool {
        self.entitlements.is_empty() && self.members.is_empty() && self.teams.is_empty()
    }
}

/// The platform has no API mapping yet (its webhooks may still be understood).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NoApiMapping(pub &'static str);

impl fmt::Display for NoApiMapping {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} has no API mapping yet: it cannot be imported or re-synced",
            self.0
        )
    }
}

impl std::error::Error for NoApiMapping {}

/// The default of [`crate::PlatformSpec::covers`]: the entitlement ids the platform's
/// normaliser makes all start with `<platform>:`.
pub fn covers_by_prefix(platform: &str, id: &EntitlementId) -> bool {
    id.as_str()
        .strip_prefix(platform)
        .is_some_and(|rest| rest.starts_with(':'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Platform;
    use access_sync_rules::Instant;

    #[test]
    fn covers_needs_the_platform_and_a_colon() {
        let id = |s: &str| EntitlementId(s.to_string());
        assert!(covers_by_prefix("officernd", &id("officernd:membership:1")));
        assert!(!covers_by_prefix(
            "officernd",
            &id("officerndx:membership:1")
        ));
        assert!(!covers_by_prefix("officernd", &id("optix:plan:1")));
        assert!(!covers_by_prefix("officernd", &id("officernd")));
    }

    #[test]
    fn every_platform_maps_its_records_and_a_missing_mapping_says_so() {
        let at: Instant = "2026-01-01T00:00:00Z".parse().unwrap();
        for p in Platform::ALL {
            assert!(p.events_from_records(&[], at).is_ok(), "{}", p.as_str());
        }
        let err = NoApiMapping("cobot");
        assert!(err.to_string().contains("no API mapping"));
    }
}
