//! Webhook signatures, one scheme per platform, every comparison in constant time.
//!
//! | platform | what is checked | replay window |
//! |---|---|---|
//! | OfficeRnD | `officernd-signature: t=<unix>,v1=<hex>`: HMAC-SHA256 of `body.t` **or** `t.body` (the published samples disagree; either is accepted) | `t` within 300 s of now |
//! | Optix | form field `request_signature` = hex SHA-1 of `client_id + secret + created_timestamp` (a SHA-256 of the same string is also accepted: one adapter labels it so) | `created_timestamp` within 300 s |
//! | Nexudus | `X-Nexudus-Hook-Signature` = upper-case hex HMAC-SHA256 of the body | none in the scheme: a replay is harmless because its canonical ids repeat |
//! | TeamUp | no signature exists: the per-installation secret, presented as `Authorization: Bearer <secret>` or as the last URL path segment | none: ids repeat, as above |
//!
//! An empty configured secret refuses everything: a forgotten secret must not open the door.
//! Digests are compared with [`subtle`]; the TeamUp secret is hashed first so that not even
//! its length leaks.

use crate::Rejection;
use crate::error::SignatureError;
use access_sync_rules::Instant;
use hmac::{Hmac, Mac};
use sha1::Sha1;
use sha2::{Digest, Sha256};
use subtle::{Choice, ConstantTimeEq};

/// How far a signed timestamp may be from `now`, either way, in seconds.
pub const WINDOW_SECS: i64 = 300;

/// The OfficeRnD signature header.
pub const OFFICERND_HEADER: &str = "officernd-signature";
/// The Nexudus signature header.
pub const NEXUDUS_HEADER: &str = "X-Nexudus-Hook-Signature";
/// The TeamUp delivery id header (the same on every retry of one delivery).
pub const TEAMUP_ID_HEADER: &str = "TEAMUP-WEBHOOK-ID";

type HmacSha256 = Hmac<Sha256>;

fn unauthorized(e: SignatureError) -> Rejection {
    Rejection::Unauthorized(e)
}

/// Constant-time equality of two byte strings. Lengths are not secret here (digest sizes are
/// public), so a length mismatch may return early.
pub fn equal(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

fn hmac_sha256(secret: &[u8], parts: &[&[u8]]) -> Result<Vec<u8>, Rejection> {
    let mut mac = HmacSha256::new_from_slice(secret)
        .map_err(|_| unauthorized(SignatureError::NotConfigured))?;
    for p in parts {
        mac.update(p);
    }
    Ok(mac.finalize().into_bytes().to_vec())
}

fn within_window(signed_unix: i64, now: Instant) -> Result<(), Rejection> {
    let skew = now.timestamp().saturating_sub(signed_unix);
    if skew.checked_abs().is_none_or(|s| s > WINDOW_SECS) {
        return Err(unauthorized(SignatureError::OutsideWindow {
            skew_secs: skew,
        }));
    }
    Ok(())
}

fn require_secret(secret: &[u8]) -> Result<(), Rejection> {
    if secret.is_empty() {
        return Err(unauthorized(SignatureError::NotConfigured));
    }
    Ok(())
}

/// Unix seconds as the platforms write them: ASCII digits only (no sign, no spaces), so one
/// signed timestamp has exactly one spelling.
fn unix_seconds(s: &str) -> Option<i64> {
    if s.is_empty() || s.len() > 12 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// The parts of an OfficeRnD signature header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OfficerndSignature<'a> {
    /// The timestamp as written (it is signed as written).
    pub t: &'a str,
    /// The timestamp's value, unix seconds.
    pub unix: i64,
    /// Every `v1` signature, decoded from hex.
    pub v1: Vec<Vec<u8>>,
}

/// Parses `t=<unix>,v1=<hex>[,v1=<hex>…]` (spaces around parts tolerated, unknown parts ignored).
pub fn parse_officernd_header(header: &str) -> Result<OfficerndSignature<'_>, SignatureError> {
    let mut t = None;
    let mut v1 = Vec::new();
    for part in header.split(',') {
        let Some((k, v)) = part.trim().split_once('=') else {
            continue;
        };
        match k.trim() {
            "t" => t = Some(v.trim()),
            "v1" => v1.push(
                hex::decode(v.trim()).map_err(|_| SignatureError::Unreadable(OFFICERND_HEADER))?,
            ),
            _ => {}
        }
    }
    let t = t.ok_or(SignatureError::Unreadable(OFFICERND_HEADER))?;
    let unix = unix_seconds(t).ok_or(SignatureError::Unreadable(OFFICERND_HEADER))?;
    if v1.is_empty() {
        return Err(SignatureError::Unreadable(OFFICERND_HEADER));
    }
    Ok(OfficerndSignature { t, unix, v1 })
}

