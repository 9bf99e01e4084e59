//! The Nexudus signature: `X-Nexudus-Hook-Signature` = upper-case hex HMAC-SHA256 of the body.
//! The scheme has no timestamp: a replay is harmless because its canonical ids repeat.

use crate::Rejection;
use crate::error::SignatureError;
use crate::signature::{equal, hmac_sha256, require_secret, unauthorized};

/// The Nexudus signature header.
pub const HEADER: &str = "X-Nexudus-Hook-Signature";

/// The Nexudus signature of a body as it should be, upper-case hex (for tests and tools).
pub fn signature(secret: &[u8], body: &[u8]) -> String {
    hmac_sha256(secret, &[body])
        .map(hex::encode_upper)
        .unwrap_or_default()
}

/// Verifies a Nexudus delivery: `header` is `X-Nexudus-Hook-Signature`. Upper-case hex is what
/// Nexudus sends; lower case is accepted too (the bytes are what count).
pub fn verify(secret: &[u8], header: Option<&str>, body: &[u8]) -> Result<(), Rejection> {
    require_secret(secret)?;
    let header = header.ok_or(unauthorized(SignatureError::Missing(HEADER)))?;
    let given =
        hex::decode(header.trim()).map_err(|_| unauthorized(SignatureError::Unreadable(HEADER)))?;
    let want = hmac_sha256(secret, &[body])?;
    if equal(&given, &want) {
        Ok(())
    } else {
        Err(unauthorized(SignatureError::Mismatch))
    }
}
