//! Everyone's recent audit entries, for the Overview's chart and the Activity page when no
//! person is named.
//!
//! The audit log is keyed by person (`AUDIT#<email>`, see `access_sync_aws`'s audit adapter),
//! so one person's history is one query (the operator crate's `audit`), but "everything in the
//! last day" is not: it is a scan of the table's audit items newer than `since`, bounded in
//! pages and items and reused for a minute by the console. Its cost grows with the table, not
//! with the page; the person page never uses it.

use crate::svg::HourCount;
use access_sync_ports::{AuditAction, AuditEntry};
use access_sync_rules::Instant;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{Duration, DurationRound};
use std::collections::BTreeMap;

/// Scan pages read at most (1 MB each).
pub const MAX_PAGES: usize = 200;
/// Entries kept at most.
pub const MAX_ENTRIES: usize = 100_000;

/// The audit items of one table.
#[derive(Clone, Debug)]
pub struct AuditFeed {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

/// Entries read, and whether the bounds cut the read short.
#[derive(Clone, Debug, Default)]
pub struct Recent {
    /// Newest first.
    pub entries: Vec<AuditEntry>,
    /// The bounds stopped the scan before the end.
    pub partial: bool,
}

impl AuditFeed {
    /// The feed of `table` with the SDK configuration the operator uses.
    pub fn new(sdk: &access_sync_aws::SdkConfig, table: impl Into<String>) -> AuditFeed {
        AuditFeed {
            client: aws_sdk_dynamodb::Client::new(sdk),
            table: table.into(),
        }
    }

    /// Every audit entry at or after `since`, newest first (bounded: see [`Recent::partial`]).
    ///
    /// # Errors
    /// DynamoDB's failure, for a human.
    pub async fn since(&self, since: Instant) -> Result<Recent, String> {
        let mut out = Recent::default();
        let mut start = None;
        let since_key = since.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        for page_no in 0.. {
            if page_no == MAX_PAGES || out.entries.len() >= MAX_ENTRIES {
                out.partial = true;
                break;
            }
            let page = self
                .client
                .scan()
                .table_name(&self.table)
                .filter_expression("begins_with(pk, :a) AND sk >= :since")
                .expression_attribute_values(":a", AttributeValue::S("AUDIT#".into()))
                .expression_attribute_values(":since", AttributeValue::S(since_key.clone()))
                .projection_expression("#d")
                .expression_attribute_names("#d", "doc")
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| {
                    format!(
                        "reading the audit log: {}",
                        aws_sdk_dynamodb::error::DisplayErrorContext(e)
                    )
                })?;
            for item in page.items() {
                if let Some(AttributeValue::S(doc)) = item.get("doc")
                    && let Ok(e) = serde_json::from_str::<AuditEntry>(doc)
                    && e.at >= since
                {
                    out.entries.push(e);
                }
            }
            match page.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => break,
            }
        }
        out.entries.sort_by_key(|e| std::cmp::Reverse(e.at));
        out.entries.truncate(MAX_ENTRIES);
        Ok(out)
    }
}

/// Grants (and adoptions) and revokes per hour, for the `hours` whole hours up to the one
/// holding `now`, oldest first.
pub fn per_hour(entries: &[AuditEntry], now: Instant, hours: i64) -> Vec<HourCount> {
    let last = now.duration_trunc(Duration::hours(1)).unwrap_or(now);
    let first = last - Duration::hours(hours - 1);
    let mut by: BTreeMap<Instant, (u32, u32)> = (0..hours)
        .map(|h| (first + Duration::hours(h), (0, 0)))
        .collect();
    for e in entries {
        let Ok(h) = e.at.duration_trunc(Duration::hours(1)) else {
            continue;
        };
        let Some(slot) = by.get_mut(&h) else { continue };
        match e.action {
            AuditAction::Grant | AuditAction::Adopt => slot.0 += 1,
            AuditAction::Revoke => slot.1 += 1,
            AuditAction::Skip
            | AuditAction::Hold
            | AuditAction::Brake
            | AuditAction::ByHand
            | AuditAction::Exclude
            | AuditAction::Include => {}
        }
    }
    by.into_iter()
        .map(|(hour, (grants, revokes))| HourCount {
            hour,
            grants,
            revokes,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
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
    fn entries_are_counted_in_their_hour_and_old_ones_left_out() {
        let now = parse_instant("2026-12-07T12:30:00Z").unwrap();
        let entries = vec![
            entry("2026-12-07T12:10:00Z", AuditAction::Grant),
            entry("2026-12-07T12:00:00Z", AuditAction::Adopt),
            entry("2026-12-07T11:59:59Z", AuditAction::Revoke),
            entry("2026-12-07T11:00:00Z", AuditAction::Skip),
            entry("2026-12-06T12:59:00Z", AuditAction::Grant),
        ];
        let h = per_hour(&entries, now, 24);
        assert_eq!(h.len(), 24);
        assert_eq!(h[0].hour, parse_instant("2026-12-06T13:00:00Z").unwrap());
        assert_eq!((h[23].grants, h[23].revokes), (2, 0));
        assert_eq!((h[22].grants, h[22].revokes), (0, 1));
        assert_eq!(h.iter().map(|c| c.grants + c.revokes).sum::<u32>(), 3);
    }
}
