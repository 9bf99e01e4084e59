//! The OfficeRnD signature, as OfficeRnD sends it (`../shared/reference/kisi-api.md` §4.1,
//! corrected; `platform-apis/officernd.md` §5): the header
//! `officernd-signature: t=<unix>,signature=<hex>`, the hex HMAC-SHA256 keyed with the webhook's
//! secret over `rawBody + "." + t`, `t` within [`WINDOW_SECS`](crate::signature::WINDOW_SECS)
//! of now.
//!
//! The signature is read as OfficeRnD's own demo reads it: the value of the header's second
//! part, whatever its key. Every `signature=` and `v1=` part is read too, so the older
//! `t=<unix>,v1=<hex>` form still passes; and a timestamp-first HMAC (`t + "." + rawBody`, what
//! a broken third-party verifier once assumed, and what this crate signed before) is accepted
//! beside the body-first one.

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
    /// Every candidate signature, decoded from hex: the second part's value (whatever its key),
    /// and every `signature=` and `v1=` value.
    pub signatures: Vec<Vec<u8>>,
}

/// Parses `t=<unix>,signature=<hex>` (or `t=<unix>,v1=<hex>[,v1=<hex>…]`): `t` by its key, the
/// signature as the second part's value whatever its key (as OfficeRnD's demo reads it), and
/// every `signature=` or `v1=` part. Spaces around parts are tolerated; other parts are ignored,
/// and so is a second part under another key that is not hex.
pub fn parse_header(header: &str) -> Result<Signature<'_>, SignatureError> {
    let mut t = None;
    let mut signatures = Vec::new();
    for (i, part) in header.split(',').enumerate() {
        let Some((k, v)) = part.trim().split_once('=') else {
            continue;
        };
        let v = v.trim();
        match (i, k.trim()) {
            (_, "t") => t = Some(v),
            (_, "signature" | "v1") => {
                signatures.push(hex::decode(v).map_err(|_| SignatureError::Unreadable(HEADER))?);
            }
            // The second part, whatever its key (OfficeRnD's demo reads it so).
            (1, _) => signatures.extend(hex::decode(v).ok()),
            _ => {}
        }
    }
    let t = t.ok_or(SignatureError::Unreadable(HEADER))?;
    let unix = unix_seconds(t).ok_or(SignatureError::Unreadable(HEADER))?;
    if signatures.is_empty() {
        return Err(SignatureError::Unreadable(HEADER));
    }
    Ok(Signature {
        t,
        unix,
        signatures,
    })
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
    for v in &sig.signatures {
        ok |= v.as_slice().ct_eq(&body_first) | v.as_slice().ct_eq(&time_first);
    }
    if bool::from(ok) {
        Ok(())
    } else {
        Err(unauthorized(SignatureError::Mismatch))
    }
}

/// The `officernd-signature` header OfficeRnD sends for `body` at unix time `t`:
/// `t=<t>,signature=<hex HMAC-SHA256 of body + "." + t>` (for tests and tools).
pub fn header(secret: &[u8], body: &[u8], t: i64) -> String {
    let t = t.to_string();
    let mac = hmac_sha256(secret, &[body, b".", t.as_bytes()])
        .map(hex::encode)
        .unwrap_or_default();
    format!("t={t},signature={mac}")
}
