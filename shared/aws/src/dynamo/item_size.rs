//! How big a stored item can get under ingest's [`Limits`], so that no write after a 202
//! fails for size: DynamoDB refuses items over 400 KB.
//!
//! The largest items are canonical records carrying their holder's records (see [`super::facts`]):
//! a team (its member list, its members' e-mails as `views`, and every member's record in
//! `related`) and, larger still, an entitlement held by that team (the same, plus its own
//! refs, guests and weekly blocks). [`largest_item_bytes`] builds both at the limits — every
//! id, e-mail and name at its maximum length, made of characters JSON escapes (a quote doubles
//! in size) — through the same code that writes them, and measures them as DynamoDB counts
//! (attribute names plus values, UTF-8). [`check`] refuses limits whose largest item would
//! not fit, with a margin; ingest runs it at cold start.

use super::{DynamoStore, Item};
use access_sync_rules::event::{Block, Entitlement, Kind, Ref, Status};
use access_sync_rules::facts::{EntitlementRecord, MemberRecord, Record, TeamRecord};
use access_sync_rules::limits::Limits;
use access_sync_rules::time::parse_tz;
use access_sync_rules::{Email, EntitlementId, Holder, MemberId, TeamId};
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Weekday};
use std::collections::BTreeSet;

/// DynamoDB's item size limit.
pub const DYNAMODB_ITEM_BYTES: usize = 400 * 1024;
/// Kept free below [`DYNAMODB_ITEM_BYTES`] for what the estimate cannot see (number encoding).
pub const MARGIN_BYTES: usize = 8 * 1024;

/// The size DynamoDB counts for an item: each attribute's name plus its value (strings in
/// UTF-8; numbers at most 21 bytes; lists and maps 3 bytes plus 1 per element).
pub fn item_bytes(item: &Item) -> usize {
    item.iter().map(|(k, v)| k.len() + value_bytes(v)).sum()
}

fn value_bytes(v: &AttributeValue) -> usize {
    match v {
        AttributeValue::S(s) => s.len(),
        AttributeValue::N(_) => 21,
        AttributeValue::B(b) => b.as_ref().len(),
        AttributeValue::Bool(_) | AttributeValue::Null(_) => 1,
        AttributeValue::L(l) => 3 + l.iter().map(|e| 1 + value_bytes(e)).sum::<usize>(),
        AttributeValue::M(m) => {
            3 + m
                .iter()
                .map(|(k, e)| 1 + k.len() + value_bytes(e))
                .sum::<usize>()
        }
        AttributeValue::Ss(l) | AttributeValue::Ns(l) => {
            3 + l.iter().map(|e| 1 + e.len()).sum::<usize>()
        }
        _ => 0,
    }
}

/// A string of `len` bytes that JSON escapes to twice its length, distinct for each `i`.
fn worst(len: usize, i: usize) -> String {
    let tag = format!("{i:x}");
    format!("{}{tag}", "\"".repeat(len.saturating_sub(tag.len())))
}

/// A distinct e-mail of `len` bytes, escaping like [`worst`].
fn worst_email(len: usize, i: usize) -> Email {
    let tail = format!("{i:x}@x.io");
    Email::parse(&format!(
        "{}{tail}",
        "\"".repeat(len.saturating_sub(tail.len()))
    ))
    .expect("not blank")
}

/// The size of the largest item access-sync stores under `limits` (bytes, as DynamoDB counts).
pub fn largest_item_bytes(limits: &Limits) -> usize {
    largest_items(limits)
        .iter()
        .map(item_bytes)
        .max()
        .unwrap_or(usize::MAX)
}

