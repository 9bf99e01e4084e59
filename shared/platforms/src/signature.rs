//! What every platform's signature scheme shares: constant-time comparison, HMAC-SHA256, the
//! replay window, the refusal of an empty secret, and the reading of unix seconds. Each scheme
//! itself lives in its platform's folder (`<platform>/signature.rs`); the canonical route's in
//! [`crate::canonical`]:
//!
//! | platform | what is checked | replay window |
//! |---|---|---|
//! | OfficeRnD ([`crate::officernd::verify`]) | `officernd-signature: t=<unix>,signature=<hex>`: HMAC-SHA256 of `body.t`, the signature read positionally as OfficeRnD's demo does (the older `v1=<hex>` and a `t.body` HMAC are still accepted) | `t` within 300 s of now |
//! | Optix ([`crate::optix::verify`]) | form field `request_signature` = hex SHA-1 of `client_id + secret + created_timestamp` (a SHA-256 of the same string is also accepted: one adapter labels it so) | `created_timestamp` within 300 s |
//! | Nexudus ([`crate::nexudus::verify`]) | `X-Nexudus-Hook-Signature` = upper-case hex HMAC-SHA256 of the body | none in the scheme: the replay ledger accepts a signed body once, whatever the action ([`crate::replay`]) |
//! | TeamUp ([`crate::teamup::verify`]) | no signature exists: the per-installation secret, presented as `Authorization: Bearer <secret>` or as the last URL path segment | none: the replay ledger accepts a delivery id and body once |
//!
//! An empty configured secret refuses everything: a forgotten secret must not open the door.
//! Digests are compared with [`subtle`]; the TeamUp secret is hashed first so that not even
//! its length leaks.

use crate::Rejection;
use crate::error::SignatureError;
use access_sync_rules::Instant;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// How far a signed timestamp may be from `now`, either way, in seconds.
pub const WINDOW_SECS: i64 = 300;

type HmacSha256 = Hmac<Sha256>;

pub(crate) fn unauthorized(e: SignatureError) -> Rejection {
    Rejection::Unauthorized(e)
}

/// Constant-time equality of two byte strings. Lengths are not secret here (digest sizes are
/// public), so a length mismatch may return early.
pub fn equal(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

pub(crate) fn hmac_sha256(secret: &[u8], parts: &[&[u8]]) -> Result<Vec<u8>, Rejection> {
    let mut mac = HmacSha256::new_from_slice(secret)
        .map_err(|_| unauthorized(SignatureError::NotConfigured))?;
    for p in parts {
        mac.update(p);
    }
    Ok(mac.finalize().into_bytes().to_vec())
}

pub(crate) fn within_window(signed_unix: i64, now: Instant) -> Result<(), Rejection> {
    let skew = now.timestamp().saturating_sub(signed_unix);
    if skew.checked_abs().is_none_or(|s| s > WINDOW_SECS) {
        return Err(unauthorized(SignatureError::OutsideWindow {
            skew_secs: skew,
        }));
    }
    Ok(())
}

pub(crate) fn require_secret(secret: &[u8]) -> Result<(), Rejection> {
    if secret.is_empty() {
        return Err(unauthorized(SignatureError::NotConfigured));
    }
    Ok(())
}

/// Unix seconds as the platforms write them: ASCII digits only (no sign, no spaces), so one
/// signed timestamp has exactly one spelling.
pub(crate) fn unix_seconds(s: &str) -> Option<i64> {
    if s.is_empty() || s.len() > 12 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// The token of an `Authorization: Bearer <token>` header.
pub fn bearer(authorization: Option<&str>) -> Option<&str> {
    let (scheme, token) = authorization?.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}