/// Verifies an OfficeRnD delivery: `header` is the `officernd-signature` header's value.
pub fn verify_officernd(
    secret: &[u8],
    header: Option<&str>,
    body: &[u8],
    now: Instant,
) -> Result<(), Rejection> {
    require_secret(secret)?;
    let header = header.ok_or(unauthorized(SignatureError::Missing(OFFICERND_HEADER)))?;
    let sig = parse_officernd_header(header).map_err(unauthorized)?;
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
pub fn officernd_header(secret: &[u8], body: &[u8], t: i64) -> String {
    let t = t.to_string();
    let mac = hmac_sha256(secret, &[t.as_bytes(), b".", body])
        .map(hex::encode)
        .unwrap_or_default();
    format!("t={t},v1={mac}")
}

/// An Optix form body signed as Optix would sign it: any `request_signature` is replaced by
/// the right one for its `client_id` and `created_timestamp` (for tests and tools).
pub fn sign_optix_body(secret: &str, body: &str) -> String {
    let mut client_id = String::new();
    let mut created = String::new();
    let mut kept = form_urlencoded::Serializer::new(String::new());
    for (k, v) in form_urlencoded::parse(body.as_bytes()) {
        match k.as_ref() {
            "client_id" if client_id.is_empty() => client_id = v.to_string(),
            "created_timestamp" if created.is_empty() => created = v.to_string(),
            "request_signature" => continue,
            _ => {}
        }
        kept.append_pair(&k, &v);
    }
    kept.append_pair(
        "request_signature",
        &optix_signature(&client_id, secret, &created),
    );
    kept.finish()
}

/// The signature of an Optix delivery as it should be, hex SHA-1 (for tests and tools).
pub fn optix_signature(client_id: &str, secret: &str, created_timestamp: &str) -> String {
    let mut h = Sha1::new();
    h.update(client_id.as_bytes());
    h.update(secret.as_bytes());
    h.update(created_timestamp.as_bytes());
    hex::encode(h.finalize())
}

/// Verifies an Optix delivery: the signature travels in the form body itself.
pub fn verify_optix(secret: &str, body: &[u8], now: Instant) -> Result<(), Rejection> {
    require_secret(secret.as_bytes())?;
    let mut client_id = None;
    let mut created = None;
    let mut signature = None;
    for (k, v) in form_urlencoded::parse(body) {
        // The first occurrence wins, as in the normaliser.
        let slot = match k.as_ref() {
            "client_id" => &mut client_id,
            "created_timestamp" => &mut created,
            "request_signature" => &mut signature,
            _ => continue,
        };
        if slot.is_none() {
            *slot = Some(v.into_owned());
        }
    }
    let signature = signature.ok_or(unauthorized(SignatureError::Missing("request_signature")))?;
    let client_id = client_id.ok_or(unauthorized(SignatureError::Missing("client_id")))?;
    let created = created.ok_or(unauthorized(SignatureError::Missing("created_timestamp")))?;
    let unix = unix_seconds(&created).ok_or(unauthorized(SignatureError::Unreadable(
        "created_timestamp",
    )))?;
    within_window(unix, now)?;
    let given = hex::decode(signature.trim())
        .map_err(|_| unauthorized(SignatureError::Unreadable("request_signature")))?;
    let signed = [client_id.as_bytes(), secret.as_bytes(), created.as_bytes()].concat();
    let sha1 = Sha1::digest(&signed);
    let sha256 = Sha256::digest(&signed);
    if bool::from(given.as_slice().ct_eq(&sha1) | given.as_slice().ct_eq(&sha256)) {
        Ok(())
    } else {
        Err(unauthorized(SignatureError::Mismatch))
    }
}

/// The Nexudus signature of a body as it should be, upper-case hex (for tests and tools).
pub fn nexudus_signature(secret: &[u8], body: &[u8]) -> String {
    hmac_sha256(secret, &[body])
        .map(hex::encode_upper)
        .unwrap_or_default()
}

/// Verifies a Nexudus delivery: `header` is `X-Nexudus-Hook-Signature`. Upper-case hex is what
/// Nexudus sends; lower case is accepted too (the bytes are what count).
pub fn verify_nexudus(secret: &[u8], header: Option<&str>, body: &[u8]) -> Result<(), Rejection> {
    require_secret(secret)?;
    let header = header.ok_or(unauthorized(SignatureError::Missing(NEXUDUS_HEADER)))?;
    let given = hex::decode(header.trim())
        .map_err(|_| unauthorized(SignatureError::Unreadable(NEXUDUS_HEADER)))?;
    let want = hmac_sha256(secret, &[body])?;
    if equal(&given, &want) {
        Ok(())
    } else {
        Err(unauthorized(SignatureError::Mismatch))
    }
}

/// The token of an `Authorization: Bearer <token>` header.
pub fn bearer(authorization: Option<&str>) -> Option<&str> {
    let (scheme, token) = authorization?.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// Verifies a TeamUp delivery: `presented` is the bearer token or the URL's secret segment.
pub fn verify_teamup(secret: &str, presented: Option<&str>) -> Result<(), Rejection> {
    require_secret(secret.as_bytes())?;
    let presented = presented.ok_or(unauthorized(SignatureError::Missing(
        "installation secret (Authorization: Bearer or URL path segment)",
    )))?;
    // Hash both sides so the comparison takes the same time whatever the lengths.
    let want = Sha256::digest(secret.as_bytes());
    let given = Sha256::digest(presented.as_bytes());
    if equal(&given, &want) {
        Ok(())
    } else {
        Err(unauthorized(SignatureError::Mismatch))
    }
}