/// The two largest items access-sync stores under `limits`: a team at the maximum, and an
/// entitlement it holds (for tests that write them).
pub fn largest_items(limits: &Limits) -> Vec<Item> {
    let at = DateTime::from_timestamp(4_102_444_800, 0).unwrap_or_default();
    let members: Vec<MemberRecord> = (0..limits.team_members)
        .map(|i| MemberRecord {
            id: MemberId::from(worst(limits.id_bytes, i).as_str()),
            at,
            email: Some(worst_email(limits.email_bytes, i)),
            email_since: at,
            removed: false,
            name: Some(worst(limits.name_bytes, i)),
        })
        .collect();
    let team = TeamRecord {
        id: TeamId::from(worst(limits.id_bytes, 0).as_str()),
        at,
        members: members.iter().map(|m| m.id.clone()).collect(),
    };
    let guests: Vec<Email> = (0..limits.guests)
        .map(|i| worst_email(limits.email_bytes, limits.team_members + i))
        .collect();
    let longest_source = access_sync_rules::Source::NAMES
        .iter()
        .filter_map(|n| access_sync_rules::Source::parse(n))
        .max_by_key(|s| s.as_str().len())
        .expect("sources exist");
    let entitlement = Entitlement {
        id: EntitlementId::from(worst(limits.id_bytes, 0).as_str()),
        kind: Kind::Registration,
        refs: (0..limits.refs)
            .map(|i| Ref {
                source: longest_source,
                id: worst(limits.id_bytes, i),
            })
            .collect(),
        holder: Holder::Team(team.id.clone()),
        guests: guests.clone(),
        start: Some(at),
        end: Some(at),
        blocks: (0..limits.blocks)
            .map(|_| Block {
                days: vec![
                    Weekday::Mon,
                    Weekday::Tue,
                    Weekday::Wed,
                    Weekday::Thu,
                    Weekday::Fri,
                    Weekday::Sat,
                    Weekday::Sun,
                ],
                from: 0,
                to: 1440,
            })
            .collect(),
        tz: parse_tz("America/Argentina/ComodRivadavia").ok(),
        status: Status::Exhausted,
    };
    let views: BTreeSet<String> = members
        .iter()
        .filter_map(|m| m.email.as_ref())
        .chain(&guests)
        .map(|e| e.as_str().to_string())
        .collect();
    let member_records: Vec<Record> = members.into_iter().map(Record::Member).collect();
    let team_record = Record::Team(team);
    let team_views: BTreeSet<String> = views
        .iter()
        .filter(|v| !guests.iter().any(|g| g.as_str() == v.as_str()))
        .cloned()
        .collect();
    let mut related = member_records.clone();
    related.push(team_record.clone());
    let ent_record = Record::Entitlement(EntitlementRecord {
        id: entitlement.id.clone(),
        first_seen: Some(at),
        at,
        current: Some(entitlement),
    });
    let holder = format!("team:{}", worst(limits.id_bytes, 0));
    let team_item =
        DynamoStore::canonical_item_of(&team_record, u64::MAX, &team_views, &member_records, None);
    let ent_item =
        DynamoStore::canonical_item_of(&ent_record, u64::MAX, &views, &related, Some(&holder));
    [team_item, ent_item].into_iter().flatten().collect()
}

/// Refuses limits under which a stored item could exceed DynamoDB's item size.
///
/// # Errors
/// A sentence naming the size and what to lower.
pub fn check(limits: &Limits) -> Result<(), String> {
    let largest = largest_item_bytes(limits);
    if largest > DYNAMODB_ITEM_BYTES - MARGIN_BYTES {
        return Err(format!(
            "with these limits an entitlement held by a team could be stored as an item of \
             {largest} bytes, over DynamoDB's {DYNAMODB_ITEM_BYTES} (less a margin of \
             {MARGIN_BYTES}): lower MAX_TEAM_MEMBERS (now {}) or the id, e-mail and name lengths",
            limits.team_members
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_limits_fit_and_a_team_twice_as_large_does_not() {
        let l = Limits::default();
        let size = largest_item_bytes(&l);
        assert!(check(&l).is_ok(), "{size}");
        let twice = Limits {
            team_members: l.team_members * 2,
            ..l.clone()
        };
        assert!(check(&twice).is_err(), "{}", largest_item_bytes(&twice));
    }

    #[test]
    fn the_estimate_grows_with_every_limit() {
        let l = Limits::default();
        let base = largest_item_bytes(&l);
        for bigger in [
            Limits {
                guests: l.guests + 1,
                ..l.clone()
            },
            Limits {
                refs: l.refs + 1,
                ..l.clone()
            },
            Limits {
                blocks: l.blocks + 1,
                ..l.clone()
            },
            Limits {
                team_members: l.team_members + 1,
                ..l.clone()
            },
            Limits {
                id_bytes: l.id_bytes + 1,
                ..l.clone()
            },
            Limits {
                email_bytes: l.email_bytes + 1,
                ..l.clone()
            },
            Limits {
                name_bytes: l.name_bytes + 1,
                ..l.clone()
            },
        ] {
            assert!(largest_item_bytes(&bigger) > base, "{bigger:?}");
        }
    }
}
