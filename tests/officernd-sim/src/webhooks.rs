//! Webhook deliveries as OfficeRnD sends them (reference §5, kisi-api.md §4.1): the envelope
//! `{event, eventType, data:{object, previousAttributes?}, createdAt}` with the whole record in
//! `data.object` (also on `*.removed`), signed with the header
//! `officernd-signature: t=<unix>,signature=<hex>` where the hex is HMAC-SHA256 keyed with the
//! webhook secret over `rawBody + "." + t` (body first — the corrected reading).
//!
//! A [`Delivery`] is built first and returned to the admin caller; sending it is a separate
//! step, so a test can drop a delivery, send it twice, or send it late.

use std::time::Duration;

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use sha2::Sha256;

use crate::model::{Record, iso};

/// The signature header's name.
pub const SIGNATURE_HEADER: &str = "officernd-signature";

/// A signed webhook request, ready to send (or to drop, or to replay).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Delivery {
    /// Where it goes.
    pub url: String,
    /// The event type, e.g. `membership.updated`.
    pub event_type: String,
    /// The exact body bytes (UTF-8 JSON text) that were signed.
    pub body: String,
    /// The `officernd-signature` header value.
    pub signature: String,
}

/// The outcome of sending one delivery.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Sent {
    /// Where it went.
    pub url: String,
    /// The event type.
    pub event_type: String,
    /// The receiver's HTTP status, if it answered.
    pub status: Option<u16>,
    /// Why it failed to reach the receiver, if it did.
    pub error: Option<String>,
}

/// `hex(HMAC-SHA256(secret, body + "." + t))`.
pub fn sign(secret: &[u8], body: &[u8], t: i64) -> String {
    // HMAC takes keys of any length, so this cannot fail.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret)
        .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
    mac.update(body);
    mac.update(b".");
    mac.update(t.to_string().as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// The `officernd-signature` value for `body` at unix time `t`.
pub fn signature_header(secret: &[u8], body: &[u8], t: i64, key_v1: bool) -> String {
    let key = if key_v1 { "v1" } else { "signature" };
    format!("t={t},{key}={}", sign(secret, body, t))
}

/// Renames v2 reference fields to their v1 names (reference §1 "Field names v1 → v2"), for
/// the reading that webhook objects still use v1 names.
fn to_v1_names(obj: &Record) -> Record {
    obj.iter()
        .map(|(k, v)| {
            let k = match k.as_str() {
                "company" => "team",
                "location" => "office",
                other => other,
            };
            (k.to_owned(), v.clone())
        })
        .collect()
}

/// The envelope for one change.
pub fn envelope(
    event_id: &str,
    event_type: &str,
    object: &Record,
    previous: Option<&Record>,
    at: DateTime<Utc>,
    v1_names: bool,
) -> Value {
    let rename = |r: &Record| {
        if v1_names { to_v1_names(r) } else { r.clone() }
    };
    let mut data = Map::new();
    data.insert("object".into(), Value::Object(rename(object)));
    if let Some(p) = previous {
        data.insert("previousAttributes".into(), Value::Object(rename(p)));
    }
    json!({
        "event": event_id,
        "eventType": event_type,
        "data": data,
        "createdAt": iso(at),
    })
}

/// The fields of `before` that `after` changed, with their old values (`null` for a field
/// that did not exist before), as `previousAttributes` carries them.
pub fn previous_attributes(before: &Record, after: &Record) -> Record {
    let mut out = Map::new();
    for (k, v) in after {
        if before.get(k) != Some(v) {
            out.insert(k.clone(), before.get(k).cloned().unwrap_or(Value::Null));
        }
    }
    for (k, v) in before {
        if !after.contains_key(k) {
            out.insert(k.clone(), v.clone());
        }
    }
    out
}

/// POSTs a delivery with its signature header; the receiver's status or the transport error.
pub async fn send(http: &reqwest::Client, d: &Delivery) -> Sent {
    let result = http
        .post(&d.url)
        .header("content-type", "application/json")
        .header(SIGNATURE_HEADER, &d.signature)
        .timeout(Duration::from_secs(10))
        .body(d.body.clone())
        .send()
        .await;
    let (status, error) = match result {
        Ok(r) => (Some(r.status().as_u16()), None),
        Err(e) => (None, Some(e.to_string())),
    };
    Sent {
        url: d.url.clone(),
        event_type: d.event_type.clone(),
        status,
        error,
    }
}
