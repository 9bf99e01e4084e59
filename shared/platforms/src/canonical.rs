//! The canonical route's signature (`POST /` and `/events`): what another system sends with a
//! batch of canonical events, and how ingest checks it.
//!
//! ```text
//! access-sync-signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>
//! ```
//!
//! - `t` is the sender's clock when it signed, decimal unix seconds; it must lie within
//!   [`WINDOW_SECS`] (300 s) of the receiver's clock, either way;
//! - `v1` is the lower- or upper-case hex HMAC-SHA256, keyed with the installation's canonical
//!   secret, of the bytes of `t` as written, a full stop, and the raw body exactly as sent;
//!   several `v1=` parts may be given (a secret being rotated), one must match;
//! - digests are compared in constant time ([`subtle`]);
//! - an empty secret refuses everything: a route whose secret is not set is closed.
//!
//! Pure: `now` is a parameter.

use crate::Rejection;
use crate::error::SignatureError;
use crate::signature::{hmac_sha256, require_secret, unauthorized, unix_seconds, within_window};
use access_sync_rules::Instant;
use subtle::{Choice, ConstantTimeEq};

/// The header carrying the canonical route's signature.
pub const CANONICAL_HEADER: &str = "access-sync-signature";

pub use crate::signature::WINDOW_SECS;

/// A parsed `access-sync-signature` header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CanonicalSignature<'a> {
    /// The timestamp as written (it is signed as written).
    pub t: &'a str,
    /// The timestamp's value, unix seconds.
    pub unix: i64,
    /// Every `v1` digest, decoded from hex.
    pub v1: Vec<Vec<u8>>,
}

fn unreadable() -> SignatureError {
    SignatureError::Unreadable(CANONICAL_HEADER)
}

/// Parses `t=<unix>,v1=<hex>[,v1=<hex>…]` (spaces around parts tolerated, unknown parts
/// ignored; `t` must be plain ASCII digits so one signed timestamp has one spelling).
///
/// # Errors
/// The header cannot be read.
pub fn parse_header(header: &str) -> Result<CanonicalSignature<'_>, SignatureError> {
    let mut t = None;
    let mut v1 = Vec::new();
    for part in header.split(',') {
        let Some((k, v)) = part.trim().split_once('=') else {
            continue;
        };
        match k.trim() {
            "t" if t.is_none() => t = Some(v.trim()),
            "t" => return Err(unreadable()),
            "v1" => v1.push(hex::decode(v.trim()).map_err(|_| unreadable())?),
            _ => {}
        }
    }
    let t = t.ok_or_else(unreadable)?;
    let unix = unix_seconds(t).ok_or_else(unreadable)?;
    if v1.is_empty() {
        return Err(unreadable());
    }
    Ok(CanonicalSignature { t, unix, v1 })
}

/// The `access-sync-signature` header for `body` signed at unix time `t`: what
/// `access-sync post` sends, and what another system must compute.
pub fn sign(secret: &[u8], body: &[u8], t: i64) -> String {
    let t = t.to_string();
    let mac = hmac_sha256(secret, &[t.as_bytes(), b".", body])
        .map(hex::encode)
        .unwrap_or_default();
    format!("t={t},v1={mac}")
}

