//! The Optix signature: the form field `request_signature` = hex SHA-1 of
//! `client_id + secret + created_timestamp` (a SHA-256 of the same string is also accepted: one
//! adapter labels it so), `created_timestamp` within
//! [`WINDOW_SECS`](crate::signature::WINDOW_SECS) of now. There is no HMAC over the body.

use crate::Rejection;
use crate::error::SignatureError;
use crate::signature::{require_secret, unauthorized, unix_seconds, within_window};
use access_sync_rules::Instant;
use sha1::Sha1;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The form field carrying the signature.
pub const SIGNATURE_FIELD: &str = "request_signature";

/// An Optix form body signed as Optix would sign it: any `request_signature` is replaced by
/// the right one for its `client_id` and `created_timestamp` (for tests and tools).
pub fn sign_body(secret: &str, body: &str) -> String {
    let mut client_id = String::new();
    let mut created = String::new();
    let mut kept = form_urlencoded::Serializer::new(String::new());
    for (k, v) in form_urlencoded::parse(body.as_bytes()) {
        match k.as_ref() {
            "client_id" if client_id.is_empty() => client_id = v.to_string(),
            "created_timestamp" if created.is_empty() => created = v.to_string(),
            SIGNATURE_FIELD => continue,
            _ => {}
        }
        kept.append_pair(&k, &v);
    }
    kept.append_pair(SIGNATURE_FIELD, &signature(&client_id, secret, &created));
    kept.finish()
}

/// The signature of an Optix delivery as it should be, hex SHA-1 (for tests and tools).
pub fn signature(client_id: &str, secret: &str, created_timestamp: &str) -> String {
    let mut h = Sha1::new();
    h.update(client_id.as_bytes());
    h.update(secret.as_bytes());
    h.update(created_timestamp.as_bytes());
    hex::encode(h.finalize())
}

/// Verifies an Optix delivery: the signature travels in the form body itself.
pub fn verify(secret: &str, body: &[u8], now: Instant) -> Result<(), Rejection> {
    require_secret(secret.as_bytes())?;
    let mut client_id = None;
    let mut created = None;
    let mut signature = None;
    for (k, v) in form_urlencoded::parse(body) {
        // The first occurrence wins, as in the normaliser.
        let slot = match k.as_ref() {
            "client_id" => &mut client_id,
            "created_timestamp" => &mut created,
            SIGNATURE_FIELD => &mut signature,
            _ => continue,
        };
        if slot.is_none() {
            *slot = Some(v.into_owned());
        }
    }
    let signature = signature.ok_or(unauthorized(SignatureError::Missing(SIGNATURE_FIELD)))?;
    let client_id = client_id.ok_or(unauthorized(SignatureError::Missing("client_id")))?;
    let created = created.ok_or(unauthorized(SignatureError::Missing("created_timestamp")))?;
    let unix = unix_seconds(&created).ok_or(unauthorized(SignatureError::Unreadable(
        "created_timestamp",
    )))?;
    within_window(unix, now)?;
    let given = hex::decode(signature.trim())
        .map_err(|_| unauthorized(SignatureError::Unreadable(SIGNATURE_FIELD)))?;
    let signed = [client_id.as_bytes(), secret.as_bytes(), created.as_bytes()].concat();
    let sha1 = Sha1::digest(&signed);
    let sha256 = Sha256::digest(&signed);
    if bool::from(given.as_slice().ct_eq(&sha1) | given.as_slice().ct_eq(&sha256)) {
        Ok(())
    } else {
        Err(unauthorized(SignatureError::Mismatch))
    }
}
