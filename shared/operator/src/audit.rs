//! The audit log for the operator: the grant / revoke / replace history with causes.
//!
//! Entries are keyed by e-mail in the store (`AUDIT#<email>`, newest first), so one person's
//! history is one query; system-wide entries (a brake, an event held for a member not yet
//! described) are under `AUDIT#*`. Filters by instant and group apply to what was read.
//! Everyone's entries by time (the console's activity feed and its per-hour chart) come from
//! the store's feed index ([`AuditLog::recent`]), day by day, without a scan.

use crate::kisi::KisiLookup;
use crate::{DeadLetters, Operator, OperatorError};
use access_sync_engine::Store;
use access_sync_ports::AuditAction;
use access_sync_ports::{
    AccessControl, AuditEntry, EdgeScheduler, ExclusionList, RunLog, SyncStateStore,
};
use access_sync_rules::{Email, GroupId, Instant};
use chrono::DurationRound;
use serde::Serialize;

/// The most entries one query returns.
pub const MAX_LIMIT: u32 = 1000;

/// Which entries.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuditQuery {
    /// One person's entries; `None`: the system-wide entries (brake, held events).
    pub email: Option<Email>,
    /// Only entries at or after this instant.
    pub since: Option<Instant>,
    /// Only entries about this group.
    pub group: Option<GroupId>,
    /// At most this many (capped at [`MAX_LIMIT`]; 0 means 100).
    pub limit: u32,
}

impl AuditQuery {
    /// Whether `e` passes the instant and group filters.
    pub fn matches(&self, e: &AuditEntry) -> bool {
        self.since.is_none_or(|s| e.at >= s)
            && self
                .group
                .is_none_or(|g| e.pair.as_ref().is_some_and(|p| p.group == g))
    }

    fn limit(&self) -> u32 {
        match self.limit {
            0 => 100,
            n => n.min(MAX_LIMIT),
        }
    }
}

/// Grants, revokes and everything else in one hour.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct HourCount {
    /// The hour's start.
    pub hour: Instant,
    /// Grants (and adoptions).
    pub grants: u32,
    /// Revokes.
    pub revokes: u32,
    /// Every other entry (holds, brakes, held by hand, exclusions, skips).
    pub other: u32,
}

/// Counts `entries` per hour over `[since, until)`, one bucket per hour from the hour holding
/// `since`, empty hours included (pure).
pub fn per_hour(entries: &[AuditEntry], since: Instant, until: Instant) -> Vec<HourCount> {
    let start = since
        .duration_trunc(chrono::Duration::hours(1))
        .unwrap_or(since);
    let mut out = Vec::new();
    let mut hour = start;
    while hour < until && out.len() < MAX_HOURS {
        out.push(HourCount {
            hour,
            grants: 0,
            revokes: 0,
            other: 0,
        });
        hour += chrono::Duration::hours(1);
    }
    for e in entries {
        if e.at < since || e.at >= until {
            continue;
        }
        let i = usize::try_from((e.at - start).num_hours()).unwrap_or(usize::MAX);
        let Some(b) = out.get_mut(i) else { continue };
        match e.action {
            AuditAction::Grant | AuditAction::Adopt => b.grants += 1,
            AuditAction::Revoke => b.revokes += 1,
            AuditAction::Skip
            | AuditAction::Hold
            | AuditAction::Brake
            | AuditAction::ByHand
            | AuditAction::Exclude
            | AuditAction::Include => b.other += 1,
        }
    }
    out
}

/// The most hours [`per_hour`] counts (a month).
pub const MAX_HOURS: usize = 24 * 31;