/// Verifies a canonical batch: `header` is the `access-sync-signature` header's value.
/// Answers the signed timestamp (unix seconds) on success.
///
/// # Errors
/// [`Rejection::Unauthorized`] saying why: no secret configured, no or unreadable header,
/// `t` more than [`WINDOW_SECS`] from `now`, or no `v1` matches.
pub fn verify(
    secret: &[u8],
    header: Option<&str>,
    body: &[u8],
    now: Instant,
) -> Result<i64, Rejection> {
    require_secret(secret)?;
    let header = header.ok_or(unauthorized(SignatureError::Missing(CANONICAL_HEADER)))?;
    let sig = parse_header(header).map_err(unauthorized)?;
    within_window(sig.unix, now)?;
    let want = hmac_sha256(secret, &[sig.t.as_bytes(), b".", body])?;
    let mut ok = Choice::from(0);
    for v in &sig.v1 {
        ok |= v.as_slice().ct_eq(&want);
    }
    if bool::from(ok) {
        Ok(sig.unix)
    } else {
        Err(unauthorized(SignatureError::Mismatch))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::DateTime;

    const SECRET: &[u8] = b"whsec_canonical_9x";
    const BODY: &[u8] = br#"{"id":"d-1","at":"2026-12-07T07:00:00Z","member":{"id":"m-1"}}"#;

    fn at(unix: i64) -> Instant {
        DateTime::from_timestamp(unix, 0).unwrap()
    }

    #[test]
    fn a_signed_body_verifies_within_the_window_either_way() {
        let t = 1_796_000_000;
        let h = sign(SECRET, BODY, t);
        assert!(h.starts_with(&format!("t={t},v1=")), "{h}");
        for now in [t - 300, t, t + 300] {
            assert_eq!(verify(SECRET, Some(&h), BODY, at(now)), Ok(t), "now {now}");
        }
        for now in [t - 301, t + 301] {
            assert!(matches!(
                verify(SECRET, Some(&h), BODY, at(now)),
                Err(Rejection::Unauthorized(
                    SignatureError::OutsideWindow { .. }
                ))
            ));
        }
    }

    #[test]
    fn the_digest_is_hmac_sha256_of_t_dot_body_as_documented() {
        // Computed with openssl, as another system would:
        // printf '%s' "1796000000.$BODY" | openssl dgst -sha256 -hmac whsec_canonical_9x
        let want = "dc793755dde821dbc182d06d00252d365db5bf87425f65b5e1ecd595b9ca2fd0";
        let t = 1_796_000_000;
        assert_eq!(sign(SECRET, BODY, t), format!("t={t},v1={want}"));
        let upper = format!("t={t},v1={}", want.to_uppercase());
        assert_eq!(verify(SECRET, Some(&upper), BODY, at(t)), Ok(t));
    }

    #[test]
    fn another_body_secret_or_timestamp_is_a_mismatch() {
        let t = 1_796_000_000;
        let h = sign(SECRET, BODY, t);
        let mismatch = Err(Rejection::Unauthorized(SignatureError::Mismatch));
        assert_eq!(verify(SECRET, Some(&h), b"{}", at(t)), mismatch);
        assert_eq!(verify(b"other", Some(&h), BODY, at(t)), mismatch);
        let moved = h.replace(&format!("t={t}"), &format!("t={}", t + 1));
        assert_eq!(verify(SECRET, Some(&moved), BODY, at(t)), mismatch);
        // One of several v1 matching is enough (rotation).
        let two = format!(
            "{},v1={}",
            sign(b"old", BODY, t),
            &h[h.find("v1=").unwrap() + 3..]
        );
        assert_eq!(verify(SECRET, Some(&two), BODY, at(t)), Ok(t));
    }

    #[test]
    fn no_secret_no_header_or_an_unreadable_one_is_refused() {
        let t = 1_796_000_000;
        let h = sign(SECRET, BODY, t);
        assert_eq!(
            verify(b"", Some(&h), BODY, at(t)),
            Err(Rejection::Unauthorized(SignatureError::NotConfigured))
        );
        assert_eq!(
            verify(SECRET, None, BODY, at(t)),
            Err(Rejection::Unauthorized(SignatureError::Missing(
                CANONICAL_HEADER
            )))
        );
        for bad in [
            "",
            "v1=00",
            "t=1796000000",
            "t=+1796000000,v1=00",
            "t=1796000000,v1=zz",
            "t=1,t=2,v1=00",
        ] {
            assert_eq!(
                verify(SECRET, Some(bad), BODY, at(t)),
                Err(Rejection::Unauthorized(SignatureError::Unreadable(
                    CANONICAL_HEADER
                ))),
                "{bad:?}"
            );
        }
    }
}
