//! Everyone's recent audit entries, for the Overview's chart and the Activity page when no
//! person is named: the operator crate's activity feed ([`Operator::activity`] and
//! [`Operator::activity_per_hour`], read from the store's per-day feed index, day by day,
//! without a scan). The chart is reused for a minute.
//!
//! [`Operator::activity`]: access_sync_operator::Operator::activity
//! [`Operator::activity_per_hour`]: access_sync_operator::Operator::activity_per_hour

use crate::Console;
use access_sync_operator::HourCount;
use access_sync_operator::audit::MAX_LIMIT;
use access_sync_ports::AuditEntry;
use access_sync_rules::{GroupId, Instant};
use chrono::{Duration, DurationRound};
use std::sync::Arc;

/// Entries one feed read returns at most.
pub const FEED_LIMIT: u32 = MAX_LIMIT;

/// Entries read, and whether the bound cut the read short.
#[derive(Clone, Debug, Default)]
pub struct Recent {
    /// Newest first.
    pub entries: Vec<AuditEntry>,
    /// [`FEED_LIMIT`] entries were read: older ones may be left out.
    pub partial: bool,
}

/// The `hours` whole hours up to (and with) the one holding `now`: `[since, until)`.
pub fn hour_span(now: Instant, hours: i64) -> (Instant, Instant) {
    let last = now.duration_trunc(Duration::hours(1)).unwrap_or(now);
    (last - Duration::hours(hours - 1), last + Duration::hours(1))
}

/// Everyone's entries at or after `since` (up to `now`), about `group` if given, newest
/// first, at most [`FEED_LIMIT`].
///
/// # Errors
/// The store's failure, for a human.
pub async fn recent(
    c: &Console,
    since: Instant,
    now: Instant,
    group: Option<GroupId>,
) -> Result<Recent, String> {
    // `until` is exclusive: an entry written at `now` belongs in.
    let entries = c
        .ops
        .activity(since, now + Duration::milliseconds(1), group, FEED_LIMIT)
        .await
        .map_err(|e| e.to_string())?;
    let partial = entries.len() >= FEED_LIMIT as usize;
    Ok(Recent { entries, partial })
}

/// Grants, revokes and the rest per hour over the `hours` hours up to the one holding `now`,
/// oldest first (cached a minute while the current hour lasts).
///
/// # Errors
/// The store's failure, for a human.
pub async fn per_hour(
    c: &Console,
    now: Instant,
    hours: i64,
) -> Result<Arc<Vec<HourCount>>, String> {
    if let Ok(g) = c.hours.lock()
        && let Some((at, h)) = g.as_ref()
        && at.elapsed() < std::time::Duration::from_secs(60)
        && h.len() == usize::try_from(hours).unwrap_or(0)
        && h.last().is_some_and(|l| l.hour + Duration::hours(1) > now)
    {
        return Ok(h.clone());
    }
    let (since, until) = hour_span(now, hours);
    let h = Arc::new(
        c.ops
            .activity_per_hour(since, until)
            .await
            .map_err(|e| e.to_string())?,
    );
    if let Ok(mut g) = c.hours.lock() {
        *g = Some((std::time::Instant::now(), h.clone()));
    }
    Ok(h)
}

#[cfg(test)]
mod tests {
    use super::*;
    use access_sync_operator::audit::per_hour as count;
    use access_sync_ports::AuditAction;
    use access_sync_rules::time::parse_instant;

    fn entry(at: &str, action: AuditAction) -> AuditEntry {
        AuditEntry {
            at: parse_instant(at).unwrap(),
            pair: None,
            action,
            cause: String::new(),
        }
    }

    #[test]
    fn the_span_is_the_last_whole_hours_with_the_current_one_and_counts_each_hour() {
        let now = parse_instant("2026-12-07T12:30:00Z").unwrap();
        let (since, until) = hour_span(now, 24);
        assert_eq!(since, parse_instant("2026-12-06T13:00:00Z").unwrap());
        assert_eq!(until, parse_instant("2026-12-07T13:00:00Z").unwrap());
        let entries = vec![
            entry("2026-12-07T12:10:00Z", AuditAction::Grant),
            entry("2026-12-07T12:00:00Z", AuditAction::Adopt),
            entry("2026-12-07T11:59:59Z", AuditAction::Revoke),
            entry("2026-12-07T11:00:00Z", AuditAction::Skip),
            entry("2026-12-06T12:59:00Z", AuditAction::Grant),
        ];
        let h = count(&entries, since, until);
        assert_eq!(h.len(), 24);
        assert_eq!(h[0].hour, since);
        assert_eq!((h[23].grants, h[23].revokes), (2, 0));
        assert_eq!((h[22].grants, h[22].revokes, h[22].other), (0, 1, 1));
        assert_eq!(h.iter().map(|c| c.grants + c.revokes).sum::<u32>(), 3);
    }
}