impl<S, K, E, Q> Operator<S, K, E, Q>
where
    S: Store + SyncStateStore + ExclusionList + RunLog + Sync,
    K: AccessControl + KisiLookup,
    E: EdgeScheduler + Send + Sync,
    Q: DeadLetters,
{
    /// The entries the query asks for, newest first.
    ///
    /// # Errors
    /// Store failures.
    pub async fn audit(&self, q: &AuditQuery) -> Result<Vec<AuditEntry>, OperatorError> {
        let key = q.email.as_ref().map_or("*", |e| e.as_str());
        // The filters apply after the read: read the most a query may return, then cut.
        let read = if q.since.is_none() && q.group.is_none() {
            q.limit()
        } else {
            MAX_LIMIT
        };
        let entries = self.engine().store().history(key, read).await?;
        Ok(entries
            .into_iter()
            .filter(|e| q.matches(e))
            .take(q.limit() as usize)
            .collect())
    }

    /// The activity feed: everyone's entries (system-wide ones included) at or after `since`
    /// and before `until`, about `group` if given, newest first, at most `limit` (capped at
    /// [`MAX_LIMIT`]).
    ///
    /// # Errors
    /// Store failures.
    pub async fn activity(
        &self,
        since: Instant,
        until: Instant,
        group: Option<GroupId>,
        limit: u32,
    ) -> Result<Vec<AuditEntry>, OperatorError> {
        let limit = limit.min(MAX_LIMIT);
        let read = if group.is_some() { MAX_LIMIT } else { limit };
        let entries = self.engine().store().recent(since, until, read).await?;
        Ok(entries
            .into_iter()
            .filter(|e| group.is_none_or(|g| e.pair.as_ref().is_some_and(|p| p.group == g)))
            .take(limit as usize)
            .collect())
    }

    /// Grants, revokes and other entries per hour over `[since, until)` (the console's
    /// overview chart), from at most [`MAX_LIMIT`] × 10 entries of the feed.
    ///
    /// # Errors
    /// Store failures.
    pub async fn activity_per_hour(
        &self,
        since: Instant,
        until: Instant,
    ) -> Result<Vec<HourCount>, OperatorError> {
        let entries = self
            .engine()
            .store()
            .recent(since, until, MAX_LIMIT * 10)
            .await?;
        Ok(per_hour(&entries, since, until))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use access_sync_rules::Pair;
    use access_sync_rules::time::parse_instant;

    fn entry(at: &str, action: AuditAction) -> AuditEntry {
        AuditEntry {
            at: parse_instant(at).unwrap(),
            pair: Some(Pair {
                email: Email::parse("joe@example.com").unwrap(),
                group: GroupId::new(201).unwrap(),
            }),
            action,
            cause: String::new(),
        }
    }

    #[test]
    fn per_hour_counts_grants_revokes_and_the_rest_in_every_hour_including_empty_ones() {
        let t = |s| parse_instant(s).unwrap();
        let entries = [
            entry("2026-12-07T08:59:59Z", AuditAction::Grant),
            entry("2026-12-07T09:10:00Z", AuditAction::Grant),
            entry("2026-12-07T09:20:00Z", AuditAction::Adopt),
            entry("2026-12-07T09:30:00Z", AuditAction::Revoke),
            entry("2026-12-07T11:00:00Z", AuditAction::Hold),
            entry("2026-12-07T12:00:00Z", AuditAction::Grant),
        ];
        let hours = per_hour(
            &entries,
            t("2026-12-07T09:00:00Z"),
            t("2026-12-07T12:00:00Z"),
        );
        let counts: Vec<(u32, u32, u32)> = hours
            .iter()
            .map(|h| (h.grants, h.revokes, h.other))
            .collect();
        assert_eq!(counts, [(2, 1, 0), (0, 0, 0), (0, 0, 1)]);
        assert_eq!(hours[1].hour, t("2026-12-07T10:00:00Z"));
    }

    #[test]
    fn a_query_filters_by_instant_and_group() {
        let q = AuditQuery {
            since: Some(parse_instant("2026-12-07T09:00:00Z").unwrap()),
            group: GroupId::new(201),
            ..AuditQuery::default()
        };
        assert!(q.matches(&entry("2026-12-07T09:00:00Z", AuditAction::Grant)));
        assert!(!q.matches(&entry("2026-12-07T08:59:59Z", AuditAction::Grant)));
        let other = AuditQuery {
            group: GroupId::new(202),
            ..AuditQuery::default()
        };
        assert!(!other.matches(&entry("2026-12-07T09:00:00Z", AuditAction::Grant)));
    }
}
