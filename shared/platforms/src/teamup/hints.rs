//! TeamUp webhooks as nudges (issue 20): TeamUp signs nothing (the delivery is authenticated
//! only by the installation secret in its URL or bearer token) and publishes neither its
//! feed-item types nor their fields (teamup.md §5, §6), so a verified delivery is read only
//! for *which* records to re-read from the API; nothing in it grants or ends access.
//!
//! Body `{"feed_items":[{"object":"feed_item","id":…,"timestamp":…, …}]}` (§5 [C]); for each
//! item, in the item and in its `data` object if any:
//!
//! | key | re-read |
//! |---|---|
//! | `customer`, `customer_id` (an id or an object with `id`) | `customers` (the customer and everything that decides its access) |
//! | `customer_membership`, `customer_membership_id` | `customer_memberships` |
//! | `attendance`, `attendance_id`, `registration`, `registration_id` | `attendances` |
//! | `id` of `data` when the item's `type` starts `customer.`, `customer_membership.`, `event_registration.`/`attendance.`/`registration.` | that collection |
//!
//! Ids must be integers (§2); anything else names nothing. An item that names nothing (an
//! unknown type, a payment, an unreadable shape) asks for nothing and the delivery is
//! acknowledged 2xx (a refusal would make TeamUp retry it four times; `410` would disable the
//! destination for good, §5). A body that is not JSON with `feed_items` is not TeamUp's (400).

use crate::Rejection;
use crate::spec::{Hints, MAX_HINTS, RecordHint};
use serde_json::Value;

/// The keys that name a record, and the collection each is re-read from.
pub const ID_KEYS: [(&str, &str); 8] = [
    ("customer", "customers"),
    ("customer_id", "customers"),
    ("customer_membership", "customer_memberships"),
    ("customer_membership_id", "customer_memberships"),
    ("attendance", "attendances"),
    ("attendance_id", "attendances"),
    ("registration", "attendances"),
    ("registration_id", "attendances"),
];

/// The collection a feed-item type's own `data.id` belongs to.
fn collection_of_type(kind: &str) -> Option<&'static str> {
    let entity = kind.split('.').next().unwrap_or(kind);
    match entity {
        "customer" => Some("customers"),
        "customer_membership" => Some("customer_memberships"),
        "event_registration" | "attendance" | "registration" => Some("attendances"),
        _ => None,
    }
}

fn integer_id(v: &Value) -> Option<String> {
    let s = match v {
        Value::Number(n) if n.is_u64() => n.to_string(),
        Value::String(s) => s.trim().to_string(),
        Value::Object(o) => return o.get("id").and_then(integer_id),
        _ => return None,
    };
    (!s.is_empty() && s.len() <= 20 && s.bytes().all(|b| b.is_ascii_digit())).then_some(s)
}

fn push(h: &mut Hints, collection: &str, id: String) {
    let r = RecordHint {
        collection: collection.to_string(),
        id,
    };
    if !h.records.contains(&r) && h.records.len() < MAX_HINTS {
        h.records.push(r);
    }
}

/// The records a verified TeamUp delivery names.
///
/// # Errors
/// A body that is not JSON, or has no `feed_items` list.
pub fn hints(body: &[u8]) -> Result<Hints, Rejection> {
    let v: Value =
        serde_json::from_slice(body).map_err(|_| Rejection::malformed("body", "not JSON"))?;
    let items = v
        .get("feed_items")
        .and_then(Value::as_array)
        .ok_or_else(|| Rejection::malformed("feed_items", "missing or not a list"))?;
    let mut h = Hints::default();
    for item in items {
        let kind = item.get("type").and_then(Value::as_str).map(str::trim);
        if h.event.is_none() {
            h.event = Some(
                kind.filter(|k| !k.is_empty())
                    .unwrap_or("feed_item")
                    .chars()
                    .take(64)
                    .collect(),
            );
        }
        let data = item.get("data").filter(|d| d.is_object());
        if let (Some(c), Some(d)) = (kind.and_then(collection_of_type), data)
            && let Some(id) = d.get("id").and_then(integer_id)
        {
            push(&mut h, c, id);
        }
        for obj in [Some(item), data].into_iter().flatten() {
            for (key, collection) in ID_KEYS {
                if let Some(id) = obj.get(key).and_then(integer_id) {
                    push(&mut h, collection, id);
                }
            }
        }
    }
    Ok(h)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn named(body: &str) -> Vec<(String, String)> {
        hints(body.as_bytes())
            .unwrap()
            .records
            .into_iter()
            .map(|r| (r.collection, r.id))
            .collect()
    }

    #[test]
    fn a_membership_item_names_the_membership_and_its_customer_whatever_it_claims() {
        let body = r#"{"feed_items":[{"object":"feed_item","id":13553027,"timestamp":"2026-12-03T10:00:00Z",
            "type":"customer_membership.created","data":{"id":999,"status":"active","membership":1,
            "customer":{"id":4312,"email":"mallory@example.com"},"start_date":"2026-01-01"}}]}"#;
        assert_eq!(
            named(body),
            [
                ("customer_memberships".into(), "999".into()),
                ("customers".into(), "4312".into())
            ]
        );
        assert_eq!(
            hints(body.as_bytes()).unwrap().event.as_deref(),
            Some("customer_membership.created")
        );
    }

    #[test]
    fn unknown_types_and_shapes_ask_for_nothing_but_are_not_refused() {
        assert!(named(r#"{"feed_items":[{"object":"feed_item","id":1,"timestamp":"x","type":"payment.succeeded","data":{"id":5,"amount":3}}]}"#).is_empty());
        assert!(named(r#"{"feed_items":[{"object":"feed_item","id":1}]}"#).is_empty());
        assert!(
            named(r#"{"feed_items":[{"customer":"../etc","data":{"customer_id":-3}}]}"#).is_empty()
        );
        assert_eq!(
            named(
                r#"{"feed_items":[{"id":1,"customer_id":"77"},{"id":2,"type":"event_registration.created","data":{"id":5501,"customer":77}}]}"#
            ),
            [
                ("customers".into(), "77".into()),
                ("attendances".into(), "5501".into())
            ]
        );
        assert!(hints(b"not json").is_err());
        assert!(hints(br#"{"items":[]}"#).is_err());
    }

    #[test]
    fn a_body_cannot_ask_for_more_than_the_bound() {
        let items: Vec<String> = (0..50)
            .map(|i| format!(r#"{{"id":{i},"customer":{i}}}"#))
            .collect();
        let body = format!(r#"{{"feed_items":[{}]}}"#, items.join(","));
        assert_eq!(named(&body).len(), MAX_HINTS);
    }
}
