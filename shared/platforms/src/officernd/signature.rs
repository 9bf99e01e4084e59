//! The OfficeRnD signature: `officernd-signature: t=<unix>,v1=<hex>`, an HMAC-SHA256 keyed with
//! the webhook's secret over `body.t` **or** `t.body` (the published samples disagree; either is
//! accepted), `t` within [`WINDOW_SECS`](crate::signature::WINDOW_SECS) of now.

use crate::Rejection;
use crate::error::SignatureError;
use crate::signature::{hmac_sha256, require_secret, unauthorized, unix_seconds, within_window};
use access_sync_rules::Instant;
use subtle::{Choice, ConstantTimeEq};

/// The OfficeRnD signature header.
pub const HEADER: &str = "officernd-signature";

/// The parts of an OfficeRnD signature header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Signature<'a> {
    /// The timestamp as written (it is signed as written).
    pub t: &'a str,
    /// The timestamp's value, unix seconds.
    pub unix: i64,
    /// Every `v1` signature, decoded from hex.
    pub v1: Vec<Vec<u8>>,
}

/// Parses `t=<unix>,v1=<hex>[,v1=<hex>…]` (spaces around parts tolerated, unknown parts ignored).
pub fn parse_header(header: &str) -> Result<Signature<'_>, SignatureError> {
    let mut t = None;
    let mut v1 = Vec::new();
    for part in header.split(',') {
        let Some((k, v)) = part.trim().split_once('=') else {
            continue;
        };
        match k.trim() {
            "t" => t = Some(v.trim()),
            "v1" => v1.push(hex::decode(v.trim()).map_err(|_| SignatureError::Unreadable(HEADER))?),
            _ => {}
        }
    }
    let t = t.ok_or(SignatureError::Unreadable(HEADER))?;
    let unix = unix_seconds(t).ok_or(SignatureError::Unreadable(HEADER))?;
    if v1.is_empty() {
        return Err(SignatureError::Unreadable(HEADER));
    }
    Ok(Signature { t, unix, v1 })
}

/// Verifies an OfficeRnD delivery: `header` is the `officernd-signature` header's value.
pub fn verify(
    secret: &[u8],
    header: Option<&str>,
    body: &[u8],
    now: Instant,
) -> Result<(), Rejection> {
    require_secret(secret)?;
    let header = header.ok_or(unauthorized(SignatureError::Missing(HEADER)))?;
    let sig = parse_header(header).map_err(unauthorized)?;
    within_window(sig.unix, now)?;
    let t = sig.t.as_bytes();
    let body_first = hmac_sha256(secret, &[body, b".", t])?;
    let time_first = hmac_sha256(secret, &[t, b".", body])?;
    // Check every candidate against both orders without short-circuiting.
    let mut ok = Choice::from(0);
    for v in &sig.v1 {
        ok |= v.as_slice().ct_eq(&body_first) | v.as_slice().ct_eq(&time_first);
    }
    if bool::from(ok) {
        Ok(())
    } else {
        Err(unauthorized(SignatureError::Mismatch))
    }
}

/// The `officernd-signature` header OfficeRnD would send for `body` at unix time `t`
/// (timestamp first; for tests and tools).
pub fn header(secret: &[u8], body: &[u8], t: i64) -> String {
    let t = t.to_string();
    let mac = hmac_sha256(secret, &[t.as_bytes(), b".", body])
        .map(hex::encode)
        .unwrap_or_default();
    format!("t={t},v1={mac}")
}
